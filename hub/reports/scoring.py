"""Scoring rules kept as data (Art. 21): read, checked strictly, and applied to a venue's year.

The official annex is not public, so the hub ships `scoring-default.toml`, labelled as a default, and
an office replaces it with its own file (`[evaluation] rules = "FILE"` in the hub config, used by
`venue-hub evaluate` and the board, checked by `config check`; or `venue-hub evaluate --rules FILE`).
A rule may only name a metric the evaluation computes (METRICS): a typo is an error at load, not a
silently ignored rule.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES = Path(__file__).with_name("scoring-default.toml")
MAX_RULES_BYTES = 1_048_576

# The evaluation's vocabulary: each metric is a number per venue and year (None: nothing to measure).
METRICS: dict[str, str] = {
    "conferences_scheduled": "conferences pushed to the venue that took place in the year",
    "conferences_held": "conferences the venue summarised (it joined)",
    "conferences_missed": "scheduled conferences over, with no summary (never joined)",
    "conferences_critical": "conferences whose summary was critical (an Art. 17 check failed ≥ 25 % of it)",
    "conferences_warning": "conferences whose summary was a warning",
    "conferences_over_limit": "conferences over the Art. 3 maximum",
    "call_drops": "codec call drops during conferences",
    "device_incidents": "device failures during conferences (from the summaries)",
    "rollcalls": "roll calls the venue was called in",
    "rollcalls_answered": "roll calls answered",
    "rollcalls_passed": "roll calls answered with a passing self-test",
    "rollcalls_warned": "roll calls answered with a warning",
    "rollcalls_failed": "roll calls answered with a failing self-test",
    "rollcalls_silent": "roll calls not answered",
    "selftests": "self-test reports of the year (any trigger)",
    "selftests_passed": "of them, passed",
    "selftest_pass_pct": "passed / all self-tests, %",
    "selftest_not_pass_pct": "100 − selftest_pass_pct",
    "incidents": "alerts (warning or critical events) during conferences",
    "incidents_critical": "of them, critical",
    "incidents_warning": "of them, warning",
    "availability_losses": "times the venue went offline or silent during a conference",
    "art17_ok_pct": "mean over held conferences of the lowest Art. 17 ok share, %",
    "art17_not_ok_pct": "100 − art17_ok_pct",
    "availability_pct": "share of conference time the venue was online, of the time its state was known, %",
    "availability_lost_pct": "100 − availability_pct",
    "event_gaps": "runs of event seq numbers that never arrived (evidence of loss)",
}


class RulesError(Exception):
    """The rules file cannot be used; `problems` says where and why."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RulesHeader(_Strict):
    name: str = Field(min_length=1)
    official: bool = Field(description="false for the shipped default: the report says it is not official.")
    base: float = 100
    floor: float = 0
    award_min_score: float = 90


class Deduction(_Strict):
    metric: str
    points: float = Field(ge=0, description="Points per unit of the metric.")
    max: float | None = Field(default=None, ge=0, description="At most this many points.")
    label: str

    @model_validator(mode="after")
    def _known(self) -> Deduction:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")
        return self


class Serious(_Strict):
    metric: str
    at_least: float = Field(gt=0)
    label: str

    @model_validator(mode="after")
    def _known(self) -> Serious:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")
        return self


class Grade(_Strict):
    min: float
    label: str
    below_pass: bool = False


class Rules(_Strict):
    rules: RulesHeader
    deduction: list[Deduction] = Field(default_factory=list)
    serious: list[Serious] = Field(default_factory=list)
    grade: list[Grade] = Field(min_length=1)

    @model_validator(mode="after")
    def _grades_cover(self) -> Rules:
        self.grade = sorted(self.grade, key=lambda g: g.min, reverse=True)
        if self.grade[-1].min > self.rules.floor:
            raise ValueError("the lowest [[grade]] must start at or below rules.floor, so every score has a grade")
        return self


def load_rules(path: Path | None = None) -> tuple[Rules, Path]:
    """The rules in `path` (the shipped default when None), or RulesError naming every problem."""
    path = path or DEFAULT_RULES
    try:
        if path.stat().st_size > MAX_RULES_BYTES:
            raise RulesError(path, [f"{path}: larger than {MAX_RULES_BYTES} bytes"])
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(path, [f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise RulesError(path, [f"{path}: not UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(path, [f"{path}: not valid TOML: {exc}"]) from None
    try:
        return Rules.model_validate(data), path
    except ValidationError as exc:
        problems = [
            f"{path}: {'.'.join(str(p) for p in e['loc']) or '(top)'}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise RulesError(path, problems) from None


@dataclass(frozen=True)
class Applied:
    metric: str
    label: str
    value: float
    points: float


@dataclass(frozen=True)
class Scored:
    score: float
    grade: str
    below_pass: bool
    deductions: list[Applied]
    serious: list[Applied]  # points = the rule's threshold


def score(metrics: dict[str, float | None], rules: Rules) -> Scored:
    """Apply `rules` to one venue's metrics. A metric that is None (nothing to measure) deducts nothing."""
    deductions = []
    for rule in rules.deduction:
        value = metrics.get(rule.metric)
        if value is None or value <= 0 or rule.points == 0:
            continue
        points = rule.points * value
        if rule.max is not None:
            points = min(points, rule.max)
        deductions.append(Applied(rule.metric, rule.label, value, round(points, 2)))
    total = round(max(rules.rules.floor, rules.rules.base - sum(d.points for d in deductions)), 1)
    grade = next(g for g in rules.grade if total >= g.min)
    serious = [
        Applied(rule.metric, rule.label, value, rule.at_least)
        for rule in rules.serious
        if (value := metrics.get(rule.metric)) is not None and value >= rule.at_least
    ]
    return Scored(total, grade.label, grade.below_pass, deductions, serious)
