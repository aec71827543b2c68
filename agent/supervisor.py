"""Runs every monitor loop as its own asyncio task, restarting it with backoff when it fails.

One loop failing never stops the others: its exception is logged, shown in the status (`tasks`),
reported as an event once per failure streak, and the loop is started again after a delay that
doubles up to a ceiling and resets once the loop has run cleanly for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from contract.payloads import TaskState

log = logging.getLogger(__name__)

LoopFactory = Callable[[], Awaitable[None]]


@dataclass
class Backoff:
    initial_s: float = 1.0
    ceiling_s: float = 60.0
    healthy_after_s: float = 60.0


class Supervisor:
    """Owns a group of named tasks. `on_state(name, state, error)` hears every transition."""

    def __init__(self, on_state: Callable[[str, TaskState, BaseException | None], None], backoff: Backoff):
        self._on_state = on_state
        self._backoff = backoff
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, factory: LoopFactory) -> None:
        if name in self._tasks and not self._tasks[name].done():
            raise RuntimeError(f"task {name} is already running")
        self._tasks[name] = asyncio.create_task(self._keep_running(name, factory), name=name)

    async def _keep_running(self, name: str, factory: LoopFactory) -> None:
        delay = self._backoff.initial_s
        restarts = 0
        while True:
            self._on_state(name, TaskState(state="running", restarts=restarts), None)
            started = time.monotonic()
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if time.monotonic() - started >= self._backoff.healthy_after_s:
                    delay = self._backoff.initial_s
                log.exception("task %s failed; restarting in %.1f s", name, delay)
                error = f"{type(exc).__name__}: {exc}"
                self._on_state(
                    name, TaskState(state="backoff", restarts=restarts, last_error=error, retry_in_s=delay), exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff.ceiling_s)
                restarts += 1
                continue
            log.info("task %s finished", name)
            self._on_state(name, TaskState(state="stopped", restarts=restarts), None)
            return

    def names(self) -> list[str]:
        return list(self._tasks)

    async def stop(self, names: list[str] | None = None) -> None:
        """Cancel the named tasks (all when None) and wait until they have ended."""
        chosen = [name for name in (names if names is not None else list(self._tasks)) if name in self._tasks]
        tasks = [self._tasks.pop(name) for name in chosen]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
