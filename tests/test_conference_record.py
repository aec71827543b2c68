"""The conference record on an injected clock: Art. 17 time shares, incidents, drops, Art. 3 overruns."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.schedule.conference_record import ConferenceRecorder, summary_severity
from contract.conference import Conference
from contract.findings import Article, Finding, Message, Verdict
from contract.payloads import Severity

ZONE = ZoneInfo("Asia/Shanghai")
NINE = datetime(2026, 12, 1, 9, 0, tzinfo=ZONE)


def at(minutes: float) -> datetime:
    return NINE + timedelta(minutes=minutes)


def finding(check: str, verdict: Verdict, subject: str | None = None) -> Finding:
    return Finding(
        check=check,
        verdict=verdict,
        code=f"{check}.x",
        message=Message(zh="测试", en=f"{check} {verdict.value}"),
        article=Article.ART17,
        subject=subject,
    )


def conference(kind: str = "provincial", minutes: int = 60) -> Conference:
    return Conference(id="c1", title="全省会议", kind=kind, start=NINE, duration_min=minutes)


def test_time_shares_of_each_art17_verdict(tmp_path):
    recorder = ConferenceRecorder(tmp_path)
    board = {"video.signal": finding("video.signal", Verdict.OK), "audio.level": finding("audio.level", Verdict.OK)}
    recorder.open(conference(), at(0), board)
    recorder.observe(finding("audio.level", Verdict.WARN), at(10))
    recorder.observe(finding("audio.level", Verdict.WARN), at(12))  # same verdict again: no new interval
    recorder.observe(finding("audio.level", Verdict.OK), at(16))
    recorder.observe(finding("video.signal", Verdict.FAIL), at(30))
    recorder.observe(finding("video.signal", Verdict.OK), at(33))
    recorder.observe(finding("host.disk", Verdict.FAIL), at(40))  # not an Art. 17 check
    recorder.end("c1", at(60))
    recorder.observe(finding("audio.level", Verdict.FAIL), at(61))  # after the end: not counted
    recorder.request_summary("c1")
    [summary] = recorder.ready_summaries(at(65))
    assert summary["art17"]["audio.level"]["ok"] == pytest.approx(90.0)
    assert summary["art17"]["audio.level"]["warn"] == pytest.approx(10.0)
    assert summary["art17"]["audio.level"]["fail"] == 0.0
    assert summary["art17"]["video.signal"]["fail"] == pytest.approx(5.0)
    assert summary["art17"]["video.signal"]["observed_s"] == pytest.approx(3600)
    assert "host.disk" not in summary["art17"]
    assert summary["art17_min_ok_pct"] == pytest.approx(90.0)
    assert (summary["actual_min"], summary["duration_source"], summary["over_limit"]) == (60.0, "schedule", False)
    assert recorder.records == {}


def test_codec_call_decides_duration_overruns_and_summary_time(tmp_path):
    recorder = ConferenceRecorder(tmp_path)
    recorder.open(conference(), at(0), {})
    recorder.observe_calls("codec", 1, at(0.5))
    assert recorder.overruns(at(59)) == []
    [normal] = recorder.overruns(at(61))
    assert (normal.level, normal.limit, normal.source) == ("normal", 60, "codec")
    assert recorder.overruns(at(70)) == []  # once per level
    recorder.end("c1", at(60))
    recorder.request_summary("c1")
    assert recorder.ready_summaries(at(65)) == []  # still in the call: the summary waits
    [maximum] = recorder.overruns(at(91))
    assert (maximum.level, maximum.limit) == ("maximum", 90)
    recorder.observe_calls("codec", 0, at(95))
    assert recorder.records["c1"].call_drops == 0  # ended after the planned end: not a drop
    [summary] = recorder.ready_summaries(at(96))
    assert summary["actual_min"] == pytest.approx(95.0)
    assert summary["duration_source"] == "codec" and summary["over_limit"] is True


def test_call_drop_and_device_incidents(tmp_path):
    recorder = ConferenceRecorder(tmp_path)
    recorder.open(conference(), at(0), {})
    recorder.observe_calls("codec", 1, at(1))
    recorder.observe_calls("codec", 0, at(20))
    recorder.observe_calls("codec", 1, at(21))
    recorder.observe(finding("snmp.reachable", Verdict.FAIL, "core-switch"), at(30), changed_from=Verdict.OK)
    recorder.observe(finding("snmp.reachable", Verdict.FAIL, "core-switch"), at(31), changed_from=Verdict.FAIL)
    recorder.observe_calls("codec", 0, at(58))  # within 5 min of the planned end: the meeting ended
    recorder.request_summary("c1")
    [summary] = recorder.ready_summaries(at(65))
    assert summary["call_drops"] == 1
    assert summary["incidents"] == 2
    assert [i["check"] for i in summary["incident_list"]] == ["call", "snmp.reachable"]
    assert summary["actual_min"] == pytest.approx(58.0)


def test_planned_overrun_without_a_codec_and_single_limit_kinds(tmp_path):
    recorder = ConferenceRecorder(tmp_path)
    recorder.open(conference(minutes=120), at(0), {})
    [planned] = recorder.overruns(at(0))
    assert (planned.level, planned.source, planned.minutes) == ("planned", "schedule", 120)
    assert recorder.overruns(at(1)) == []

    followup = ConferenceRecorder(tmp_path / "f")
    followup.open(Conference(id="f1", kind="followup", start=NINE, duration_min=30), at(0), {})
    followup.observe_calls("codec", 1, at(0))
    assert [o.level for o in followup.overruns(at(31))] == ["maximum"]  # Art. 3: ≤ 30 min, one limit

    national = ConferenceRecorder(tmp_path / "n")
    national.open(Conference(id="n1", kind="national", start=NINE, duration_min=240), at(0), {})
    assert national.overruns(at(300)) == []  # set by the State Council, not by these measures


def test_record_survives_a_restart_without_counting_the_downtime(tmp_path):
    recorder = ConferenceRecorder(tmp_path)
    recorder.open(conference(), at(0), {"audio.level": finding("audio.level", Verdict.OK)})
    recorder.observe(finding("audio.level", Verdict.WARN), at(10))
    recorder.save()
    restarted = ConferenceRecorder(tmp_path)  # the agent was down from 10 to 20
    restarted.observe(finding("audio.level", Verdict.OK), at(20))
    restarted.end("c1", at(60))
    restarted.request_summary("c1")
    [summary] = restarted.ready_summaries(at(65))
    share = summary["art17"]["audio.level"]
    assert share["observed_s"] == pytest.approx(50 * 60)
    assert share["ok"] == pytest.approx(100.0)  # 0–10 ok and 20–60 ok; the warn from 10 on fell in the downtime


@pytest.mark.parametrize(
    ("noise_fail_from", "expected"),
    [(None, Severity.INFO), (55, Severity.WARNING), (45, Severity.CRITICAL), (0, Severity.CRITICAL)],
)
def test_the_summary_severity_follows_its_art17_failures(tmp_path, noise_fail_from, expected):
    """A conference whose sound failed 无杂音 all along is not summarised at info (the hub grades by it)."""
    recorder = ConferenceRecorder(tmp_path)
    recorder.open(conference(), at(0), {"audio.noise": finding("audio.noise", Verdict.OK)})
    if noise_fail_from is not None:
        recorder.observe(finding("audio.noise", Verdict.FAIL), at(noise_fail_from))
    recorder.end("c1", at(60))
    recorder.request_summary("c1")
    [summary] = recorder.ready_summaries(at(65))
    assert summary_severity(summary) is expected
