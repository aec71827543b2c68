"""One self-test at a time, and requests that pile up meanwhile share the next run.

A roll call can bring a burst of `cmd/selftest` (a hub retrying, several operators, a hostile
publisher): run one by one, 100 requests of 4.5 s each would keep the venue busy for minutes and
hold up shutdown. Here a request that arrives while a run is under way waits for the *next* run,
and every request with the same key (trigger, conference, framing) waiting for it is answered by
that one run; at most `max_waiting` distinct keys wait, and more are refused at once. When the
request that started a run is cancelled (shutdown), the requests sharing it are cancelled too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Result = TypeVar("Result")


class QueueFull(RuntimeError):
    """Too many different requests are already waiting."""


class CoalescingRunner(Generic[Result]):
    def __init__(self, max_waiting: int = 4):
        self.max_waiting = max_waiting
        self._lock = asyncio.Lock()
        self._waiting: dict[Hashable, asyncio.Future[Result]] = {}
        self.runs = 0
        self.shared = 0  # requests answered by a run another request started

    async def submit(self, key: Hashable, start: Callable[[], Awaitable[Result]]) -> Result:
        """The result of a run of `start` begun after this call; shared with same-key requests."""
        waiting = self._waiting.get(key)
        if waiting is not None:
            self.shared += 1
            return await asyncio.shield(waiting)
        if len(self._waiting) >= self.max_waiting:
            raise QueueFull(f"{len(self._waiting)} different self-test requests are already waiting")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            async with self._lock:
                del self._waiting[key]  # requests from now on wait for the run after this one
                self.runs += 1
                result = await start()
        except BaseException as exc:
            if self._waiting.get(key) is future:  # cancelled while waiting for the lock
                del self._waiting[key]
            if not future.done():
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # retrieved here, so no "exception was never retrieved" when none waits
            raise
        future.set_result(result)
        return result
