"""`venue-agent probe audio SOURCE`: listen to the uplink sound, measure it and judge it (Art. 17)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import cv2
import numpy as np
from rich.console import Console
from scipy import signal

from agent.cli.probe_output import exit_code, findings_json, print_findings, print_metrics
from collectors.audio.source import AudioSourceError, LiveInput, parse_source, read_file
from probes.audio import AudioJudge, AudioThresholds
from probes.audio_metrics import loudness, measure


def capture(spec: str, seconds: float, channel: int, rate: int) -> tuple[np.ndarray, int, int]:
    """Samples, rate and overflow count from a file or a live input."""
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


def draw_plot(samples: np.ndarray, rate: int, mains_hz: float, path: Path) -> bool:
    """Momentary loudness over time (top) and the spectrum with the hum lines marked (bottom)."""
    width, height, pad = 1000, 600, 50
    image = np.full((height, width, 3), 255, np.uint8)
    top = (pad, pad, width - pad, height // 2 - pad // 2)
    bottom = (pad, height // 2 + pad // 2, width - pad, height - pad)
    _, momentary, _ = loudness(samples, rate)
    for box, title in ((top, "momentary loudness (LUFS) over time"), (bottom, "spectrum (dB) 0-1000 Hz, hum lines")):
        cv2.rectangle(image, box[:2], box[2:], (200, 200, 200), 1)
        cv2.putText(image, title, (box[0], box[1] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)

    def polyline(box, xs, ys, low, high, colour) -> None:
        x0, y0, x1, y1 = box
        ys = np.clip(np.nan_to_num(ys, neginf=low), low, high)
        points = np.stack(
            [x0 + (xs - xs.min()) / max(1e-9, np.ptp(xs)) * (x1 - x0), y1 - (ys - low) / (high - low) * (y1 - y0)],
            axis=1,
        ).astype(np.int32)
        cv2.polylines(image, [points], False, colour, 1, cv2.LINE_AA)

    if momentary.size > 1:
        polyline(top, np.arange(momentary.size) * 0.1, momentary, -60.0, 0.0, (200, 80, 0))
        for level in (-60, -40, -23, 0):
            y = int(top[3] - (level + 60) / 60 * (top[3] - top[1]))
            cv2.putText(image, str(level), (5, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (90, 90, 90), 1)
    if len(samples) >= rate:
        freqs, power = signal.welch(samples, fs=rate, nperseg=rate, noverlap=rate // 2)
        keep = freqs <= 1000
        with np.errstate(divide="ignore"):
            spectrum = 10 * np.log10(power[keep])
        polyline(bottom, freqs[keep], spectrum, -140.0, -20.0, (0, 120, 0))
        for harmonic in range(1, 6):
            x = int(bottom[0] + mains_hz * harmonic / 1000 * (bottom[2] - bottom[0]))
            cv2.line(image, (x, bottom[1]), (x, bottom[3]), (0, 0, 230), 1)
            cv2.putText(
                image,
                f"{mains_hz * harmonic:.0f}",
                (x - 10, bottom[3] + 15),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (0, 0, 230),
                1,
            )
    return bool(cv2.imwrite(str(path), image))


@click.command("audio")
@click.argument("source")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="How much to listen to / read.")
@click.option("--channel", type=int, default=0, show_default=True, help="Which channel is the uplink mix (0-based).")
@click.option("--rate", "rate", type=int, default=48000, show_default=True, help="Sample rate of a live input.")
@click.option(
    "--mains",
    "mains_hz",
    type=click.Choice(["50", "60"]),
    default="50",
    show_default=True,
    help="Mains frequency for hum detection (China: 50).",
)
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Write a level and spectrum plot (PNG).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_audio(
    source: str, seconds: float, channel: int, rate: int, mains_hz: str, plot: Path | None, as_json: bool
) -> None:
    """Judge the uplink sound (Art. 17: 洪亮 loud, 清楚 clear, 无杂音 free of noise).

    SOURCE: a sound file (WAV, FLAC, …) or device:NAME_OR_INDEX for a live input.
    Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    if seconds <= 0 or rate <= 0:
        raise click.UsageError("--seconds and --rate must be positive")
    thresholds = AudioThresholds(mains_hz=float(mains_hz))
    judge = AudioJudge(thresholds)
    metrics = None
    overflows = 0
    try:
        samples, sample_rate, overflows = capture(source, seconds, channel, rate)
        metrics = measure(samples, sample_rate, thresholds.mains_hz) if len(samples) else None
        findings = judge.findings(metrics, None if len(samples) else "no samples captured")
    except AudioSourceError as exc:
        samples, sample_rate = np.zeros(0, np.float32), rate
        findings = judge.findings(None, str(exc))
    if plot is not None and len(samples) and not draw_plot(samples, sample_rate, thresholds.mains_hz, plot):
        raise click.UsageError(f"cannot write the plot to {plot}")
    report = {
        "source": source,
        "seconds": metrics.seconds if metrics else 0.0,
        "rate": sample_rate,
        "overflows": overflows,
        "metrics": metrics.as_dict() if metrics else {},
        "findings": findings_json(findings),
    }
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        console = Console()
        print_metrics(console, f"{source}: {report['seconds']} s at {sample_rate} Hz", report["metrics"])
        print_findings(console, findings)
    raise SystemExit(exit_code(findings))
