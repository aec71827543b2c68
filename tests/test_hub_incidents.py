"""The incident desk against real peers: a real HTTP server on loopback playing the webhook receiver and
the WeCom / DingTalk robots, a real SQLite ledger on disk. The desk runs on its own thread and event
loop, as in `venue-hub run`, while the test calls `on_event` / `on_state` like the ingest does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from contract.findings import Message
from contract.payloads import Event, Severity, VenueRef
from hub.db.engine import open_database, writer_engine
from hub.incidents.config import SinkConfig
from hub.incidents.desk import IncidentDesk
from hub.incidents.formats import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, webhook_signature
from hub.incidents.incident import ConferenceRef
from hub.incidents.ledger import Ledger
from hub.incidents.rules import ScheduledConference, VenueInfo
from tests.peers.http_sink import ROBOT_OK, HttpSink, refusing_port

pytest_plugins = ["tests.peers.postgres"]  # the shared PostgreSQL server and the `database_url` fixture

VENUE = "jilin/changchun/chaoyang/main"
START = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
CONTACTS = {
    "liaison": {"name": "张联络", "phone": "13904310001"},
    "technical_head": {"name": "李技术", "phone": "0431-83220002"},
}


class StaticDirectory:
    """What the hub database would answer, fixed for a test (the database-backed one is tested with the hub)."""

    def __init__(self, conferences: list[ScheduledConference], down: dict[str, str] | None = None):
        self.conferences = conferences
        self.down = down or {}  # venue → state, for the pre-conference sweep

    def venue(self, venue_key: str) -> VenueInfo | None:
        return VenueInfo("朝阳区主会场", CONTACTS) if venue_key == VENUE else None

    def conference(self, conference_id: str) -> ConferenceRef | None:
        return next((c.ref for c in self.conferences if c.ref.id == conference_id), None)

    def conference_at(self, venue_key: str, at: datetime) -> ConferenceRef | None:
        return next((c.ref for c in self.conferences if c.ref.start <= at < c.end), None)

    def conferences_between(self, venue_key: str, start: datetime, end: datetime) -> list[ScheduledConference]:
        return [c for c in self.conferences if c.ref.start <= end and c.end >= start]

    def not_ready(self, start: datetime, end: datetime) -> list[tuple[str, str, ScheduledConference]]:
        due = [c for c in self.conferences if c.ref.start <= end and c.end > start]
        return [(venue, state, c) for venue, state in self.down.items() for c in due]


CONFERENCE = ScheduledConference(ConferenceRef("sheng-1202", "全省视频会议", START), START + timedelta(hours=2))


def event(severity: Severity = Severity.CRITICAL, conference_id: str | None = "sheng-1202", **fields) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        seq=fields.pop("seq", 1),
        ts=fields.pop("ts", START + timedelta(minutes=20)),
        venue=VenueRef(
            province="jilin", prefecture="changchun", county="chaoyang", id="main", name="朝阳区主会场", level="county"
        ),
        code=fields.pop("code", "audio.noise_high"),
        severity=severity,
        message=Message(zh="音频噪声过大", en="audio noise too high"),
        check="audio.noise",
        conference_id=conference_id,
        **fields,
    )


def sink(name: str, kind: str, url: str, **extra) -> SinkConfig:
    return SinkConfig(
        **{"allow_http": True, "backoff_initial_s": 0.1, "backoff_max_s": 0.5, **extra}, name=name, kind=kind, url=url
    )


@contextmanager
def running_desk(db: Path | str, sinks: list[SinkConfig], directory=None, **kwargs) -> Iterator[IncidentDesk]:
    """The desk on its own thread and loop (on an SQLite file, or a database URL); closed on exit."""
    engine = writer_engine(open_database(db if isinstance(db, str) else f"sqlite:///{db}"))  # as venue-hub run
    desk = IncidentDesk(engine, sinks, directory or StaticDirectory([CONFERENCE]), **kwargs)
    thread = threading.Thread(target=asyncio.run, args=(desk.run(),), daemon=True)
    thread.start()
    try:
        yield desk
    finally:
        desk.close()
        thread.join(30)
        engine.dispose()
        assert not thread.is_alive(), "the desk did not stop"


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


# -- config -----------------------------------------------------------------------------------------
def test_sink_config_is_strict_and_never_echoes_a_robot_key():
    with pytest.raises(ValidationError, match="exactly one of url"):
        SinkConfig(name="a", kind="webhook")
    with pytest.raises(ValidationError, match="no signing secret"):
        SinkConfig(name="a", kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", secret="s")
    with pytest.raises(ValidationError, match="plain http"):
        SinkConfig(name="a", kind="webhook", url="http://example.org/h")
    with pytest.raises(ValidationError, match="headers are for"):
        SinkConfig(
            name="a", kind="dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=T", headers={"X": "y"}
        )
    with pytest.raises(ValidationError, match="scheme must be"):
        SinkConfig(name="a", kind="webhook", url="ftp://example.org/h?key=SECRETKEY")
    assert SinkConfig(name="w", kind="wecom", url="https://q.example/send?key=K").pace_per_minute == 20
    assert SinkConfig(name="w", kind="webhook", url="https://q.example/h").pace_per_minute is None
    assert "SECRETKEY" not in repr(SinkConfig(name="w", kind="webhook", url="https://q.example/h?key=SECRETKEY"))


# -- delivery -------------------------------------------------------------------------------------
def test_webhook_500_twice_then_200_delivers_one_message_retried(tmp_path):
    with HttpSink([(500, b"{}"), (500, b"{}")], then=(200, b"{}")) as server:
        config = sink("office", "webhook", server.url(), secret="hook-secret", headers={"X-Office": "jilin"})
        with running_desk(tmp_path / "hub.db", [config]) as desk:
            incident_event = event()
            desk.on_event(VENUE, incident_event, datetime.now(UTC))
            posts = server.wait_for(3)
            wait_until(lambda: desk.status()["sinks"]["office"]["delivered"] == 1)
            time.sleep(0.5)  # nothing more may come
            status = desk.status()
        ledger = Ledger(open_database(f"sqlite:///{tmp_path / 'hub.db'}"))
        delivery = ledger.deliveries(f"event:{incident_event.id}")["office"]
    assert [p.status for p in server.requests] == [500, 500, 200]
    assert len({p.body for p in posts}) == 1, "every retry posts the same message"
    body = posts[-1].json()
    assert body["schema"] == "venue-hub/incident/1"
    assert body["key"] == f"event:{incident_event.id}"
    assert body["severity"] == "critical"
    assert body["conference"]["id"] == "sheng-1202"
    assert body["contacts"]["liaison"] == {"name": "张联络", "phone": "13904310001"}
    assert body["contacts"]["technical_head"]["name"] == "李技术"
    assert body["event"]["id"] == incident_event.id
    assert posts[-1].headers[IDEMPOTENCY_HEADER] == body["key"]
    assert posts[-1].headers[SIGNATURE_HEADER] == webhook_signature("hook-secret", posts[-1].body)
    assert posts[-1].headers["X-Office"] == "jilin"
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    assert status["sinks"]["office"]["failed_attempts"] == 2
    assert status["sinks"]["office"]["last_error"] == "HTTP 500"


def test_wecom_text_and_markdown_carry_contacts_chinese_first(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with HttpSink(then=ROBOT_OK) as server:
        sinks = [
            sink("wecom-text", "wecom", server.url("/text?key=KEY1"), format="text"),
            sink("wecom-md", "wecom", server.url("/md?key=KEY2"), format="markdown"),
        ]
        with running_desk(tmp_path / "hub.db", sinks) as desk:
            desk.on_event(VENUE, event(), datetime.now(UTC))
            server.wait_for(2)
            time.sleep(0.3)
    assert len(server.requests) == 2
    by_path = {p.path: p for p in server.requests}
    assert by_path["/text"].query["key"] == ["KEY1"]
    text = by_path["/text"].json()
    assert text["msgtype"] == "text"
    content = text["text"]["content"]
    assert content.startswith("【严重 / CRITICAL】会议期间告警")
    assert "会务联络员 / Liaison：张联络 13904310001" in content
    assert "技术保障负责人 / Technical head：李技术 0431-83220002" in content
    assert "全省视频会议（sheng-1202）" in content
    assert "2026-12-02 09:20:00" in content, "people read Beijing time"
    assert content.index("音频噪声过大") < content.index("audio noise too high")
    assert text["text"]["mentioned_mobile_list"] == ["13904310001"], "a landline cannot be @-mentioned"
    markdown = by_path["/md"].json()
    assert markdown["msgtype"] == "markdown"
    assert '<font color="warning">' in markdown["markdown"]["content"]
    assert "张联络" in markdown["markdown"]["content"]
    assert len(markdown["markdown"]["content"].encode()) <= 4096
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "wecom-text" in logged and "KEY1" not in logged and "KEY2" not in logged, "a robot's key is a secret"


def test_dingtalk_signed_url_checks_out_like_the_robot_does(tmp_path):
    secret = "SEC0123456789abcdef"
    with HttpSink(then=ROBOT_OK) as server:
        config = sink("ding", "dingtalk", server.url("/robot/send?access_token=TOKEN"), secret=secret)
        with running_desk(tmp_path / "hub.db", [config]) as desk:
            desk.on_event(VENUE, event(Severity.WARNING), datetime.now(UTC))
            (post,) = server.wait_for(1)
    assert post.query["access_token"] == ["TOKEN"]
    timestamp = post.query["timestamp"][0]
    # the robot's check: HMAC-SHA256 keyed by the secret over "<timestamp>\n<secret>", base64
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert post.query["sign"] == [expected]  # parse_qs has undone the URL encoding
    assert abs(int(timestamp) / 1000 - time.time()) < 3600, "DingTalk refuses a timestamp off by an hour"
    body = post.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"].startswith("【警告 / WARNING】")
    assert "@13904310001" in body["markdown"]["text"]
    assert body["at"] == {"atMobiles": ["13904310001"], "isAtAll": False}


def test_robot_errcodes_rate_limit_is_retried_bad_signature_is_given_up(tmp_path):
    too_fast = (200, json.dumps({"errcode": 130101, "errmsg": "send too fast"}).encode())
    bad_sign = (200, json.dumps({"errcode": 310000, "errmsg": "sign not match"}).encode())
    with HttpSink([too_fast], then=ROBOT_OK) as paced, HttpSink(then=bad_sign) as refusing:
        sinks = [
            sink("paced", "dingtalk", paced.url("/robot/send?access_token=A"), format="text"),
            sink("refusing", "dingtalk", refusing.url("/robot/send?access_token=B"), secret="SECx"),
        ]
        with running_desk(tmp_path / "hub.db", sinks) as desk:
            desk.on_event(VENUE, event(), datetime.now(UTC))
            paced.wait_for(2)
            wait_until(lambda: desk.status()["sinks"]["refusing"]["given_up"] == 1)
            time.sleep(0.5)
            status = desk.status()["sinks"]
    assert len(paced.requests) == 2 and paced.requests[1].json()["msgtype"] == "text"
    assert status["paced"]["delivered"] == 1
    assert len(refusing.requests) == 1, "a refusal that cannot pass is not repeated"
    assert status["refusing"]["last_error"] == "errcode 310000 sign not match"


def test_a_sink_that_is_down_is_reported_and_holds_nothing_up(tmp_path):
    with refusing_port() as dead_port, HttpSink(then=(200, b"{}")) as alive:
        dead_url = f"http://127.0.0.1:{dead_port}/gone"
        sinks = [
            sink("dead", "webhook", dead_url, timeout_s=1.0, max_attempts=3),
            sink("alive", "webhook", alive.url()),
            SinkConfig(name="unset", kind="wecom", url_env="NO_SUCH_VARIABLE_FOR_THIS_TEST"),
        ]
        with running_desk(tmp_path / "hub.db", sinks, environ={}) as desk:
            started = time.monotonic()
            events = [event(seq=n) for n in range(1, 51)]
            for item in events:
                desk.on_event(VENUE, item, datetime.now(UTC))
            handed_over = time.monotonic() - started
            alive.wait_for(50)
            wait_until(lambda: desk.status()["sinks"]["dead"]["given_up"] == 50, timeout=60)
            wait_until(lambda: {t.sink: t.delivered for t in desk.ledger.tallies()}.get("alive") == 50)
            # the ledger row of the last give-up is written just after the desk counts it
            wait_until(lambda: {t.sink: t.given_up for t in desk.ledger.tallies()}.get("dead") == 50, timeout=30)
            status = desk.status()
            tallies = {t.sink: t for t in desk.ledger.tallies()}
    assert handed_over < 5.0, "on_event queues and returns; it never waits for a sink"  # generous: 50 puts
    assert {p.json()["key"] for p in alive.requests} == {f"event:{e.id}" for e in events}
    dead = status["sinks"]["dead"]
    assert dead["delivered"] == 0 and dead["failed_attempts"] == 150 and "ConnectError" in dead["last_error"]
    assert status["sinks"]["unset"] == {**status["sinks"]["unset"], "usable": False}
    assert "NO_SUCH_VARIABLE_FOR_THIS_TEST is not set" in status["sinks"]["unset"]["problem"]
    assert tallies["dead"].given_up == 50 and tallies["dead"].failed_attempts == 150
    assert tallies["unset"].pending == 50, "kept for a restart with a working config"
    assert tallies["alive"].delivered == 50 and tallies["alive"].failed_attempts == 0


def test_one_incident_is_sent_once_across_repeats_restarts_and_two_desks(database_url: str):
    db = database_url
    with HttpSink([(503, b"")] * 3, then=(200, b"{}")) as server:
        config = sink("office", "webhook", server.url(), backoff_initial_s=1.0, backoff_max_s=1.0)
        repeated = event()
        with running_desk(db, [config]) as desk:
            desk.on_event(VENUE, repeated, datetime.now(UTC))
            desk.on_event(VENUE, repeated, datetime.now(UTC))  # the same event handed over twice
            server.wait_for(1)
        # stopped with the incident pending (503): two desks on the same database take over
        with running_desk(db, [config]) as first, running_desk(db, [config]) as second:
            for desk in (first, second):
                desk.on_event(VENUE, repeated, datetime.now(UTC))  # both processes saw it
            wait_until(lambda: any(p.status == 200 for p in server.requests), timeout=30)
            time.sleep(2.5)  # well past the next retry time: a second delivery would show now
    delivered = [p for p in server.requests if p.status == 200]
    assert len(delivered) == 1
    assert {p.json()["key"] for p in server.requests} == {f"event:{repeated.id}"}
    assert len(server.requests) == 4  # three 503s, one 200


def office(server: HttpSink) -> SinkConfig:
    return sink("office", "webhook", server.url())


def test_which_events_and_state_changes_are_incidents(tmp_path):
    late = ScheduledConference(
        ConferenceRef("late", "晚间会议", START + timedelta(hours=10)), START + timedelta(hours=11)
    )
    directory = StaticDirectory([CONFERENCE, late])
    with HttpSink(then=(200, b"{}")) as server, running_desk(tmp_path / "hub.db", [office(server)], directory) as desk:
        now = datetime.now(UTC)
        desk.on_event(VENUE, event(Severity.INFO), now)  # info: never
        desk.on_event(VENUE, event(code="conference.summary"), now)  # the Art. 20 summary: review material
        desk.on_event(VENUE, event(conference_id=None, ts=START - timedelta(hours=1)), now)  # no conference
        in_window = event(conference_id=None, ts=START + timedelta(minutes=5))  # the hub's schedule says so
        desk.on_event(VENUE, in_window, now)
        desk.on_state(VENUE, "online", "offline", START - timedelta(hours=3))  # too early
        desk.on_state(VENUE, "online", "online", START - timedelta(minutes=30))  # not a loss
        desk.on_state(VENUE, "online", "offline", START - timedelta(minutes=90))  # 90 min before: warning
        desk.on_state(VENUE, "offline", "online", START - timedelta(minutes=80))
        desk.on_state(VENUE, "online", "offline", START - timedelta(minutes=70))  # a flap: the same incident
        desk.on_state(VENUE, "online", "silent", START + timedelta(minutes=10))  # during: critical
        server.wait_for(3)
        time.sleep(1.0)
    bodies = {p.json()["key"]: p.json() for p in server.requests}
    assert set(bodies) == {
        f"event:{in_window.id}",
        f"availability:sheng-1202:{VENUE}:offline",
        f"availability:sheng-1202:{VENUE}:silent",
    }
    offline = bodies[f"availability:sheng-1202:{VENUE}:offline"]
    assert offline["severity"] == "warning" and offline["extra"]["minutes_before_start"] == 90
    assert offline["message"]["zh"] == "会前掉线：朝阳区主会场 在会议「全省视频会议」开始前 90 分钟离线"
    silent = bodies[f"availability:sheng-1202:{VENUE}:silent"]
    assert silent["severity"] == "critical" and silent["code"] == "incident.silent_during_conference"
    assert bodies[f"event:{in_window.id}"]["conference"]["id"] == "sheng-1202"


def test_the_sweep_reports_a_venue_already_down_when_the_window_opens(tmp_path):
    soon = ScheduledConference(
        ConferenceRef("soon", "即将召开的会议", datetime.now(UTC) + timedelta(minutes=50)),
        datetime.now(UTC) + timedelta(minutes=110),
    )
    directory = StaticDirectory([soon], down={VENUE: "never"})
    with HttpSink(then=(200, b"{}")) as server, running_desk(tmp_path / "hub.db", [office(server)], directory) as desk:
        (post,) = server.wait_for(1)
        desk.on_state(VENUE, "silent", "offline", datetime.now(UTC))  # another state: another incident
        server.wait_for(2)
        desk.on_state(VENUE, "online", "offline", datetime.now(UTC))  # the same one again: nothing
        time.sleep(1.0)
    body = post.json()
    assert body["key"] == f"availability:soon:{VENUE}:never" and body["code"] == "incident.not_ready_before_conference"
    assert body["message"]["zh"].startswith("会前未就绪：距会议「即将召开的会议」开始还有")
    assert re.fullmatch(
        "not ready for a conference: 朝阳区主会场 is never heard from with (49|50) min to go before “即将召开的会议”",
        body["message"]["en"],
    )
    assert body["severity"] == "warning" and body["contacts"]["liaison"]["name"] == "张联络"
    assert [p.json()["key"] for p in server.requests] == [
        f"availability:soon:{VENUE}:never",
        f"availability:soon:{VENUE}:offline",
    ]


def test_the_database_directory_finds_scheduled_venues_and_those_not_ready(database_url: str):
    from sqlalchemy.orm import Session

    from hub.db.models import Conference, ConferenceVenue, Venue
    from hub.incidents.directory import DatabaseDirectory

    engine = open_database(database_url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        for key, state in ((VENUE, "offline"), ("jilin/changchun/chaoyang/second", "online")):
            province, prefecture, county, venue_id = key.split("/")
            session.add(
                Venue(
                    key=key,
                    province=province,
                    prefecture=prefecture,
                    county=county,
                    venue_id=venue_id,
                    name="朝阳区主会场",
                    contacts=CONTACTS,
                    state=state,
                )
            )
        for conference_id, start in (("soon", now + timedelta(minutes=90)), ("later", now + timedelta(hours=5))):
            session.add(
                Conference(
                    id=conference_id,
                    title=conference_id,
                    kind="provincial",
                    start=start,
                    duration_min=60,
                    scope="vc/jilin/#",
                    pushed_at=now,
                    payload={},
                )
            )
        session.flush()
        for conference_id in ("soon", "later"):
            for key in (VENUE, "jilin/changchun/chaoyang/second"):
                session.add(ConferenceVenue(conference_id=conference_id, venue_key=key, pushed_at=now, accepted=True))
        session.commit()
    directory = DatabaseDirectory(engine)
    assert directory.venue(VENUE) == VenueInfo("朝阳区主会场", CONTACTS)
    assert [c.ref.id for c in directory.conferences_between(VENUE, now, now + timedelta(hours=2))] == ["soon"]
    assert directory.conference_at(VENUE, now + timedelta(minutes=100)).id == "soon"
    assert directory.conference_at(VENUE, now) is None
    assert [(v, s, c.ref.id) for v, s, c in directory.not_ready(now, now + timedelta(hours=2))] == [
        (VENUE, "offline", "soon")
    ]
    engine.dispose()
