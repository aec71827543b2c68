"""The `probe audio --plot` picture: what the Art. 17 sound verdicts were judged on, labelled.

A technician who was not at the console should be able to read the verdict off the picture: the
title carries the overall verdict and each Art. 17 check's (the words and colours of the one
verdict map, agent/cli/verdicts.py); the top panel is loudness over time on a LUFS scale with the
target band and the fail limits (from the thresholds the probe judged with — never restated
here); under its time axis, the clipped runs, dropouts and silences where they happened; the
bottom panel is the spectrum to 1 kHz, with the mains lines marked — with their level — only
when hum was found, so a hum file no longer looks like clean speech under an always-drawn marker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from agent.cli.picture_text import GREY, INK, Picture, font, verdict_rgb, verdict_words, wrap
from agent.cli.probe_output import verdict_of
from agent.sampling.audio import AudioSample
from contract.findings import Article, Finding, Verdict, is_advisory
from probes import audio_metrics, dsp
from probes.audio_metrics import CLIP_LEVEL, CLIP_RUN, SILENCE_DBFS, loudness
from probes.audio_thresholds import AudioThresholds

WIDTH = 1000
LEFT, RIGHT = 90, 170  # room for the dB scale and for the band labels
LEVEL_RANGE = (-70.0, 0.0)  # LUFS shown: BS.1770's absolute gate up to full scale
SPECTRUM_HZ = 1000
SPECTRUM_SPAN_DB = 100.0
SPECTRUM_MAX_S = 120  # the spectrum of a long file is taken over its first two minutes
CLIP_MERGE_S = 0.05  # clipped runs closer than this are drawn (and listed) as one
SILENCE_MIN_S = 0.5  # quieter than SILENCE_DBFS this long is a silence (longer than any dropout)
HUM_LINES = (1, 2, 3)  # the lines probes/audio_metrics.hum looks at: mains and rectifier buzz

CHECKS = (
    ("audio.signal", "输入", "input"),
    ("audio.level", "洪亮", "loud"),
    ("audio.clarity", "清楚", "clear"),
    ("audio.noise", "无杂音", "noise-free"),
)
TARGET_FILL = (214, 240, 214)
FAIL_RED = (200, 40, 40)
MOMENTARY = (70, 130, 210)
SHORT_TERM = (20, 40, 130)
SPECTRUM = (0, 120, 60)
HUM_RED = (210, 0, 0)
HUM_PALE = (250, 200, 200)
DROPOUT = (230, 120, 0)
SILENCE = (150, 150, 150)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    return audio_metrics._runs(mask)


def clipped_spans(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) in seconds of clipping as probes/audio_metrics counts it (runs of at least
    CLIP_RUN full-scale samples), runs closer than CLIP_MERGE_S merged."""
    runs = [(s, n) for s, n in _runs(np.abs(samples) >= CLIP_LEVEL) if n >= CLIP_RUN]
    spans: list[tuple[float, float]] = []
    for start, length in runs:
        begin, end = start / rate, (start + length) / rate
        if spans and begin - spans[-1][1] < CLIP_MERGE_S:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((begin, end))
    return spans


def dropout_runs(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start s, length s) of each dropout, by the rule of probes/audio_metrics._dropouts (which
    only counts them): a short run of digital zeros with loud sound on both sides."""
    edge = max(1, int(rate * 0.01))
    shortest, longest = int(rate * audio_metrics.DROPOUT_MIN_S), int(rate * audio_metrics.DROPOUT_MAX_S)
    found = []
    for start, length in _runs(samples == 0.0):
        if not shortest <= length <= longest or start < edge or start + length + edge > len(samples):
            continue
        before = samples[start - edge : start].astype(np.float64)
        after = samples[start + length : start + length + edge].astype(np.float64)
        levels = (audio_metrics.db(float(np.mean(before**2))), audio_metrics.db(float(np.mean(after**2))))
        if min(levels) >= audio_metrics.DROPOUT_EDGE_DBFS:
            found.append((start / rate, length / rate))
    return found


def silent_spans(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) in seconds of stretches below SILENCE_DBFS lasting SILENCE_MIN_S or more."""
    size = max(1, int(rate * audio_metrics.FRAME_S))
    count = len(samples) // size
    if count == 0:
        return []
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    with np.errstate(divide="ignore"):
        level = 10 * np.log10(np.mean(frames**2, axis=1))
    spans = []
    for start, length in _runs(level < SILENCE_DBFS):
        if length * audio_metrics.FRAME_S >= SILENCE_MIN_S:
            spans.append((start * size / rate, (start + length) * size / rate))
    return spans


def _ticks(low: float, high: float, most: int = 12) -> list[float]:
    """Round tick values (1, 2, 5 × 10ⁿ apart) covering [low, high], at most `most` of them."""
    span = max(high - low, 1e-9)
    for step in (m * 10**e for e in range(-2, 6) for m in (1, 2, 5)):
        if span / step <= most:
            first = math.ceil(low / step) * step
            return [round(first + i * step, 6) for i in range(int((high - first) / step + 1e-9) + 1)]
    return [low, high]


def _dashed(picture: Picture, start: tuple[float, float], end: tuple[float, float], fill, width: int = 1) -> None:
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0)
    for offset in np.arange(0, length, 10.0):
        a, b = offset / length, min(offset + 6, length) / length
        picture.draw.line(
            [(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)], fill, width
        )


def _apart(labels: list[tuple[float, str, tuple[int, int, int]]], gap: float) -> list:
    """Labels beside a panel moved apart vertically (in order of their y) so none overlaps."""
    placed: list[tuple[float, str, tuple[int, int, int]]] = []
    for y, text, colour in sorted(labels):
        if placed and y - placed[-1][0] < gap:
            y = placed[-1][0] + gap
        placed.append((y, text, colour))
    return placed


def _finding(findings: Sequence[Finding], check: str) -> Finding | None:
    return next((f for f in findings if f.check == check), None)


def _header(picture: Picture, sample: AudioSample, overall: Verdict, y: float) -> float:
    seconds = sample.metrics.seconds if sample.metrics else len(sample.samples) / max(1, sample.rate)
    name = Path(sample.source).name if not sample.source.startswith("device:") else sample.source
    picture.text((20, y), f"上传声音 uplink sound · {name} · {seconds:.1f} s @ {sample.rate} Hz", 18)
    y += 28
    headline = f"总体 overall: {verdict_words(overall)} · {Article.ART17}"
    picture.text((20, y), headline, 20, verdict_rgb(overall))
    picture.mark("overall", verdict=overall.value, text=headline)
    y += 32
    x = 20.0
    for check, zh, en in CHECKS:
        finding = _finding(sample.findings, check)
        verdict = finding.verdict if finding else Verdict.UNKNOWN
        label = f"{zh} {en}: {verdict_words(verdict)}"
        if x > 20 and x + font(15).getlength(label) > WIDTH - 20:  # no room left on this line
            x, y = 20.0, y + 22
        x += picture.text((x, y), label, 15, verdict_rgb(verdict)) + 28
        picture.mark("verdict", check=check, verdict=verdict.value, text=label)
    y += 26
    for finding in sample.findings:
        if finding.verdict is Verdict.OK or is_advisory(finding.check):
            continue
        text = f"{finding.check}: {finding.message.zh} / {finding.message.en}"
        for line in wrap(text, 13, WIDTH - 40):
            picture.text((20, y), line, 13, verdict_rgb(finding.verdict))
            y += 17
    return y + 8


def _time_axis(
    picture: Picture, x_of: Callable[[float], float], seconds: float, y: float, top: float, bottom: float
) -> None:
    for tick in _ticks(0.0, seconds):
        x = x_of(tick)
        picture.draw.line([(x, top), (x, bottom)], (235, 235, 235))
        picture.draw.line([(x, y), (x, y + 4)], INK)
        picture.text((x, y + 6), f"{tick:g}", 12, INK, "ma")
    picture.text((WIDTH - RIGHT, y + 22), "时间 time (s)", 12, INK, "ra")
    picture.mark("time_axis", unit="s", start_s=0.0, end_s=round(seconds, 3))


def _level_panel(picture: Picture, sample: AudioSample, t: AudioThresholds, top: float) -> float:
    """Loudness over time with the target band; returns the y below its time axis and event rows."""
    height = 250
    x0, x1, bottom = LEFT, WIDTH - RIGHT, top + height
    seconds = max(len(sample.samples) / max(1, sample.rate), 0.1)
    low, high = LEVEL_RANGE

    def x_of(s: float) -> float:
        return x0 + s / seconds * (x1 - x0)

    def y_of(lufs: float) -> float:
        return bottom - (min(max(lufs, low), high) - low) / (high - low) * height

    picture.text((x0, top - 22), "响度随时间 loudness over time — 瞬时 momentary (400 ms), 短期 short-term (3 s)", 14)
    # The Art. 17 target band: neither too quiet nor too loud, as the thresholds judge it.
    picture.draw.rectangle([x0, y_of(t.loud_warn_lufs), x1, y_of(t.quiet_warn_lufs)], fill=TARGET_FILL)
    band = f"目标 target {t.quiet_warn_lufs:g}…{t.loud_warn_lufs:g} LUFS"
    labels = [((y_of(t.loud_warn_lufs) + y_of(t.quiet_warn_lufs)) / 2, band, (40, 110, 40))]
    picture.mark("target_band", low_lufs=t.quiet_warn_lufs, high_lufs=t.loud_warn_lufs, text=band)
    for level in _ticks(low, high, 8):
        y = y_of(level)
        picture.draw.line([(x0, y), (x1, y)], (225, 225, 225))
        picture.text((x0 - 6, y), f"{level:g}", 12, INK, "rm")
    picture.text((8, top - 22), "LUFS / dB", 12, INK)
    picture.mark("level_scale", unit="LUFS", low=low, high=high)
    for value, zh, en in ((t.quiet_fail_lufs, "过小", "too quiet"), (t.loud_fail_lufs, "过大", "too loud")):
        _dashed(picture, (x0, y_of(value)), (x1, y_of(value)), FAIL_RED)
        label = f"{zh} {en} {value:g}"
        labels.append((y_of(value), label, FAIL_RED))
        picture.mark("fail_line", lufs=value, text=label)
    _time_axis(picture, x_of, seconds, bottom, top, bottom)
    if len(sample.samples):
        _, momentary, short_term = loudness(sample.samples, sample.rate)
        for values, offset, colour, name in (
            (momentary, 0.2, MOMENTARY, "momentary"),
            (short_term, 1.5, SHORT_TERM, "short_term"),
        ):
            if values.size > 1:
                times = np.arange(values.size) * 0.1 + offset
                # Blocks below the scale (silence: −∞) are left out, not drawn along its floor.
                audible = np.isfinite(values) & (values > low)
                for start, length in _runs(audible):
                    points = [(x_of(times[i]), y_of(values[i])) for i in range(start, start + length)]
                    picture.draw.line(
                        points if len(points) > 1 else points * 2, colour, 2 if name == "short_term" else 1
                    )
                if audible.any():
                    picture.mark("loudness_curve", which=name, points=int(audible.sum()))
    integrated = sample.metrics.integrated_lufs if sample.metrics else None
    if integrated is not None:
        _dashed(picture, (x0, y_of(integrated)), (x1, y_of(integrated)), INK, 2)
        label = f"整体 integrated {integrated:.1f} LUFS"
        labels.append((y_of(integrated), label, INK))
        picture.mark("integrated", lufs=integrated, text=label)
    for y, label, colour in _apart(labels, 15):
        picture.text((x1 + 6, y), label, 12, colour, "lm")
    picture.draw.rectangle([x0, top, x1, bottom], outline=GREY)
    return _event_rows(picture, sample, x_of, bottom + 26)


def _event_rows(picture: Picture, sample: AudioSample, x_of: Callable[[float], float], y: float) -> float:
    """Where the clipping, dropouts and silences were, under the time axis."""
    samples, rate = sample.samples, sample.rate
    row = 16
    clips = clipped_spans(samples, rate) if len(samples) else []
    drops = dropout_runs(samples, rate) if len(samples) else []
    quiet = silent_spans(samples, rate) if len(samples) else []
    rows = (("削波 clipping", FAIL_RED), ("断续 dropouts", DROPOUT), ("静音 silence", SILENCE))
    for index, (label, colour) in enumerate(rows):
        top = y + index * row
        picture.text((LEFT - 6, top + row / 2), label, 11, colour, "rm")
        picture.draw.line([(LEFT, top + row - 1), (WIDTH - RIGHT, top + row - 1)], (235, 235, 235))
    for start, end in clips:
        picture.draw.rectangle([x_of(start), y + 2, max(x_of(end), x_of(start) + 1), y + row - 3], fill=FAIL_RED)
        picture.mark("clipping", start_s=round(start, 4), end_s=round(end, 4))
    for start, length in drops:
        x, top = x_of(start + length / 2), y + row + 2
        picture.draw.polygon([(x, top + row - 4), (x - 5, top), (x + 5, top)], fill=DROPOUT)
        picture.mark("dropout", at_s=round(start, 4), length_ms=round(length * 1000, 1))
    for start, end in quiet:
        picture.draw.rectangle([x_of(start), y + 2 * row + 2, x_of(end), y + 3 * row - 3], fill=SILENCE)
        picture.mark("silence", start_s=round(start, 3), end_s=round(end, 3))
    summary = []
    if sample.metrics is not None:
        summary.append(f"削波 clipping {sample.metrics.clipping_frac:.2%}")
        summary.append(f"断续 dropouts {sample.metrics.dropouts}")
        if sample.metrics.digital_silence:
            summary.append("数字静音 digital silence")
    picture.text((LEFT, y + 3 * row + 4), " · ".join(summary), 12, INK)
    return y + 4 * row + 30


def _spectrum_panel(picture: Picture, sample: AudioSample, t: AudioThresholds, top: float) -> float:
    height = 190
    x0, x1, bottom = LEFT, WIDTH - RIGHT, top + height
    metrics = sample.metrics
    picture.text((x0, top - 22), f"频谱 spectrum 0–{SPECTRUM_HZ} Hz (1 Hz bins)", 14)
    rate, samples = sample.rate, sample.samples[: SPECTRUM_MAX_S * sample.rate]

    def x_of(hz: float) -> float:
        return x0 + hz / SPECTRUM_HZ * (x1 - x0)

    for hz in range(0, SPECTRUM_HZ + 1, 100):
        picture.draw.line([(x_of(hz), top), (x_of(hz), bottom)], (235, 235, 235))
        picture.text((x_of(hz), bottom + 6), f"{hz}", 12, INK, "ma")
    picture.text((x1, bottom + 22), "频率 frequency (Hz)", 12, INK, "ra")
    picture.draw.rectangle([x0, top, x1, bottom], outline=GREY)
    if len(samples) < rate or not samples.any():
        picture.text((x0 + 10, top + 10), "无可分析的声音 nothing to analyse", 14, GREY)
        return bottom + 44
    freqs, power = dsp.welch(samples, rate, nperseg=rate, noverlap=rate // 2)
    keep = freqs <= SPECTRUM_HZ
    with np.errstate(divide="ignore"):
        spectrum = 10 * np.log10(np.maximum(power[keep], 1e-30))
    high = math.ceil(float(spectrum.max()) / 10) * 10
    low = high - SPECTRUM_SPAN_DB

    def y_of(value: float) -> float:
        return bottom - (min(max(value, low), high) - low) / SPECTRUM_SPAN_DB * height

    for level in _ticks(low, high, 6):
        picture.text((x0 - 6, y_of(level)), f"{level:g}", 12, INK, "rm")
    picture.text((8, top - 22), "dB re FS²/Hz", 12, INK)
    picture.mark("spectrum_scale", unit="dB re FS²/Hz", low=low, high=high)
    hum_hz = metrics.hum_hz if metrics else None
    hum_db = metrics.hum_db if metrics else 0.0
    if hum_hz is not None:
        # Only the lines that stand out as the detector counts them, drawn under the spectrum
        # (pale, with a pointer above) so the peak itself stays visible.
        lines = [(hum_hz * k, audio_metrics._line_excess(freqs, power, hum_hz * k)) for k in HUM_LINES]
        shown = [(hz, excess) for hz, excess in lines if excess >= audio_metrics.HUM_DETECT_DB] or lines[:1]
        for hz, _ in shown:
            picture.draw.line([(x_of(hz), top), (x_of(hz), bottom)], HUM_PALE, 3)
            picture.draw.polygon([(x_of(hz), top + 10), (x_of(hz) - 6, top), (x_of(hz) + 6, top)], fill=HUM_RED)
        for index, (hz, excess) in enumerate(shown):
            x = x_of(hz)
            label = f"{hz:g} Hz +{excess:.0f} dB"
            picture.draw.rectangle(
                [x + 6, top + 3 + 17 * index, x + 10 + font(12).getlength(label), top + 18 + 17 * index], fill="white"
            )
            picture.text((x + 8, top + 4 + 17 * index), label, 12, HUM_RED)
            picture.mark("hum_line", hz=hz, excess_db=round(excess, 1))
    picture.draw.line([(x_of(f), y_of(v)) for f, v in zip(freqs[keep], spectrum, strict=True)], SPECTRUM, 1)
    picture.mark("spectrum", bins=int(keep.sum()))
    if hum_hz is not None:
        label = (
            f"哼声 hum {hum_hz:g} Hz：高出周围 {hum_db:.0f} dB / {hum_db:.0f} dB above its surroundings "
            f"(warn ≥ {t.hum_warn_db:g}, fail ≥ {t.hum_fail_db:g} dB)"
        )
        picture.text((x0, bottom + 24), label, 13, HUM_RED)
        picture.mark("hum", hz=hum_hz, db=hum_db, text=label)
    else:
        label = (
            f"未发现 {t.mains_hz:g} Hz 哼声（{hum_db:.0f} dB，发现需 ≥ {audio_metrics.HUM_DETECT_DB:g} dB）/ "
            f"no {t.mains_hz:g} Hz hum ({hum_db:.0f} dB; found at ≥ {audio_metrics.HUM_DETECT_DB:g} dB)"
        )
        picture.text((x0, bottom + 24), label, 13, GREY)
    return bottom + 50


def render_plot(sample: AudioSample, thresholds: AudioThresholds) -> Picture:
    """The plot as a Picture (image and legend of what was drawn), before it is saved."""
    overall = verdict_of(sample.findings)
    picture = Picture(Image.new("RGB", (WIDTH, 2000), "white"), "audio_plot", meta={"overall": overall.value})
    y = _header(picture, sample, overall, 14)
    y = _level_panel(picture, sample, thresholds, y + 28)
    y = _spectrum_panel(picture, sample, thresholds, y + 24)
    picture.image = picture.image.crop((0, 0, WIDTH, int(y) + 4))
    return picture


def draw_plot(sample: AudioSample, thresholds: AudioThresholds, path: Path) -> bool:
    """Write the plot to `path` (PNG, legend inside); False when it cannot be written there."""
    return render_plot(sample, thresholds).save(path)
