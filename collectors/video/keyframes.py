"""Keyframes only: decode a network stream's intra frames in an ffmpeg process, skip the rest.

OpenCV decodes every frame of a stream even when one a second is analysed; for a 1080p25 H.264
uplink that is most of the agent's CPU. ffmpeg's `-skip_frame nokey` decodes only keyframes, which
arrive once per GOP (typically every 1–2 s on conference streams), and hands them over as raw BGR
on a pipe. A stream whose keyframes are rarer than the stale-signal limit would look lost, so this
is an option (`decode = "keyframes"`), not the default.

A stream that goes silent is known from its packets, not from a missing keyframe (#15 item 5): ffmpeg
is told to give up on a UDP input that sends nothing for `LIVE_SILENCE_S`, and its output closing
ends the iteration at once. The iteration's return value says which of the two ended it.
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Generator
from typing import Literal

import cv2
import numpy as np

from collectors.video.source import EARLY, LIVE_SILENCE_S, VideoSource, VideoSourceError

# ffmpeg analyses 5 s of a stream before it starts by default; a conference stream needs 1 s.
FAST_START = ["-analyzeduration", "1000000", "-probesize", "1000000"]
# One decoding thread: frame threading holds each decoded frame back by (threads − 1) packets, 80 ms
# at 25 frames/s on 2 cores, and one keyframe a second needs no parallel decoding.
ONE_THREAD = ["-threads", "1"]
KEYFRAME_TIMEOUT_S = 10  # no keyframe for this long: the stream is gone (or its GOP too long)
# ffmpeg's UDP reader waits 5 × 100 ms for its receiving thread before its `timeout` starts to count
# (libavformat's retry of EAGAIN): a timeout of 0.5 s closed the output 1.1 s after the sender died,
# 1.0 s after 1.6 s (ffmpeg 5.1, measured). So it is given the silence minus that.
UDP_FIRST_RETRIES_S = 0.5
Ended = Literal["silent", "no_keyframe", "stopped"]
SILENCE_GRACE_S = LIVE_SILENCE_S + 0.5  # what ffmpeg may take beyond a keyframe deadline to report silence


def silence_options(source: VideoSource) -> list[str]:
    """ffmpeg input options that end the input after `LIVE_SILENCE_S` without a packet. UDP only: the
    transport where silence is unambiguous and its timeout is tested; RTSP, HTTP and the rest keep
    the keyframe deadline (and `rtmp`'s `timeout` would mean: listen)."""
    if not source.spec.lower().startswith("udp://"):
        return []
    return ["-timeout", str(int(max(0.1, LIVE_SILENCE_S - UDP_FIRST_RETRIES_S) * 1_000_000))]


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
) -> bytes | Ended:
    """`count` bytes of ffmpeg's output, or why they did not come."""
    buffer = bytearray()
    while len(buffer) < count:
        if stop.is_set():
            return "stopped"
        if time.monotonic() > deadline:
            return "no_keyframe"
        if not selector.select(timeout=0.1):
            continue
        chunk = process.stdout.read(count - len(buffer))  # type: ignore[union-attr]
        if not chunk:
            return "silent"  # ffmpeg ended: the stream went silent (or ffmpeg could not read it)
        buffer += chunk
    return bytes(buffer)


def _why_ended(ended: Ended, process: subprocess.Popen[bytes], source: VideoSource, read: int) -> Ended:
    """A keyframe deadline on a stream whose keyframes were coming (two or more so far), on an input
    whose silence ffmpeg itself detects, is decided by ffmpeg: the deadline and ffmpeg's silence
    timeout race when a sender dies just after a keyframe (the loss then read as a long GOP: 4.9 s to
    the hub instead of 1.1 s, once in ten runs). So ffmpeg is given SILENCE_GRACE_S to end its input;
    if it does, the stream went silent. A stream that never sent a second keyframe in time is a long
    GOP at once: no grace delays its switch to full decoding."""
    if ended != "no_keyframe" or read < 2 or not silence_options(source):
        return ended
    try:
        process.wait(timeout=SILENCE_GRACE_S)
    except subprocess.TimeoutExpired:
        return "no_keyframe"  # still receiving: keyframes are rare
    return "silent"


def keyframes(
    source: VideoSource,
    period: float,
    stop: threading.Event,
    clock: Callable[[], float],
    timeout_s: float = KEYFRAME_TIMEOUT_S,
    first_timeout_s: float | None = None,
) -> Generator[tuple[float, np.ndarray], None, Ended]:
    """Decoded keyframes as BGR arrays. ffmpeg writes each as an uncompressed BMP (its header says
    the size, so the stream needs no probing first); BMP decoding is a copy. The iteration ends when
    no keyframe comes for `timeout_s` (`first_timeout_s` for the first, which waits for ffmpeg too):
    returns `no_keyframe`; when ffmpeg closes its output (the stream went silent, or ffmpeg failed):
    `silent`; when `stop` is set: `stopped`."""
    process = subprocess.Popen(
        [
            _ffmpeg("ffmpeg"),
            "-hide_banner",
            "-loglevel",
            "quiet",
            *FAST_START,
            *ONE_THREAD,
            *silence_options(source),
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
    read = 0  # keyframes received so far
    try:
        while not stop.is_set():
            deadline = time.monotonic() + wait_s
            wait_s = timeout_s
            header = _read_exactly(process, selector, 6, stop, deadline)
            if isinstance(header, str):
                return _why_ended(header, process, source, read)
            if header[:2] != b"BM":
                return "silent"  # not ffmpeg's BMP: treat its output as ended
            size = int.from_bytes(header[2:6], "little")
            rest = _read_exactly(process, selector, size - 6, stop, deadline)
            if isinstance(rest, str):
                return _why_ended(rest, process, source, read)
            read += 1
            now = clock()
            if now >= due - EARLY * period:  # a frame a little early is as good as on time
                frame = cv2.imdecode(np.frombuffer(header + rest, np.uint8), cv2.IMREAD_COLOR)
                if frame is None:
                    return "silent"
                yield now, frame
                due = max(due + period, now)
        return "stopped"
    finally:
        selector.close()
        process.kill()
        process.wait()
