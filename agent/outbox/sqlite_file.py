"""The outbox's SQLite file: its schema, how a bad one is recognised, repaired or moved aside, and
what a good one holds. Opening it (agent/outbox/store.py) decides what to do and what to say; the
queue's own statements are in agent/outbox/rows.py.

Why so careful: SQLite accepts some bad shapes silently — a file emptied to 0 bytes is a valid empty
database, a foreign table named `outbox` satisfies `CREATE TABLE IF NOT EXISTS` and then refuses
every INSERT, a counter holding 'abc' comes back as a str — and each of those once cost queued
messages without a word, held new ones in memory forever, or crashed the start (issue 11).
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.outbox.message import DROP_WORDS, Kind

KINDS = tuple(kind.value for kind in Kind)
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
PRAGMA user_version = 1;
"""
COLUMNS = {
    "outbox": ["id", "kind", "seq", "topic", "payload", "retain", "created"],
    "counters": ["name", "value"],
}
# Rows no version of the agent writes; they would crash the sender (a bad kind, a topic paho refuses).
BAD_ROW = (
    "kind NOT IN ('event', 'selftest', 'metric') OR typeof(seq) != 'integer' OR typeof(topic) != 'text'"
    " OR topic = '' OR instr(topic, '+') OR instr(topic, '#') OR length(CAST(topic AS BLOB)) > 65535"
    " OR typeof(payload) != 'blob' OR typeof(retain) != 'integer'"
)
BAD_COUNTER = "typeof(name) != 'text' OR typeof(value) != 'integer'"
_SEQS = (
    "SELECT substr(name, 5), value FROM counters WHERE name LIKE 'seq:%' AND typeof(value) = 'integer'",
    "SELECT kind, MAX(seq) FROM outbox WHERE typeof(seq) = 'integer' GROUP BY kind",
)


class BadFile(sqlite3.DatabaseError):
    """The file opens but is not an outbox (foreign schema, failed check): it is moved aside."""


@dataclass
class FileState:
    """What a checked file holds, after its repairs."""

    count: int = 0
    seqs: dict[str, int] = field(default_factory=dict)  # highest per kind, of rows and of counters
    dropped: dict[str, int] = field(default_factory=dict)  # "metric"/"event" -> total
    max_row_id: int = 0
    removed_rows: int = 0  # malformed rows deleted by the repair (lost)
    removed_counters: int = 0


def problem_before_connect(path: Path, empty_is_a_loss: bool) -> str | None:
    """Shapes SQLite would accept silently: a directory in the file's place, an emptied file (when
    messages were queued in it, or nobody knows whether they were)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return "a directory stands where the queue file should be"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size == 0 and empty_is_a_loss:
        return "the file is empty (0 bytes)"
    return None


def connect(path: Path, sync: str, queued_in_it: int) -> sqlite3.Connection:
    """Open and check the file, creating the schema in a new one. Raises BadFile (or SQLite's own
    corruption errors) for a file to move aside, other errors for a disk that cannot be used now."""
    db = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BadFile(f"quick_check: {check}")
        tables = {
            name: [column[1] for column in db.execute(f'PRAGMA table_info("{name}")')]
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        }
        foreign = sorted(set(tables) - {*COLUMNS, "sqlite_sequence"})
        if foreign:
            raise BadFile(f"not an outbox: foreign table(s) {', '.join(foreign)}")
        for name, columns in COLUMNS.items():
            if name in tables and tables[name] != columns:
                raise BadFile(f"table {name} has columns ({', '.join(tables[name])}), not ({', '.join(columns)})")
        if "outbox" not in tables and queued_in_it:
            raise BadFile(f"the file holds no outbox, but {queued_in_it} message(s) were queued in it")
        if set(COLUMNS) - set(tables):  # only a new file is written to here: a full disk can still open a good one
            db.executescript(SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def describe(exc: BaseException) -> str:
    """A storage error as notices and `status.outbox.storage_error` name it."""
    return f"{type(exc).__name__}: {exc}"


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """A file to move aside, as against a disk that refuses for now (full, read-only, locked)."""
    if isinstance(exc, BadFile):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # errors SQLite raised without a code: a file that is not a database
        return not isinstance(exc, sqlite3.OperationalError)
    return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def move_aside(path: Path) -> Path:
    """Rename the file (with its -wal and -shm, those first: a stale WAL must not meet a new file)
    to `<name>.corrupt-<unix time>` for a later look; returns the new name."""
    stamp = int(time.time())
    moved = path.with_name(f"{path.name}.corrupt-{stamp}")
    for n in itertools.count(2):
        if not any(Path(f"{moved}{suffix}").exists() for suffix in ("", "-wal", "-shm")):
            break
        moved = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):
        source = Path(f"{path}{suffix}")
        if source.exists() or source.is_symlink():
            source.rename(Path(f"{moved}{suffix}"))
    return moved


def repair_and_read(db: sqlite3.Connection) -> FileState:
    """Remove rows no agent writes and counters that are not integers (writing only when there are
    any), then read what the file holds."""
    state = FileState()
    state.removed_rows = db.execute(f"SELECT COUNT(*) FROM outbox WHERE {BAD_ROW}").fetchone()[0]
    state.removed_counters = db.execute(f"SELECT COUNT(*) FROM counters WHERE {BAD_COUNTER}").fetchone()[0]
    if state.removed_rows or state.removed_counters:
        with transaction(db):
            db.execute(f"DELETE FROM outbox WHERE {BAD_ROW}")
            db.execute(f"DELETE FROM counters WHERE {BAD_COUNTER}")
    state.count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    state.seqs = _seqs(db)
    counters = dict(db.execute("SELECT name, value FROM counters WHERE name LIKE 'dropped:%'").fetchall())
    state.dropped = {word: counters.get(f"dropped:{word}", 0) for word in DROP_WORDS}
    state.max_row_id = db.execute("SELECT MAX(id) FROM outbox").fetchone()[0] or 0
    return state


def peek_seqs(path: Path) -> dict[str, int]:
    """The highest seqs in a file that cannot be opened for writing, if it can be read at all
    (read-only, then as immutable when even the -shm cannot be made)."""
    if not path.is_file():
        return {}
    for query in ("mode=ro", "immutable=1"):
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, timeout=1)
        except sqlite3.Error:
            continue
        try:
            return _seqs(db)
        except sqlite3.Error:
            continue
        finally:
            db.close()
    return {}


def _seqs(db: sqlite3.Connection) -> dict[str, int]:
    seqs: dict[str, int] = {}
    for query in _SEQS:
        for name, value in db.execute(query).fetchall():
            if name in KINDS:
                seqs[name] = max(value, seqs.get(name, 0))
    return seqs


@contextlib.contextmanager
def transaction(db: sqlite3.Connection):
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error; inside an open (group-commit) batch, joins it."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
