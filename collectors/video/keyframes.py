"""Keyframes only: decode a network stream's intra frames in an ffmpeg process, skip the rest.

OpenCV decodes every frame of a stream even when one a second is analysed; for a 1080p25 H.264
uplink that is most of the agent's CPU. ffmpeg's `-skip_frame nokey` decodes only keyframes, which
arrive once per GOP (typically every 1–2 s on conference streams), and hands them over as raw BGR
on a pipe. A stream whose keyframes are rarer than the stale-signal limit would look lost, so this
is an option (`decode = "keyframes"`), not the default.
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from collectors.video.source import EARLY, VideoSource, VideoSourceError

# ffmpeg analyses 5 s of a stream before it starts by default; a conference stream needs 1 s.
FAST_START = ["-analyzeduration", "1000000", "-probesize", "1000000"]
KEYFRAME_TIMEOUT_S = 10  # no keyframe for this long: the stream is gone (or its GOP too long)


def _ffmpeg(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise VideoSourceError(f"{tool} is not installed (Debian package ffmpeg); needed for decode = keyframes")
    return path


def _read_exactly(
    process: subprocess.Popen[bytes],
    selector: selectors.BaseSelector,
    count: int,
    stop: threading.Event,
    deadline: float,
) -> bytes | None:
    buffer = bytearray()
    while len(buffer) < count:
        if stop.is_set() or time.monotonic() > deadline:
            return None
        if not selector.select(timeout=0.5):
            continue
        chunk = process.stdout.read(count - len(buffer))  # type: ignore[union-attr]
        if not chunk:
            return None  # ffmpeg ended: the stream is gone
        buffer += chunk
    return bytes(buffer)


def keyframes(
    source: VideoSource,
    period: float,
    stop: threading.Event,
    clock: Callable[[], float],
    timeout_s: float = KEYFRAME_TIMEOUT_S,
    first_timeout_s: float | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Decoded keyframes as BGR arrays. ffmpeg writes each as an uncompressed BMP (its header says
    the size, so the stream needs no probing first); BMP decoding is a copy. The iteration ends when
    no keyframe comes for `timeout_s` (`first_timeout_s` for the first, which waits for ffmpeg too)."""
    process = subprocess.Popen(
        [
            _ffmpeg("ffmpeg"),
            "-hide_banner",
            "-loglevel",
            "quiet",
            *FAST_START,
            "-skip_frame",
            "nokey",
            "-i",
            source.spec,
            "-an",
            "-sn",
            "-dn",
            "-fps_mode",
            "passthrough",
            "-f",
            "image2pipe",
            "-c:v",
            "bmp",
            "pipe:1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    )
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    due = clock()
    wait_s = first_timeout_s if first_timeout_s is not None else timeout_s
    try:
        while not stop.is_set():
            deadline = time.monotonic() + wait_s
            wait_s = timeout_s
            header = _read_exactly(process, selector, 6, stop, deadline)
            if header is None or header[:2] != b"BM":
                return
            size = int.from_bytes(header[2:6], "little")
            rest = _read_exactly(process, selector, size - 6, stop, deadline)
            if rest is None:
                return
            now = clock()
            if now >= due - EARLY * period:  # a frame a little early is as good as on time
                frame = cv2.imdecode(np.frombuffer(header + rest, np.uint8), cv2.IMREAD_COLOR)
                if frame is None:
                    return
                yield now, frame
                due = max(due + period, now)
    finally:
        selector.close()
        process.kill()
        process.wait()
