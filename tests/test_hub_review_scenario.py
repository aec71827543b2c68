"""One conference day of four venues in two prefectures, as agent payloads and as the rows the hub keeps.

No tests here: the scenario the review and evaluation tests share. The payloads are built with the
contract's models (what a real agent publishes); `store_directly` writes them as the hub's ingest does,
for the tests that need historical state transitions (the ingest stamps a transition with the time it
sees it, so a conference in the past can only be given its transitions this way). The end-to-end tests
publish the same payloads to a real mosquitto that a real `venue-hub run` ingests.

| venue                         | summary              | roll call      | alerts / availability          |
|-------------------------------|----------------------|----------------|--------------------------------|
| jilin/changchun/_/main        | info, all ok         | pass, 3.2 s    | —                              |
| jilin/changchun/nongan/main   | critical (noise 40 %)| pass           | critical audio.noise event     |
| jilin/jilin/_/main            | none (never joined)  | silent         | offline through the conference |
| jilin/jilin/shulan/main       | warning (1 drop)     | warn           | silent 09:20–09:25             |
| heilongjiang/harbin/_/main    | info (outside scope) | —              | —                              |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from contract.findings import Message
from contract.payloads import Event, SelftestItem, SelftestReport, Severity, VenueRef
from hub.db.models import (
    AvailabilityTransition,
    Conference,
    ConferenceSummary,
    ConferenceVenue,
    EventRecord,
    RollCall,
    RollCallRow,
    SelftestRecord,
    Venue,
)

CONFERENCE_ID = "sheng-0302"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
END = START + timedelta(minutes=60)
CHANGCHUN = "jilin/changchun/_/main"
NONGAN = "jilin/changchun/nongan/main"
JILIN = "jilin/jilin/_/main"
SHULAN = "jilin/jilin/shulan/main"
HARBIN = "heilongjiang/harbin/_/main"
IN_SCOPE = [CHANGCHUN, NONGAN, JILIN, SHULAN]
NAMES = {
    CHANGCHUN: "长春市分会场",
    NONGAN: "农安县分会场",
    JILIN: "吉林市分会场",
    SHULAN: "舒兰市分会场",
    HARBIN: "哈尔滨市分会场",
}
CONTACTS = {
    key: {
        "liaison": {"name": f"联络员{n}", "phone": f"1390431000{n}"},
        "technical_head": {"name": f"技术{n}", "phone": f"0431-8322000{n}"},
    }
    for n, key in enumerate([*IN_SCOPE, HARBIN], start=1)
}


def ref(key: str) -> VenueRef:
    province, prefecture, county, venue = key.split("/")
    return VenueRef(
        province=province,
        prefecture=prefecture,
        county=county,
        id=venue,
        name=NAMES[key],
        level="prefecture" if county == "_" else "county",
    )


def summary(ok: dict[str, float], fail: dict[str, float] | None = None, drops: int = 0, actual: float = 58.0):
    """The `data` of a conference.summary event, shaped as agent/schedule/conference_record.py close() makes it."""
    fail = fail or {}
    art17 = {
        check: {"observed_s": 3480.0, "ok": share, "warn": 0.0, "fail": fail.get(check, 0.0), "unknown": 0.0}
        for check, share in ok.items()
    }
    return {
        "conference_id": CONFERENCE_ID,
        "title": "全省视频会议",
        "kind": "provincial",
        "start": START.isoformat(),
        "planned_min": 60,
        "normal_limit_min": 60,
        "allowed_min": 90,
        "actual_min": actual,
        "duration_source": "codec",
        "still_in_call": False,
        "over_limit": actual > 90,
        "art17": art17,
        "art17_min_ok_pct": min(ok.values()) if ok else None,
        "incidents": 1 if drops else 0,
        "incident_list": [{"at": (START + timedelta(minutes=30)).isoformat(), "check": "call", "en": "call dropped"}]
        if drops
        else [],
        "call_drops": drops,
    }


ALL_OK = {"video.signal": 100.0, "video.brightness": 100.0, "audio.level": 100.0, "audio.noise": 100.0}


def event(key: str, seq: int, code: str, severity: Severity, ts: datetime, **fields: Any) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        seq=seq,
        ts=ts,
        venue=ref(key),
        code=code,
        severity=severity,
        message=fields.pop("message", Message(zh=f"{code} 中文", en=code)),
        **fields,
    )


def selftest(key: str, verdict: str, ts: datetime, trigger: str = "rollcall_selftest") -> SelftestReport:
    items = [
        SelftestItem(
            check="audio.level",
            verdict=verdict,  # type: ignore[arg-type]
            article="第十七条 / Art. 17",
            reason=Message(zh="音量", en="level"),
        )
    ]
    return SelftestReport(
        id=str(uuid.uuid4()),
        ts=ts,
        venue=ref(key),
        trigger=trigger,
        conference_id=CONFERENCE_ID,
        verdict=verdict,  # type: ignore[arg-type]
        items=items,
        duration_s=4.0,
    )


@dataclass
class Day:
    """What the agents of the scenario publish."""

    events: list[Event]
    selftests: list[SelftestReport]


def published() -> Day:
    at = START + timedelta(minutes=62)  # the summaries come after the call ends
    events = [
        event(CHANGCHUN, 1, "conference.summary", Severity.INFO, at, conference_id=CONFERENCE_ID, data=summary(ALL_OK)),
        event(
            NONGAN,
            1,
            "audio.noise_high",
            Severity.CRITICAL,
            START + timedelta(minutes=12),
            conference_id=CONFERENCE_ID,
            check="audio.noise",
        ),
        event(
            NONGAN,
            2,
            "conference.summary",
            Severity.CRITICAL,
            at,
            conference_id=CONFERENCE_ID,
            data=summary({**ALL_OK, "audio.noise": 60.0}, {"audio.noise": 40.0}),
        ),
        event(
            SHULAN,
            1,
            "conference.summary",
            Severity.WARNING,
            at,
            conference_id=CONFERENCE_ID,
            data=summary(ALL_OK, drops=1),
        ),
        event(HARBIN, 1, "conference.summary", Severity.INFO, at, conference_id=CONFERENCE_ID, data=summary(ALL_OK)),
        # an info event during the conference, and a warning outside any conference: neither is an alert
        event(CHANGCHUN, 2, "check.changed", Severity.INFO, START + timedelta(minutes=5), conference_id=CONFERENCE_ID),
        event(SHULAN, 2, "snmp.if_down", Severity.WARNING, START - timedelta(days=1)),
    ]
    before = START - timedelta(minutes=60)
    selftests = [
        selftest(CHANGCHUN, "pass", before),
        selftest(NONGAN, "pass", before),
        selftest(SHULAN, "warn", before),
        selftest(SHULAN, "fail", START - timedelta(days=1), trigger="day_before_test"),
    ]
    return Day(events, selftests)


def schedule_and_rollcall(session: Session) -> None:
    """What `venue-hub schedule push` and `venue-hub rollcall --conference` would have written."""
    pushed_at = START - timedelta(days=2)
    session.add(
        Conference(
            id=CONFERENCE_ID,
            title="全省视频会议",
            kind="provincial",
            start=START,
            duration_min=60,
            far_end=None,
            scope="vc/jilin/#",
            pushed_at=pushed_at,
            payload={"id": CONFERENCE_ID},
        )
    )
    session.flush()
    for key in IN_SCOPE:
        session.add(
            ConferenceVenue(
                conference_id=CONFERENCE_ID, venue_key=key, pushed_at=pushed_at, accepted=key != JILIN, answered_at=None
            )
        )
    call_at = START - timedelta(minutes=58)
    session.add(
        RollCall(
            id="rc-1",
            conference_id=CONFERENCE_ID,
            scope="vc/jilin/#",
            started_at=call_at,
            finished_at=call_at + timedelta(seconds=60),
            deadline_s=60,
            total=4,
            answered=3,
            passed=2,
            warned=1,
            failed=0,
            silent=1,
            exit_code=2,
        )
    )
    session.flush()
    answers = {
        CHANGCHUN: (True, "pass", [], 3.2),
        NONGAN: (True, "pass", [], 5.0),
        JILIN: (False, None, [], None),
        SHULAN: (True, "warn", [], 7.5),
    }
    for key, (answered, verdict, failed, seconds) in answers.items():
        session.add(
            RollCallRow(
                rollcall_id="rc-1",
                venue_key=key,
                answered=answered,
                verdict=verdict,
                failed_items=failed,
                seconds=seconds,
                liaison=CONTACTS[key]["liaison"],
                selftest_id=None,
                error_code=None,
                state="online" if answered else "offline",
            )
        )


def venues(session: Session) -> None:
    for key in [*IN_SCOPE, HARBIN]:
        province, prefecture, county, venue = key.split("/")
        session.add(
            Venue(
                key=key,
                province=province,
                prefecture=prefecture,
                county=county,
                venue_id=venue,
                name=NAMES[key],
                level="prefecture" if county == "_" else "county",
                in_inventory=True,
                inventory_contacts=CONTACTS[key],
                contacts=CONTACTS[key],
                state="online" if key != JILIN else "offline",
            )
        )
    session.flush()


def transitions(session: Session) -> None:
    rows = [
        (JILIN, "online", "offline", START - timedelta(hours=3)),
        (SHULAN, "online", "silent", START + timedelta(minutes=20)),
        (SHULAN, "silent", "online", START + timedelta(minutes=25)),
    ]
    for key, previous, state, at in rows:
        session.add(AvailabilityTransition(venue_key=key, previous=previous, state=state, at=at, reason="availability"))
    for key in (CHANGCHUN, NONGAN):
        session.add(
            AvailabilityTransition(
                venue_key=key, previous="never", state="online", at=START - timedelta(days=3), reason="heard"
            )
        )


def store_directly(engine: Engine, day: Day) -> None:
    """Every row of the scenario, as the ingest and the commands would have written them."""
    received = START + timedelta(minutes=63)
    with Session(engine) as session:
        venues(session)
        schedule_and_rollcall(session)
        transitions(session)
        for item in day.events:
            key = "/".join((item.venue.province, item.venue.prefecture, item.venue.county, item.venue.id))
            payload = item.model_dump(mode="json", by_alias=True)
            session.add(
                EventRecord(
                    id=item.id,
                    venue_key=key,
                    seq=item.seq,
                    code=item.code,
                    severity=item.severity.value,
                    ts=item.ts,
                    conference_id=item.conference_id,
                    check_id=item.check,
                    verdict=None,
                    payload=payload,
                    received_at=received,
                )
            )
            if item.code == "conference.summary":
                session.add(
                    ConferenceSummary(
                        venue_key=key,
                        conference_id=item.conference_id,
                        severity=item.severity.value,
                        source="event",
                        event_id=item.id,
                        received_at=received,
                        payload=item.data,
                    )
                )
        for report in day.selftests:
            key = "/".join((report.venue.province, report.venue.prefecture, report.venue.county, report.venue.id))
            session.add(
                SelftestRecord(
                    id=report.id,
                    venue_key=key,
                    trigger=report.trigger,
                    verdict=report.verdict,
                    conference_id=report.conference_id,
                    ts=report.ts,
                    received_at=received,
                    payload=report.model_dump(mode="json", by_alias=True),
                )
            )
        session.commit()
