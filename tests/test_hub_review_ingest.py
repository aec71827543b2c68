"""The review and the evaluation of what a real hub ingested: the scenario's agent payloads (built with
`contract.payloads`) published to a real mosquitto, stored by a real `venue-hub run`, on SQLite and a real
PostgreSQL; the schedule and the roll call written as `schedule push` and `rollcall` write them (those
commands need venues answering over MQTT, which tests/test_hub_ingest.py covers with real agents)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contract.payloads import to_json
from contract.topics import VenueTopics
from hub.db.engine import open_database
from hub.db.models import ConferenceSummary, EventRecord, SelftestRecord
from sim.broker import Mosquitto
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config
from tests.test_hub_incidents_e2e import Publisher
from tests.test_hub_review import venue_hub
from tests.test_hub_review_scenario import (
    CHANGCHUN,
    CONFERENCE_ID,
    CONTACTS,
    HARBIN,
    IN_SCOPE,
    JILIN,
    NAMES,
    NONGAN,
    SHULAN,
    published,
    ref,
    schedule_and_rollcall,
)

pytest_plugins = ["tests.peers.postgres"]


def inventory(path: Path) -> Path:
    rows = ["province,prefecture,county,id,name,liaison_name,liaison_phone,technical_head_name,technical_head_phone"]
    for key in IN_SCOPE:
        contacts = CONTACTS[key]
        rows.append(
            ",".join(
                [
                    *key.split("/"),
                    NAMES[key],
                    contacts["liaison"]["name"],
                    contacts["liaison"]["phone"],
                    contacts["technical_head"]["name"],
                    contacts["technical_head"]["phone"],
                ]
            )
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (EventRecord, SelftestRecord, ConferenceSummary)
        )


def test_review_and_evaluation_of_ingested_traffic(database_url: str, tmp_path: Path):
    day = published()
    with Mosquitto() as broker:
        config = write_hub_config(tmp_path / "hub", broker.url, database_url, inventory=inventory(tmp_path / "v.csv"))
        hub = HubProcess(config, tmp_path / "hub.log").start()
        publisher = Publisher(broker.port)
        try:
            hub.wait_connected()
            for key in (CHANGCHUN, NONGAN, SHULAN, HARBIN):  # Jilin City's agent never comes up
                publisher.publish(VenueTopics.for_venue("vc", ref(key)).availability, b"online", retain=True)
            for item in day.events:
                publisher.publish(VenueTopics.for_venue("vc", item.venue).events, to_json(item))
            for report in day.selftests:
                publisher.publish(VenueTopics.for_venue("vc", report.venue).selftest, to_json(report), retain=True)
            engine = open_database(database_url)
            in_scope_events = sum(1 for e in day.events if e.venue.province == "jilin")
            # the selftest leaf is retained: the last report of each venue is also read at start, stored once
            wait_until(lambda: counts(engine) == (in_scope_events, 4, 3) or None, 30, "everything stored")
            with Session(engine) as session:
                schedule_and_rollcall(session)
                session.commit()
            engine.dispose()
            review_run = venue_hub("review", "-c", str(config), CONFERENCE_ID, "--json")
            evaluation_run = venue_hub("evaluate", "-c", str(config), "--year", "2026", "--json")
        finally:
            publisher.close()
            hub.stop()

    assert review_run.returncode == 2, review_run.stderr
    review = {v["venue"]: v for v in json.loads(review_run.stdout)["venues"]}
    assert {k: v["verdict"] for k, v in review.items()} == {
        CHANGCHUN: "ok",
        NONGAN: "fail",
        JILIN: "fail",
        SHULAN: "warn",
    }
    assert review[NONGAN]["art17"]["audio.noise"]["fail"] == 40.0
    assert [a["code"] for a in review[NONGAN]["alerts"]] == ["audio.noise_high"]
    assert review[JILIN]["joined"] == "no" and review[JILIN]["rollcall"]["answered"] is False
    assert review[SHULAN]["call_drops"] == 1 and review[SHULAN]["summary_source"] == "event"
    assert review[CHANGCHUN]["contacts"]["liaison_phone"] == CONTACTS[CHANGCHUN]["liaison"]["phone"]

    assert evaluation_run.returncode == 2, evaluation_run.stderr
    evaluation = {v["venue"]: v for v in json.loads(evaluation_run.stdout)["venues"]}
    assert set(evaluation) == set(IN_SCOPE)
    # the hub first heard of these venues after the conference: their availability then is unknown
    assert all(v["metrics"]["availability_pct"] is None for v in evaluation.values())
    assert evaluation[CHANGCHUN]["score"] == 100.0 and evaluation[CHANGCHUN]["award_blocked_by"] == [NONGAN]
    assert evaluation[NONGAN]["score"] == 78.0 and evaluation[NONGAN]["serious"][0]["metric"] == "conferences_critical"
    assert evaluation[JILIN]["score"] == 85.0  # − 10 missed − 5 silent roll call
    assert evaluation[SHULAN]["metrics"]["selftests"] == 2 and evaluation[SHULAN]["score"] == 88.0
