"""The video monitor: the uplink picture sampled in a thread, judged on the agent's loop.

The sampler thread reads the source (reopening it with backoff when lost) and measures each
sampled frame there, so decoding and analysis never block the event loop; the loop keeps the
Art. 17 window and reports findings once a second — at once when the source is lost or a sample
is black, so those faults reach the hub within 2 s (#15 item 5). Framing and background (advisory) run every
`framing_interval_s` on the newest frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np

from agent.config.models import Settings
from agent.monitors import Monitor, Reporter
from collectors.video.sampler import Sampler
from collectors.video.source import parse_source
from probes.video import VideoJudge
from probes.video_framing import analyse, judge_background, judge_framing
from probes.video_metrics import FrameMetrics, measure

REPORT_EVERY_S = 1.0
STALE_AFTER_PERIODS = 5  # no frame for this many sample periods (at least 5 s) = signal lost


def build(settings: Settings) -> list[Monitor]:
    config = settings.video
    if config is None:
        return []

    async def run(reporter: Reporter) -> None:
        loop = asyncio.get_running_loop()
        judge = VideoJudge(config.thresholds)
        state: dict = {"loss": None, "last": None, "framing_due": 0.0, "analysed": 0}
        source = parse_source(config.source, config.width, config.height, config.fourcc)
        previous_gray: list[np.ndarray | None] = [None]

        def on_frame(_media_at: float, frame: np.ndarray) -> None:  # sampler thread
            metrics, previous_gray[0] = measure(frame, previous_gray[0])
            if config.snapshots:
                reporter.keep_frame(frame)
            now = time.monotonic()
            framing = None
            if now >= state["framing_due"]:
                state["framing_due"] = now + config.framing_interval_s
                framing = analyse(frame)
            loop.call_soon_threadsafe(on_metrics, now, metrics, framing)

        wake = asyncio.Event()  # a loss (or a black sample) is judged at once, not at the next tick

        def lost(reason: str) -> None:
            state["loss"] = reason
            wake.set()

        def on_loss(reason: str) -> None:  # sampler thread
            loop.call_soon_threadsafe(lost, reason)

        def on_metrics(now: float, metrics: FrameMetrics, framing) -> None:
            state["loss"], state["last"] = None, now
            state["analysed"] += 1
            judge.add(now, metrics)
            if metrics.black:  # a black picture is judged on its sample, not at the next tick
                wake.set()
            if framing is not None:
                reporter.report(judge_framing(framing))
                reporter.report(judge_background(framing))

        sampler = Sampler(source, config.rate_hz, on_frame, on_loss, decode=config.decode)
        sampler.start()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), REPORT_EVERY_S)
                wake.clear()
                now = time.monotonic()
                loss = state["loss"]
                stale_after = max(5.0, STALE_AFTER_PERIODS / config.rate_hz)
                if loss is None and state["last"] is not None and now - state["last"] > stale_after:
                    loss = f"no frame for {now - state['last']:.0f} s"
                if loss is None and state["last"] is None:
                    continue  # still opening the source
                for finding in judge.findings(now, signal_error=loss):
                    reporter.report(finding)
                reporter.set_metric("video.frames_analysed", state["analysed"])  # a counter: the real rate
                if loss is None and judge.samples:
                    for name in ("luma_mean", "sharpness", "noise_sigma", "colourfulness", "clipped_high_frac"):
                        reporter.set_metric(f"video.{name}", round(judge.median(name), 3))
        finally:
            await asyncio.to_thread(sampler.stop)

    return [Monitor("video", run)]
