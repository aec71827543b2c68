"""`decode = "auto"`: keyframes only while the stream's keyframes come often enough, every frame
otherwise — switching by itself, inside one stream of frames, so the daemon never sees a "loss".

Decoding only the intra frames (collectors/video/keyframes.py) costs a fraction of full decoding on
a 1080p25 H.264 uplink, but a stream whose encoder sends a keyframe every 10 s would then give one
frame per 10 s and look frozen or lost. So: start on keyframes; when the gap between two keyframes
exceeds what the sampling rate needs (twice the sample period, at least `MIN_GAP_S`), or when no
keyframe comes at all, go on with every frame through OpenCV; after `RETRY_KEYFRAMES_S` of that, try
keyframes again (the encoder may have been reconfigured, the call re-established). Only when full
decoding fails too has the stream ended.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
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
            last: float | None = None
            try:
                # A keyframe later than the gap allows ends the iteration: no waiting for a 10 s GOP.
                for at, frame in keyframes(source, period, stop, clock, gap_limit + SLACK_S, gap_limit + STARTUP_S):
                    if last is not None and at - last > gap_limit:
                        break
                    last = at
                    yield at, frame
            except VideoSourceError as exc:  # no ffmpeg: every frame, through OpenCV, from now on
                log.info("%s: %s; decoding every frame", source.spec, exc)
            if stop.is_set():
                return
            log.info(
                "%s: keyframes come less often than every %.1f s (or the stream paused); decoding every frame",
                source.spec,
                gap_limit,
            )
            state.keyframes_from = clock() + RETRY_KEYFRAMES_S
        capture = open_capture(source)  # raises VideoSourceError when the stream is not there at all
        try:
            for at, frame in live(capture, period, stop, clock):
                yield at, frame
                if state.on_keyframes(clock()):
                    break  # time to see whether keyframes suffice again
            else:
                return  # the stream ended: the caller reports the loss
        finally:
            capture.release()
