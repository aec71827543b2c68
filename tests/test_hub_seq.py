"""Each venue's event `seq`, as the hub keeps it: a redelivered event is stored once; a hole is recorded
as a gap once it has stayed open past the grace period (not hidden, not invented); an event of the hole
that arrives later after all is counted as recovered. A plain MQTT publisher plays the venue, sending
contract-valid events on a real mosquitto; the hub is a real process; both databases."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.payloads import to_json
from hub.db.engine import open_database
from hub.db.models import EventRecord, SeqGap
from hub.db.models import HubProcess as HubProcessRow
from sim.broker import Mosquitto
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config
from tests.test_hub_malformed import BASE, NONGAN, event, publish_all

pytest_plugins = ["tests.peers.postgres"]


def test_duplicates_stored_once_and_holes_recorded_as_gaps(
    broker: Mosquitto, database_url: str, tmp_path: Path
) -> None:
    config = write_hub_config(tmp_path, broker.url, database_url, gap_grace_s=1)
    hub = HubProcess(config, tmp_path / "hub.log").start()
    hub.wait_connected()
    engine = open_database(database_url)
    events = {seq: event(NONGAN, seq) for seq in range(1, 9)}
    topic = f"{BASE}/events"
    try:
        # 1, 2, 2 again (a redelivery: same id), 5, 6, then 8: holes 3–4 and 7.
        publish_all(broker.port, [(topic, to_json(events[s])) for s in (1, 2, 2, 5, 6, 8)])

        def gaps() -> list[tuple[int, int, int]]:
            with Session(engine) as session:
                rows = session.scalars(select(SeqGap).order_by(SeqGap.from_seq)).all()
                return [(g.from_seq, g.to_seq, g.recovered) for g in rows]

        assert wait_until(lambda: len(gaps()) == 2 and gaps(), 20, "two gaps") == [(3, 4, 0), (7, 7, 0)]
        time.sleep(2.5)  # more sweeps: nothing else is invented
        assert gaps() == [(3, 4, 0), (7, 7, 0)]
        publish_all(broker.port, [(topic, to_json(events[3]))])  # a late arrival after all
        assert wait_until(lambda: gaps()[0][2] == 1 and gaps(), 20, "one recovered") == [(3, 4, 1), (7, 7, 0)]
        with Session(engine) as session:
            stored = sorted(session.scalars(select(EventRecord.seq)))
        assert stored == [1, 2, 3, 5, 6, 8]
    finally:
        assert hub.stop() == 0
    with Session(engine) as session:
        (process,) = session.scalars(select(HubProcessRow))
    assert process.counters["duplicate_events"] == 1 and process.counters["stored_events"] == 6
    assert process.counters["seq_gaps"] == 2
    assert "venue.seq_gap: venue jilin/changchun/nongan/main is missing event seq 3–4 (2 event(s))" in hub.log()
