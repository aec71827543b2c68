"""The audio monitor: the uplink sound in a ring buffer, its last window judged every few seconds.

PortAudio's callback only copies samples into the ring (collectors/audio); measuring a window
(tens of milliseconds of numpy/scipy) runs in a worker thread, the verdicts on the agent's loop.
A device that disappears is reported as `audio.signal` failing and opened again with backoff.
"""

from __future__ import annotations

import asyncio

from agent.config.models import Settings
from agent.monitors import Monitor, Reporter
from collectors.audio.source import AudioSourceError, open_input, parse_source
from probes.audio import AudioJudge
from probes.audio_metrics import measure


def build(settings: Settings) -> list[Monitor]:
    config = settings.audio
    if config is None:
        return []

    async def run(reporter: Reporter) -> None:
        judge = AudioJudge(config.thresholds)
        source = parse_source(config.source, config.channel)
        delay = 1.0
        while True:
            try:
                capture = await asyncio.to_thread(open_input, source, config.rate, config.window_s * 2)
            except AudioSourceError as exc:
                for finding in judge.findings(None, f"{exc}; retrying in {delay:.0f} s"):
                    reporter.report(finding)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            try:
                while capture.active:
                    await asyncio.sleep(config.interval_s)
                    window = capture.ring.latest(int(config.window_s * capture.rate))
                    if len(window) < capture.rate:  # under a second so far
                        continue
                    metrics = await asyncio.to_thread(measure, window, capture.rate, config.thresholds.mains_hz)
                    for finding in judge.findings(metrics):
                        reporter.report(finding)
                    reporter.set_metric("audio.integrated_lufs", metrics.integrated_lufs)
                    reporter.set_metric("audio.snr_db", metrics.snr_db)
                    reporter.set_metric("audio.hum_db", metrics.hum_db)
                    reporter.set_metric("audio.overflows", capture.overflows)
                for finding in judge.findings(None, capture.error or "the input stopped"):
                    reporter.report(finding)
            finally:
                await asyncio.to_thread(capture.close)

    return [Monitor("audio", run)]
