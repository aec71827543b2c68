"""Events through the durable outbox to a local mosquitto, against plain paho QoS 1 publishing.

Run: .venv/bin/python -m bench.outbox_throughput [--events N]
Prints, from one run on one broker: the anchor (paho QoS 1 publish of the same payloads, the
same in-flight window, waiting for every PUBACK), the outbox path (SQLite insert → publish →
PUBACK → delete), their ratio, and the replay rate of a backlog left by an outage.
Targets (issue #2): outbox ≤ 2× the anchor's time; replay ≥ 2,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.config.models import BrokerConfig, VenueConfig
from agent.mqtt.link import INFLIGHT, BrokerLink, Publisher
from agent.outbox import Kind, Outbox, commit_soon_on_running_loop
from contract.findings import Message
from contract.payloads import Event, Severity, VenueRef, to_json
from contract.topics import VenueTopics
from sim.broker import Mosquitto

VENUE = VenueConfig(province="jilin", prefecture="changchun", county="nongan", id="main", name="农安县")
REF = VenueRef(province="jilin", prefecture="changchun", county="nongan", id="main", name="农安县", level="county")
TOPICS = VenueTopics.for_venue("vc", VENUE)


def event_bytes(seq: int) -> bytes:
    return to_json(
        Event(
            id=str(uuid.uuid4()),
            seq=seq,
            ts=datetime.now(UTC),
            venue=REF,
            code="bench.tick",
            severity=Severity.INFO,
            message=Message(zh="基准测试事件", en="benchmark event"),
        )
    )


def plain_paho(port: int, payloads: list[bytes]) -> float:
    """Anchor: publish every payload at QoS 1 and wait for the last PUBACK."""
    done = threading.Event()
    acked = 0

    def on_publish(client, userdata, mid, reason, properties):
        nonlocal acked
        acked += 1
        if acked == len(payloads):
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-plain", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(0.2)
    start = time.perf_counter()
    for payload in payloads:
        client.publish(TOPICS.events, payload, qos=1)
    done.wait(120)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return elapsed


async def through_outbox(port: int, payloads: list[bytes], state: Path, backlog: bool) -> float:
    """The agent's path. With `backlog`, the rows are queued before the link starts (replay)."""
    outbox = Outbox(state / f"outbox-{uuid.uuid4().hex}.sqlite3", defer=commit_soon_on_running_loop)
    outbox.open()
    link = BrokerLink(
        BrokerConfig(url=f"mqtt://127.0.0.1:{port}"),
        f"bench-{uuid.uuid4().hex[:6]}",
        TOPICS,
        outbox,
        None,
        lambda message: None,
        lambda: b"{}",
        Publisher("bench", os.getpid(), datetime.now(UTC)),
    )
    if backlog:
        for payload in payloads:
            outbox.append(Kind.EVENT, TOPICS.events, lambda seq, p=payload: p)
    task = asyncio.create_task(link.run())
    while not link.connected:
        await asyncio.sleep(0.01)
    start = time.perf_counter()
    if not backlog:
        for payload in payloads:
            outbox.append(Kind.EVENT, TOPICS.events, lambda seq, p=payload: p)
            link.wake()
            await asyncio.sleep(0)
    while outbox.pending or link.unacknowledged:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - start
    task.cancel()
    await link.close(b"{}", 1)
    outbox.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    payloads = [event_bytes(i + 1) for i in range(args.events)]
    size = sum(map(len, payloads)) / len(payloads)
    print(
        f"machine: {platform.node()} {platform.machine()} {platform.python_version()}, "
        f"{len(payloads)} events of {size:.0f} B, best of {args.rounds}"
    )
    with tempfile.TemporaryDirectory() as state, Mosquitto() as broker:
        anchor = min(plain_paho(broker.port, payloads) for _ in range(args.rounds))
        ours = min(asyncio.run(through_outbox(broker.port, payloads, Path(state), False)) for _ in range(args.rounds))
        replay = min(asyncio.run(through_outbox(broker.port, payloads, Path(state), True)) for _ in range(args.rounds))
    n = len(payloads)
    print(f"plain paho QoS 1 (anchor): {n / anchor:10.0f} events/s  ({anchor:.3f} s)")
    print(f"outbox → broker:           {n / ours:10.0f} events/s  ({ours:.3f} s)")
    print(f"ratio outbox/anchor time:  {ours / anchor:10.2f}×  (target ≤ 2×)")
    print(f"replay of a backlog:       {n / replay:10.0f} events/s  (target ≥ 2,000/s)")


if __name__ == "__main__":
    main()
