"""`decode = "auto"`: keyframes only while the stream's keyframes come often enough, every frame
otherwise — switching by itself, inside one stream of frames, so the daemon never sees a "loss".

Decoding only the intra frames (collectors/video/keyframes.py) costs a fraction of full decoding on
a 1080p25 H.264 uplink, but a stream whose encoder sends a keyframe every 10 s would then give one
frame per 10 s and look frozen or lost. So: start on keyframes; when the gap between two keyframes
exceeds what the sampling rate needs (twice the sample period, at least `MIN_GAP_S`), or when no
keyframe comes at all, go on with every frame through OpenCV; after `RETRY_KEYFRAMES_S` of that, try
keyframes again (the encoder may have been reconfigured, the call re-established). Only when full
decoding fails too has the stream ended.

A stream that goes silent is a loss, not a long GOP (#15 item 5): when ffmpeg's input ends for want
of packets (collectors/video/keyframes.py) after keyframes came, the iteration ends at once — the
caller reports the loss and reopens — and keyframes stay the decoder for the stream's return. Full
decoding is only taken on the evidence that it works: a stream OpenCV cannot open is a loss too,
without the 10 minutes of full decoding that used to follow every loss.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from collectors.video.keyframes import keyframes
from collectors.video.source import VideoSource, VideoSourceError, open_capture

log = logging.getLogger(__name__)

MIN_GAP_S = 2.0  # keyframes every 2 s are enough even at rate_hz above 1: conference encoders send 1–2 s GOPs
STARTUP_S = 2.0  # ffmpeg's own start (1 s of analysis, FAST_START) before the first keyframe can come
SLACK_S = 0.5  # network jitter on top of the gap
RETRY_KEYFRAMES_S = 600.0


@dataclass
class AutoState:
    """Kept by the caller across reopenings of one source, so a known-long GOP is not retried at once."""

    keyframes_from: float = 0.0  # clock time from which keyframes are tried again

    def on_keyframes(self, now: float) -> bool:
        return now >= self.keyframes_from


def auto_frames(
    source: VideoSource,
    period: float,
    stop: threading.Event,
    clock: Callable[[], float],
    state: AutoState,
    live: Callable[[cv2.VideoCapture, float, threading.Event, Callable[[], float]], Iterator[tuple[float, np.ndarray]]],
) -> Iterator[tuple[float, np.ndarray]]:
    """Frames of a network stream, decoded the cheaper way whenever that suffices. `live` reads every
    frame of an open capture (collectors/video/sampler.py `_live`, passed in to keep one reader)."""
    gap_limit = max(2 * period, MIN_GAP_S)
    while not stop.is_set():
        if state.on_keyframes(clock()):
            try:
                ended, why = yield from _keyframes_while_often(source, period, stop, clock, gap_limit)
            except VideoSourceError as exc:  # no ffmpeg: every frame, through OpenCV, from now on
                ended, why = "rare", str(exc)
            if stop.is_set() or ended == "lost":
                return  # the stream went silent: the caller reports the loss
            log.info(
                "%s: keyframes come less often than every %.1f s (%s); decoding every frame",
                source.spec,
                gap_limit,
                why,
            )
        capture = open_capture(source)  # raises VideoSourceError when the stream is not there at all
        if state.on_keyframes(clock()):  # OpenCV reads what keyframes did not: stay with it a while
            state.keyframes_from = clock() + RETRY_KEYFRAMES_S
        try:
            for at, frame in live(capture, period, stop, clock):
                yield at, frame
                if state.on_keyframes(clock()):
                    break  # time to see whether keyframes suffice again
            else:
                return  # the stream ended: the caller reports the loss
        finally:
            capture.release()


def _keyframes_while_often(
    source: VideoSource, period: float, stop: threading.Event, clock: Callable[[], float], gap_limit: float
) -> Generator[tuple[float, np.ndarray], None, tuple[str, str]]:
    """Keyframes until they stop being enough. Returns `lost` when the stream went silent after
    keyframes came (a loss, not a GOP), `rare` when they came too seldom or not at all; and why.

    Two keyframes in a row later than the gap allows are a long GOP (no waiting for a 10 s one: the
    keyframe deadline ends a longer wait). One late keyframe is not yet: a lost stream was once read
    as a long GOP the moment ffmpeg ended its input, 1.1 s after the sender died (4.9 s to the hub,
    bench.fault_latency, about one run in 20–40), which only a keyframe over 2 s after the last
    sampled one could do here. That such a last frame is what happened is inferred from the log, not
    seen (docs/benchmarks.md, "The AV faults again"). What follows the late one decides."""
    last: float | None = None
    late = False
    stream = keyframes(source, period, stop, clock, gap_limit + SLACK_S, gap_limit + STARTUP_S)
    try:
        while True:
            try:
                at, frame = next(stream)
            except StopIteration as end:
                if end.value == "silent" and last is not None:
                    return "lost", "the stream went silent"
                when = "before" if last is None else "after"
                return "rare", f"the keyframe reader ended ({end.value}) {when} a frame came"
            if last is not None and at - last > gap_limit:
                if late:
                    return "rare", f"two keyframes in a row late, the second {at - last:.1f} s after the one before"
                late = True
            else:
                late = False
            last = at
            yield at, frame
    finally:
        stream.close()
