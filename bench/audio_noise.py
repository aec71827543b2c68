"""The #15 noise matrix and the per-window cost of the pause-free noise estimate.

Run: .venv/bin/python -m bench.audio_noise [--repeats 20]
Single core (`sched_setaffinity`). Prints, for speech without pauses (espeak-ng zh/en, alsa-utils'
WAVs; tests/test_audio_noise.py makes them) under white, pink and babble noise at 0–30 dB: the
estimated SNR and the clarity/noise verdicts. Then the cost of one 10 s 48 kHz window: the whole
`measure`, the noise estimate alone (`probes.audio_noise.estimate`), and the anchor —
pyloudnorm's integrated loudness of the same window — with the ratio anchor/ours.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pyloudnorm

from probes.audio_metrics import measure
from probes.audio_noise import estimate
from tests.test_audio_noise import RATE, SNRS, judged, mixed, speech


def best_of(repeats: int, call) -> float:
    """The fastest of `repeats` runs, in ms: the least disturbed by other work on the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    print("| speech | noise | " + " | ".join(f"{snr} dB" for snr in SNRS) + " | clean |")
    print("|---|---|" + "---|" * (len(SNRS) + 1))
    for name in ("zh", "en", "alsa"):
        clean = measure(speech(name).astype(np.float32), RATE).snr_db
        for kind in ("white", "pink", "babble"):
            cells = []
            for snr in SNRS:
                samples = mixed(name, kind, snr)
                verdicts = judged(samples)
                estimate_db = measure(samples, RATE).snr_db
                cells.append(f"{estimate_db:.1f} {verdicts['audio.clarity'].value}/{verdicts['audio.noise'].value}")
            print(f"| {name} | {kind} | " + " | ".join(cells) + f" | {clean:.1f} |")
    window = mixed("zh", "pink", 10)
    meter = pyloudnorm.Meter(RATE)
    whole = best_of(args.repeats, lambda: measure(window, RATE))
    noise = best_of(args.repeats, lambda: estimate(window, RATE))
    anchor = best_of(args.repeats, lambda: meter.integrated_loudness(window.astype(np.float64)))
    print(f"\nmachine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, one core")
    print(f"10 s 48 kHz window, best of {args.repeats}: measure {whole:.1f} ms, of which noise estimate {noise:.1f} ms")
    print(f"anchor pyloudnorm integrated loudness: {anchor:.1f} ms; ratio anchor/measure {anchor / whole:.2f}×")


if __name__ == "__main__":
    main()
