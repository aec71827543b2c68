"""The outbox's high-water marks, kept beside its SQLite file where a lost or replaced file cannot take them.

Why a side file: `seq` must continue past the highest ever issued even when `outbox.sqlite3` is
lost (corrupt and moved aside, truncated to nothing, replaced), or the hub would see seqs 1, 2, 3
again with new ids and never learn what was lost. The marks also say how many messages were queued
in the file and how many were held in memory at the last moment known, so the next process can
report how much a lost file or a death during a full disk took, and the drop counts.

Why this shape: two fixed 512-byte slots written in place (`pwrite`), in turn, each with a
generation number and a CRC-32. Overwriting blocks that are already allocated needs no free space,
so the marks can still be written when the disk is full — exactly when messages held in memory
need their seqs recorded before they go to the broker; `os.replace` of a new file would need a
fresh inode and block. A torn write spoils one slot at most; the reader takes the valid slot with
the highest generation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"VAOUTBX1"
SLOT_BYTES = 512
_RECORD = struct.Struct("<8sQ7q")  # magic, generation, then the seven fields of Marks
_CRC = struct.Struct("<I")
KINDS = ("event", "selftest", "metric")  # in the record in this order: part of the file format


@dataclass
class Marks:
    """What must outlive the queue file."""

    seq: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))  # highest issued, per kind
    dropped_metrics: int = 0
    dropped_events: int = 0
    stored: int = 0  # rows queued in the file at the last commit or delete
    held: int = 0  # messages held in memory (on neither the disk nor acknowledged by the broker)

    def values(self) -> tuple[int, ...]:
        return (
            *(self.seq.get(kind, 0) for kind in KINDS),
            self.dropped_metrics,
            self.dropped_events,
            self.stored,
            self.held,
        )


class MarksFile:
    """The two-slot file; `open` creates it (allocated in full) when it is missing or damaged."""

    def __init__(self, path: Path, durable: bool = False):
        self.path = path
        self.durable = durable  # fdatasync after each write (outbox_sync = "full")
        self._fd: int | None = None
        self._generation = 0
        self._last: tuple[int, ...] | None = None

    def open(self) -> Marks | None:
        """Read the newest valid slot (None if the file is new or holds no valid slot).

        Raises OSError when the file cannot be opened or allocated (e.g. the disk is already full)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            found = _newest(os.pread(fd, 2 * SLOT_BYTES, 0))
            if os.fstat(fd).st_size < 2 * SLOT_BYTES:
                # Allocate both slots now, while there is room, so later writes never need a block.
                data = os.pread(fd, 2 * SLOT_BYTES, 0).ljust(2 * SLOT_BYTES, b"\0")
                os.pwrite(fd, data, 0)
                os.fsync(fd)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        if found is None:
            return None
        self._generation, marks = found
        self._last = marks.values()
        return marks

    def peek(self) -> Marks | None:
        """Read the newest valid slot without writing anything (the disk may be read-only)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            found = _newest(os.pread(fd, 2 * SLOT_BYTES, 0))
        except OSError:
            found = None
        finally:
            os.close(fd)
        return None if found is None else found[1]

    def write(self, marks: Marks) -> None:
        """Record `marks` in the older slot (nothing is written when nothing changed)."""
        values = marks.values()
        if self._fd is None or values == self._last:
            return
        self._generation += 1
        record = _RECORD.pack(MAGIC, self._generation, *values)
        slot = (record + _CRC.pack(zlib.crc32(record))).ljust(SLOT_BYTES, b"\0")
        os.pwrite(self._fd, slot, (self._generation % 2) * SLOT_BYTES)
        if self.durable:
            os.fdatasync(self._fd)
        self._last = values

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None


class KeptMarks:
    """The marks as the outbox keeps them: a file that cannot be opened or written now is retried
    (`ok` says whether it is open), and each trouble is logged once, not at every write."""

    def __init__(self, path: Path, durable: bool = False):
        self.file = MarksFile(path, durable)
        self.ok = False
        self._warned = False
        self._read = False  # opened once in this process: held counts read later are our own

    @property
    def path(self) -> Path:
        return self.file.path

    def open(self) -> tuple[Marks | None, bool]:
        """The marks found, and whether the messages they say were held were lost (true only at the
        first open in this process: later, the held messages are this process's own)."""
        try:
            existed = self.path.stat().st_size > 0
        except OSError:
            existed = False
        try:
            marks = self.file.open()
        except OSError as exc:
            if not self._warned:
                log.warning("outbox marks %s cannot be kept (%s); retrying", self.path, exc)
                self._warned = True
            return self.file.peek(), False  # a read-only disk still tells the seqs issued
        self.ok = True
        first, self._read = not self._read, True
        if marks is None and existed:
            log.warning("outbox marks %s hold no valid record; seq rests on the queue file", self.path)
        return marks, first

    def write(self, marks: Marks) -> None:
        if not self.ok:
            return
        try:
            self.file.write(marks)
        except OSError as exc:
            log.error("outbox marks %s cannot be written (%s); retrying", self.path, exc)
            self.close()

    def close(self) -> None:
        self.file.close()
        self.ok = False


def _newest(data: bytes) -> tuple[int, Marks] | None:
    best: tuple[int, Marks] | None = None
    for start in (0, SLOT_BYTES):
        slot = data[start : start + _RECORD.size + _CRC.size]
        if len(slot) < _RECORD.size + _CRC.size:
            continue
        record, (crc,) = slot[: _RECORD.size], _CRC.unpack(slot[_RECORD.size :])
        magic, generation, *values = _RECORD.unpack(record)
        if magic != MAGIC or zlib.crc32(record) != crc or min(values) < 0:
            continue
        if best is None or generation > best[0]:
            seqs, (dropped_metrics, dropped_events, stored, held) = values[: len(KINDS)], values[len(KINDS) :]
            best = (
                generation,
                Marks(dict(zip(KINDS, seqs, strict=True)), dropped_metrics, dropped_events, stored, held),
            )
    return best
