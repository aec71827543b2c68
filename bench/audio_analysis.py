"""The whole audio analysis on an hour of 48 kHz mono, against reading the file and pyloudnorm's
integrated loudness alone; plus the live path's overflow count.

Run: .venv/bin/python -m bench.audio_analysis [--minutes 60]
Single core (`sched_setaffinity`). The hour is Mandarin speech (espeak-ng) over room noise, as a
16-bit WAV. Ours: `soundfile.read` + `probes.audio_metrics.measure` (loudness, speech level, noise
floor, SNR, hum, clipping, DC, silence, dropouts). Anchor: `soundfile.read` + `pyloudnorm.Meter
(rate).integrated_loudness` on the same file. Targets (issue #6): real-time factor ≤ 0.002 for
the whole analysis, file reading included; ≥ 1.5× faster than the anchor.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile

from probes.audio_metrics import measure
from sim.speech import RATE, room, write


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as workdir:
        clip = room()
        path = write(
            Path(workdir) / "hour.wav", np.tile(clip, int(np.ceil(seconds * RATE / len(clip))))[: int(seconds * RATE)]
        )
        start = time.perf_counter()
        data, rate = soundfile.read(str(path), dtype="float32")
        metrics = measure(data, rate)
        ours = time.perf_counter() - start
        del data
        start = time.perf_counter()
        data, rate = soundfile.read(str(path), dtype="float64")
        anchor_lufs = pyloudnorm.Meter(rate).integrated_loudness(data)
        theirs = time.perf_counter() - start
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, one core; "
        f"{seconds / 60:.0f} min of 48 kHz mono"
    )
    print(
        f"agent, whole analysis incl. reading: {ours:.2f} s, real-time factor {ours / seconds:.5f} (target ≤ 0.002)"
        f"; integrated {metrics.integrated_lufs} LUFS"
    )
    print(f"anchor, reading + pyloudnorm integrated only: {theirs:.2f} s; {anchor_lufs:.2f} LUFS")
    print(f"ratio anchor/agent: {theirs / ours:.2f}× (target ≥ 1.5×)")


if __name__ == "__main__":
    main()
