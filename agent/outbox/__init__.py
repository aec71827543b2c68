"""The durable outbox (docs/outbox.md); the public names, importable from `agent.outbox`."""

from agent.outbox.queue import (
    GROUP_COMMIT_S,
    HELD_MAX_BYTES,
    HELD_MAX_MESSAGES,
    NOTICE_EVERY_S,
    RETRY_EVERY_S,
    Kind,
    Outbox,
    Queued,
    commit_soon_on_running_loop,
)

__all__ = [
    "GROUP_COMMIT_S",
    "HELD_MAX_BYTES",
    "HELD_MAX_MESSAGES",
    "NOTICE_EVERY_S",
    "RETRY_EVERY_S",
    "Kind",
    "Outbox",
    "Queued",
    "commit_soon_on_running_loop",
]
