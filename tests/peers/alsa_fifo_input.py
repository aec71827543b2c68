"""A live sound input played in real time: an ALSA `file` PCM whose `infile` is a FIFO we write.

The `file` PCM of tests/peers/alsa_file_input.py has no clock: a daemon reading it would get a
whole file in a blink. Here a thread writes the signal into a FIFO at the sample rate, so the
daemon's PortAudio callback, ring buffer and judgement ticks see the sound as a microphone gives
it. alsa-lib pads a read the pipe cannot fill with stale samples, so the writer writes whole
multiples of PortAudio's read (417 frames at 48 kHz, as bench/fault_venue.py found with strace):
4 of them, 3336 bytes, atomic below PIPE_BUF.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from pathlib import Path

import numpy as np

from tests.peers.alsa_file_input import ASOUNDRC

RATE = 48000
BLOCK_FRAMES = 4 * 417


class FifoInput(threading.Thread):
    """`samples` (float, mono, 48 kHz) played once into the PCM `name`, then digital silence;
    `played_s` says how far it got."""

    def __init__(self, home: Path, samples: np.ndarray, name: str = "uplink"):
        super().__init__(name=f"fifo-input {name}", daemon=True)
        home.mkdir(parents=True, exist_ok=True)
        self.home, self.name = home, name
        fifo = home / f"{name}.fifo"
        os.mkfifo(fifo)
        (home / ".asoundrc").write_text(ASOUNDRC.format(name=name, infile=fifo), encoding="utf-8")
        # O_RDWR: opening does not wait for a reader, and the reader never sees "no writer".
        self._fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        self.pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        self.played = 0
        self._halt = threading.Event()

    @property
    def env(self) -> dict[str, str]:
        """The environment under which PortAudio lists this PCM (ALSA reads $HOME/.asoundrc)."""
        return {"HOME": str(self.home)}

    @property
    def played_s(self) -> float:
        return self.played / RATE

    def run(self) -> None:
        anchor, written = time.monotonic(), 0
        silence = np.zeros(BLOCK_FRAMES, "<i2")
        while not self._halt.is_set():
            block = self.pcm[self.played : self.played + BLOCK_FRAMES]
            block = np.concatenate((block, silence[: BLOCK_FRAMES - len(block)]))
            try:
                os.write(self._fd, block.tobytes())  # all of it or EAGAIN
            except BlockingIOError:  # nobody reads yet (the daemon is starting): hold the signal
                self._halt.wait(0.01)
                anchor, written = time.monotonic(), 0
                continue
            except OSError as exc:
                if exc.errno in (errno.EBADF, errno.EPIPE):
                    return
                raise
            self.played = min(len(self.pcm), self.played + BLOCK_FRAMES)
            written += BLOCK_FRAMES
            delay = anchor + written / RATE - time.monotonic()
            if delay < -0.5:  # the reader stalled: re-anchor rather than burst
                anchor, written = time.monotonic(), 0
            elif delay > 0:
                self._halt.wait(delay)

    def close(self) -> None:
        self._halt.set()
        self.join(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self._fd)
