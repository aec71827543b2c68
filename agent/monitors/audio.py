"""The audio monitor: the uplink sound in a ring buffer, the newest sound looked at twice a second
and the last window judged every few seconds.

PortAudio's callback only copies samples into the ring (collectors/audio). Twice a second
(`probes.audio_onset.PERIOD_S`) the onset check looks at the newest sound for digital silence and
hum, so those reach the hub within 2 s (#15 item 5); every `interval_s` the last `window_s` is
measured for the Art. 17 verdicts. Both run in worker threads (a few ms and tens of ms of numpy),
the window's in the background so that it never holds up the onset ticks; the verdicts are given
on the agent's loop by one `AudioJudge`. A device that disappears is reported as `audio.signal`
failing and opened again with backoff.
"""

from __future__ import annotations

import asyncio

from agent.config.models import AudioConfig, Settings
from agent.monitors import Monitor, Reporter
from collectors.audio.source import AudioSourceError, FileInput, LiveInput, open_input, parse_source
from probes.audio import AudioJudge
from probes.audio_metrics import AudioMetrics, measure
from probes.audio_onset import HISTORY_S, PERIOD_S, OnsetMetrics, measure_onset


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
                capture = await asyncio.to_thread(open_input, source, config.rate, max(config.window_s * 2, HISTORY_S))
            except AudioSourceError as exc:
                for finding in judge.findings(None, f"{exc}; retrying in {delay:.0f} s"):
                    reporter.report(finding)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            try:
                await listen(capture, config, judge, reporter)
                for finding in judge.findings(None, capture.error or "the input stopped"):
                    reporter.report(finding)
            finally:
                await asyncio.to_thread(capture.close)

    return [Monitor("audio", run)]


async def listen(capture: LiveInput | FileInput, config: AudioConfig, judge: AudioJudge, reporter: Reporter) -> None:
    """Onset ticks every PERIOD_S on a steady schedule; a window measured every `interval_s` in the
    background and judged, with the newest onset, when it is done. Returns when the input stops."""
    loop = asyncio.get_running_loop()
    rate, mains_hz = capture.rate, config.thresholds.mains_hz
    onset: OnsetMetrics | None = None
    window: asyncio.Task[AudioMetrics] | None = None
    next_tick = next_window = loop.time()
    next_window += config.interval_s
    try:
        while capture.active:
            next_tick += PERIOD_S
            if next_tick < loop.time():  # fell behind (a loaded machine): skip, do not burst
                next_tick = loop.time() + PERIOD_S
            await asyncio.sleep(next_tick - loop.time())
            history = capture.ring.latest(int(HISTORY_S * rate))
            if len(history) >= rate:  # a second or more so far
                onset = await asyncio.to_thread(measure_onset, history, rate, mains_hz)
                for finding in judge.onset(onset):
                    reporter.report(finding)
            if window is not None and window.done():
                metrics = window.result()
                window = None
                for finding in judge.findings(metrics, onset=onset):
                    reporter.report(finding)
                reporter.set_metric("audio.integrated_lufs", metrics.integrated_lufs)
                reporter.set_metric("audio.snr_db", metrics.snr_db)
                reporter.set_metric("audio.hum_db", metrics.hum_db)
                reporter.set_metric("audio.overflows", capture.overflows)
            if window is None and loop.time() >= next_window:
                next_window += config.interval_s
                if next_window < loop.time():
                    next_window = loop.time() + config.interval_s
                samples = capture.ring.latest(int(config.window_s * rate))
                if len(samples) >= rate:
                    window = asyncio.create_task(asyncio.to_thread(measure, samples, rate, mains_hz))
    finally:
        if window is not None:
            window.cancel()
