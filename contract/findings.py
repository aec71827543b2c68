"""The vocabulary every probe speaks: verdicts, bilingual messages and Findings.

A Finding is what a technician and the hub read: which check, what verdict, what was measured
against which threshold, which article of the 2013 Jilin measures it serves, and a message in
Chinese and English keyed by a stable code (so tools can match on the code, people read the text).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Verdict(StrEnum):
    """Outcome of one check. Ordered by severity through `severity_rank`."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


_RANK = {Verdict.OK: 0, Verdict.UNKNOWN: 1, Verdict.WARN: 2, Verdict.FAIL: 3}


def severity_rank(verdict: Verdict) -> int:
    """Rank used to compute a worst-of verdict; unknown sits between ok and warn."""
    return _RANK[verdict]


def worst(verdicts: list[Verdict]) -> Verdict:
    """The most severe verdict of a list; ok for an empty list (nothing is wrong)."""
    return max(verdicts, key=severity_rank, default=Verdict.OK)


class Message(BaseModel):
    """A text people read, in Chinese (authoritative, as the regulation) and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str
    en: str


class Article(StrEnum):
    """Articles of the 2013 measures that findings quote, in the form verdicts print them."""

    ART13 = "第十三条 / Art. 13"
    ART14 = "第十四条 / Art. 14"
    ART15 = "第十五条 / Art. 15"
    ART16 = "第十六条 / Art. 16"
    ART17 = "第十七条 / Art. 17"
    ART3 = "第三条 / Art. 3"
    ART20 = "第二十条 / Art. 20"


# Checks that advise (Art. 15 framing, Art. 16 background: the regulation asks for them, but the venue's
# technician decides): shown and published, never graded into a venue's overall verdict, a self-test's
# verdict or an exit code.
ADVISORY_CHECKS = frozenset({"video.framing", "video.background"})


def is_advisory(check: str) -> bool:
    """True for an advisory check id, also as a status key (`check@subject`)."""
    return check.partition("@")[0] in ADVISORY_CHECKS


# The checks that judge Art. 17 (the uplink picture and sound), in the order people read them:
# picture, then sound. The conference record counts their time shares; the hub's review lists them.
ART17_CHECKS = (
    "video.signal",
    "video.brightness",
    "video.clarity",
    "video.colour",
    "audio.signal",
    "audio.level",
    "audio.clarity",
    "audio.noise",
)


class Finding(BaseModel):
    """One check's current judgement."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="Stable check id, e.g. `host.disk` or `video.brightness`.")
    verdict: Verdict
    code: str = Field(description="Stable message code; the text below is rendered from it.")
    message: Message
    article: str = Field(description="Article served, e.g. `第十三条 / Art. 13`.")
    value: float | int | str | bool | None = None
    threshold: float | int | str | None = None
    unit: str | None = None
    subject: str | None = Field(default=None, description="Device or input the finding is about.")
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
