"""A hostile (or broken) publisher on the hub's subtree: every malformed message is rejected with a
counted, logged reason, and the hub keeps ingesting — the valid events around them are stored.

No agent is needed: the publisher is a plain MQTT client on a real mosquitto; the valid events are
built from the contract's own models, exactly as an agent would serialise them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.findings import Message
from contract.payloads import Event, Severity, VenueRef, to_json
from hub.db.engine import open_database
from hub.db.models import EventRecord, Venue
from hub.db.models import HubProcess as HubProcessRow
from sim.broker import Mosquitto
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config

pytest_plugins = ["tests.peers.postgres"]

BASE = "vc/jilin/changchun/nongan/main"
NONGAN = VenueRef(province="jilin", prefecture="changchun", county="nongan", id="main", name="农安", level="county")
LISHU = VenueRef(province="jilin", prefecture="siping", county="lishu", id="main", name="梨树", level="county")


def event(venue: VenueRef, seq: int, **changes: object) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        seq=seq,
        ts=datetime.now(UTC),
        venue=venue,
        code="host.disk.low",
        severity=Severity.WARNING,
        message=Message(zh="磁盘空间不足", en="disk space low"),
        **changes,
    )


def as_dict(payload: Event) -> dict:
    return json.loads(to_json(payload))


HOSTILE: list[tuple[str, str, bytes]] = [
    # (expected reason, topic, payload)
    ("bad_json", f"{BASE}/events", b"{not json"),
    ("bad_json", f"{BASE}/events", b"\xff\xfe garbage"),
    ("bad_json", f"{BASE}/events", b"[" * 1500 + b"]" * 1500),  # nested past the parser's limit
    ("schema", f"{BASE}/events", to_json(event(NONGAN, 1)).replace(b'"seq":1', b'"seq":' + b"9" * 3000)),
    ("schema", f"{BASE}/events", json.dumps({"schema": "venue-agent/event/1", "id": "x"}).encode()),
    ("schema", f"{BASE}/events", json.dumps(as_dict(event(NONGAN, 1)) | {"schema": "venue-agent/event/9"}).encode()),
    ("schema", f"{BASE}/events", json.dumps(as_dict(event(NONGAN, 1)) | {"extra": 1}).encode()),
    ("schema", f"{BASE}/events", to_json(event(NONGAN, 1, data={"x": "a\x00b"}))),
    ("schema", f"{BASE}/status", b'{"schema": "venue-agent/status/1"}'),
    ("venue_mismatch", f"{BASE}/events", to_json(event(LISHU, 1))),
    ("too_large", f"{BASE}/events", b'{"x": "' + b"a" * 10_000 + b'"}'),
    ("leaf", f"{BASE}/backdoor", b"{}"),
    ("topic", "vc/jilin/changchun/events", b"{}"),
    ("topic", "vc/jilin/Changchun/nongan/main/events", b"{}"),
    ("availability", f"{BASE}/availability", b"maybe"),
]


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def test_malformed_messages_are_rejected_counted_and_logged_and_ingest_goes_on(
    broker: Mosquitto, database_url: str, tmp_path: Path
) -> None:
    config = write_hub_config(tmp_path, broker.url, database_url, extra="")
    text = config.read_text(encoding="utf-8").replace("[hub]\n", "[hub]\nmax_payload_bytes = 4096\n")
    config.write_text(text, encoding="utf-8")
    hub = HubProcess(config, tmp_path / "hub.log").start()
    hub.wait_connected()
    engine = open_database(database_url)
    good = [event(NONGAN, seq) for seq in (1, 2, 3)]
    try:
        # A valid event before, between and after the hostile ones: none of them is lost to the noise.
        messages = [(f"{BASE}/events", to_json(good[0]))]
        messages += [(topic, payload) for _reason, topic, payload in HOSTILE]
        messages += [(f"{BASE}/events", to_json(good[1])), (f"{BASE}/events", to_json(good[2]))]
        publish_all(broker.port, messages)

        def stored() -> set[str] | None:
            with Session(engine) as session:
                ids = set(session.scalars(select(EventRecord.id)))
            return ids if ids >= {e.id for e in good} else None

        assert wait_until(stored, 20, "the valid events stored") == {e.id for e in good}
    finally:
        assert hub.stop() == 0
    assert hub.alive is False
    with Session(engine) as session:
        (row,) = session.scalars(select(HubProcessRow))
        venues = set(session.scalars(select(Venue.key)))
    expected: dict[str, int] = {}
    for reason, _topic, _payload in HOSTILE:
        expected[reason] = expected.get(reason, 0) + 1
    counted = {name.removeprefix("rejected."): n for name, n in row.counters.items() if name.startswith("rejected.")}
    assert counted == expected
    assert row.counters["rejected"] == len(HOSTILE) and row.counters["stored_events"] == 3
    assert venues == {"jilin/changchun/nongan/main"}  # nothing was invented for the mismatched or bad topics
    log = hub.log()
    for reason in expected:
        assert f"ingest.rejected.{reason}:" in log
    assert "Traceback" not in log
