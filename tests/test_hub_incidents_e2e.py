"""Incidents through the whole hub: agent-shaped payloads (built with `contract.payloads`) published to a
real mosquitto, ingested by a real `venue-hub run`, delivered by its desk to real HTTP servers on loopback
— on SQLite and on a real PostgreSQL. And a prefecture's incident reaching the province's sink: two
brokers joined by a real mosquitto bridge, a hub on each with its own sink."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contract.findings import Message
from contract.payloads import Event, Severity, VenueRef, to_json
from contract.topics import VenueTopics
from hub.db.engine import open_database
from hub.db.models import Conference, ConferenceVenue, EventRecord, Venue
from sim.broker import Mosquitto
from tests.peers.http_sink import ROBOT_OK, HttpSink, refusing_port
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config

pytest_plugins = ["tests.peers.postgres"]

NONGAN = VenueRef(
    province="jilin", prefecture="changchun", county="nongan", id="main", name="农安县分会场", level="county"
)
NONGAN_KEY = "jilin/changchun/nongan/main"


class Publisher:
    """An MQTT 5 client that publishes at QoS 1 and waits for each PUBACK (as the agent's outbox does)."""

    def __init__(self, port: int):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}", protocol=5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def event(severity: Severity, seq: int, conference_id: str | None = "sheng-1202", code: str = "audio.noise_high"):
    return Event(
        id=str(uuid.uuid4()),
        seq=seq,
        ts=datetime.now(UTC),
        venue=NONGAN,
        code=code,
        severity=severity,
        message=Message(zh="音频噪声过大", en="audio noise too high"),
        check="audio.noise",
        conference_id=conference_id,
    )


def inventory(path: Path) -> Path:
    path.write_text(
        "province,prefecture,county,id,name,liaison_name,liaison_phone,technical_head_name,technical_head_phone\n"
        "jilin,changchun,nongan,main,农安县分会场,张联络,13904310001,李技术,13904310002\n",
        encoding="utf-8",
    )
    return path


def sink_table(name: str, kind: str, url: str, **extra: object) -> str:
    lines = ["[[sink]]", f'name = "{name}"', f'kind = "{kind}"', f'url = "{url}"', "allow_http = true"]
    lines += ["backoff_initial_s = 0.2", "backoff_max_s = 0.5"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"


def incidents_json(config: Path) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "hub", "incidents", "-c", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


def stored(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(EventRecord)) or 0)


def test_through_the_hub_one_message_per_incident_retried_and_a_dead_sink_holds_nothing_up(
    database_url: str, tmp_path: Path
):
    office = HttpSink([(500, b"{}"), (500, b"{}")], then=(200, b"{}"))
    with refusing_port() as dead_port, Mosquitto() as broker, office:
        sinks = sink_table("office", "webhook", office.url()) + sink_table(
            "dead", "webhook", f"http://127.0.0.1:{dead_port}/hook", timeout_s=1.0, max_attempts=50
        )
        config = write_hub_config(
            tmp_path / "hub", broker.url, database_url, inventory=inventory(tmp_path / "inv.csv"), extra=sinks
        )
        hub = HubProcess(config, tmp_path / "hub.log").start()
        publisher = Publisher(broker.port)
        try:
            hub.wait_connected()
            topics = VenueTopics.for_venue("vc", NONGAN)
            alert = event(Severity.CRITICAL, 1)
            publisher.publish(topics.events, to_json(event(Severity.INFO, 2)))  # not an incident
            publisher.publish(topics.events, to_json(alert))
            publisher.publish(topics.events, to_json(alert))  # redelivered: stored once, raised once
            posts = office.wait_for(3)
            # meanwhile the dead sink keeps failing; ingest goes on untouched
            engine = open_database(database_url)
            for seq in range(3, 203):
                publisher.publish(topics.events, to_json(event(Severity.INFO, seq, conference_id=None)))
            wait_until(lambda: stored(engine) == 202 or None, 30, "200 more events stored")
            time.sleep(1.0)
            code, status = incidents_json(config)
            engine.dispose()
        finally:
            publisher.close()
            hub.stop()
    assert [p.status for p in office.requests] == [500, 500, 200], "one incident, retried until delivered"
    assert {p.json()["key"] for p in posts} == {f"event:{alert.id}"}
    body = posts[-1].json()
    assert body["contacts"]["liaison"] == {"name": "张联络", "phone": "13904310001"}, "from the inventory"
    assert body["contacts"]["technical_head"] == {"name": "李技术", "phone": "13904310002"}
    sinks_state = {s["name"]: s for s in status["sinks"]}
    assert sinks_state["office"]["delivered"] == 1 and sinks_state["office"]["failed_attempts"] == 2
    assert sinks_state["dead"]["delivered"] == 0 and sinks_state["dead"]["failed_attempts"] >= 2
    assert "ConnectError" in sinks_state["dead"]["last_error"]
    assert code == 1, "failed attempts and a pending delivery: a warning"
    assert [i["key"] for i in status["incidents"]] == [f"event:{alert.id}"]
    assert status["incidents"][0]["deliveries"]["office"]["state"] == "delivered"
    assert "incident event:" in hub.log() and "sink dead: attempt" in hub.log()


def test_a_venue_lost_before_its_conference_reaches_the_robot_with_its_contacts(database_url: str, tmp_path: Path):
    with Mosquitto() as broker, HttpSink(then=ROBOT_OK) as robot:
        config = write_hub_config(
            tmp_path / "hub",
            broker.url,
            database_url,
            inventory=inventory(tmp_path / "inv.csv"),
            default_status_interval_s=60,  # no status is published here: it must not turn silent meanwhile
            extra=sink_table("wecom", "wecom", robot.url("/cgi-bin/webhook/send?key=KEY"), format="text"),
        )
        hub = HubProcess(config, tmp_path / "hub.log").start()
        publisher = Publisher(broker.port)
        try:
            hub.wait_connected()
            engine = open_database(database_url)
            # online first: the desk's minute sweep would report a scheduled venue never heard from
            topics = VenueTopics.for_venue("vc", NONGAN)
            publisher.publish(topics.availability, b"online", retain=True)
            wait_until(lambda: _state(engine) == "online" or None, 20, "online")
            start = datetime.now(UTC) + timedelta(minutes=45)
            with Session(engine) as session:  # as `venue-hub schedule push` records a pushed conference
                session.add(
                    Conference(
                        id="sheng-0930",
                        title="全省安全生产视频会议",
                        kind="provincial",
                        start=start,
                        duration_min=60,
                        scope="vc/jilin/#",
                        pushed_at=datetime.now(UTC),
                        payload={},
                    )
                )
                session.flush()
                session.add(
                    ConferenceVenue(
                        conference_id="sheng-0930", venue_key=NONGAN_KEY, pushed_at=datetime.now(UTC), accepted=True
                    )
                )
                session.commit()
            publisher.publish(topics.availability, b"offline", retain=True)  # its Will, say
            (post,) = robot.wait_for(1)
            publisher.publish(topics.availability, b"online", retain=True)
            publisher.publish(topics.availability, b"offline", retain=True)  # a flap: the same incident
            wait_until(lambda: _state(engine) == "offline" or None, 20, "offline again")
            time.sleep(2.0)
            engine.dispose()
        finally:
            publisher.close()
            hub.stop()
    assert len(robot.requests) == 1
    assert post.path == "/cgi-bin/webhook/send" and post.query["key"] == ["KEY"]
    text = post.json()["text"]
    assert text["content"].startswith("【警告 / WARNING】会前掉线：农安县分会场 在会议「全省安全生产视频会议」开始前")
    assert "会务联络员 / Liaison：张联络 13904310001" in text["content"]
    assert "技术保障负责人 / Technical head：李技术 13904310002" in text["content"]
    assert text["mentioned_mobile_list"] == ["13904310001", "13904310002"]


def _state(engine) -> str | None:
    with Session(engine) as session:
        venue = session.get(Venue, NONGAN_KEY)
        return venue.state if venue else None


def test_a_prefecture_incident_reaches_the_province_sink_over_the_bridge(database_url: str, tmp_path: Path):
    """The prefecture's broker bridges its subtree up; each office's hub applies its own sinks to what it sees."""
    with Mosquitto() as province, HttpSink(then=(200, b"{}")) as province_sink, HttpSink(then=ROBOT_OK) as city_sink:
        bridge = (
            "connection changchun-to-province\n"
            f"address 127.0.0.1:{province.port}\n"
            "topic vc/jilin/changchun/# out 1\n"
            "cleansession false\n"
            "restart_timeout 1\n"
        )
        with Mosquitto(extra_config=bridge) as prefecture:
            province_hub = HubProcess(
                write_hub_config(
                    tmp_path / "province",
                    province.url,
                    database_url,
                    extra=sink_table("secretariat", "webhook", province_sink.url()),
                ),
                tmp_path / "province.log",
            ).start()
            city_hub = HubProcess(
                write_hub_config(
                    tmp_path / "changchun",
                    prefecture.url,
                    f"sqlite:///{tmp_path / 'changchun.sqlite3'}",
                    scope="vc/jilin/changchun/#",
                    group="changchun",
                    extra=sink_table(
                        "city-robot", "dingtalk", city_sink.url("/robot/send?access_token=T"), secret="SECx"
                    ),
                ),
                tmp_path / "changchun.log",
            ).start()
            publisher = Publisher(prefecture.port)
            try:
                province_hub.wait_connected()
                city_hub.wait_connected()
                topics = VenueTopics.for_venue("vc", NONGAN)
                engine = open_database(database_url)
                # the bridge is up once a message published at the prefecture is stored by the province
                probe = event(Severity.INFO, 1)
                publisher.publish(topics.events, to_json(probe))
                wait_until(lambda: stored(engine) >= 1 or None, 30, "the bridge carrying traffic up")
                alert = event(Severity.WARNING, 2)
                publisher.publish(topics.events, to_json(alert))
                (city_post,) = city_sink.wait_for(1)
                (province_post,) = province_sink.wait_for(1)
                time.sleep(1.0)
                engine.dispose()
            finally:
                publisher.close()
                city_hub.stop()
                province_hub.stop()
    assert len(city_sink.requests) == 1 and len(province_sink.requests) == 1
    assert province_post.json()["key"] == f"event:{alert.id}" and province_post.json()["venue"]["key"] == NONGAN_KEY
    assert city_post.json()["msgtype"] == "markdown" and "农安县分会场" in city_post.json()["markdown"]["text"]
    assert "sign" in city_post.query
