"""The daemon: wires config, outbox, broker link, monitors and commands; handles signals.

Life cycle: open the outbox → queue `agent.started` → connect (in the background; the agent runs
and queues during outages) → start monitors under the supervisor → READY=1 to systemd.
SIGTERM/SIGINT: queue `agent.stopping`, stop monitors, flush the outbox (bounded wait), publish a
final status and a retained `offline`, disconnect, exit 0. SIGHUP: reload the config; an invalid
one is refused with an event saying why and the running config stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from agent import __version__
from agent.config import ConfigError, Settings, load_config
from agent.config.secrets import SecretError, resolve_password
from agent.identity import client_id_for, venue_ref
from agent.messages import AGENT_MESSAGES
from agent.monitors import Monitor
from agent.monitors import audio as audio_monitor
from agent.monitors import host as host_monitor
from agent.monitors import simulation as simulation_monitor
from agent.monitors import snmp as snmp_monitor
from agent.monitors import ssh as ssh_monitor
from agent.monitors import video as video_monitor
from agent.mqtt.commands import CommandArgumentError, CommandBusyError, CommandRouter
from agent.mqtt.link import BrokerLink, Publisher
from agent.outbox import Kind, Outbox, commit_soon_on_running_loop
from agent.reporting.board import StatusBoard
from agent.schedule.conference_record import ConferenceRecorder, summary_severity
from agent.schedule.keeper import ScheduleKeeper
from agent.schedule.timeline import CheckpointKind
from agent.sdnotify import Notifier
from agent.selftest.coalesce import CoalescingRunner, QueueFull
from agent.selftest.report import summary as selftest_summary
from agent.selftest.suite import run_selftest
from agent.supervisor import Backoff, Supervisor
from contract.conference import Conference
from contract.findings import Finding, Message, Verdict
from contract.payloads import (
    AgentInfo,
    Event,
    Metrics,
    OutboxState,
    Severity,
    Status,
    TaskState,
    to_json,
    utc_now,
)
from contract.topics import VenueTopics

log = logging.getLogger(__name__)

MONITOR_BUILDERS = (
    host_monitor.build,
    snmp_monitor.build,
    ssh_monitor.build,
    video_monitor.build,
    audio_monitor.build,
    simulation_monitor.build,
)
MAX_TIMELINE_SLEEP_S = 30.0
REJECTION_EVENT_EVERY_S = 60.0
SELFTEST_CHECKPOINTS = {
    CheckpointKind.EVE_DEBUG_SELFTEST,
    CheckpointKind.POWER_ON_SELFTEST,
    CheckpointKind.ROLLCALL_SELFTEST,
    CheckpointKind.SEATING_CHECK,  # with the Art. 15 framing check
}
SELFTEST_ARGS = {"framing", "conference_id"}
MAX_WAITING_SELFTESTS = 4  # distinct (trigger, conference, framing) requests queued behind a run
COMMAND_GRACE_S = 2.0  # how long running commands may finish before a stop or reload cancels them
DURATION_SOURCE = {"codec": ("终端呼叫状态", "codec's call state"), "schedule": ("会议计划", "schedule")}
_SEVERITY = {Verdict.FAIL: Severity.CRITICAL, Verdict.WARN: Severity.WARNING}
# Outbox notices that report data lost are critical; recovery is news; everything else a warning.
OUTBOX_NOTICE_SEVERITY = {
    "outbox.storage_recovered": Severity.INFO,
    "outbox.replaced": Severity.CRITICAL,
    "outbox.replaced_unknown_loss": Severity.CRITICAL,
    "outbox.held_lost": Severity.CRITICAL,
}


def build_monitors(settings: Settings) -> list[Monitor]:
    return [monitor for build in MONITOR_BUILDERS for monitor in build(settings)]


class Agent:
    def __init__(
        self,
        config_path: Path,
        settings: Settings,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.config_path = config_path
        self.settings = settings
        self.venue = venue_ref(settings)
        self.topics = VenueTopics.for_venue(settings.broker.topic_prefix, settings.venue)
        self.board = StatusBoard()
        self.notifier = Notifier()
        self.clock = clock  # the schedule's time: injected by tests that run a day in seconds
        self.started_at = utc_now()
        self.outbox = Outbox(
            settings.agent.state_dir / "outbox.sqlite3",
            max_messages=settings.agent.outbox_max_messages,
            sync=settings.agent.outbox_sync,
            defer=commit_soon_on_running_loop,  # group commit, see docs/outbox.md
        )
        self.supervisor = Supervisor(self._task_state, backoff or Backoff())
        self._stop = asyncio.Event()
        self._monitors: list[Monitor] = []
        self._link: BrokerLink | None = None
        self._router: CommandRouter | None = None
        self.schedule = ScheduleKeeper(settings, clock)
        self._timeline_wake = asyncio.Event()
        self._selftests: CoalescingRunner[dict[str, Any]] = CoalescingRunner(MAX_WAITING_SELFTESTS)
        self._reload_lock = asyncio.Lock()
        self._reload_waiting = False
        self._background: set[asyncio.Task] = set()
        self.last_selftest: dict[str, Any] | None = None
        self._rejections_reported = 0
        self._duplicates_reported = 0
        self._rejection_event_at = -REJECTION_EVENT_EVERY_S
        self.recorder = ConferenceRecorder(settings.agent.state_dir)
        self.last_summary: dict[str, Any] | None = None

    # -- reporting (the Reporter protocol monitors use) ------------------------------------------
    def report(self, finding: Finding) -> None:
        change = self.board.report(finding)
        self.recorder.observe(finding, self.clock(), change.previous if change else finding.verdict)
        if change is None or (change.previous is None and finding.verdict is Verdict.OK):
            return
        previous = change.previous.value if change.previous else "—"
        self.emit(
            finding.code,
            _SEVERITY.get(finding.verdict, Severity.INFO),
            AGENT_MESSAGES.render(
                "check.changed",
                check=finding.check,
                previous=previous,
                verdict=finding.verdict.value,
                zh=finding.message.zh,
                en=finding.message.en,
            ),
            check=finding.check,
            verdict=finding.verdict,
            previous=change.previous,
            data={"value": finding.value, "threshold": finding.threshold, "subject": finding.subject},
        )

    def set_metric(self, name: str, value: float | int | None) -> None:
        self.board.set_metric(name, value)

    def set_device(self, name: str, state: dict[str, Any]) -> None:
        self.board.set_device(name, state)
        if (calls := _active_calls(state)) is not None:
            self.recorder.observe_calls(name, calls, self.clock())

    def _codec_calls(self) -> dict[str, int]:
        return {
            name: calls for name, state in self.board.devices.items() if (calls := _active_calls(state)) is not None
        }

    def emit(self, code: str, severity: Severity, message: Message, **fields: Any) -> int:
        """Queue an event in the outbox (durable first), then nudge the link to send it.

        An event raised while a conference is in progress carries its id (the first one's, if two
        overlap), so the hub can file it under that conference."""
        now = self.clock()
        event_id = str(uuid.uuid4())
        if fields.get("conference_id") is None:
            current = self.schedule.timeline.current(now)
            fields["conference_id"] = current[0].id if current else None

        def make(seq: int) -> bytes:
            return to_json(
                Event(
                    id=event_id,
                    seq=seq,
                    ts=now,
                    venue=self.venue,
                    code=code,
                    severity=severity,
                    message=message,
                    **fields,
                )
            )

        seq = self.outbox.append(Kind.EVENT, self.topics.events, make)
        log.log(
            logging.WARNING if severity is not Severity.INFO else logging.INFO,
            "event %s #%d: %s",
            code,
            seq,
            message.en,
        )
        if self._link is not None:
            self._link.wake()
        return seq

    def emit_agent(self, code: str, severity: Severity, conference_id: str | None = None, **fields: Any) -> int:
        return self.emit(
            code,
            severity,
            AGENT_MESSAGES.render(code, conference_id=conference_id, **fields),
            data=dict(fields),
            conference_id=conference_id,
        )

    def _task_state(self, name: str, state: TaskState, error: BaseException | None) -> None:
        previous = self.board.tasks.get(name)
        self.board.set_task(name, state)
        if error is not None and (previous is None or previous.state != "backoff"):
            self.emit_agent(
                "agent.task_failed",
                Severity.WARNING,
                task=name,
                delay=state.retry_in_s or 0,
                error=state.last_error or "",
            )
        elif state.state == "running" and previous is not None and previous.state == "backoff":
            self.emit_agent("agent.task_recovered", Severity.INFO, task=name)

    # -- status ---------------------------------------------------------------------------------
    def snapshot(self) -> Status:
        return Status(
            ts=utc_now(),
            venue=self.venue,
            agent=AgentInfo(
                version=__version__, hostname=socket.gethostname(), pid=os.getpid(), started_at=self.started_at
            ),
            overall=self.board.overall,
            checks=dict(self.board.checks),
            devices=dict(self.board.devices),
            tasks=dict(self.board.tasks),
            outbox=OutboxState(
                pending=self.outbox.pending,
                dropped_metrics=self.outbox.dropped_metrics,
                dropped_events=self.outbox.dropped_events,
                held_in_memory=self.outbox.held,
                storage_error=self.outbox.storage_error,
                rejected_by_broker=self._link.rejected if self._link is not None else 0,
            ),
            contacts=self.settings.contacts.model_dump(mode="json", exclude_none=True),
            conference={**self.schedule.status(), "last_summary": self.last_summary},
            selftest=self.last_selftest,
            commands=self._router.counts if self._router is not None else None,
            status_interval_s=self.settings.agent.status_interval_s,
        )

    def status_payload(self) -> bytes:
        return to_json(self.snapshot())

    async def _status_loop(self) -> None:
        """Publish the retained status on change (debounced) and at least every status_interval_s."""
        while True:
            try:
                await asyncio.wait_for(self.board.changed.wait(), timeout=self.settings.agent.status_interval_s)
                await asyncio.sleep(0.2)  # debounce a burst of changes into one snapshot
            except TimeoutError:
                pass
            self.board.changed.clear()
            self._raise_notices()
            if self._link is not None:
                self._link.publish_status(self.status_payload())

    def _raise_notices(self) -> None:
        """What the outbox and the schedule keeper noticed (storage trouble, files set aside) becomes events."""
        for code, fields in self.outbox.take_notices():
            self.emit_agent(code, OUTBOX_NOTICE_SEVERITY.get(code, Severity.WARNING), **fields)
        for code, fields in self.schedule.take_notices():
            self.emit_agent(code, Severity.WARNING, **fields)
        self._raise_rejections()
        self._raise_duplicates()

    def _raise_duplicates(self) -> None:
        """Another agent publishes as this venue (two PCs from one image): say so, once per other agent seen."""
        link = self._link
        if link is None or link.duplicates <= self._duplicates_reported:
            return
        self._duplicates_reported = link.duplicates
        self.emit_agent("agent.duplicate_client", Severity.CRITICAL, client_id=link.client_id, count=link.duplicates)

    def _raise_rejections(self) -> None:
        """Messages the broker refused: one event per REJECTION_EVENT_EVERY_S at most — the event
        may itself be refused (the same ACL), and must not feed a loop."""
        link = self._link
        if link is None or link.rejected <= self._rejections_reported:
            return
        now = time.monotonic()
        if now - self._rejection_event_at < REJECTION_EVENT_EVERY_S:
            return
        topic, reason = link.last_rejection or ("?", "?")
        count = link.rejected - self._rejections_reported
        self._rejections_reported, self._rejection_event_at = link.rejected, now
        self.emit_agent(
            "outbox.rejected", Severity.WARNING, count=count, total=link.rejected, topic=topic, reason=reason
        )

    async def _metrics_loop(self) -> None:
        interval = self.settings.agent.metrics_interval_s
        while True:
            await asyncio.sleep(interval)
            values = dict(self.board.metrics)
            values["outbox.pending"] = self.outbox.pending
            now = utc_now()
            payload = to_json(
                Metrics(id=str(uuid.uuid4()), ts=now, venue=self.venue, interval_s=interval, values=values)
            )
            self.outbox.append(Kind.METRIC, self.topics.metrics, lambda _seq, p=payload: p)
            if self._link is not None:
                self._link.wake()

    async def _watchdog_loop(self) -> None:
        interval = self.notifier.watchdog_interval_s or 10.0
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    # -- commands -------------------------------------------------------------------------------
    async def _ping(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "pong": True,
            "version": __version__,
            "uptime_s": round((utc_now() - self.started_at).total_seconds(), 1),
            "overall": self.board.overall.value,
            "outbox_pending": self.outbox.pending,
        }

    async def _schedule(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self.schedule.push(args)
        except ValueError as exc:
            raise CommandArgumentError(str(exc)) from None
        self._timeline_wake.set()
        self.board.changed.set()
        return result

    # -- self-test ------------------------------------------------------------------------------
    def _live_findings(self, checks: tuple[str, ...], max_age_s: float) -> list[Finding] | None:
        """A running monitor's findings of `checks`, if it has them all and none is older than max_age_s."""
        found = [f for f in self.board.checks.values() if f.check in checks]
        if {f.check for f in found} != set(checks):
            return None
        oldest = min(f.ts for f in found)
        return found if (utc_now() - oldest).total_seconds() <= max_age_s else None

    async def selftest(self, trigger: str, conference: Conference | None, framing: bool) -> dict[str, Any]:
        """Run the suite (one run at a time; requests that pile up share the next run, see
        agent/selftest/coalesce.py), publish the report retained, raise events, return it.
        QueueFull when too many different requests are already waiting."""
        key = (trigger, conference.id if conference else None, framing)
        return await self._selftests.submit(key, lambda: self._run_selftest(trigger, conference, framing))

    async def _run_selftest(self, trigger: str, conference: Conference | None, framing: bool) -> dict[str, Any]:
        report = await run_selftest(self.settings, self.venue, trigger, conference, framing, self._live_findings)
        payload = to_json(report)
        self.outbox.append(Kind.SELFTEST, self.topics.selftest, lambda _seq: payload, retain=True)
        self.last_selftest = selftest_summary(report)
        conference_id = report.conference_id
        for item in report.items:
            if item.verdict == "fail":
                self.emit(
                    "selftest.item_failed",
                    Severity.CRITICAL,
                    AGENT_MESSAGES.render(
                        "selftest.item_failed", check=item.check, zh=item.reason.zh, en=item.reason.en
                    ),
                    check=item.check,
                    verdict=Verdict.FAIL,
                    conference_id=conference_id,
                    data={"selftest_id": report.id, "trigger": trigger, "article": item.article, "value": item.value},
                )
        counts = {
            word: sum(1 for i in report.items if i.verdict == word) for word in ("pass", "warn", "fail", "unknown")
        }
        severity = {"fail": Severity.CRITICAL, "warn": Severity.WARNING}.get(report.verdict, Severity.INFO)
        self.emit_agent(
            "selftest.completed",
            severity,
            conference_id=conference_id,
            trigger=trigger,
            verdict=report.verdict,
            duration=report.duration_s,
            selftest_id=report.id,
            **counts,
        )
        self.board.changed.set()
        return report.model_dump(mode="json", by_alias=True)

    async def _selftest_command(self, args: dict[str, Any]) -> dict[str, Any]:
        """cmd/selftest (the hub's roll call): {} or {"framing": bool, "conference_id": str}."""
        unknown = sorted(set(args) - SELFTEST_ARGS)
        if unknown:
            raise CommandArgumentError(f"unknown argument(s) {', '.join(unknown)}; allowed: framing, conference_id")
        framing = args.get("framing", False)
        if not isinstance(framing, bool):
            raise CommandArgumentError("framing must be true or false")
        conference = None
        if "conference_id" in args:
            if not isinstance(args["conference_id"], str):
                raise CommandArgumentError("conference_id must be a string")
            conference = self.schedule.timeline.conferences.get(args["conference_id"])
            if conference is None:
                raise CommandArgumentError(f"no conference {args['conference_id']!r} in the schedule")
        else:
            conference = self.schedule.timeline.in_focus(self.clock())
        try:
            return await self.selftest("command", conference, framing)
        except QueueFull as exc:
            raise CommandBusyError(str(exc)) from None

    async def _summary_command(self, args: dict[str, Any]) -> dict[str, Any]:
        """cmd/summary {"conference_id": "…"}: the stored Art. 20 summary, for a hub that missed the event."""
        if set(args) != {"conference_id"} or not isinstance(args["conference_id"], str):
            raise CommandArgumentError('the arguments must be exactly {"conference_id": "<id>"}')
        conference_id = args["conference_id"]
        if not conference_id.isprintable() or "/" in conference_id or not 1 <= len(conference_id) <= 128:
            raise CommandArgumentError("conference_id must be 1–128 printable characters without '/'")
        summary = self._load_summary(conference_id)
        if summary is None:
            raise CommandArgumentError(f"no summary of conference {conference_id!r} is kept here")
        return summary

    # -- the conference record (Art. 3 duration, Art. 20 summary) --------------------------------
    def _record_checkpoint(self, kind: CheckpointKind, conference: Conference, now: datetime) -> None:
        if kind is CheckpointKind.MEETING_START:
            self.recorder.open(conference, now, dict(self.board.checks), self._codec_calls())
        elif kind is CheckpointKind.MEETING_END:
            self.recorder.end(conference.id, now)
        elif kind is CheckpointKind.POST_MEETING_SUMMARY:
            self.recorder.request_summary(conference.id)

    def _conference_duties(self, now: datetime) -> None:
        """Each timeline tick: Art. 3 overruns newly passed, Art. 20 summaries now complete."""
        for overrun in self.recorder.overruns(now):
            conference = overrun.conference
            severity = Severity.CRITICAL if overrun.level == "maximum" else Severity.WARNING
            self.emit_agent(
                f"conference.overrun_{overrun.level}",
                severity,
                conference_id=conference.id,
                title=conference.title or conference.id,
                kind=conference.kind,
                minutes=round(overrun.minutes, 1),
                limit=overrun.limit,
                source=overrun.source,
                source_zh=DURATION_SOURCE[overrun.source][0],
                source_en=DURATION_SOURCE[overrun.source][1],
            )
        summaries = self.recorder.ready_summaries(now)
        for summary in summaries:
            summary["severity"] = summary_severity(summary).value  # kept with it: cmd/summary replies carry it
            self.last_summary = summary
            self._save_summary(summary)
            self.emit(
                "conference.summary",
                Severity(summary["severity"]),
                AGENT_MESSAGES.render(
                    "conference.summary",
                    title=summary["title"] or summary["conference_id"],
                    actual=summary["actual_min"],
                    allowed="—" if summary["allowed_min"] is None else summary["allowed_min"],
                    ok="—" if summary["art17_min_ok_pct"] is None else summary["art17_min_ok_pct"],
                    incidents=summary["incidents"],
                    drops=summary["call_drops"],
                ),
                conference_id=summary["conference_id"],
                data=summary,
            )
            self.board.changed.set()
        if self.recorder.records or summaries:  # nothing to keep between conferences
            self.recorder.save()

    def _summary_path(self, conference_id: str) -> Path:
        return self.settings.agent.state_dir / "summaries" / f"{conference_id}.json"

    def _save_summary(self, summary: dict[str, Any]) -> None:
        path = self._summary_path(summary["conference_id"])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        except OSError as exc:
            log.error("cannot keep the summary of %s: %s", summary["conference_id"], exc)

    def _load_summary(self, conference_id: str) -> dict[str, Any] | None:
        """A kept summary, or None when there is none (or it cannot be read: logged)."""
        path = self._summary_path(conference_id)
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("cannot read the kept summary %s: %s", path, exc)
            return None
        return summary if isinstance(summary, dict) else None

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task) -> None:
        """No background task dies unobserved: its failure is logged (a checkpoint's self-test refused
        because too many are waiting, too)."""
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task failed: %s", error, exc_info=error)

    async def _timeline_loop(self) -> None:
        """Run `timeline_tick` at each checkpoint's time, and at least every MAX_TIMELINE_SLEEP_S."""
        while True:
            self.timeline_tick(self.clock())
            following = self.schedule.timeline.next_at(self.clock())
            wait = MAX_TIMELINE_SLEEP_S if following is None else (following - self.clock()).total_seconds()
            self._timeline_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timeline_wake.wait(), timeout=max(0.05, min(wait, MAX_TIMELINE_SLEEP_S)))

    def timeline_tick(self, now: datetime) -> None:
        """Everything the schedule asks at `now`: announce due checkpoints (once each), start their
        self-tests, keep the conference record, raise Art. 3 overruns and Art. 20 summaries.

        Takes the time as an argument so that tests can drive a whole day through it in seconds."""
        due = self.schedule.timeline.due(now)
        for point in due.run:
            conference = self.schedule.timeline.conferences[point.conference_id]
            self.emit_agent(
                f"timeline.{point.kind.value}",
                Severity.INFO,
                title=conference.title or conference.id,
                conference=conference.id,
                conference_id=conference.id,
                at=point.at.astimezone(self.schedule.zone).isoformat(),
            )
            self._record_checkpoint(point.kind, conference, now)
            if point.kind in SELFTEST_CHECKPOINTS:
                framing = point.kind is CheckpointKind.SEATING_CHECK
                self._spawn(self.selftest(point.kind.value, conference, framing))
        for point, _reason in due.skipped:
            conference = self.schedule.timeline.conferences[point.conference_id]
            self.emit_agent(
                "timeline.missed",
                Severity.WARNING,
                title=conference.title or conference.id,
                conference=conference.id,
                conference_id=conference.id,
                checkpoint=point.kind.value,
            )
        if due.run or due.skipped:
            self.schedule.fired_changed()
            self.board.changed.set()
        self._conference_duties(now)

    # -- life cycle -----------------------------------------------------------------------------
    def _start_link(self, password: str | None) -> None:
        self._router = CommandRouter(
            self.venue,
            self.topics,
            lambda topic, payload, corr: self._link.reply(topic, payload, corr),
        )
        self._router.register("ping", self._ping)
        self._router.register("schedule", self._schedule)
        self._router.register("selftest", self._selftest_command)
        self._router.register("summary", self._summary_command)
        self._rejections_reported = 0  # a new link counts from zero
        self._duplicates_reported = 0
        self._link = BrokerLink(
            self.settings.broker,
            client_id_for(self.settings),
            self.topics,
            self.outbox,
            password,
            self._router.receive,
            self.status_payload,
            Publisher(socket.gethostname(), os.getpid(), self.started_at),
        )
        self.supervisor.start("link", self._link.run)

    def _start_monitors(self) -> None:
        self._monitors = build_monitors(self.settings)
        for monitor in self._monitors:
            self.supervisor.start(monitor.name, lambda m=monitor: m.run(self))

    async def _stop_monitors(self, forget: bool) -> None:
        """Stop the monitor loops; `forget` drops their checks (a reload may remove a monitor)."""
        await self.supervisor.stop([monitor.name for monitor in self._monitors])
        if forget:
            for monitor in self._monitors:
                self.board.forget(monitor.check_prefix)
        self._monitors = []

    async def reload(self) -> bool:
        """SIGHUP: re-read the config; True when the new one was taken.

        Serialised (one reload at a time; a burst of SIGHUPs while one runs gives one more reload,
        not one each) and all-or-nothing: everything that can fail — reading and validating the file,
        the password, building the schedule — happens before anything is swapped, and any failure
        (not only a config error) is refused with `config.reload_rejected`."""
        if self._reload_waiting:
            return False  # the reload already waiting will read the newest file
        self._reload_waiting = True
        async with self._reload_lock:
            self._reload_waiting = False
            return await self._reload_now()

    async def _reload_now(self) -> bool:
        self.notifier.reloading()
        try:
            new = await asyncio.to_thread(load_config, self.config_path)
            password = resolve_password(new.broker)
            schedule = await asyncio.to_thread(ScheduleKeeper, new, self.clock)  # reads the .ics: off the loop
        except ConfigError as exc:
            return self._reject_reload("; ".join(issue.render(exc.path) for issue in exc.issues))
        except SecretError as exc:
            return self._reject_reload(str(exc))
        except Exception as exc:  # whatever else a bad file provokes: refused, never half-applied
            log.exception("reload of %s failed", self.config_path)
            return self._reject_reload(f"{self.config_path}: {type(exc).__name__}: {exc}")
        old = self.settings
        self.settings = new
        schedule.timeline.fired |= self.schedule.timeline.fired
        self.schedule = schedule
        self._timeline_wake.set()
        await self._stop_monitors(forget=True)
        if (new.broker, new.venue) != (old.broker, old.venue):
            await self._stop_link(final=True)
            self.venue = venue_ref(new)
            self.topics = VenueTopics.for_venue(new.broker.topic_prefix, new.venue)
            self._start_link(password)
        if new.agent.state_dir != old.agent.state_dir:
            log.warning("agent.state_dir changed; the new directory is used after a restart")
        self._start_monitors()
        self.emit_agent("config.reloaded", Severity.INFO, path=str(self.config_path))
        self.notifier.ready("reloaded")
        return True

    def _reject_reload(self, errors: str) -> bool:
        self.emit_agent("config.reload_rejected", Severity.WARNING, errors=errors[:2000])
        self.notifier.ready("reload refused: config invalid")
        return False

    async def _stop_link(self, final: bool) -> None:
        if self._link is None:
            return
        if self._router is not None:
            await self._router.cancel_all(grace_s=COMMAND_GRACE_S)
        await self._link.drain(self.settings.agent.shutdown_flush_s if final else 0)
        await self._link.close(self.status_payload(), timeout_s=2.0)
        await self.supervisor.stop(["link"])
        self._link = None

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        password = resolve_password(self.settings.broker)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        reloads: set[asyncio.Task[bool]] = set()

        def on_hup() -> None:
            task = loop.create_task(self.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        self.outbox.open()
        self._raise_notices()
        self.emit_agent("agent.started", Severity.INFO, version=__version__)
        self._start_link(password)
        self.supervisor.start("status", self._status_loop)
        self.supervisor.start("metrics", self._metrics_loop)
        self.supervisor.start("timeline", self._timeline_loop)
        if self.notifier.watchdog_interval_s:
            self.supervisor.start("watchdog", self._watchdog_loop)
        self._start_monitors()
        self.notifier.ready(f"publishing to {self.settings.broker.url} as {self.topics.base}")
        log.info("venue agent %s running as %s", __version__, self.topics.base)
        await self._stop.wait()

        started = time.monotonic()
        self.notifier.stopping()
        for task in list(reloads):
            await task
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._router is not None:  # running commands answer cmd.cancelled while the link is up
            await self._router.cancel_all(grace_s=min(COMMAND_GRACE_S, self.settings.agent.shutdown_flush_s / 4))
        await self._stop_monitors(forget=False)
        self.emit_agent("agent.stopping", Severity.INFO)
        self._raise_notices()
        await self._stop_link(final=True)
        await self.supervisor.stop()
        self.outbox.close()
        log.info("stopped cleanly in %.2f s", time.monotonic() - started)
        return 0


def _active_calls(device_state: dict[str, Any]) -> int | None:
    """A reachable codec's active call count, as its monitor reported it; None for other devices."""
    calls = device_state.get("calls")
    if device_state.get("kind") == "codec" and device_state.get("reachable") and isinstance(calls, int):
        return calls
    return None
