"""The hub's commands and what they do here: `ping`, `schedule`, `selftest` (the roll call), `summary`,
`snapshot`.

Each handler validates its arguments whole before doing anything (a malformed command changes
nothing and gets an error reply naming what was wrong); the router (agent/mqtt/commands.py) turns
the returned dict or the raised error into the one reply the request gets.
"""

from __future__ import annotations

from typing import Any

from agent import __version__
from agent.context import AgentContext
from agent.mqtt.commands import CommandArgumentError, CommandBusyError, CommandRouter
from agent.schedule.duties import ConferenceDuties
from agent.schedule.ticker import TimelineTicker
from agent.selftest.coalesce import QueueFull
from agent.selftest.runner import SelftestRunner
from agent.snapshot.publish import SnapshotUnavailable, make_snapshot, publish_snapshot
from contract.payloads import utc_now

SELFTEST_ARGS = {"framing", "conference_id"}


class HubCommands:
    def __init__(
        self, context: AgentContext, selftests: SelftestRunner, duties: ConferenceDuties, ticker: TimelineTicker
    ):
        self.context = context
        self.selftests = selftests
        self.duties = duties
        self.ticker = ticker

    def register(self, router: CommandRouter) -> None:
        router.register("ping", self.ping)
        router.register("schedule", self.schedule)
        router.register("selftest", self.selftest)
        router.register("summary", self.summary)
        router.register("snapshot", self.snapshot)

    async def ping(self, args: dict[str, Any]) -> dict[str, Any]:
        context = self.context
        return {
            "pong": True,
            "version": __version__,
            "uptime_s": round((utc_now() - context.started_at).total_seconds(), 1),
            "overall": context.board.overall.value,
            "outbox_pending": context.outbox.pending,
        }

    async def schedule(self, args: dict[str, Any]) -> dict[str, Any]:
        """cmd/schedule: the pushed conferences, validated whole and stored atomically (or refused)."""
        try:
            result = self.context.schedule.push(args)
        except ValueError as exc:
            raise CommandArgumentError(str(exc)) from None
        self.ticker.wake.set()
        self.context.board.changed.set()
        return result

    async def selftest(self, args: dict[str, Any]) -> dict[str, Any]:
        """cmd/selftest (the hub's roll call): {} or {"framing": bool, "conference_id": str}.

        Without a conference id the conference in focus is probed — the one in progress, or else the
        next — exactly as `venue-agent selftest` picks it (`Timeline.in_focus`)."""
        unknown = sorted(set(args) - SELFTEST_ARGS)
        if unknown:
            raise CommandArgumentError(f"unknown argument(s) {', '.join(unknown)}; allowed: framing, conference_id")
        framing = args.get("framing", False)
        if not isinstance(framing, bool):
            raise CommandArgumentError("framing must be true or false")
        timeline = self.context.schedule.timeline
        if "conference_id" in args:
            if not isinstance(args["conference_id"], str):
                raise CommandArgumentError("conference_id must be a string")
            conference = timeline.conferences.get(args["conference_id"])
            if conference is None:
                raise CommandArgumentError(f"no conference {args['conference_id']!r} in the schedule")
        else:
            conference = timeline.in_focus(self.context.clock())
        try:
            return await self.selftests.run("command", conference, framing)
        except QueueFull as exc:
            raise CommandBusyError(str(exc)) from None

    async def summary(self, args: dict[str, Any]) -> dict[str, Any]:
        """cmd/summary {"conference_id": "…"}: the stored Art. 20 summary, for a hub that missed the event."""
        if set(args) != {"conference_id"} or not isinstance(args["conference_id"], str):
            raise CommandArgumentError('the arguments must be exactly {"conference_id": "<id>"}')
        conference_id = args["conference_id"]
        if not conference_id.isprintable() or "/" in conference_id or not 1 <= len(conference_id) <= 128:
            raise CommandArgumentError("conference_id must be 1–128 printable characters without '/'")
        summary = self.duties.files.load(conference_id)
        if summary is None:
            raise CommandArgumentError(f"no summary of conference {conference_id!r} is kept here")
        return summary

    async def snapshot(self, args: dict[str, Any]) -> dict[str, Any]:
        """cmd/snapshot {}: publish the newest analysed uplink frame now (the patrol wall, Art. 19)."""
        if args:
            raise CommandArgumentError("cmd/snapshot takes no arguments")
        current = self.context.schedule.timeline.current(self.context.clock())
        try:
            snapshot = make_snapshot(self.context, "command", conference_id=current[0].id if current else None)
        except SnapshotUnavailable as exc:
            raise CommandArgumentError(str(exc)) from None
        publish_snapshot(self.context, snapshot)
        return {
            "published": self.context.topics.snapshot,
            "id": snapshot.id,
            "ts": snapshot.ts.isoformat(),
            "width": snapshot.width,
            "height": snapshot.height,
            "bytes": len(snapshot.jpeg_bytes()),
        }
