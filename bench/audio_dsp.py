"""The audio checks' signal processing on numpy alone (probes/dsp.py) against SciPy (#15 item 6).

    .venv/bin/python -m bench.audio_dsp [--runs 30]

Why this exists: `import scipy.signal` was most of the daemon's memory with every monitor
configured, so probes/dsp.py writes again the four things the checks used from SciPy. This shows
what that costs and buys, side by side on the same 10 s of 48 kHz float32 sound (espeak-ng speech
over room noise with 50 Hz hum, or white noise without espeak-ng):

- **time per 10 s window** of each primitive as the checks call it — the K-weighting filter
  (float32, in memory; float64 with state, as the whole-file stream did before), the hum's Welch
  spectrum (1 s Hann segments, half overlapping), the noise estimator's frame FFTs (1024-sample Hann
  frames, 50 % overlap) and its chi-square corrections — best and median of `--runs`, with the
  ratio SciPy/numpy (above 1: numpy-only is faster), and the largest difference between the two;
- **peak resident memory** (VmHWM) of a fresh interpreter that imports each stack and runs every
  primitive once on the window, with the ratio; and of a bare interpreter, the floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from probes import audio_noise, dsp
from probes.audio_metrics import k_weighting

RATE = 48000
ROOT = Path(__file__).resolve().parent.parent

# One 10 s window through every primitive, in a fresh process; prints VmHWM in KiB. {stack} is
# "numpy" or "scipy": the same work either way.
WORK = """
import numpy as np
rng = np.random.default_rng(0)
x = rng.standard_normal(10 * 48000, dtype=np.float32) * np.float32(0.1)
from probes.audio_metrics import k_weighting
sos = k_weighting(48000)
window = np.hanning(1025)[:-1].astype(np.float32)
frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::512]
if "{stack}" == "numpy":
    from probes import audio_noise, dsp
    dsp.sosfilt(sos, x)
    dsp.welch(x, 48000, nperseg=48000, noverlap=24000)
    audio_noise.band_powers(x, 48000)  # numpy's FFT, and the chi-square corrections of its layout
elif "{stack}" == "scipy":
    from scipy import fft, signal, stats
    signal.sosfilt(sos.astype(np.float32), x)
    signal.welch(x, fs=48000, nperseg=48000, noverlap=24000, window="hann")
    fft.rfft(frames * window, axis=1, workers=1)
    stats.chi2.ppf(np.array([0.01, 0.03, 0.1])[:, None], np.arange(10.0, 200.0, 5.0))
print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0])
"""


def window() -> tuple[np.ndarray, str]:
    try:
        from sim.speech import have_espeak, room, with_hum

        if have_espeak():
            sound = with_hum(room()[: 10 * RATE], -45.0)
            return np.clip(sound, -1, 1).astype(np.float32), "espeak-ng speech over a room, 50 Hz hum"
    except ImportError:
        pass
    return (np.random.default_rng(1).standard_normal(10 * RATE) * 0.1).astype(np.float32), "white noise"


def timed(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """(best, median) seconds."""
    function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def peak_kib(stack: str) -> int:
    code = "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])" if stack == "bare" else WORK
    out = subprocess.run(
        [sys.executable, "-c", code.format(stack=stack)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return int(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="Timed runs of each primitive (best and median shown).")
    args = parser.parse_args()
    from scipy import fft, signal, stats  # the anchor: imported here only, after probes/dsp.py

    samples, kind = window()
    wide = samples.astype(np.float64)
    sos = k_weighting(RATE)
    layout = audio_noise._layout(RATE)
    frames = np.lib.stride_tricks.sliding_window_view(samples, layout.size)[:: layout.size // 2]
    dof = [float(d) for d in np.unique(np.maximum(np.diff(np.append(layout.starts, layout.size // 2 + 1)) * 5, 2))]
    zi = np.zeros((2, 2))
    pairs: list[tuple[str, Callable[[], object], Callable[[], object], Callable[[], float]]] = [
        (
            "K-weighting, float32",
            lambda: dsp.sosfilt(sos, samples),
            lambda: signal.sosfilt(sos.astype(np.float32), samples),
            lambda: float(np.abs(dsp.sosfilt(sos, samples)[0] - signal.sosfilt(sos, wide)).max()),
        ),
        (
            "K-weighting, stream (state)",  # the whole-file loudness: float32 now, SciPy's in float64 before
            lambda: dsp.sosfilt(sos, samples, zi),
            lambda: signal.sosfilt(sos, wide, zi=zi),
            lambda: float(np.abs(dsp.sosfilt(sos, samples, zi)[0] - signal.sosfilt(sos, wide, zi=zi)[0]).max()),
        ),
        (
            "K-weighting, float64",
            lambda: dsp.sosfilt(sos, wide),
            lambda: signal.sosfilt(sos, wide),
            lambda: float(np.abs(dsp.sosfilt(sos, wide)[0] - signal.sosfilt(sos, wide)).max()),
        ),
        (
            "Welch, 1 s Hann, 50 %",
            lambda: dsp.welch(samples, RATE, nperseg=RATE, noverlap=RATE // 2),
            lambda: signal.welch(samples, fs=RATE, nperseg=RATE, noverlap=RATE // 2, window="hann"),
            lambda: _relative(
                dsp.welch(samples, RATE, nperseg=RATE, noverlap=RATE // 2)[1],
                signal.welch(wide, fs=RATE, nperseg=RATE, noverlap=RATE // 2, window="hann")[1],
            ),
        ),
        (
            "noise bands: frame FFTs",
            lambda: audio_noise.band_powers(samples, RATE),
            lambda: _scipy_band_powers(fft, frames, layout),
            lambda: _relative(audio_noise.band_powers(samples, RATE)[0], _scipy_band_powers(fft, frames, layout)),
        ),
        (
            f"chi-square quantiles ({3 * len(dof)})",
            lambda: [dsp.chi2_ppf.__wrapped__(q, d) for q in audio_noise.QUANTILES for d in dof],
            lambda: stats.chi2.ppf(np.array(audio_noise.QUANTILES)[:, None], np.array(dof)[None, :]),
            lambda: _relative(
                np.array([[dsp.chi2_ppf(q, d) for d in dof] for q in audio_noise.QUANTILES]),
                stats.chi2.ppf(np.array(audio_noise.QUANTILES)[:, None], np.array(dof)[None, :]),
            ),
        ),
    ]
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"SciPy {sys.modules['scipy'].__version__}; load average {os.getloadavg()[0]:.1f}; 10 s of 48 kHz ({kind})"
    )
    print(f"{'per 10 s window':32} {'numpy best/median ms':>21} {'SciPy best/median ms':>21} {'ratio':>6}  difference")
    for label, ours, theirs, difference in pairs:
        our_best, our_median = timed(ours, args.runs)
        their_best, their_median = timed(theirs, args.runs)
        ours_ms = f"{our_best * 1e3:.2f}/{our_median * 1e3:.2f}"
        theirs_ms = f"{their_best * 1e3:.2f}/{their_median * 1e3:.2f}"
        print(f"{label:32} {ours_ms:>21} {theirs_ms:>21} {their_best / our_best:6.2f}  {difference():.2e}")
    print("(ratio: SciPy's best / numpy's best. difference: K-weighting, max |ours − SciPy float64| in full-scale")
    print(" units; the others, max relative. The chi-square quantiles are computed once per sample rate.)")
    bare, numpy_only, scipy_stack = peak_kib("bare"), peak_kib("numpy"), peak_kib("scipy")
    print(f"peak RSS of a fresh process, one window through every primitive: bare python {bare / 1024:.1f} MiB")
    print(
        f"  numpy only (probes/dsp.py) {numpy_only / 1024:.1f} MiB · SciPy {scipy_stack / 1024:.1f} MiB · "
        f"ratio {scipy_stack / numpy_only:.2f}× · SciPy costs {(scipy_stack - numpy_only) / 1024:.1f} MiB more"
    )


def _relative(ours: np.ndarray, reference: np.ndarray) -> float:
    """Largest relative difference, over values within 60 dB of the largest (below: float32 rounding)."""
    keep = np.abs(reference) > 1e-6 * np.abs(reference).max()
    return float(np.max(np.abs(ours - reference)[keep] / np.abs(reference)[keep]))


def _scipy_band_powers(fft: object, frames: np.ndarray, layout: object) -> np.ndarray:
    """probes/audio_noise.py's band powers as they were computed with SciPy's FFT (before #15 item 6)."""
    spectrum = fft.rfft(frames * layout.window, axis=1, workers=1)  # type: ignore[attr-defined]
    power = (spectrum.real**2 + spectrum.imag**2) * layout.scale  # type: ignore[attr-defined]
    return np.add.reduceat(power, layout.starts, axis=1)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
