"""Group commit: appends made within GROUP_COMMIT_S share one transaction (one WAL write, not one each).

Why it is safe: the sender commits before it reads, so nothing is published before it is on disk;
what a `kill -9` can lose is what was raised in the last GROUP_COMMIT_S and never published — to
the hub as if the crash came that much earlier (`seq` stays gap-free: its counter commits with the
rows, and the marks follow the commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.outbox.message import Message

GROUP_COMMIT_S = 0.002


def commit_soon_on_running_loop(commit: Callable[[], None]) -> None:
    """The `defer` the daemon uses: commit the batch GROUP_COMMIT_S after its first append."""
    asyncio.get_running_loop().call_later(GROUP_COMMIT_S, commit)


@dataclass
class Batch:
    """The open transaction: a group of appends, or a chunk of held messages written back. Its rows
    and drops count only once it is committed (a refused COMMIT may have rolled them back)."""

    messages: list[Message] = field(default_factory=list)
    rows: int = 0  # net change of the row count inside it
    floor: int = 0  # highest row id before it (kept after it ends: see writing.py, _abort_batch)
    acked: set[int] = field(default_factory=set)  # rows acknowledged earlier whose DELETE it makes
    write_back: bool = False  # a write-back of held messages (never deferred: retry_held commits it)

    def clear(self) -> None:
        self.messages, self.rows, self.acked, self.write_back = [], 0, set(), False
