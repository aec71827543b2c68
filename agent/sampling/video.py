"""Sample the uplink picture for a few seconds and judge it (Art. 17; framing Art. 15/16 advisory).

`probe video` and the self-test (when no monitor watches the source) both sample this way: the
same source, the same measurements and the same judge give the same verdicts.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from agent.sampling.reasons import with_reason
from collectors.video.sampler import frames
from collectors.video.source import VideoSourceError, parse_source
from contract.findings import Finding, Message
from probes.video import VIDEO_MESSAGES, VideoJudge, VideoThresholds, aggregate, signal_lost
from probes.video_framing import Framing, analyse, judge_background, judge_framing
from probes.video_metrics import FrameMetrics, measure

# A live stream that stops sending frames must not hold the probe longer than this past its time.
LIVE_GRACE_S = 5.0
WALL_GRACE_S = 15.0
LIVE_DEFAULT_S = 5.0
STREAM_ENDED = Message(zh="视频流已中断", en="the stream ended")


@dataclass
class VideoSample:
    """What one sampling run saw: its frames' metrics, the last frame and the findings."""

    source: str
    kind: str
    frames: int = 0
    width: int | None = None
    height: int | None = None
    ms_per_frame: float | None = None
    metrics: dict = field(default_factory=dict)
    framing: Framing | None = None
    findings: list[Finding] = field(default_factory=list)
    last_frame: np.ndarray | None = None
    analysed_s: float = 0.0  # media time (files) or wall time (live) the analysed frames cover
    whole_file: bool = False  # a file read to its end, not cut by --seconds/--frames


def default_span(kind: str) -> tuple[int | None, float | None]:
    """(frames, seconds) when neither is given: one frame of an image, a file whole (#15 item 3: a
    recording handed over is judged all through, as ffmpeg's filters would measure it), 5 s live."""
    if kind == "image":
        return 1, None
    return None, None if kind == "file" else LIVE_DEFAULT_S


def sample_video(
    spec: str,
    seconds: float | None,
    max_frames: int | None,
    rate_hz: float,
    thresholds: VideoThresholds,
    decode: str = "all",
    width: int | None = None,
    height: int | None = None,
    fourcc: str | None = None,
) -> VideoSample:
    """Open `spec`, analyse `rate_hz` frames a second for `seconds` (media time) or `max_frames`,
    and judge them as one window. Raises VideoSourceError only for a source that cannot be named;
    one that cannot be opened or goes away is judged (video.signal) like a lost signal.

    Neither given: an image once, a file to its end, a live source 5 s. The window is the whole
    sample, and a picture frozen all through a sample shorter than `frozen_fail_s` warns
    (probes/video.py `VideoJudge(whole_span=True)`): the daemon's 10 s rule cannot be met by a 5 s
    probe, but a picture that never changed while it looked is worth saying."""
    source = parse_source(spec, width, height, fourcc)
    whole_file = source.kind == "file" and max_frames is None and seconds is None
    if max_frames is None and seconds is None:
        max_frames, seconds = default_span(source.kind)
    judge = VideoJudge(thresholds.model_copy(update={"window_s": math.inf}), whole_span=True)
    samples: list[FrameMetrics] = []
    analysis_ms: list[float] = []
    previous_gray = None
    last_frame: np.ndarray | None = None
    first_at = None
    last_at = None
    loss: Message | None = None
    started = time.monotonic()
    stop = threading.Event()
    timer = threading.Timer(seconds + LIVE_GRACE_S if seconds is not None else 0, stop.set)
    timer.daemon = True
    if source.live and seconds is not None:  # a stream with scarce frames must not hold the probe
        timer.start()
    try:
        for at, frame in frames(source, rate_hz, stop, decode=decode):
            first_at = at if first_at is None else first_at
            last_at = at
            t0 = time.perf_counter()
            metrics, previous_gray = measure(frame, previous_gray)
            analysis_ms.append((time.perf_counter() - t0) * 1000)
            samples.append(metrics)
            judge.add(at, metrics)
            last_frame = frame
            if max_frames is not None and len(samples) >= max_frames:
                break
            if seconds is not None and (
                at - first_at >= seconds or time.monotonic() - started > seconds + WALL_GRACE_S
            ):
                break
        else:
            if source.live and not stop.is_set():
                loss = STREAM_ENDED
    except VideoSourceError as exc:
        loss = exc.message
    finally:
        timer.cancel()
        stop.set()
    findings = judge.findings(
        judge.samples[-1].at if judge.samples else 0.0, signal_error=loss.en if loss and not samples else None
    )
    if loss and samples:  # the picture was judged, but the source went away during the probe
        findings[0] = signal_lost(loss.en)
    if loss:  # the reason in each language (the judge words it once, in English)
        findings = with_reason(findings, VIDEO_MESSAGES, "video.signal.lost", loss)
    period = 1.0 / rate_hz if source.kind != "image" else 0.0
    framing = analyse(last_frame) if last_frame is not None else None
    if framing is not None:
        findings += [judge_framing(framing), judge_background(framing)]
    return VideoSample(
        source=spec,
        kind=source.kind,
        frames=len(samples),
        width=None if last_frame is None else int(last_frame.shape[1]),
        height=None if last_frame is None else int(last_frame.shape[0]),
        ms_per_frame=round(float(np.median(analysis_ms)), 2) if analysis_ms else None,
        metrics=aggregate(samples) if samples else {},
        framing=framing,
        findings=findings,
        last_frame=last_frame,
        analysed_s=0.0 if first_at is None or last_at is None else round(last_at - first_at + period, 3),
        whole_file=whole_file and loss is None,
    )
