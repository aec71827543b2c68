"""The durable outbox: every event, self-test report and metrics message is on disk before it is sent.

SQLite in WAL mode under `state_dir`. A row is deleted only after the broker's PUBACK, so a broker
outage, a network cut or a `kill -9` loses nothing: the next process sends what is left, in order.
Consumers de-duplicate by the payload's `id` (a message acked but not yet deleted is sent again).

Written policies (docs/outbox.md):
- Bound: at `max_messages`, the oldest *metrics* go first; only when no metrics are left do the
  oldest events/self-tests go. Every drop is counted once and reported (`outbox.dropped`).
- A disk that refuses writes (full, read-only, I/O error): new messages are held in memory, in
  order, bounded by `max_held` messages and `max_held_bytes` (same drop rule, counted and reported
  as `outbox.dropped_held`); they are handed to the broker directly and forgotten on PUBACK, and
  those still unacknowledged are written back in order when the disk takes writes again. The
  producers are never blocked: the agent keeps monitoring and publishing its status.
- `seq` continues past the highest ever issued, kept in a side file (marks.py) where a lost queue
  file cannot take it; every bad shape of queue file is moved aside (or repaired) with an event
  saying how many queued messages were lost.

The rooms, each one idea (docs/outbox.md, "Where the code is"):
- queue.py — `Outbox`, as its users see it: hand out, acknowledge, retry, state, notices;
- writing.py — its writing side: open, append, commit, hold what the disk refuses;
- store.py — the queue file as held: open, replace a bad one and say the loss, adopt, row keys;
- sqlite_file.py — the file's schema; recognising, repairing and moving aside bad files;
- rows.py — the queue's SQL: insert, read in order, delete, drop the oldest at the bound;
- group_commit.py — appends of one event-loop step in one transaction;
- held.py — messages held in memory while the disk refuses writes, bounded;
- notices.py — drops counted once, episodes of storage trouble, each said at most once a minute;
- marks.py — the seq high-water marks in a side file that a replaced queue file cannot take;
- message.py — the kinds of message, a message on its way, what is handed out.
"""

from agent.outbox.group_commit import GROUP_COMMIT_S, commit_soon_on_running_loop
from agent.outbox.held import HELD_MAX_BYTES, HELD_MAX_MESSAGES
from agent.outbox.message import Kind, Queued
from agent.outbox.notices import NOTICE_EVERY_S
from agent.outbox.queue import Outbox
from agent.outbox.writing import RETRY_EVERY_S

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
