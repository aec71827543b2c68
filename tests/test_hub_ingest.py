"""The hub against real peers: a real mosquitto, three real venue agents (`python -m agent run`) in two
prefectures, the hub as a real process (`python -m hub run`), on SQLite and on a real PostgreSQL.

The agents (and a plain subscriber beside them that records every event they published) are shared
by the module; each test starts its own hub processes on a fresh database. A test that kills a venue
starts it again before it ends, so the fleet is whole for the next.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.engine import open_database
from hub.db.models import (
    AvailabilityTransition,
    Conference,
    ConferenceSummary,
    ConferenceVenue,
    EventRecord,
    RollCallRow,
    SeqGap,
    Venue,
)
from hub.db.models import (
    HubProcess as HubProcessRow,
)
from sim.broker import Mosquitto
from sim.netcut import CuttableProxy
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess
from tests.peers.hub import Hub
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config

pytest_plugins = ["tests.peers.postgres"]

FLEET = {
    # key: (prefecture, county, name)
    "jilin/changchun/nongan/main": ("changchun", "nongan", "农安县政府视频会议室"),
    "jilin/changchun/_/main": ("changchun", "_", "长春市政府视频会议室"),
    "jilin/siping/lishu/main": ("siping", "lishu", "梨树县政府视频会议室"),
}
NEVER = "jilin/changchun/dehui/main"  # in the inventory, no agent: `never`
CUT_VENUE = "jilin/changchun/nongan/main"
VENUES_KEYS = {"venue", "name", "state", "overall", "failing", "last_seen", "selftest", "contacts"}


def agent_config(directory: Path, broker_url: str, prefecture: str, county: str, name: str, **options) -> Path:
    path = write_config(directory, broker_url, county=county, name=name, **options)
    text = path.read_text(encoding="utf-8").replace('prefecture = "changchun"', f'prefecture = "{prefecture}"')
    path.write_text(text, encoding="utf-8")
    return path


def write_inventory(path: Path) -> Path:
    rows = ["province,prefecture,county,id,name,liaison_name,liaison_phone,technical_head_name,technical_head_phone"]
    for number, (key, (prefecture, county, name)) in enumerate(
        [*FLEET.items(), (NEVER, ("changchun", "dehui", "德惠市"))]
    ):
        rows.append(
            f"jilin,{prefecture},{county},main,{name},联络员{number},0431-8000{number:04d},技术{number},139000{number:05d}"
        )
        assert key.endswith(f"/{county}/main")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@dataclass
class Fleet:
    broker: Mosquitto
    agents: dict[str, AgentProcess]
    watcher: Hub  # a plain subscriber: every event the agents published, with when it arrived
    workdir: Path
    inventory: Path
    proxy: CuttableProxy  # CUT_VENUE reaches the broker through it: a line the tests can cut

    def restart(self, key: str) -> None:
        agent = self.agents[key]
        agent.ensure_dead()
        agent.start()

    def events_since(self, since: float) -> dict[str, dict]:
        """Event id → event, of the events the watcher received at or after `since` (time.monotonic())."""
        with self.watcher._cond:  # both lists under the lock the watcher appends them under, together
            messages, arrivals = list(self.watcher.messages), list(self.watcher.arrivals)
        return {
            m.json()["id"]: m.json()
            for m, at in zip(messages, arrivals, strict=True)
            if m.topic.endswith("/events") and at >= since
        }


class TimedHub(Hub):
    """The plain subscriber, also recording when each message arrived."""

    def __init__(self, port: int):
        self.arrivals: list[float] = []
        super().__init__(port, subscription="vc/#")

    def _on_message(self, client, userdata, message) -> None:
        with self._cond:  # a reentrant lock: the arrival and the message are recorded together
            self.arrivals.append(time.monotonic())
            super()._on_message(client, userdata, message)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("fleet")
    (workdir / "broker").mkdir()
    broker = Mosquitto(workdir=workdir / "broker").start()
    watcher = TimedHub(broker.port)
    proxy = CuttableProxy(broker.port)
    agents = {}
    for key, (prefecture, county, name) in FLEET.items():
        slug = key.replace("/", "-")
        config = agent_config(
            workdir / slug,
            f"mqtt://127.0.0.1:{proxy.port}" if key == CUT_VENUE else broker.url,
            prefecture,
            county,
            name,
            status_interval_s=1,
            flap_interval_s=0.5,
            metrics_interval_s=5,
        )
        agents[key] = AgentProcess(config, workdir / f"{slug}.log").start()
    fleet = Fleet(broker, agents, watcher, workdir, write_inventory(workdir / "inventory.csv"), proxy)
    try:
        for key in FLEET:
            topic = f"vc/{key}/availability"
            watcher.wait_for(lambda m, t=topic: m.topic == t and m.payload == b"online", timeout=90)
        yield fleet
    finally:
        for agent in agents.values():
            agent.ensure_dead()
        proxy.close()
        watcher.close()
        broker.close()


def group_of(test_dir: Path) -> str:
    return "t-" + hashlib.sha1(str(test_dir).encode()).hexdigest()[:12]


def start_hub(fleet: Fleet, directory: Path, database_url: str, instance: str = "1", **options) -> HubProcess:
    """A hub process on the fleet's broker. Each test gets a shared-subscription group of its own: the
    broker keeps dealing a stopped hub's share to its persistent session (tests/test_hub_broker.py),
    so a group left behind by an earlier test would swallow part of the stream."""
    options.setdefault("inventory", fleet.inventory)
    options.setdefault(
        "group", "t-" + hashlib.sha1(str(directory.parent if instance != "1" else directory).encode()).hexdigest()[:12]
    )
    config = write_hub_config(directory, fleet.broker.url, database_url, **options)
    hub = HubProcess(config, directory / f"hub-{instance}.log", instance).start()
    hub.wait_connected()
    return hub


def hub_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`venue-hub ARGS` as a real process."""
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=90)


def venues_json(config: Path) -> tuple[int, list[dict]]:
    result = hub_cli("venues", "-c", str(config), "--json")
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def states(engine) -> dict[str, str]:
    with Session(engine) as session:
        return dict(session.execute(select(Venue.key, Venue.state)).all())


def stored_event_ids(engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(EventRecord.id)))


def wait_stored(engine, expected: set[str], timeout: float = 20) -> set[str]:
    """Wait until every id of `expected` is stored; returns the stored ids."""
    return wait_until(lambda: (ids := stored_event_ids(engine)) >= expected and ids, timeout, "every event stored")


def counters(engine) -> dict[str, dict]:
    with Session(engine) as session:
        return {row.client_id: row.counters for row in session.scalars(select(HubProcessRow))}


def test_hub_sees_every_venue_and_stores_each_event_once(fleet: Fleet, database_url: str, tmp_path: Path) -> None:
    hub = start_hub(fleet, tmp_path, database_url)
    engine = open_database(database_url)
    try:
        connected = time.monotonic()
        wait_until(lambda: all(states(engine).get(k) == "online" for k in FLEET) or None, 20, "every venue online")
        code, rows = venues_json(hub.config)
        by_key = {row["venue"]: row for row in rows}
        assert set(by_key) == {*FLEET, NEVER}
        assert all(set(row) == VENUES_KEYS for row in rows)
        assert by_key[NEVER]["state"] == "never" and by_key[NEVER]["last_seen"] is None
        assert code == 1  # one venue never reported, none lost
        nongan = by_key["jilin/changchun/nongan/main"]
        assert nongan["state"] == "online" and nongan["overall"] in ("ok", "warn", "fail", "unknown")
        assert nongan["name"] == "农安县政府视频会议室"
        assert nongan["contacts"]["liaison"] == {"name": "联络员0", "phone": "0431-80000000"}
        assert datetime.fromisoformat(nongan["last_seen"].replace("Z", "+00:00")) <= datetime.now(UTC)
        time.sleep(2)  # the simulated venues flap a check every 0.5 s: events flow
        published = fleet.events_since(connected + 0.5)
        assert len(published) >= 10
        stored = wait_stored(engine, set(published))
        assert stored <= set(fleet.events_since(0)), "the hub stored an event no agent published"
        with Session(engine) as session:
            keys = set(session.scalars(select(EventRecord.venue_key).distinct()))
        assert keys == set(FLEET)
    finally:
        assert hub.stop() == 0
    assert "Traceback" not in hub.log()
    (process,) = counters(engine).values()  # what the process itself counted, written at its stop
    assert process["stored_events"] == len(stored_event_ids(engine))
    assert process["received"] >= process["stored_events"] and process.get("rejected", 0) == 0


def test_prefecture_hub_sees_exactly_its_own_subtree(fleet: Fleet, database_url: str, tmp_path: Path) -> None:
    hub = start_hub(fleet, tmp_path, database_url, scope="vc/jilin/changchun/#")
    engine = open_database(database_url)
    # The prefecture's own venue (county `_`) and its county venue; the inventory's `never` one too.
    subtree = {k for k in FLEET if k.startswith("jilin/changchun/")}
    try:
        wait_until(lambda: all(states(engine).get(k) == "online" for k in subtree) or None, 20, "changchun online")
        since = time.monotonic()
        time.sleep(1.5)
        ours = {i for i, e in fleet.events_since(since).items() if e["venue"]["prefecture"] == "changchun"}
        assert ours and wait_stored(engine, ours)
        assert set(states(engine)) == {*subtree, NEVER}  # siping is outside the scope, inventory or not
        with Session(engine) as session:
            assert set(session.scalars(select(EventRecord.venue_key).distinct())) == subtree
        code, rows = venues_json(hub.config)
        assert {row["venue"] for row in rows} == {*subtree, NEVER} and code == 1
    finally:
        assert hub.stop() == 0


def test_two_hub_processes_on_one_shared_subscription_store_every_event_once(
    fleet: Fleet, database_url: str, tmp_path: Path
) -> None:
    first = start_hub(fleet, tmp_path / "a", database_url, instance="a")
    second = start_hub(fleet, tmp_path / "b", database_url, instance="b")
    engine = open_database(database_url)
    try:
        since = time.monotonic() + 0.5
        time.sleep(5)
        published = fleet.events_since(since)
        stored = wait_stored(engine, set(published))
        assert stored <= set(fleet.events_since(0))
    finally:
        assert first.stop() == 0 and second.stop() == 0
    by_process = counters(engine)
    shares = {client: c.get("stored_events", 0) for client, c in by_process.items()}
    assert len(shares) == 2 and {c.rsplit("-", 1)[1] for c in shares} == {"a", "b"}
    assert all(share > 0 for share in shares.values()), shares  # both took their part of the stream
    assert sum(shares.values()) == len(stored_event_ids(engine))  # …and no event was stored by both


def test_hub_restarted_while_events_flow_loses_none_and_duplicates_none(
    fleet: Fleet, database_url: str, tmp_path: Path
) -> None:
    hub = start_hub(fleet, tmp_path, database_url)
    engine = open_database(database_url)
    since = time.monotonic() + 0.5
    time.sleep(1.5)
    hub.kill9()  # mid-stream: whatever was received but not committed was not acknowledged either
    time.sleep(2)  # events keep coming; the broker queues them in the hub's session
    hub.start()
    hub.wait_connected()
    try:
        time.sleep(1)
        published = fleet.events_since(since)
        stored = wait_stored(engine, set(published))
        assert stored <= set(fleet.events_since(0))
        time.sleep(2.5)  # gap_grace_s = 2 and a sweep every 2 s: a hole would be recorded by now
        with Session(engine) as session:
            assert session.scalars(select(SeqGap)).all() == []
    finally:
        assert hub.stop() == 0
    assert "session resumed" in hub.log()


def decode_workers_of(hub: HubProcess) -> list[psutil.Process]:
    """The hub's decode worker processes (spawned: `spawn_main` in the command line; the resource
    tracker multiprocessing also starts is not one)."""
    children = psutil.Process(hub.process.pid).children(recursive=True)  # type: ignore[union-attr]
    return [p for p in children if any("spawn_main" in part for part in p.cmdline())]


def test_a_killed_decode_worker_is_replaced_and_no_event_is_lost(
    fleet: Fleet, database_url: str, tmp_path: Path
) -> None:
    hub = start_hub(fleet, tmp_path, database_url, extra_hub="decode_workers = 1")
    engine = open_database(database_url)
    try:
        (worker,) = wait_until(lambda: decode_workers_of(hub) or None, 20, "the decode worker started")
        since = time.monotonic() + 0.5
        time.sleep(1.5)
        worker.kill()  # SIGKILL mid-stream: the batch it held is decoded in the store thread instead
        time.sleep(2)
        published = fleet.events_since(since)
        stored = wait_stored(engine, set(published))
        assert stored <= set(fleet.events_since(0))
        (replacement,) = wait_until(
            lambda: [w for w in decode_workers_of(hub) if w.pid != worker.pid] or None, 20, "a new decode worker"
        )
        assert replacement.is_running()
    finally:
        assert hub.stop() == 0
    assert "replacing the pool" in hub.log()
    (process,) = counters(engine).values()
    assert process["decode_pool_restarts"] >= 1 and process.get("store_failed", 0) == 0


def test_decoding_in_the_store_thread_stores_every_event_once(fleet: Fleet, database_url: str, tmp_path: Path) -> None:
    hub = start_hub(fleet, tmp_path, database_url, extra_hub="decode_workers = 0")
    engine = open_database(database_url)
    try:
        assert decode_workers_of(hub) == []
        since = time.monotonic() + 0.5
        time.sleep(2)
        published = fleet.events_since(since)
        assert wait_stored(engine, set(published)) <= set(fleet.events_since(0))
    finally:
        assert hub.stop() == 0
    (process,) = counters(engine).values()
    assert process["stored_events"] == len(stored_event_ids(engine)) and "decode_pool_restarts" not in process


def test_killed_venue_goes_offline_and_the_roll_call_reports_it_silent(
    fleet: Fleet, database_url: str, tmp_path: Path
) -> None:
    hub = start_hub(fleet, tmp_path, database_url)
    engine = open_database(database_url)
    victim = "jilin/siping/lishu/main"
    try:
        wait_until(lambda: all(states(engine).get(k) == "online" for k in FLEET) or None, 20, "every venue online")
        fleet.agents[victim].kill9()
        wait_until(lambda: states(engine)[victim] == "offline", 20, "the Will: offline")
        with Session(engine) as session:
            last = session.scalars(
                select(AvailabilityTransition)
                .where(AvailabilityTransition.venue_key == victim)
                .order_by(AvailabilityTransition.id.desc())
            ).first()
        assert (last.previous, last.state, last.reason) == ("online", "offline", "availability")
        csv_path = tmp_path / "rollcall.csv"
        result = hub_cli("rollcall", "-c", str(hub.config), "--deadline", "3", "--json", "--csv", str(csv_path))
        assert result.returncode == 2, result.stderr
        report = json.loads(result.stdout)
        rows = {row["venue"]: row for row in report["venues"]}
        assert set(rows) == {*FLEET, NEVER}
        assert all(
            set(row) == {"venue", "answered", "verdict", "failed_items", "seconds", "liaison"} for row in rows.values()
        )
        for key in (victim, NEVER):
            assert rows[key]["answered"] is False and rows[key]["verdict"] is None and rows[key]["seconds"] is None
        alive = set(FLEET) - {victim}
        for key in alive:
            assert rows[key]["answered"] is True and rows[key]["verdict"] in ("pass", "warn", "fail", "unknown")
            assert rows[key]["seconds"] >= 0 and rows[key]["liaison"]["name"].startswith("联络员")
        summary = report["summary"]
        assert summary["total"] == 4 and summary["answered"] == 2 and summary["silent"] == 2
        assert summary["pass"] + summary["warn"] + summary["fail"] == 2
        with csv_path.open(encoding="utf-8-sig") as handle:
            assert {row["venue"]: row["verdict"] for row in csv.DictReader(handle)}[victim] == "silent"
        with Session(engine) as session:
            kept = {row.venue_key: row for row in session.scalars(select(RollCallRow))}
        assert set(kept) == {*FLEET, NEVER} and not kept[victim].answered and kept[victim].state == "offline"
    finally:
        fleet.restart(victim)  # the next test waits for the whole fleet online
        assert hub.stop() == 0


def test_schedule_push_reports_who_accepted_and_the_conference_roll_call_calls_them(
    fleet: Fleet, database_url: str, tmp_path: Path
) -> None:
    hub = start_hub(fleet, tmp_path, database_url)
    engine = open_database(database_url)
    schedule = tmp_path / "conferences.toml"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    schedule.write_text(
        f'[[conference]]\nid = "2026-prov-07"\ntitle = "全省安全生产电视电话会议"\nkind = "provincial"\n'
        f"start = {tomorrow}\nduration_min = 90\n",
        encoding="utf-8",
    )
    try:
        wait_until(lambda: all(states(engine).get(k) == "online" for k in FLEET) or None, 20, "every venue online")
        only = [arg for key in FLEET for arg in ("--venue", key)]  # all answer: no waiting for the deadline
        pushed = hub_cli("schedule", "push", "-c", str(hub.config), str(schedule), "--deadline", "10", "--json", *only)
        rows = {row["venue"]: row for row in json.loads(pushed.stdout)}
        assert pushed.returncode == 0, pushed.stderr
        assert set(rows) == set(FLEET)
        assert all(rows[key]["accepted"] is True and rows[key]["conferences"] >= 1 for key in FLEET), rows
        with Session(engine) as session:
            links = {row.venue_key: row.accepted for row in session.scalars(select(ConferenceVenue))}
        assert links == dict.fromkeys(FLEET, True)
        # A venue that refuses: the same conference with a start the agents reject (400-day horizon).
        far = schedule.with_name("far.toml")
        text = schedule.read_text(encoding="utf-8").replace(tomorrow, "2199-01-01T09:00:00+08:00")
        far.write_text(text.replace("2026-prov-07", "2199-prov-01"), encoding="utf-8")
        refused = hub_cli("schedule", "push", "-c", str(hub.config), str(far), "--json", "--venue", CUT_VENUE)
        (row,) = json.loads(refused.stdout)
        assert refused.returncode == 2 and row["accepted"] is False and row["error"]["code"] == "cmd.bad_payload"
        called = hub_cli(
            "rollcall", "-c", str(hub.config), "--conference", "2026-prov-07", "--deadline", "10", "--json"
        )
        report = json.loads(called.stdout)
        assert {row["venue"] for row in report["venues"]} == set(FLEET)  # the conference's venues only
        assert report["conference_id"] == "2026-prov-07" and report["summary"]["answered"] == 3
        summary = report["summary"]
        assert called.returncode == (2 if summary["fail"] else 1 if summary["warn"] else 0), called.stderr
    finally:
        assert hub.stop() == 0


def test_summaries_the_broker_did_not_bring_are_asked_for(fleet: Fleet, database_url: str, tmp_path: Path) -> None:
    """A conference pushed earlier has ended; one venue keeps its Art. 20 summary on disk (its event never
    reached this hub), another keeps none. The hub asks both over cmd/summary and stores the one it gets."""
    engine = open_database(database_url)
    conference_id = f"past-{tmp_path.name[-6:]}"
    start = datetime.now(UTC) - timedelta(hours=3)
    with Session(engine) as session:
        session.add(
            Conference(
                id=conference_id,
                title="上周的会",
                kind="provincial",
                start=start,
                duration_min=60,
                scope="vc/jilin/#",
                pushed_at=start,
                payload={},
            )
        )
        for key in ("jilin/siping/lishu/main", "jilin/changchun/_/main"):
            session.add(
                Venue(
                    key=key,
                    province="jilin",
                    prefecture=key.split("/")[1],
                    county=key.split("/")[2],
                    venue_id="main",
                    state="never",
                    in_inventory=False,
                )
            )
        session.flush()  # the venues and the conference first: the links refer to them
        for key in ("jilin/siping/lishu/main", "jilin/changchun/_/main"):
            session.add(ConferenceVenue(conference_id=conference_id, venue_key=key, pushed_at=start, accepted=True))
        session.commit()
    kept = {"conference_id": conference_id, "title": "上周的会", "kind": "provincial", "severity": "warning"}
    summaries = fleet.agents["jilin/siping/lishu/main"].config.parent / "state" / "summaries"
    summaries.mkdir(parents=True, exist_ok=True)
    (summaries / f"{conference_id}.json").write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    hub = start_hub(fleet, tmp_path, database_url, extra_hub="summary_request_after_s = 0\nsummary_retry_s = 1\n")
    try:

        def stored() -> list[ConferenceSummary]:
            with Session(engine) as session:
                return session.scalars(select(ConferenceSummary)).all()

        (summary,) = wait_until(stored, 30, "the kept summary fetched")
        assert (summary.venue_key, summary.conference_id, summary.source) == (
            "jilin/siping/lishu/main",
            conference_id,
            "cmd/summary",
        )
        assert summary.payload == kept and summary.severity == "warning"
        time.sleep(2.5)  # the other venue answered "none kept here": nothing invented for it
        assert len(stored()) == 1
    finally:
        assert hub.stop() == 0
    (process,) = counters(engine).values()
    assert process["summary_replies"] >= 2


def test_cut_link_turns_a_venue_silent_then_back(fleet: Fleet, database_url: str, tmp_path: Path) -> None:
    """The venue's line to the broker goes dead without a word (a cut fibre): the broker notices only
    after 1.5 × keepalive (then its Will says offline); the hub notices the silence first."""
    hub = start_hub(fleet, tmp_path, database_url, default_status_interval_s=1)
    engine = open_database(database_url)
    key = CUT_VENUE
    try:
        wait_until(lambda: states(engine).get(key) == "online", 30, "the venue online")
        fleet.proxy.sever("blackhole")
        wait_until(lambda: states(engine)[key] in ("silent", "offline"), 20, "the venue lost")
        assert states(engine)[key] == "silent"  # nothing heard for 2.5 × 1 s, while the broker still says online
        code, rows = venues_json(hub.config)
        assert {r["venue"]: r["state"] for r in rows}[key] in ("silent", "offline") and code == 2
    finally:
        fleet.proxy.restore()
    try:
        wait_until(lambda: states(engine)[key] == "online", 30, "the venue back online")
        with Session(engine) as session:
            path = [
                t.state
                for t in session.scalars(
                    select(AvailabilityTransition)
                    .where(AvailabilityTransition.venue_key == key)
                    .order_by(AvailabilityTransition.id)
                )
            ]
        assert path[:2] == ["online", "silent"] and path[-1] == "online", path
    finally:
        assert hub.stop() == 0
