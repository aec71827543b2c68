"""Frames at a chosen rate, without falling behind a live source.

A live source (device, network stream) is read continuously — every frame is grabbed, so none
queue up in buffers and the picture analysed is always the newest — but a frame is retrieved
(converted to BGR) only when a sample is due. A file is read in media time, as fast as it decodes,
taking one frame per 1/rate seconds of video (a probe measuring a recording); the daemon plays it
in real time instead (`paced`), so a file stands in for a live source at the same rate and cost.
A still image yields the same frame at the rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from collectors.video.auto_decode import AutoState, auto_frames
from collectors.video.keyframes import keyframes
from collectors.video.source import EARLY, VideoSource, VideoSourceError, open_capture, read_image

Frame = tuple[float, np.ndarray]  # (seconds: wall clock for live sources, media time for files)


def frames(
    source: VideoSource,
    rate_hz: float,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    decode: str = "all",
    auto: AutoState | None = None,
) -> Iterator[Frame]:
    """Sampled frames until the source ends (StopIteration) or `stop` is set.

    Raises VideoSourceError when the source cannot be opened. A live source that stops
    delivering ends the iteration; the caller reports the loss and opens it again. `decode` applies
    to network streams: `all` (OpenCV), `keyframes` (ffmpeg, intra frames only) or `auto` (keyframes
    while they come often enough, collectors/video/auto_decode.py; `auto` keeps its state there).
    """
    stop = stop or threading.Event()
    period = 1.0 / rate_hz
    if source.kind == "image":
        image = read_image(source)
        while not stop.is_set():
            yield clock(), image
            stop.wait(period)
        return
    if decode == "keyframes" and source.kind == "url":
        yield from keyframes(source, period, stop, clock)
        return
    if decode == "auto" and source.kind == "url":
        yield from auto_frames(source, period, stop, clock, auto or AutoState(), _live)
        return
    capture = open_capture(source)
    try:
        if source.live:
            yield from _live(capture, period, stop, clock)
        else:
            yield from _file(capture, period, stop)
    finally:
        capture.release()


def _live(
    capture: cv2.VideoCapture, period: float, stop: threading.Event, clock: Callable[[], float]
) -> Iterator[Frame]:
    due = clock()
    while not stop.is_set():
        if not capture.grab():
            return
        now = clock()
        if now >= due - EARLY * period:  # a frame a little early is as good as on time
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                return
            yield now, frame
            due = max(due + period, now)  # after a stall, do not burst to catch up


def _file(capture: cv2.VideoCapture, period: float, stop: threading.Event) -> Iterator[Frame]:
    due = 0.0
    while not stop.is_set():
        if not capture.grab():
            return
        media_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if media_s + 1e-6 >= due:
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                return
            yield media_s, frame
            due += period
            if media_s > due:
                due = media_s + period


def paced(
    stream: Iterator[Frame], stop: threading.Event, clock: Callable[[], float] = time.monotonic
) -> Iterator[Frame]:
    """A file's frames released at the pace of its media time: a file given as the daemon's source
    is analysed at `rate_hz` like a capture card, instead of as fast as it decodes (6–12 frames a
    second at more than a core, seen on a 1080p file with rate_hz = 1)."""
    start: float | None = None
    for media_s, frame in stream:
        if start is None:
            start = clock() - media_s
        delay = start + media_s - clock()
        if delay > 0 and stop.wait(delay):
            return
        yield media_s, frame


class Sampler(threading.Thread):
    """The daemon's reader: reopens a lost source with backoff, reports frames and losses."""

    def __init__(
        self,
        source: VideoSource,
        rate_hz: float,
        on_frame: Callable[[float, np.ndarray], None],
        on_loss: Callable[[str], None],
        backoff_s: tuple[float, float] = (1.0, 30.0),
        decode: str = "all",
    ):
        super().__init__(name=f"video-sampler {source.spec}", daemon=True)
        self.source = source
        self.rate_hz = rate_hz
        self.on_frame = on_frame
        self.on_loss = on_loss
        self.backoff_s = backoff_s
        self.decode = decode
        self.auto = AutoState()  # what `auto` learnt of this source's keyframes, across reopenings
        self.stopping = threading.Event()

    def run(self) -> None:
        delay = self.backoff_s[0]
        while not self.stopping.is_set():
            got_frame = False
            try:
                stream = frames(self.source, self.rate_hz, self.stopping, decode=self.decode, auto=self.auto)
                if self.source.kind == "file":
                    stream = paced(stream, self.stopping)
                for at, frame in stream:
                    got_frame = True
                    delay = self.backoff_s[0]
                    self.on_frame(at, frame)
                if self.stopping.is_set():
                    return
                reason = "the stream ended" if self.source.live else "end of file (replaying)"
            except VideoSourceError as exc:
                reason = str(exc)
            except cv2.error as exc:
                reason = f"{self.source.spec}: OpenCV error: {exc}"
            if self.source.kind == "file" and got_frame:
                continue  # a file in the daemon loops, as a test pattern would
            self.on_loss(f"{reason}; retrying in {delay:.0f} s")
            if self.stopping.wait(delay):
                return
            delay = min(delay * 2, self.backoff_s[1])

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
