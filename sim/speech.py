"""Real speech for the simulated venue's uplink and the audio tests (espeak-ng), mixed with known
faults: room noise at a chosen SNR, mains hum, and so on."""

from __future__ import annotations

import io
import shutil
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

RATE = 48000
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


TEXT = "各分会场请注意，省政府电视电话会议将于十分钟后开始，请检查音视频设备，联络员和技术人员请到位。"


@cache
def speech(seconds: float = 12.0) -> np.ndarray:
    """Mandarin speech from espeak-ng at 48 kHz, peak −6 dBFS, repeated to `seconds`."""
    out = subprocess.run(["espeak-ng", "-v", "zh", "-s", "150", "--stdout", TEXT], capture_output=True, check=True)
    data, rate = soundfile.read(io.BytesIO(out.stdout), dtype="float64")
    data = resample_poly(data, RATE, rate)
    data = data / np.abs(data).max() * 10 ** (-6 / 20)
    data = np.concatenate((data, np.zeros(int(0.6 * RATE))))  # a breath between sentences, as people pause
    repeats = int(np.ceil(seconds * RATE / len(data)))
    return np.tile(data, repeats)[: int(seconds * RATE)]


def pink_noise(count: int, seed: int = 5) -> np.ndarray:
    """Pink (1/f) noise, unit RMS (Voss-McCartney by FFT shaping)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(count))
    freqs = np.fft.rfftfreq(count)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, count)
    return noise / np.sqrt(np.mean(noise**2))


def rms_db(samples: np.ndarray) -> float:
    return 10 * np.log10(np.mean(samples**2))


def with_noise(clean: np.ndarray, snr_db: float, kind: str = "pink") -> np.ndarray:
    """Clean speech plus noise at `snr_db` below the speech's active level (frames above −50 dBFS)."""
    frames = clean[: len(clean) // 960 * 960].reshape(-1, 960)
    active = frames[10 * np.log10(np.mean(frames**2, axis=1) + 1e-20) > -50]
    level = rms_db(active if active.size else clean)
    noise = pink_noise(len(clean)) if kind == "pink" else np.random.default_rng(9).standard_normal(len(clean))
    return clean + noise * 10 ** ((level - snr_db) / 20)


def with_hum(samples: np.ndarray, level_dbfs: float, mains: float = 50.0) -> np.ndarray:
    t = np.arange(len(samples)) / RATE
    hum = sum(np.sin(2 * np.pi * mains * k * t) / k for k in (1, 2, 3, 5))
    hum = hum / np.sqrt(np.mean(hum**2)) * 10 ** (level_dbfs / 20)
    return samples + hum


def room(clean: np.ndarray | None = None) -> np.ndarray:
    """A realistic uplink: the speech over a quiet room-noise bed (SNR 40 dB)."""
    return with_noise(speech() if clean is None else clean, 40.0)


def write(path: Path, samples: np.ndarray) -> Path:
    soundfile.write(str(path), np.clip(samples, -1, 1), RATE, subtype="PCM_16")
    return path
