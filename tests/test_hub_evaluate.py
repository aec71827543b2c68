"""`venue-hub evaluate` (Art. 21–22) on the embedded SQLite and a real PostgreSQL: metrics per venue,
the default rules' score and their label, an office's own rules file, Art. 22's county rule, the
spreadsheet read back with openpyxl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hub.db.engine import open_database
from hub.reports.scoring import DEFAULT_RULES, load_rules
from tests.test_hub_review import venue_hub, write_config
from tests.test_hub_review_scenario import CHANGCHUN, HARBIN, JILIN, NONGAN, SHULAN, published, store_directly

pytest_plugins = ["tests.peers.postgres"]


@pytest.fixture
def filled(database_url: str, tmp_path: Path) -> Path:
    engine = open_database(database_url)
    store_directly(engine, published())
    engine.dispose()
    return write_config(tmp_path, database_url)


def test_evaluation_metrics_score_and_art22(filled: Path):
    result = venue_hub("evaluate", "-c", str(filled), "--year", "2026", "--json")
    assert result.returncode == 2, result.stderr  # a serious problem
    evaluation = json.loads(result.stdout)
    assert evaluation["rules"]["official"] is False and "非官方" in evaluation["rules"]["name"]
    venues = {v["venue"]: v for v in evaluation["venues"]}
    assert set(venues) == {CHANGCHUN, NONGAN, JILIN, SHULAN} and HARBIN not in venues

    changchun = venues[CHANGCHUN]["metrics"]
    assert changchun["conferences_scheduled"] == changchun["conferences_held"] == 1
    assert (changchun["rollcalls"], changchun["rollcalls_answered"], changchun["rollcalls_passed"]) == (1, 1, 1)
    assert changchun["selftest_pass_pct"] == 100.0 and changchun["availability_pct"] == 100.0
    assert changchun["incidents"] == 0 and changchun["art17_ok_pct"] == 100.0
    assert venues[CHANGCHUN]["score"] == 100.0 and venues[CHANGCHUN]["serious"] == []
    assert venues[CHANGCHUN]["award_eligible"] is False, "Art. 22: its county Nong'an had a serious problem"
    assert venues[CHANGCHUN]["award_blocked_by"] == [NONGAN]

    nongan = venues[NONGAN]
    assert nongan["metrics"]["conferences_critical"] == 1 and nongan["metrics"]["incidents_critical"] == 1
    assert [s["metric"] for s in nongan["serious"]] == ["conferences_critical"]
    assert nongan["score"] == 78.0  # − 2 (one critical alert) − 20 (Art. 17: 40 % not ok, capped)
    assert nongan["grade"] == "良好 / good"

    jilin = venues[JILIN]
    assert jilin["metrics"]["conferences_missed"] == 1 and jilin["metrics"]["rollcalls_silent"] == 1
    assert jilin["metrics"]["availability_pct"] == 0.0 and jilin["metrics"]["selftest_pass_pct"] is None
    assert jilin["score"] == 65.0  # − 10 missed − 5 silent − 20 offline (capped)
    assert [s["metric"] for s in jilin["serious"]] == ["conferences_missed"]

    shulan = venues[SHULAN]
    assert shulan["metrics"]["availability_pct"] == 91.7  # silent 5 of 60 minutes
    assert shulan["metrics"]["incidents"] == 0, "its warning came a day before the conference"
    assert shulan["metrics"]["selftest_pass_pct"] == 0.0 and shulan["metrics"]["call_drops"] == 1
    assert shulan["score"] == 83.8 and shulan["serious"] == [] and shulan["award_eligible"] is False
    assert evaluation["summary"] == {"venues": 4, "serious": 2, "below_pass": 0, "award_eligible": 0}


def test_an_office_replaces_the_rules(filled: Path, tmp_path: Path):
    rules = tmp_path / "office-rules.toml"
    rules.write_text(
        """
[rules]
name = "某市考评细则 / A city's own rules"
official = true
base = 100
award_min_score = 95

[[deduction]]
metric = "conferences_missed"
points = 50
label = "缺席 / absent"

[[grade]]
min = 60
label = "合格 / pass"

[[grade]]
min = 0
label = "不合格 / fail"
below_pass = true
""",
        encoding="utf-8",
    )
    result = venue_hub("evaluate", "-c", str(filled), "--year", "2026", "--json", "--rules", str(rules))
    assert result.returncode == 1, result.stderr  # no serious rule at all, but Jilin is below pass
    evaluation = json.loads(result.stdout)
    assert evaluation["rules"] == {"name": "某市考评细则 / A city's own rules", "official": True, "path": str(rules)}
    scores = {v["venue"]: (v["score"], v["grade"], v["award_eligible"]) for v in evaluation["venues"]}
    assert scores[JILIN] == (50.0, "不合格 / fail", False)
    assert scores[CHANGCHUN] == (100.0, "合格 / pass", True), "no serious rule: no county blocks it"

    rules.write_text(rules.read_text(encoding="utf-8").replace("conferences_missed", "conferences_misssed"))
    bad = venue_hub("evaluate", "-c", str(filled), "--year", "2026", "--rules", str(rules))
    assert bad.returncode == 3
    assert "deduction.0" in bad.stderr and "unknown metric 'conferences_misssed'" in bad.stderr


def test_evaluation_spreadsheet_says_the_rules_are_not_official(filled: Path, tmp_path: Path):
    target = tmp_path / "evaluation-2026.xlsx"
    result = venue_hub("evaluate", "-c", str(filled), "--year", "2026", "--xlsx", str(target))
    assert result.returncode == 2
    assert "NOT the official annex" in result.stdout and "农安县分会场" in result.stdout
    workbook = load_workbook(target, read_only=True)
    assert workbook.sheetnames == ["考评 Evaluation", "扣分 Deductions", "规则 Rules"]
    rows = list(workbook["考评 Evaluation"].iter_rows(values_only=True))
    assert "NOT the official annex" in rows[1][0]
    header = rows[3]
    assert header[:4] == ("会场 / Venue", "名称 / Name", "级别 / Level", "得分 / Score")
    body = {row[0]: dict(zip(header, row, strict=True)) for row in rows[4:]}
    assert body[NONGAN]["得分 / Score"] == 78.0
    assert body[CHANGCHUN]["评优资格 / Award eligible"] == "否 / no"
    assert body[SHULAN]["availability_pct"] == 91.7
    deductions = list(workbook["扣分 Deductions"].iter_rows(values_only=True))
    assert (JILIN, "conferences_missed", 10.0) in {(r[0], r[2], r[5]) for r in deductions[1:]}
    rules_rows = list(workbook["规则 Rules"].iter_rows(values_only=True))
    assert rules_rows[0][0].startswith("默认评分规则（非官方")


def test_an_empty_year_and_the_default_rules_file():
    rules, path = load_rules()
    assert path == DEFAULT_RULES and rules.rules.official is False
    assert {s.metric for s in rules.serious} >= {"conferences_missed"}, "Art. 22's serious problem is defined"


def test_a_year_without_venues_in_scope_is_unknown(filled: Path):
    text = filled.read_text(encoding="utf-8").replace('scope = "vc/jilin/#"', 'scope = "vc/liaoning/#"')
    filled.write_text(text, encoding="utf-8")
    result = venue_hub("evaluate", "-c", str(filled), "--year", "2026", "--json")
    assert result.returncode == 3 and json.loads(result.stdout)["venues"] == []
