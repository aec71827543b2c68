"""The incident desk's delivery rate against plain HTTP posting, and what `on_event` costs the ingest.

Run: .venv/bin/python -m bench.hub_sinks [--incidents 2000]

On one machine, to one local HTTP receiver (tests/peers/http_sink.py, a threaded http.server answering
200), with the same JSON bodies:

- **anchor**: httpx.AsyncClient posting the bodies one after another (what any script would do);
- **desk**: `IncidentDesk` over a real SQLite hub database — each event handed to `on_event`, looked up
  (venue, conference), kept in the ledger, claimed, posted and marked delivered — timed from the first
  `on_event` to the last delivery; ratio = desk rate / anchor rate;
- **on_event with the sink down**: the time one `on_event` call takes while the only sink refuses
  every connection (the ingest's cost of a dead sink): mean, p99, max.

Robots accept 20 messages a minute, so any rate here is far above what a robot sink is paced to; the
figures say what the ledger's bookkeeping costs and that a dead sink costs the ingest nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from contract.findings import Message
from contract.payloads import Event, Severity, VenueRef
from hub.db.engine import open_database, writer_engine
from hub.db.models import Conference, ConferenceVenue, Venue
from hub.incidents.config import SinkConfig
from hub.incidents.desk import IncidentDesk
from hub.incidents.formats import build_request
from hub.incidents.incident import ConferenceRef
from hub.incidents.rules import VenueInfo, event_incident
from tests.peers.http_sink import HttpSink, refusing_port

REF = VenueRef(province="jilin", prefecture="changchun", county="nongan", id="main", name="农安县", level="county")
KEY = "jilin/changchun/nongan/main"
CONFERENCE = "bench-conference"


def events(count: int) -> list[Event]:
    now = datetime.now(UTC)
    return [
        Event(
            id=str(uuid.uuid4()),
            seq=n + 1,
            ts=now,
            venue=REF,
            code="audio.noise_high",
            severity=Severity.CRITICAL,
            message=Message(zh="音频噪声过大", en="audio noise too high"),
            check="audio.noise",
            conference_id=CONFERENCE,
        )
        for n in range(count)
    ]


def prepare(url: str) -> None:
    engine = open_database(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            Venue(
                key=KEY,
                province="jilin",
                prefecture="changchun",
                county="nongan",
                venue_id="main",
                name="农安县分会场",
                contacts={"liaison": {"name": "张联络", "phone": "13904310001"}},
                state="online",
            )
        )
        session.add(
            Conference(
                id=CONFERENCE,
                title="基准会议",
                kind="provincial",
                start=now - timedelta(minutes=10),
                duration_min=60,
                scope="vc/jilin/#",
                pushed_at=now,
                payload={},
            )
        )
        session.flush()
        session.add(ConferenceVenue(conference_id=CONFERENCE, venue_key=KEY, pushed_at=now, accepted=True))
        session.commit()
    engine.dispose()


async def anchor(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> float:
    async with httpx.AsyncClient() as client:
        started = time.perf_counter()
        for body, headers in bodies:
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()
        return time.perf_counter() - started


def run_desk(desk: IncidentDesk) -> threading.Thread:
    thread = threading.Thread(target=asyncio.run, args=(desk.run(),), daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=2000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the dead sink's retries are expected: not worth a line each
    batch = events(args.incidents)
    info = VenueInfo("农安县分会场", {"liaison": {"name": "张联络", "phone": "13904310001"}})
    conference = ConferenceRef(CONFERENCE, "基准会议", datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="hub-sinks-") as directory, HttpSink(then=(200, b"{}")) as server:
        bodies = []
        for item in batch:
            incident = event_incident(KEY, item, info, conference)
            assert incident is not None
            request = build_request("webhook", server.url(), incident)
            bodies.append((request.body, request.headers))
        anchor_s = asyncio.run(anchor(server.url(), bodies))
        server.requests.clear()

        url = f"sqlite:///{Path(directory) / 'hub.sqlite3'}"
        prepare(url)
        engine = open_database(url)
        sink = SinkConfig(name="office", kind="webhook", url=server.url(), allow_http=True)
        desk = IncidentDesk(writer_engine(engine), [sink])
        thread = run_desk(desk)
        time.sleep(1.0)  # the ledger's tables exist, the sink loop is waiting
        started = time.perf_counter()
        for item in batch:
            desk.on_event(KEY, item, datetime.now(UTC))
        server.wait_for(args.incidents, timeout=600)
        while desk.status()["sinks"]["office"]["delivered"] < args.incidents:
            time.sleep(0.01)
        desk_s = time.perf_counter() - started
        desk.close()
        thread.join(30)
        engine.dispose()

        dead_url = f"sqlite:///{Path(directory) / 'dead.sqlite3'}"
        prepare(dead_url)
        dead_engine = open_database(dead_url)
        with refusing_port() as dead_port:
            dead_hook = f"http://127.0.0.1:{dead_port}/"
            dead = SinkConfig(name="dead", kind="webhook", url=dead_hook, allow_http=True, backoff_initial_s=0.1)
            dead_desk = IncidentDesk(writer_engine(dead_engine), [dead])
            dead_thread = run_desk(dead_desk)
            time.sleep(1.0)
            costs = []
            for item in events(args.incidents):
                before = time.perf_counter()
                dead_desk.on_event(KEY, item, datetime.now(UTC))
                costs.append(time.perf_counter() - before)
            time.sleep(2.0)
            failed = dead_desk.status()["sinks"]["dead"]["failed_attempts"]
            dead_desk.close()
            dead_thread.join(30)
            dead_engine.dispose()

    costs.sort()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "incidents": args.incidents,
        "anchor_rate": round(args.incidents / anchor_s),
        "desk_rate": round(args.incidents / desk_s),
        "ratio": round(anchor_s / desk_s, 3),
        "on_event_dead_sink_mean_us": round(1e6 * statistics.fmean(costs), 1),
        "on_event_dead_sink_p99_us": round(1e6 * costs[int(0.99 * (len(costs) - 1))], 1),
        "on_event_dead_sink_max_us": round(1e6 * costs[-1], 1),
        "dead_sink_failed_attempts_meanwhile": failed,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
