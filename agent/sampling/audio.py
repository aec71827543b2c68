"""Listen to the uplink sound for a few seconds (a file or a live input) and judge it (Art. 17).

`probe audio` and the self-test (when no monitor holds the input) both listen this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agent.sampling.reasons import with_reason
from collectors.audio.source import (
    AudioSourceError,
    LiveInput,
    parse_source,
    read_file_blocks,
)
from contract.findings import Finding
from probes.audio import AUDIO_MESSAGES, AudioJudge, AudioThresholds
from probes.audio_file import measure_blocks
from probes.audio_metrics import AudioMetrics, measure

NO_SAMPLES = "no samples captured"
STOPPED = "the input stream stopped (device removed?)"  # collectors/audio/source.py LiveInput.error
# What a whole-file run keeps for the plot: a few minutes at 48 kHz (the metrics see every sample).
PLOT_KEEP_S = 600.0


@dataclass
class AudioSample:
    """What one listening run heard: the samples (for a plot), their metrics and the findings.

    `analysed_s` is how much sound the metrics cover (the whole file, unless `--seconds` limited
    it); `samples` may be shorter for a long file (only what a plot needs is kept)."""

    source: str
    samples: np.ndarray
    rate: int
    overflows: int
    metrics: AudioMetrics | None
    findings: list[Finding]
    analysed_s: float = 0.0
    whole_file: bool = False


def capture(spec: str, seconds: float, channel: int, rate: int) -> tuple[np.ndarray, int, int]:
    """Samples, rate and overflow count from a file (its first `seconds`) or a live input
    (`seconds` from now); AudioSourceError if none. The self-test listens this way."""
    source = parse_source(spec, channel)
    if not source.is_device:
        blocks, file_rate = read_file_blocks(source, seconds)
        read = list(blocks)
        return (np.concatenate(read) if read else np.zeros(0, np.float32)), file_rate, 0
    live = LiveInput(source, rate=rate, buffer_s=seconds + 5)
    try:
        samples = live.wait_for(seconds)
        if live.error and live.error != "closed" and len(samples) < seconds * rate:
            if live.error == STOPPED:
                raise AudioSourceError("audio.source.stopped", spec=spec)
            raise AudioSourceError(f"{spec}: {live.error}")
        return samples, rate, live.overflows
    finally:
        live.close()


class _Tap:
    """Blocks passed on as they are read, the first `keep` samples copied aside (for the plot) and
    every sample counted (how much was analysed)."""

    def __init__(self, keep: int):
        self.keep, self.kept, self.total = keep, [], 0

    def __call__(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:
            held = sum(len(k) for k in self.kept)
            if held < self.keep:
                self.kept.append(block[: self.keep - held])
            self.total += len(block)
            yield block

    def samples(self) -> np.ndarray:
        return np.concatenate(self.kept) if self.kept else np.zeros(0, np.float32)


def _unheard(spec: str, rate: int, judge: AudioJudge, reason: str | AudioSourceError) -> AudioSample:
    """A source that gave nothing: judged as no input, its reason in each language."""
    if isinstance(reason, AudioSourceError):
        findings = with_reason(judge.findings(None, str(reason)), AUDIO_MESSAGES, "audio.signal.none", reason.message)
    else:
        findings = judge.findings(None, reason)
    return AudioSample(spec, np.zeros(0, np.float32), rate, 0, None, findings)


def listen(
    spec: str,
    seconds: float | None,
    channel: int,
    rate: int,
    thresholds: AudioThresholds,
    live_seconds: float = 10.0,
    keep_s: float = PLOT_KEEP_S,
) -> AudioSample:
    """Capture, measure and judge; a source that cannot be read is judged (audio.signal), not raised.

    A file is analysed whole (#15 item 3: what ffmpeg's ebur128 or sox's stats measure of it),
    block by block in bounded memory (`probes/audio_file.measure_blocks`), unless `seconds` limits
    it; a live input is listened to for `seconds`, or `live_seconds` when none is given. The first
    `keep_s` seconds are kept for the plot (0: none)."""
    judge = AudioJudge(thresholds)
    try:
        source = parse_source(spec, channel)
        if source.is_device:
            samples, sample_rate, overflows = capture(spec, seconds or live_seconds, channel, rate)
        else:
            blocks, sample_rate = read_file_blocks(source, seconds)
            tap = _Tap(int(keep_s * sample_rate))
            metrics = measure_blocks(tap(blocks), sample_rate, thresholds.mains_hz)
            if not tap.total:
                return _unheard(spec, sample_rate, judge, NO_SAMPLES)
            analysed = round(tap.total / sample_rate, 3)
            findings = judge.findings(metrics)
            return AudioSample(spec, tap.samples(), sample_rate, 0, metrics, findings, analysed, seconds is None)
    except AudioSourceError as exc:
        return _unheard(spec, rate, judge, exc)
    if not len(samples):
        return _unheard(spec, sample_rate, judge, NO_SAMPLES)
    metrics = measure(samples, sample_rate, thresholds.mains_hz)
    return AudioSample(spec, samples, sample_rate, overflows, metrics, judge.findings(metrics), metrics.seconds)
