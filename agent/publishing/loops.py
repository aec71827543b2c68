"""The periodic loops: the retained status (on change, debounced, and at least every interval),
metrics every interval through the outbox, and the systemd watchdog's heartbeat."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from agent.context import AgentContext
from agent.outbox import Kind
from agent.publishing.notices import Notices
from agent.sdnotify import Notifier
from contract.payloads import Metrics, to_json, utc_now

DEBOUNCE_S = 0.2  # a burst of changes becomes one snapshot


async def status_loop(context: AgentContext, notices: Notices, status: Callable[[], bytes]) -> None:
    board = context.board
    while True:
        try:
            await asyncio.wait_for(board.changed.wait(), timeout=context.settings.agent.status_interval_s)
            await asyncio.sleep(DEBOUNCE_S)
        except TimeoutError:
            pass
        board.changed.clear()
        notices.raise_all()
        if context.link is not None:
            context.link.publish_status(status())


async def metrics_loop(context: AgentContext) -> None:
    while True:
        interval = context.settings.agent.metrics_interval_s
        await asyncio.sleep(interval)
        values = dict(context.board.metrics)
        values["outbox.pending"] = context.outbox.pending
        payload = to_json(
            Metrics(id=str(uuid.uuid4()), ts=utc_now(), venue=context.venue, interval_s=interval, values=values)
        )
        context.outbox.append(Kind.METRIC, context.topics.metrics, lambda _seq, p=payload: p)
        context.wake_link()


async def watchdog_loop(notifier: Notifier) -> None:
    interval = notifier.watchdog_interval_s or 10.0
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)
