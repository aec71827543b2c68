"""The `probe audio --plot` picture: momentary loudness over time and the spectrum with hum lines."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from scipy import signal

from probes.audio_metrics import loudness


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
