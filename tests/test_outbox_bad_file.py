"""Issue 11, item 5, through the real entry point: the daemon meets a bad outbox file at start.

Each case queues events while the broker is down, kills the agent (-9), damages the file the way
the issue found it (truncated to 0 bytes, random bytes, a foreign `outbox` table, a counter holding
'abc'), brings broker and agent back, and checks at the hub: the agent starts, an event says how
many queued messages were lost, seq goes on past the highest ever issued (no seq comes again with a
new id), and new events flow. A state directory on a read-only filesystem starts the agent too.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from sim.broker import Mosquitto
from tests.outbox_disk import small_disk
from tests.peers.hub import Hub

BASE = "vc/jilin/changchun/nongan/main"
FAST = {"flap_interval_s": 0.05, "status_interval_s": 1, "metrics_interval_s": 60}


def _event(code: str):
    return lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == code


def _zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size or 8192))


def _foreign_outbox_table(path: Path) -> None:
    path.write_bytes(b"")
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE outbox (x TEXT)")
        db.execute("INSERT INTO outbox VALUES ('not ours')")


def _counter_abc(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT OR REPLACE INTO counters VALUES ('seq:event', 'abc')")


DAMAGE = {
    "zero-bytes": _zero_bytes,
    "random-bytes": _random_bytes,
    "foreign-outbox-table": _foreign_outbox_table,
    "counter-abc": _counter_abc,
}


def _queued(path: Path) -> tuple[int, int]:
    """(rows queued, highest event seq) in the file the killed agent left."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        rows = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        top = db.execute("SELECT MAX(seq) FROM outbox WHERE kind = 'event'").fetchone()[0]
    return rows, top


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_bad_outbox_file_starts_the_agent_says_what_was_lost_and_seq_goes_on(
    broker: Mosquitto, hub: Hub, start_agent, tmp_path: Path, damage: str
):
    agent = start_agent(broker.url, **FAST)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events", count=10, timeout=20)
    broker.kill()  # the uplink's broker goes: events queue in the file
    time.sleep(1.5)
    agent.kill9()
    path = tmp_path / "venue" / "state" / "outbox.sqlite3"
    queued, top_seq = _queued(path)
    assert queued > 10
    seen_before = {e["id"]: e["seq"] for e in hub.events()}
    for suffix in ("-wal", "-shm"):  # (the WAL was checkpointed into the file by _queued above)
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    DAMAGE[damage](path)

    broker.start()
    after = Hub(broker.port)  # subscribed before the agent is back (the broker kept no sessions)
    try:
        _check_restart(agent, after, damage, queued, top_seq, seen_before)
    finally:
        after.close()


def _check_restart(agent, hub: Hub, damage: str, queued: int, top_seq: int, seen_before: dict[str, int]) -> None:
    agent.start()
    started = hub.wait_for(_event("agent.started"), timeout=30)[-1].json()
    assert started["seq"] > top_seq, "seq went back: old seqs would come again with new ids"
    if damage == "counter-abc":
        repaired = hub.wait_for(_event("outbox.repaired"), timeout=20)[0].json()
        assert repaired["data"] == {"rows": 0, "counters": 1}
        # Nothing was lost: every queued event arrives (with its old id and seq).
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["seq"] == top_seq, timeout=30)
    else:
        replaced = hub.wait_for(_event("outbox.replaced"), timeout=20)[0].json()
        assert replaced["data"]["lost"] == queued, replaced["data"]
        assert replaced["data"]["last_seq"] >= top_seq
        assert f"{queued} queued message(s) lost" in replaced["message"]["en"]
        assert Path(replaced["data"]["moved"]).exists()
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["seq"] > started["seq"] + 5, timeout=30)
    assert agent.stop(timeout=20) == 0
    by_seq = {seq: event_id for event_id, seq in seen_before.items()}
    for event in hub.events():
        assert seen_before.get(event["id"], event["seq"]) == event["seq"]
        assert by_seq.setdefault(event["seq"], event["id"]) == event["id"], f"seq {event['seq']} given twice"


def test_a_read_only_state_directory_starts_the_agent_and_everything_arrives(broker, hub, start_agent, tmp_path):
    with small_disk(tmp_path / "venue" / "state", size="4m") as disk:
        disk.remount("ro")
        agent = start_agent(broker.url, **FAST)
        hub.wait_for(_event("agent.started"), timeout=20)  # sent from memory
        error = hub.wait_for(_event("outbox.storage_error"), timeout=20)[0].json()
        assert error["data"]["error"]
        hub.wait_for(lambda m: m.topic == f"{BASE}/status" and m.json()["outbox"]["storage_error"], timeout=20)
        hub.wait_for(lambda m: m.topic == f"{BASE}/events", count=30, timeout=20)
        disk.remount("rw")
        hub.wait_for(_event("outbox.storage_recovered"), timeout=30)
        assert agent.stop(timeout=20) == 0
        hub.wait_for(_event("agent.stopping"), timeout=20)
    seen: dict[int, str] = {}
    for event in hub.events():
        assert seen.setdefault(event["seq"], event["id"]) == event["id"], f"seq {event['seq']} given twice"
    assert sorted(seen) == list(range(1, len(seen) + 1))
