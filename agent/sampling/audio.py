"""Listen to the uplink sound for a few seconds (a file or a live input) and judge it (Art. 17).

`probe audio` and the self-test (when no monitor holds the input) both listen this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collectors.audio.source import AudioSourceError, LiveInput, parse_source, read_file
from contract.findings import Finding
from probes.audio import AudioJudge, AudioThresholds
from probes.audio_metrics import AudioMetrics, measure

NO_SAMPLES = "no samples captured"


@dataclass
class AudioSample:
    """What one listening run heard: the samples (for a plot), their metrics and the findings."""

    source: str
    samples: np.ndarray
    rate: int
    overflows: int
    metrics: AudioMetrics | None
    findings: list[Finding]


def capture(spec: str, seconds: float, channel: int, rate: int) -> tuple[np.ndarray, int, int]:
    """Samples, rate and overflow count from a file or a live input (AudioSourceError if none)."""
    source = parse_source(spec, channel)
    if not source.is_device:
        samples, file_rate = read_file(source, seconds)
        return samples, file_rate, 0
    live = LiveInput(source, rate=rate, buffer_s=seconds + 5)
    try:
        samples = live.wait_for(seconds)
        if live.error and live.error != "closed" and len(samples) < seconds * rate:
            raise AudioSourceError(f"{spec}: {live.error}")
        return samples, rate, live.overflows
    finally:
        live.close()


def listen(spec: str, seconds: float, channel: int, rate: int, thresholds: AudioThresholds) -> AudioSample:
    """Capture, measure and judge; a source that cannot be read is judged (audio.signal), not raised."""
    judge = AudioJudge(thresholds)
    try:
        samples, sample_rate, overflows = capture(spec, seconds, channel, rate)
    except AudioSourceError as exc:
        return AudioSample(spec, np.zeros(0, np.float32), rate, 0, None, judge.findings(None, str(exc)))
    if not len(samples):
        return AudioSample(spec, samples, sample_rate, overflows, None, judge.findings(None, NO_SAMPLES))
    metrics = measure(samples, sample_rate, thresholds.mains_hz)
    return AudioSample(spec, samples, sample_rate, overflows, metrics, judge.findings(metrics))
