"""`[evaluation] rules = "PATH"`: an office's own scoring rules named once in the hub config, used by
`venue-hub evaluate` (unless `--rules` names another) and by the board's /evaluation page, and checked
when the config is read — `config check` names the key, its line and each problem in the rules file.

Real processes and databases: the CLI as a subprocess, the board as the ASGI app over the same SQLite or
PostgreSQL database the scenario of tests/test_hub_review_scenario.py filled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from contract.config_error import ConfigError
from hub.config.load import load_settings
from hub.db.engine import open_database
from hub.web.app import create_app
from tests.test_hub_review import venue_hub, write_config
from tests.test_hub_review_scenario import CHANGCHUN, JILIN, published, store_directly
from tests.test_hub_web_auth import HASH, sign_in

pytest_plugins = ["tests.peers.postgres"]

# Jilin's venue missed its conference: the default deducts 10 for it (65.0 in all); these rules 50.
OFFICE_RULES = """
[rules]
name = "某市考评细则 / A city's own rules"
official = true
base = 100

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
"""

BOARD = f"""
[web]
listen = "127.0.0.1:8080"

[[web.account]]
name = "province"
password_hash = "{HASH}"
role = "viewer"
scope = "vc/jilin/#"
"""


@pytest.fixture
def filled(database_url: str, tmp_path: Path) -> Path:
    engine = open_database(database_url)
    store_directly(engine, published())
    engine.dispose()
    return write_config(tmp_path, database_url)


def with_rules(config: Path, rules: str | None, extra: str = "") -> Path:
    """The config with an `[evaluation]` table naming `rules-office.toml` (relative: beside the config)."""
    if rules is not None:
        (config.parent / "rules-office.toml").write_text(rules, encoding="utf-8")
    text = config.read_text(encoding="utf-8") + extra + '\n[evaluation]\nrules = "rules-office.toml"\n'
    config.write_text(text, encoding="utf-8")
    return config


def scores(result) -> dict[str, tuple[float, str]]:
    evaluation = json.loads(result.stdout)
    return {v["venue"]: (v["score"], v["grade"]) for v in evaluation["venues"]}


def test_the_configured_rules_change_the_score_and_rules_wins_over_it(filled: Path, tmp_path: Path):
    default = venue_hub("evaluate", "-c", str(filled), "--year", "2026", "--json")
    assert scores(default)[JILIN][0] == 65.0, default.stderr  # the shipped default: − 10 for the missed one

    config = with_rules(filled, OFFICE_RULES)
    result = venue_hub("evaluate", "-c", str(config), "--year", "2026", "--json")
    assert result.returncode == 1, result.stderr  # below pass, and these rules define no serious problem
    evaluation = json.loads(result.stdout)
    assert evaluation["rules"] == {
        "name": "某市考评细则 / A city's own rules",
        "official": True,
        "path": str(tmp_path / "rules-office.toml"),
    }
    assert scores(result)[JILIN] == (50.0, "不合格 / fail")
    assert scores(result)[CHANGCHUN] == (100.0, "合格 / pass")

    # --rules names another file for one run: it wins over the config's
    other = tmp_path / "other.toml"
    other.write_text(OFFICE_RULES.replace("points = 50", "points = 30"), encoding="utf-8")
    chosen = venue_hub("evaluate", "-c", str(config), "--year", "2026", "--json", "--rules", str(other))
    assert scores(chosen)[JILIN] == (70.0, "合格 / pass"), chosen.stderr


def test_config_check_names_the_key_its_line_and_the_problem(filled: Path, tmp_path: Path):
    config = with_rules(filled, OFFICE_RULES.replace("conferences_missed", "conferences_misssed"))
    line = config.read_text(encoding="utf-8").splitlines().index('rules = "rules-office.toml"') + 1
    checked = venue_hub("config", "check", "-c", str(config))
    assert checked.returncode == 2 and checked.stdout == ""
    assert f"{config}:{line}: evaluation.rules:" in checked.stderr
    assert "rules-office.toml: deduction.0:" in checked.stderr
    assert "unknown metric 'conferences_misssed'" in checked.stderr

    # the same refusal for the evaluation itself (it reads the config first), and for a missing file
    assert venue_hub("evaluate", "-c", str(config), "--year", "2026").returncode == 2
    (tmp_path / "rules-office.toml").unlink()
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    (issue,) = caught.value.issues
    assert (issue.field, issue.line) == ("evaluation.rules", line) and "cannot read" in issue.message

    # an unknown key in the table is named like any other
    config.write_text(config.read_text(encoding="utf-8").replace("rules =", "rule ="), encoding="utf-8")
    unknown = venue_hub("config", "check", "-c", str(config))
    assert unknown.returncode == 2 and f"{config}:{line}: evaluation.rule: unknown key" in unknown.stderr

    # a good file: config check says OK
    (tmp_path / "rules-office.toml").write_text(OFFICE_RULES, encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace("rule =", "rules ="), encoding="utf-8")
    good = venue_hub("config", "check", "-c", str(config))
    assert good.returncode == 0 and good.stdout.startswith("OK "), good.stderr


def test_the_board_scores_with_the_configured_rules(filled: Path):
    settings = load_settings(with_rules(filled, OFFICE_RULES, extra=BOARD))
    engine = open_database(settings.hub.database)
    try:
        with TestClient(create_app(settings, engine, None), client=("192.0.2.1", 40000)) as client:
            assert sign_in(client, "province").status_code == 303
            page = client.get("/evaluation?year=2026")
            assert page.status_code == 200
            assert "某市考评细则 / A city&#39;s own rules" in page.text and "非官方" not in page.text
            row = page.text.split(f"<small>{JILIN}</small>", 1)[1].split("</tr>", 1)[0]
            assert "<td>50.0</td><td>不合格 / fail</td>" in row
    finally:
        engine.dispose()
