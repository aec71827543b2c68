"""The hub under a 10,000-venue fleet: ingest rate, publish → stored latency, database growth, hub CPU and
memory, against mosquitto_sub draining the same stream (the broker-bound limit).

Run: .venv/bin/python -m bench.hub_load [--venues 10000] [--scale 10] [--seconds 120] [--flood 100000]
     [--database sqlite|postgresql|both] [--hubs 1] [--decode-workers 1]

For each database, on one local mosquitto (`sim.broker.Mosquitto`), with `--hubs` real `venue-hub run`
processes on the one shared subscription (each with `--decode-workers` decode processes):

1. **steady**: the fleet (bench/hub_fleet.py) comes online (retained availability and status for every
   venue), then sends its real per-venue traffic — status every 30 s, metrics every 60 s, an event every
   300 s — with time compressed by `--scale` for `--seconds`. Measured: every event stored exactly once
   (by id), the latency from the fleet handing an event to its MQTT client (`data.bench_sent`) to the
   row's `received_at` (p50, p99, max), the hub's CPU and memory (psutil, sampled each second: every
   hub process and its decode workers, summed), and the database's growth per table. Growth per
   venue-day (of real traffic: `--seconds × --scale` of fleet time) counts the tables that accumulate
   (events, transitions, self-tests, gaps, summaries); the current-state tables (`venue`,
   `venue_status`: one row per venue, replaced) are reported apart, because what they gain in a short
   run is the one-time filling of each venue's row (its first metrics, a longer status) and, on
   PostgreSQL, the dead versions of replaced rows until autovacuum reclaims them — neither is per day.
2. **flood** (the ingest rate against its anchor): the hub is stopped (its persistent session stays),
   `--flood` messages in the fleet's mix (status : metrics : event = 10 : 5 : 1) are published and queue
   at the broker for the hub's session and for a persistent mosquitto_sub session; then mosquitto_sub
   drains them to /dev/null (`-C`, timed from its start) and the hub is started and drains its queue into
   the database, timed from its start until every flood event is stored; the hub's rate is the messages
   its heartbeats counted as received (the flood, any steady backlog, the retained snapshot it reads at
   start; with `--hubs N` summed over the processes) over that time. Ratio = hub rate / mosquitto_sub
   rate. A second anchor drains the same flood from its own session: a bare paho client configured
   as the hub's subscriber (QoS 1, Receive Maximum 1000, manual acknowledgement) that does nothing with
   the messages — the ceiling of a Python subscriber on this library before any validation or storage.
   The hub's "busy" rate counts from its first to its last heartbeat with work (without its start).

Targets (issue 12): nothing lost, p99 ≤ 1 s, ingest ≥ 0.5× the mosquitto_sub rate, on SQLite and on
PostgreSQL. Loopback only; every phase bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bench.hub_fleet import Fleet
from hub.db.models import EventRecord, VenueStatus
from sim.broker import Mosquitto
from tests.peers.hub_process import HubProcess, write_hub_config

SCOPE = "vc/jilin/#"
ANCHOR_CLIENT = "bench-anchor"
SECONDS_PER_DAY = 86_400


@dataclass
class Sampler:
    """CPU (% of one core) and RSS of the hub processes and their children (the decode workers), summed,
    sampled in a thread once a second; a child that appears later is counted from its first sample."""

    pids: list[int]
    cpu: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        known: dict[int, psutil.Process] = {}

        def processes() -> list[psutil.Process]:
            for pid in self.pids:
                try:
                    parent = known.get(pid) or psutil.Process(pid)
                    found = [parent, *parent.children(recursive=True)]
                except psutil.Error:
                    continue
                for process in found:
                    if process.pid not in known:
                        known[process.pid] = process
                        process.cpu_percent(None)
            return list(known.values())

        processes()

        def loop() -> None:
            while not self._stop.wait(1.0):
                cpu, rss = 0.0, 0
                for process in processes():
                    try:
                        cpu += process.cpu_percent(None)
                        rss += process.memory_info().rss
                    except psutil.Error:
                        known.pop(process.pid, None)
                self.cpu.append(cpu)
                self.rss.append(rss)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        return {
            "cpu_mean_pct": round(statistics.fmean(self.cpu), 1) if self.cpu else 0.0,
            "cpu_max_pct": round(max(self.cpu), 1) if self.cpu else 0.0,
            "rss_max_mib": round(max(self.rss) / 2**20, 1) if self.rss else 0.0,
        }


# The tables that accumulate with traffic (growth per venue-day), and those holding one row per venue.
GROWING_TABLES = ("event", "availability_transition", "selftest_report", "seq_gap", "conference_summary")
STATE_TABLES = ("venue", "venue_status", "seq_cursor", "hub_process")


def table_bytes(engine) -> dict[str, int]:
    """Bytes per table, its indexes (and on PostgreSQL its TOAST) included: SQLite's dbstat pages,
    PostgreSQL's pg_total_relation_size (dead row versions included until vacuum)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(
                text(
                    "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
                    "LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY 1"
                )
            ).all()
        else:
            rows = connection.execute(
                text("SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables")
            ).all()
    return {str(name): int(size) for name, size in rows}


def growth(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in sorted(set(before) | set(after))}


def database_bytes(engine) -> int:
    """Bytes the database holds: SQLite's used pages (the WAL included, free pages not), or PostgreSQL's
    pg_database_size (which also counts dead row versions of replaced statuses until vacuum reuses them)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            pages = connection.execute(text("PRAGMA page_count")).scalar_one()
            free = connection.execute(text("PRAGMA freelist_count")).scalar_one()
            size = connection.execute(text("PRAGMA page_size")).scalar_one()
            return int((pages - free) * size)
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def status_rows(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(VenueStatus)) or 0)


def stored_events(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(EventRecord)) or 0)


def event_latencies(engine) -> tuple[dict[str, float], list[str]]:
    """Per stored event: received_at − data.bench_sent (s); and the ids stored."""
    latencies: dict[str, float] = {}
    with Session(engine) as session:
        for event_id, payload, received in session.execute(
            select(EventRecord.id, EventRecord.payload, EventRecord.received_at)
        ):
            sent = (payload.get("data") or {}).get("bench_sent")
            if sent:
                latencies[event_id] = received.timestamp() - float(sent)
    return latencies, list(latencies)


def wait_progress(probe, target: int, stall_s: float, limit_s: float) -> tuple[int, float]:
    """Poll `probe()` until it reaches `target`, or stops growing for `stall_s`, or `limit_s` passes.
    Returns the last value and the seconds waited (the hub may be behind, not stuck: wait while it moves)."""
    started = last_change = time.monotonic()
    last = probe()
    while last < target:
        now = time.monotonic()
        if now - last_change > stall_s or now - started > limit_s:
            break
        time.sleep(0.5)
        value = probe()
        if value != last:
            last, last_change = value, time.monotonic()
    return last, time.monotonic() - started


def received_counter(engine) -> int:
    """Messages the hub processes have taken from the broker (their heartbeats, every 5 s), summed."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT counters FROM hub_process")).all()
    total = 0
    for (counters,) in rows:
        counters = counters if isinstance(counters, dict) else json.loads(counters)
        total += int(counters.get("received", 0))
    return total


def transitions(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM availability_transition")).scalar_one())


class Hubs:
    """`--hubs` `venue-hub run` processes on one shared subscription (instances 1…N: one client id and
    persistent session each, the same group)."""

    def __init__(self, config: Path, directory: Path, count: int):
        self.config, self.directory, self.count = config, directory, count
        self.processes: list[HubProcess] = []

    def start(self) -> Hubs:
        self.processes = [
            HubProcess(self.config, self.directory / f"hub-{n}.log", instance=str(n)).start()
            for n in range(1, self.count + 1)
        ]
        return self

    @property
    def pids(self) -> list[int]:
        return [hub.process.pid for hub in self.processes if hub.process is not None]

    def wait_connected(self, timeout: float) -> None:
        for hub in self.processes:
            hub.wait_connected(timeout)

    def stop(self, timeout: float) -> list[str]:
        """SIGTERM to all, then wait; the ones that did not stop are killed and named."""
        for hub in self.processes:
            if hub.process is not None and hub.process.poll() is None:
                hub.process.send_signal(signal.SIGTERM)
        killed = []
        for hub in self.processes:
            try:
                hub.stop(timeout=timeout)
            except subprocess.TimeoutExpired:
                hub.ensure_dead()
                killed.append(hub.instance)
        return killed

    def ensure_dead(self) -> None:
        for hub in self.processes:
            hub.ensure_dead()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def anchor_command(port: int, *extra: str) -> list[str]:
    """mosquitto_sub on the anchor's persistent MQTT 5 session (clean start off, an hour's expiry), QoS 1."""
    session = ["-V", "mqttv5", "-i", ANCHOR_CLIENT, "-c", "-x", "3600", "-q", "1", "-t", SCOPE]
    return ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), *session, *extra]


def anchor_session(port: int) -> None:
    """Create mosquitto_sub's persistent session (subscribed, then gone), so the flood queues for it."""
    subprocess.run(
        anchor_command(port, "-E"),
        check=True,
        capture_output=True,
        timeout=30,
    )


def anchor_drain(port: int, count: int, timeout: float) -> float:
    """Seconds mosquitto_sub takes to receive `count` queued messages (to /dev/null)."""
    started = time.monotonic()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            anchor_command(port, "-R", "-C", str(count)),
            check=True,
            stdout=sink,
            stderr=subprocess.PIPE,
            timeout=timeout,
        )
    return time.monotonic() - started


PAHO_CLIENT = "bench-anchor-paho"


def paho_session(port: int, count: int = 0, timeout: float = 600) -> float:
    """A Python paho client on its own persistent MQTT 5 session, as the hub's subscriber configures it
    (Receive Maximum 1000, QoS 1, manual acknowledgement, Retain Handling 2): with `count` 0 it only
    creates the session (subscribed, then gone); otherwise the seconds it takes to receive and
    acknowledge `count` queued messages, doing nothing else with them — the ceiling any Python hub on
    paho has before it validates or stores anything."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=PAHO_CLIENT, protocol=mqtt.MQTTv5)
    client.manual_ack_set(True)
    done, subscribed = threading.Event(), threading.Event()
    received = [0]

    def on_connect(client, _userdata, _flags, _reason, _properties) -> None:
        client.subscribe(SCOPE, options=SubscribeOptions(qos=1, retainHandling=2))

    def on_message(client, _userdata, message) -> None:
        client.ack(message.mid, message.qos)
        received[0] += 1
        if count and received[0] >= count:
            done.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_message = on_message
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    properties.ReceiveMaximum = 1000
    started = time.monotonic()
    client.connect("127.0.0.1", port, 30, clean_start=False, properties=properties)
    client.loop_start()
    try:
        if not (done if count else subscribed).wait(timeout):
            raise TimeoutError(f"paho anchor: {received[0]} of {count} messages in {timeout} s")
        return time.monotonic() - started
    finally:
        client.disconnect()
        client.loop_stop()


def run_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    postgres = None
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'hub.sqlite3'}"
    else:
        from tests.peers.postgres import PostgresServer

        postgres = PostgresServer().start()
        url = postgres.new_database("bench")
    result: dict[str, Any] = {"database": kind, "load_average_at_start": os.getloadavg()}
    extra = (
        f"max_queued_messages {args.flood * 2 + 100_000}\nmax_queued_bytes 0\nmax_inflight_messages 4000\n"
        "max_connections -1\n"
    )
    (workdir / "broker").mkdir(exist_ok=True)
    broker = Mosquitto(workdir=workdir / "broker", extra_config=extra)
    broker.start()
    config = write_hub_config(
        workdir / "hub",
        broker.url,
        url,
        scope=SCOPE,
        default_status_interval_s=30 / args.scale,
        gap_grace_s=30,
        extra_hub=f"decode_workers = {args.decode_workers}",
    )
    # The tests' 5 s keepalive (a dead broker noticed fast) is not what an office runs (the default is
    # 30 s): on a loaded machine a hub busy storing may miss a 5 s ping, be disconnected, and re-read the
    # whole retained snapshot on reconnecting — which the benchmark would then measure instead.
    config.write_text(
        config.read_text(encoding="utf-8").replace("keepalive_s = 5\n", "keepalive_s = 30\n"), encoding="utf-8"
    )
    result["hubs"], result["decode_workers"] = args.hubs, args.decode_workers
    hubs = Hubs(config, workdir / "hub", args.hubs).start()
    fleet = None
    try:
        hubs.wait_connected(60)
        engine = create_engine(url)
        fleet = Fleet(broker.port, args.venues, connections=args.connections)
        sampler = Sampler(hubs.pids).start()

        # -- steady -------------------------------------------------------------------------------
        online_started = time.monotonic()
        fleet.online()
        wait_progress(lambda: status_rows(engine), args.venues, stall_s=30, limit_s=args.settle)
        online_s = time.monotonic() - online_started
        base_size = database_bytes(engine)  # every venue known and its status kept: growth starts here
        base_tables = table_bytes(engine)
        base_transitions = transitions(engine)
        started = time.monotonic()
        fleet.run(args.seconds, args.scale)
        publish_s = time.monotonic() - started
        steady_messages = fleet.sent.total - 2 * args.venues
        assert fleet.wait_acked(120), "the broker did not acknowledge every message"
        sent_ids = set(fleet.sent.event_ids)
        _, catch_up_s = wait_progress(lambda: stored_events(engine), len(sent_ids), stall_s=30, limit_s=args.settle)
        time.sleep(2)  # the last statuses
        steady_stats = sampler.stop()
        latencies, stored_ids = event_latencies(engine)
        statuses = status_rows(engine)
        grown = database_bytes(engine) - base_size
        tables = growth(base_tables, table_bytes(engine))
        growing = sum(tables.get(name, 0) for name in GROWING_TABLES)
        state = sum(tables.get(name, 0) for name in STATE_TABLES)
        steady_transitions = transitions(engine) - base_transitions
        venue_days = args.venues * args.seconds * args.scale / SECONDS_PER_DAY
        values = list(latencies.values())
        result["steady"] = {
            "venues": args.venues,
            "scale": args.scale,
            "seconds": args.seconds,
            "published": dict(fleet.sent.counts),
            "online_burst_s": round(online_s, 1),
            "publish_rate": round(steady_messages / publish_s),
            "events_sent": len(sent_ids),
            "events_stored": len(set(stored_ids) & sent_ids),
            "events_not_stored_yet": len(sent_ids - set(stored_ids)),
            "catch_up_s": round(catch_up_s, 1),
            "events_unexpected": len(set(stored_ids) - sent_ids),
            "venue_status_rows": statuses,
            "latency_p50_ms": round(1000 * percentile(values, 0.5), 1) if values else None,
            "latency_p99_ms": round(1000 * percentile(values, 0.99), 1) if values else None,
            "latency_max_ms": round(1000 * max(values), 1) if values else None,
            "db_growth_bytes": grown,
            "db_growth_by_table": {name: size for name, size in tables.items() if size},
            "db_growing_tables_bytes": growing,
            "db_state_tables_bytes": state,
            "db_bytes_per_venue_day": round(growing / venue_days) if venue_days else None,
            "db_all_bytes_per_venue_day": round(grown / venue_days) if venue_days else None,
            "transitions": steady_transitions,
            **steady_stats,
        }
        print(json.dumps({kind: result["steady"]}, ensure_ascii=False), flush=True)

        # -- flood: the hub's drain rate against mosquitto_sub's ------------------------------------
        killed = hubs.stop(timeout=180)
        if killed:
            result["steady"]["hub_stop"] = f"killed {killed}: did not stop within 180 s of SIGTERM"
        anchor_session(broker.port)
        paho_session(broker.port)
        before = set(fleet.sent.event_ids)
        fleet.flood(args.flood)
        assert fleet.wait_acked(300), "the broker did not acknowledge the flood"
        flood_ids = set(fleet.sent.event_ids) - before
        anchor_s = anchor_drain(broker.port, args.flood, timeout=600)
        paho_s = paho_session(broker.port, args.flood)
        restarted = time.monotonic()
        hubs = Hubs(config, workdir / "hub", args.hubs).start()
        sampler = Sampler(hubs.pids).start()
        timeline: list[tuple[float, int, int]] = []  # (s since restart, events stored, messages received)

        def progress() -> int:
            stored = stored_events(engine)
            timeline.append((round(time.monotonic() - restarted, 1), stored, received_counter(engine)))
            return stored

        wait_progress(progress, len(before | flood_ids), stall_s=60, limit_s=args.settle + 900)
        wall_s = time.monotonic() - restarted
        time.sleep(6)  # one more heartbeat, so the received counter is final
        received = received_counter(engine)
        flood_stats = sampler.stop()
        with Session(engine) as session:
            rows = session.execute(
                select(EventRecord.id, EventRecord.received_at).where(EventRecord.id.in_(list(flood_ids)))
            ).all()
        stored_flood = {row[0] for row in rows}
        times = sorted(row[1].timestamp() for row in rows)
        events_span_s = (times[-1] - times[0]) if len(times) > 1 else float("nan")
        busy = [t for t, _stored, count in timeline if 0 < count < received]
        busy_s = (busy[-1] - busy[0]) if len(busy) > 1 else wall_s
        hub_rate = received / wall_s if wall_s > 0 else 0.0
        anchor_rate = args.flood / anchor_s
        result["flood"] = {
            "messages": args.flood,
            "events": len(flood_ids),
            "events_lost": len(flood_ids - stored_flood),
            "mosquitto_sub_s": round(anchor_s, 2),
            "mosquitto_sub_rate": round(anchor_rate),
            "paho_s": round(paho_s, 2),
            "paho_rate": round(args.flood / paho_s),
            # the hub drains its own queue: the flood, what it had not taken before it stopped, and the
            # retained snapshot it reads at start; `received` counts them all (its heartbeat counter)
            "hub_received": received,
            "hub_wall_s_from_start": round(wall_s, 1),
            "hub_rate": round(hub_rate),
            "hub_busy_s": round(busy_s, 1),
            "hub_busy_rate": round(received / busy_s) if busy_s > 0 else None,
            "flood_events_span_s": round(events_span_s, 1),
            "ratio": round(hub_rate / anchor_rate, 3),
            # while draining: the flood's messages over the span of its events' receipt (they are spread
            # evenly through it), without the process start, the pool's start and the retained snapshot
            "hub_drain_rate": round(args.flood / events_span_s) if events_span_s > 0 else None,
            "drain_ratio": round(args.flood / events_span_s / anchor_rate, 3) if events_span_s > 0 else None,
            "busy_ratio": round(received / busy_s / anchor_rate, 3) if busy_s > 0 else None,
            "paho_ratio": round(hub_rate / (args.flood / paho_s), 3),
            "timeline": timeline[:: max(1, len(timeline) // 60)],
            **flood_stats,
        }
        # every event of both phases, once the hub has caught up with everything: the loss figure
        final_latencies, final_ids = event_latencies(engine)
        all_sent = sent_ids | flood_ids
        result["lost"] = {
            "events_sent": len(all_sent),
            "events_never_stored": len(all_sent - set(final_ids)),
            "events_unexpected": len(set(final_ids) - all_sent),
        }
        steady_final = [final_latencies[i] for i in sent_ids if i in final_latencies]
        # the p99 of every steady event, including those stored only after the catch-up wait
        result["steady"]["latency_all_p99_ms"] = round(1000 * percentile(steady_final, 0.99)) if steady_final else None
        result["load_average"] = os.getloadavg()
        print(json.dumps({kind: {"flood": result["flood"], "lost": result["lost"]}}, ensure_ascii=False), flush=True)
        engine.dispose()
    finally:
        if fleet is not None:
            fleet.close()
        hubs.ensure_dead()
        broker.close()
        if postgres is not None:
            postgres.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venues", type=int, default=10_000)
    parser.add_argument("--scale", type=float, default=10.0, help="Time compression of the fleet's rates.")
    parser.add_argument("--seconds", type=float, default=120.0, help="Length of the steady phase.")
    parser.add_argument("--flood", type=int, default=100_000, help="Messages queued for the drain comparison.")
    parser.add_argument("--connections", type=int, default=4, help="MQTT connections the fleet shares.")
    parser.add_argument("--settle", type=float, default=120.0, help="Longest wait for the hub to catch up.")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--hubs", type=int, default=1, help="venue-hub run processes on the shared subscription.")
    parser.add_argument("--decode-workers", type=int, default=1, help="Each hub's [hub] decode_workers.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--keep", type=Path, help="Work in this (new) directory and keep it: logs, database.")
    args = parser.parse_args()
    if shutil.which("mosquitto_sub") is None:
        sys.exit("mosquitto_sub is not installed (Debian package mosquitto-clients)")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "runs": [],
    }
    for kind in kinds:
        if args.keep is not None:  # the hub's log and database stay for a look afterwards
            directory = args.keep / kind
            directory.mkdir(parents=True, exist_ok=False)
            results["runs"].append(run_database(kind, args, directory))
            continue
        with tempfile.TemporaryDirectory(prefix=f"hub-load-{kind}-") as directory:
            results["runs"].append(run_database(kind, args, Path(directory)))
    for run in results["runs"]:
        steady, flood = run["steady"], run["flood"]
        print(
            f"{run['database']} ({run['hubs']} hub(s), {run['decode_workers']} decode worker(s) each, "
            f"load {' '.join(f'{x:.1f}' for x in run['load_average_at_start'])} → "
            f"{' '.join(f'{x:.1f}' for x in run['load_average'])}): steady {steady['publish_rate']} msg/s published, "
            f"not stored after {steady['catch_up_s']} s: {steady['events_not_stored_yet']}, "
            f"p50 {steady['latency_p50_ms']} ms, p99 {steady['latency_p99_ms']} ms, "
            f"CPU {steady['cpu_mean_pct']} % (max {steady['cpu_max_pct']} %), RSS {steady['rss_max_mib']} MiB, "
            f"{steady['db_bytes_per_venue_day']} B/venue-day (growing tables; "
            f"state tables +{steady['db_state_tables_bytes']} B, "
            f"{steady['transitions']} transitions); flood: hub {flood['hub_rate']} msg/s vs "
            f"mosquitto_sub {flood['mosquitto_sub_rate']} msg/s = {flood['ratio']}× "
            f"(draining {flood['hub_drain_rate']} msg/s = {flood['drain_ratio']}×; "
            f"bare paho {flood['paho_rate']} msg/s, "
            f"hub = {flood['paho_ratio']}× of it); "
            f"events never stored {run['lost']['events_never_stored']} of {run['lost']['events_sent']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
