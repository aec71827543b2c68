"""`venue-hub review` (Art. 20) on the embedded SQLite and a real PostgreSQL: the scenario's rows in the
real database, the command run as a real process, its JSON, its table, its exit code and its spreadsheet
read back with openpyxl."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hub.db.engine import open_database
from hub.reports.common import Window, known_seconds, online_seconds
from tests.test_hub_review_scenario import (
    CHANGCHUN,
    CONFERENCE_ID,
    END,
    HARBIN,
    JILIN,
    NONGAN,
    SHULAN,
    START,
    published,
    store_directly,
)

pytest_plugins = ["tests.peers.postgres"]


def write_config(tmp_path: Path, database_url: str, scope: str = "vc/jilin/#") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[hub]\nscope = "{scope}"\ndatabase = "{database_url}"\n\n[broker]\nurl = "mqtt://127.0.0.1:1"\n',
        encoding="utf-8",
    )
    return path


def venue_hub(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def filled(database_url: str, tmp_path: Path) -> Path:
    engine = open_database(database_url)
    store_directly(engine, published())
    engine.dispose()
    return write_config(tmp_path, database_url)


def test_review_json_per_venue_with_roll_call_and_never_joined(filled: Path):
    result = venue_hub("review", "-c", str(filled), CONFERENCE_ID, "--json")
    assert result.returncode == 2, result.stderr
    review = json.loads(result.stdout)
    assert review["conference"]["id"] == CONFERENCE_ID and review["conference"]["title"] == "全省视频会议"
    venues = {v["venue"]: v for v in review["venues"]}
    assert set(venues) == {CHANGCHUN, NONGAN, JILIN, SHULAN}, "the province's scope, without Harbin"
    assert HARBIN not in venues

    changchun = venues[CHANGCHUN]
    assert changchun["verdict"] == "ok" and changchun["joined"] == "yes"
    assert changchun["actual_min"] == 58.0 and changchun["allowed_min"] == 90
    assert changchun["rollcall"]["answered"] is True and changchun["rollcall"]["seconds"] == 3.2
    assert changchun["alerts"] == [], "an info event is not an alert"
    assert changchun["contacts"]["liaison"] == "联络员1"

    nongan = venues[NONGAN]
    assert nongan["verdict"] == "fail" and nongan["summary_severity"] == "critical"
    assert nongan["art17"]["audio.noise"]["fail"] == 40.0 and nongan["art17_min_ok_pct"] == 60.0
    assert [a["code"] for a in nongan["alerts"]] == ["audio.noise_high"]
    assert any("40.0" in r["en"] for r in nongan["reasons"])

    jilin = venues[JILIN]
    assert jilin["joined"] == "no" and jilin["verdict"] == "fail"
    assert jilin["rollcall"]["answered"] is False
    assert jilin["accepted"] is False and jilin["actual_min"] is None
    assert {r["en"] for r in jilin["reasons"]} >= {
        "no summary: the conference is over and the venue recorded none (never joined)",
        "did not answer the roll call",
    }

    shulan = venues[SHULAN]
    assert shulan["verdict"] == "warn" and shulan["call_drops"] == 1
    assert [t["state"] for t in shulan["lost"]] == ["silent"]
    assert shulan["rollcall"]["verdict"] == "warn"
    assert review["summary"] == {"total": 4, "ok": 1, "warn": 1, "fail": 2, "unknown": 0, "never_joined": 1}


def test_review_spreadsheet_opens_with_chinese_headings_first(filled: Path, tmp_path: Path):
    target = tmp_path / "out" / "review.xlsx"
    result = venue_hub("review", "-c", str(filled), CONFERENCE_ID, "--xlsx", str(target))
    assert result.returncode == 2, result.stderr
    assert "会议点评（第二十条）" in result.stdout and "农安县分会场" in result.stdout
    workbook = load_workbook(target, read_only=True)
    assert workbook.sheetnames == ["点评 Review", "告警 Alerts"]
    rows = list(workbook["点评 Review"].iter_rows(values_only=True))
    header = rows[4]
    assert header[0] == "会场 / Venue" and header[2] == "结论 / Verdict"
    assert all(h and h[0] >= "\u4e00" for h in header if not h.startswith(("video.", "audio."))), header
    body = {row[0]: dict(zip(header, row, strict=True)) for row in rows[5:]}
    assert set(body) == {CHANGCHUN, NONGAN, JILIN, SHULAN}
    assert body[JILIN]["入会 / Joined"] == "否（未入会）/ no (never joined)"
    assert body[NONGAN]["audio.noise 合格 % / ok %"] == 60.0
    assert body[CHANGCHUN]["会务联络员 / Liaison"] == "联络员1"
    alerts = list(workbook["告警 Alerts"].iter_rows(values_only=True))
    assert alerts[0][0] == "会场 / Venue"
    assert {(r[0], r[4]) for r in alerts[1:]} == {(NONGAN, "audio.noise_high"), (SHULAN, "availability")}
    if shutil.which("libreoffice"):  # optional: a second program opens it too
        subprocess.run(
            ["libreoffice", "--headless", "--convert-to", "csv", "--outdir", str(tmp_path), str(target)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert "农安县分会场" in (tmp_path / "review.csv").read_text(encoding="utf-8", errors="replace")


def test_review_of_an_unknown_conference_is_unknown(filled: Path):
    result = venue_hub("review", "-c", str(filled), "no-such-conference", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["known"] is False


def test_a_prefecture_hub_reviews_only_its_counties(filled: Path, tmp_path: Path):
    text = filled.read_text(encoding="utf-8").replace('scope = "vc/jilin/#"', 'scope = "vc/jilin/jilin/#"')
    filled.write_text(text, encoding="utf-8")
    result = venue_hub("review", "-c", str(filled), CONFERENCE_ID, "--json")
    assert {v["venue"] for v in json.loads(result.stdout)["venues"]} == {JILIN, SHULAN}
    assert result.returncode == 2


def test_online_seconds_from_transitions():
    class Row:
        def __init__(self, at, previous, state):
            self.at, self.previous, self.state = at, previous, state

    window = Window(START, END)
    flap = [
        Row(START + timedelta(minutes=20), "online", "silent"),
        Row(START + timedelta(minutes=25), "silent", "online"),
    ]
    assert online_seconds(flap, window, "online") == 55 * 60
    assert online_seconds([], window, "online") == 3600
    assert online_seconds([], window, "never") == 0 and known_seconds([], window, "never") == 0
    first_heard = [Row(START + timedelta(minutes=15), "never", "online")]
    assert online_seconds(first_heard, window, "online") == 45 * 60
    assert known_seconds(first_heard, window, "online") == 45 * 60, "before it was first heard: unknown"
    late = [Row(START + timedelta(minutes=10), "offline", "online")]
    assert online_seconds(late, window, "online") == 50 * 60, "offline until its first transition said otherwise"
    before = [Row(START - timedelta(hours=1), "online", "offline")]
    assert online_seconds(before, window, "offline") == 0
