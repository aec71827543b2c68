"""A real small filesystem for the outbox tests: a tmpfs of a few MiB that the test fills and frees.

Why tmpfs and not a mock: the outbox must meet a kernel that says ENOSPC, at whatever point of
SQLite's work it happens (an INSERT, the COMMIT, a checkpoint, the -shm), exactly as on a venue PC
whose disk fills. Mounting needs root (CAP_SYS_ADMIN); where it is not permitted the tests that
need it skip, saying so, and the RLIMIT_FSIZE test in test_outbox.py still makes the kernel refuse
writes (EFBIG).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    """A mounted tmpfs; `fill()` takes every free block, `free()` gives them back."""

    def __init__(self, mountpoint: Path):
        self.path = mountpoint
        self._filler = mountpoint / "filler.bin"

    def fill(self) -> int:
        """Write a filler file until the kernel refuses; returns the bytes it took."""
        written = 0
        with self._filler.open("ab", buffering=0) as filler:
            for block in (65536, 4096, 512, 1):
                chunk = b"\0" * block
                while True:
                    try:
                        count = filler.write(chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
                    written += count or 0
                    if not count:
                        break
        return written

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)

    def remount(self, options: str) -> None:
        """e.g. "ro" or "rw": the same files, now refused or accepted for writing."""
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True, capture_output=True)

    @property
    def free_bytes(self) -> int:
        info = os.statvfs(self.path)
        return info.f_bavail * info.f_frsize


@contextlib.contextmanager
def small_disk(mountpoint: Path, size: str = "4m") -> Iterator[SmallDisk]:
    """Mount a tmpfs of `size` at `mountpoint` (skipping the test where that is not permitted) and
    unmount it afterwards, whatever happened."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or result.returncode}); needs root")
    try:
        yield SmallDisk(mountpoint)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
