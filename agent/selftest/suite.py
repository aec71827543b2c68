"""One self-test run: every applicable group at once, within one time budget (Art. 14).

Groups run concurrently, so the run takes as long as its slowest group (the video/audio sample
or the echo probes), not their sum. A group still running when the budget ends, or one that
raises, becomes an `unknown` item naming why — the report always comes back, on time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime

from agent.config.models import Settings
from agent.selftest import checks
from agent.selftest.report import SELFTEST_MESSAGES, build_report
from agent.sources import DEVICE_SOURCES
from contract.conference import Conference
from contract.findings import Article, Finding, Verdict
from contract.payloads import SelftestReport, VenueRef

log = logging.getLogger(__name__)

GROUP_ARTICLE = {
    "devices": Article.ART13,
    "path": Article.ART13,
    "video": Article.ART17,
    "audio": Article.ART17,
    "clock": Article.ART14,
    "outbox": Article.ART13,
}
SETTLE_S = 0.5  # kept back from the budget to assemble and publish the report


def plan(
    settings: Settings, conference: Conference | None, framing: bool, live: checks.LiveFindings | None
) -> dict[str, Awaitable[list[Finding]]]:
    """The groups that apply to this venue (an unconfigured input or server is not a failure)."""
    config = settings.selftest
    groups: dict[str, Awaitable[list[Finding]]] = {"outbox": checks.outbox_space(settings)}
    if any(source.configured(settings) for source in DEVICE_SOURCES):
        groups["devices"] = checks.devices(settings, live)
    host = checks.far_end_host(conference, config)
    if host:
        groups["path"] = checks.network_path(config, host)
    if settings.video is not None:
        groups["video"] = checks.video(settings, framing, live)
    if settings.audio is not None:
        groups["audio"] = checks.audio(settings, live)
    if config.ntp_server:
        groups["clock"] = checks.clock(config)
    return groups


async def run_selftest(
    settings: Settings,
    venue: VenueRef,
    trigger: str,
    conference: Conference | None = None,
    framing: bool = False,
    live: checks.LiveFindings | None = None,
) -> SelftestReport:
    started, clock_start = datetime.now(UTC), time.monotonic()
    budget = settings.selftest.timeout_s - SETTLE_S
    groups = plan(settings, conference, framing, live)
    tasks = {name: asyncio.ensure_future(coroutine) for name, coroutine in groups.items()}
    await asyncio.wait(tasks.values(), timeout=budget)
    findings: list[Finding] = []
    for name, task in tasks.items():
        if not task.done():
            task.cancel()
            findings.append(_unknown(name, "selftest.timeout", group=name, budget=settings.selftest.timeout_s))
        elif task.exception() is not None:
            error = task.exception()
            log.warning("self-test group %s failed: %r", name, error)
            findings.append(_unknown(name, "selftest.error", group=name, error=f"{type(error).__name__}: {error}"))
        else:
            findings += task.result()
    conference_id = conference.id if conference else None
    return build_report(venue, trigger, conference_id, findings, started, time.monotonic() - clock_start)


def _unknown(group: str, code: str, **fields: object) -> Finding:
    return SELFTEST_MESSAGES.finding(f"selftest.{group}", Verdict.UNKNOWN, code, GROUP_ARTICLE[group], **fields)
