"""Read a file the agent was pointed at: a regular file only, and only so much of it.

A config, an .ics calendar or a state file is named by a path someone typed or by the state
directory, and what sits there is not always what was meant: a FIFO blocks a plain `open()` until
a writer appears (`config check` hung), `/dev/zero` never ends (`read()` exhausted memory), a
device may act on being opened at all. So the path is `stat`ed first and only a regular file is
opened (non-blocking, in case it was swapped for a FIFO in between, and checked again with
`fstat`), and at most `max_bytes` are read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB


class UnreadableFile(Exception):
    """Why a file was not read; `missing` tells "there is no such file" apart from the rest."""

    def __init__(self, reason: str, missing: bool = False):
        self.reason = reason
        self.missing = missing
        super().__init__(reason)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _size_text(count: int) -> str:
    return f"{count // MIB} MiB" if count >= MIB and count % MIB == 0 else f"{count // KIB} KiB"


def read_small_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file `path`, at most `max_bytes` of them; else UnreadableFile."""
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise UnreadableFile("no such file", missing=True) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise UnreadableFile(_os_reason(exc)) from None
    if not stat.S_ISREG(before.st_mode):
        raise UnreadableFile(f"{_kind(before.st_mode)}, not a regular file")
    if before.st_size > max_bytes:
        raise UnreadableFile(f"too large ({before.st_size} bytes; at most {_size_text(max_bytes)} are read)")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise UnreadableFile("no such file", missing=True) from None
    except OSError as exc:
        raise UnreadableFile(_os_reason(exc)) from None
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode):
            raise UnreadableFile(f"{_kind(opened.st_mode)}, not a regular file")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(descriptor, max_bytes + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise UnreadableFile(f"too large (more than {_size_text(max_bytes)}, the most that is read)")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(_os_reason(exc)) from None
    finally:
        os.close(descriptor)


def _os_reason(exc: OSError | ValueError) -> str:
    if isinstance(exc, ValueError):
        return "the path contains a NUL character"
    return exc.strerror or str(exc)
