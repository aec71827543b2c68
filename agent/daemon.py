"""The daemon: wires the parts of the agent together and sequences its life; the parts do the work.

Life cycle: open the outbox → queue `agent.started` → connect (in the background; the agent runs
and queues during outages) → start monitors under the supervisor → READY=1 to systemd.
SIGTERM/SIGINT: queue `agent.stopping`, stop monitors, flush the outbox (bounded wait), publish a
final status and a retained `offline`, disconnect, exit 0. SIGHUP: reload the config; an invalid
one is refused with an event saying why and the running config stays.

Where the work is: agent/reporting/ (findings → board → events, the status payload),
agent/publishing/ (status/metrics loops, notices), agent/schedule/ (timeline, duties, record),
agent/selftest/runner.py, agent/mqtt/ (link, router, hub commands), agent/sources.py (monitors).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agent import __version__
from agent.config import ConfigError, Settings, load_config
from agent.config.secrets import SecretError, resolve_password
from agent.context import AgentContext
from agent.identity import client_id_for
from agent.monitors import Monitor
from agent.mqtt.commands import CommandRouter
from agent.mqtt.hub_commands import HubCommands
from agent.mqtt.link import BrokerLink, Publisher
from agent.outbox import Outbox, commit_soon_on_running_loop
from agent.publishing.loops import metrics_loop, status_loop, watchdog_loop
from agent.publishing.notices import Notices
from agent.reporting.events import EventLog
from agent.reporting.reload_carry import carry_over, confirm_within_s
from agent.reporting.reporter import FindingReporter
from agent.reporting.status_payload import compose_status, status_bytes
from agent.schedule.conference_record import ConferenceRecorder
from agent.schedule.duties import ConferenceDuties
from agent.schedule.keeper import ScheduleKeeper
from agent.schedule.ticker import TimelineTicker
from agent.sdnotify import Notifier
from agent.selftest.runner import SelftestRunner
from agent.sources import SOURCES, Source
from agent.supervisor import Backoff, Supervisor
from contract.payloads import Severity, Status, TaskState, utc_now

log = logging.getLogger(__name__)

COMMAND_GRACE_S = 2.0  # how long running commands may finish before a stop or reload cancels them


def build_monitors(settings: Settings) -> list[tuple[Source, Monitor]]:
    return [(source, monitor) for source in SOURCES for monitor in source.build(settings)]


class Agent:
    def __init__(
        self,
        config_path: Path,
        settings: Settings,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        outbox = Outbox(
            settings.agent.state_dir / "outbox.sqlite3",
            max_messages=settings.agent.outbox_max_messages,
            sync=settings.agent.outbox_sync,
            defer=commit_soon_on_running_loop,  # group commit, see docs/outbox.md
        )
        self.context = context = AgentContext(config_path, settings, ScheduleKeeper(settings, clock), outbox, clock)
        self.events = EventLog(context)
        recorder = ConferenceRecorder(settings.agent.state_dir)
        self.reporter = FindingReporter(context, self.events, recorder)
        self.duties = ConferenceDuties(context, self.events, recorder, self.reporter)
        self.selftests = SelftestRunner(context, self.events)
        self.ticker = TimelineTicker(context, self.events, self.duties, self.selftests)
        self.commands = HubCommands(context, self.selftests, self.duties, self.ticker)
        self.notices = Notices(context, self.events)
        self.notifier = Notifier()
        self.supervisor = Supervisor(self._task_state, backoff or Backoff())
        self._stop = asyncio.Event()
        self._monitors: list[tuple[Source, Monitor]] = []
        self._reload_lock = asyncio.Lock()
        self._reload_waiting = False

    @property
    def outbox(self) -> Outbox:
        return self.context.outbox

    def snapshot(self) -> Status:
        return compose_status(self.context, self.selftests, self.duties)

    def status_payload(self) -> bytes:
        return status_bytes(self.context, self.selftests, self.duties)

    def _task_state(self, name: str, state: TaskState, error: BaseException | None) -> None:
        """The supervisor's news of a loop: a failure is raised once per episode, a recovery once."""
        previous = self.context.board.tasks.get(name)
        self.context.board.set_task(name, state)
        if error is not None and (previous is None or previous.state != "backoff"):
            self.events.agent(
                "agent.task_failed",
                Severity.WARNING,
                task=name,
                delay=state.retry_in_s or 0,
                error=state.last_error or "",
            )
        elif state.state == "running" and previous is not None and previous.state == "backoff":
            self.events.agent("agent.task_recovered", Severity.INFO, task=name)

    # -- the broker side and the monitors -------------------------------------------------------
    def _start_link(self, password: str | None) -> None:
        context = self.context
        context.router = router = CommandRouter(
            context.venue, context.topics, lambda topic, payload, corr: context.link.reply(topic, payload, corr)
        )
        self.commands.register(router)
        self.notices.new_link()
        context.link = BrokerLink(
            context.settings.broker,
            client_id_for(context.settings),
            context.topics,
            context.outbox,
            password,
            router.receive,
            self.status_payload,
            Publisher(socket.gethostname(), os.getpid(), context.started_at),
        )
        self.supervisor.start("link", context.link.run)

    async def _stop_link(self, final: bool) -> None:
        context = self.context
        if context.link is None:
            return
        if context.router is not None:
            await context.router.cancel_all(grace_s=COMMAND_GRACE_S)
        await context.link.drain(context.settings.agent.shutdown_flush_s if final else 0)
        await context.link.close(self.status_payload(), timeout_s=2.0)
        await self.supervisor.stop(["link"])
        context.link = None

    def _start_monitors(self) -> None:
        self._monitors = build_monitors(self.context.settings)
        for _source, monitor in self._monitors:
            self.supervisor.start(monitor.name, lambda m=monitor: m.run(self.reporter))

    async def _stop_monitors(self) -> None:
        """Stop the monitor loops; their findings stay on the board (a reload decides what goes)."""
        await self.supervisor.stop([monitor.name for _source, monitor in self._monitors])
        self._monitors = []

    # -- reload ---------------------------------------------------------------------------------
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
        context = self.context
        self.notifier.reloading()
        try:
            new = await asyncio.to_thread(load_config, context.config_path)
            password = resolve_password(new.broker)
            schedule = await asyncio.to_thread(ScheduleKeeper, new, context.clock)  # reads the .ics: off the loop
        except ConfigError as exc:
            return self._reject_reload("; ".join(issue.render(exc.path) for issue in exc.issues))
        except SecretError as exc:
            return self._reject_reload(str(exc))
        except Exception as exc:  # whatever else a bad file provokes: refused, never half-applied
            log.exception("reload of %s failed", context.config_path)
            return self._reject_reload(f"{context.config_path}: {type(exc).__name__}: {exc}")
        old = context.settings
        context.settings = new
        schedule.timeline.fired |= context.schedule.timeline.fired
        context.schedule = schedule
        self.ticker.wake.set()
        await self._stop_monitors()
        reloaded_at = time.monotonic()
        carried = carry_over(context.board, old, new)
        if (new.broker, new.venue) != (old.broker, old.venue):
            await self._stop_link(final=True)
            context.address(new)
            self._start_link(password)
        if new.agent.state_dir != old.agent.state_dir:
            log.warning("agent.state_dir changed; the new directory is used after a restart")
        self._start_monitors()
        asyncio.get_running_loop().call_later(confirm_within_s(new), context.board.drop_stale, carried, reloaded_at)
        self.events.agent("config.reloaded", Severity.INFO, path=str(context.config_path))
        self.notifier.ready("reloaded")
        return True

    def _reject_reload(self, errors: str) -> bool:
        self.events.agent("config.reload_rejected", Severity.WARNING, errors=errors[:2000])
        self.notifier.ready("reload refused: config invalid")
        return False

    # -- life -----------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        context = self.context
        password = resolve_password(context.settings.broker)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        reloads: set[asyncio.Task[bool]] = set()

        def on_hup() -> None:
            task = loop.create_task(self.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        context.outbox.open()
        self.notices.raise_all()
        self.events.agent("agent.started", Severity.INFO, version=__version__)
        self._start_link(password)
        self.supervisor.start("status", lambda: status_loop(context, self.notices, self.status_payload))
        self.supervisor.start("metrics", lambda: metrics_loop(context))
        self.supervisor.start("timeline", self.ticker.loop)
        if self.notifier.watchdog_interval_s:
            self.supervisor.start("watchdog", lambda: watchdog_loop(self.notifier))
        self._start_monitors()
        self.notifier.ready(f"publishing to {context.settings.broker.url} as {context.topics.base}")
        log.info("venue agent %s running as %s", __version__, context.topics.base)
        await self._stop.wait()
        await self._shut_down(reloads)
        return 0

    async def _shut_down(self, reloads: set[asyncio.Task[bool]]) -> None:
        context = self.context
        started = time.monotonic()
        self.notifier.stopping()
        for task in list(reloads):
            await task
        await self.ticker.cancel_background()
        if context.router is not None:  # running commands answer cmd.cancelled while the link is up
            await context.router.cancel_all(grace_s=min(COMMAND_GRACE_S, context.settings.agent.shutdown_flush_s / 4))
        await self._stop_monitors()
        self.events.agent("agent.stopping", Severity.INFO)
        self.notices.raise_all()
        await self._stop_link(final=True)
        await self.supervisor.stop()
        context.outbox.close()
        log.info("stopped cleanly in %.2f s", time.monotonic() - started)
