"""No-reference sound metrics for Art. 17 (洪亮, 清楚, 无杂音) — formulas in docs/audio.md.

Input: mono float32 samples in [-1, 1] and the sample rate. Loudness follows ITU-R BS.1770-4
(K-weighting, 400 ms momentary blocks every 100 ms, 3 s short-term, integrated with the −70 LUFS
absolute and −10 LU relative gates), as ffmpeg's ebur128 filter computes it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from probes import audio_noise, dsp

FRAME_S = 0.02  # silence frames (speech and noise: probes/audio_noise.py)
SILENCE_DBFS = -70.0
CLIP_LEVEL = 0.999  # |x| at or above this is full scale (16-bit: 32735 and up)
CLIP_RUN = 3  # clipping = runs of at least this many full-scale samples
DROPOUT_MIN_S = 0.005  # digital zeros this long (and at most DROPOUT_MAX_S) inside loud sound = a dropout
DROPOUT_MAX_S = 0.2  # longer runs of zeros are pauses (a gated mixer), not dropouts
DROPOUT_EDGE_DBFS = -40.0  # the sound just before and after the gap must be at least this loud
HUM_MAX_SECONDS = 120  # longer recordings are sampled for the hum spectrum
HUM_MIN_SOUNDING_S = 2  # seconds with any sound needed to judge hum in a window that has digital silence
FLOOR_DBFS = -120.0  # digital silence counts as this level: below anything measurable
HUM_DETECT_DB = 12.0  # a hum line this far above the neighbouring spectrum counts as hum (voices reach ~9)
MIN_SPEECH_FRAC = 0.05  # SNR is given when at least this share of the window is speech


def db(power: float) -> float:
    return 10.0 * math.log10(power) if power > 0 else -math.inf


@dataclass(frozen=True)
class AudioMetrics:
    seconds: float
    integrated_lufs: float | None
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    peak_dbfs: float | None
    speech_level_dbfs: float | None
    noise_floor_dbfs: float | None
    snr_db: float | None
    speech_frac: float
    hum_hz: float | None
    hum_db: float
    clipping_frac: float
    dc_offset: float
    silence_frac: float
    digital_silence: bool
    dropouts: int

    def as_dict(self) -> dict:
        return {key: (None if isinstance(v, float) and not math.isfinite(v) else v) for key, v in asdict(self).items()}


def k_weighting(rate: int) -> np.ndarray:
    """The BS.1770 pre-filter (high shelf) and RLB high-pass as second-order sections, for any rate."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def loudness(samples: np.ndarray, rate: int) -> tuple[float | None, np.ndarray, np.ndarray]:
    """Integrated loudness (LUFS, None below the gates), momentary (400 ms) and short-term (3 s)
    loudness every 100 ms."""
    hop = round(rate * 0.1)
    if hop < 1 or len(samples) < 4 * hop:  # under 400 ms (or a rate of a few Hz): no gating block at all
        return None, np.array([]), np.array([])
    # float32 samples (the FFTs in float32, the filter's state in float64): half the memory traffic of
    # float64, and loudness agrees with ffmpeg to 0.01 LU. numpy only, not SciPy: probes/dsp.py says why.
    weighted, _ = dsp.sosfilt(k_weighting(rate), np.ascontiguousarray(samples, dtype=np.float32))
    hops = len(weighted) // hop
    blocks = weighted[: hops * hop].reshape(hops, hop)
    energy = np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / hop
    cumulative = np.concatenate(([0.0], np.cumsum(energy)))
    momentary_energy = (cumulative[4:] - cumulative[:-4]) / 4
    short_energy = (cumulative[30:] - cumulative[:-30]) / 30 if hops >= 30 else np.array([])
    with np.errstate(divide="ignore"):
        momentary = -0.691 + 10 * np.log10(momentary_energy)
        short_term = -0.691 + 10 * np.log10(short_energy) if short_energy.size else short_energy
    above_absolute = momentary_energy[momentary > -70.0]
    if above_absolute.size == 0:
        return None, momentary, short_term
    relative_gate = -0.691 + 10 * math.log10(above_absolute.mean()) - 10.0
    gated = momentary_energy[(momentary > -70.0) & (momentary > relative_gate)]
    integrated = -0.691 + 10 * math.log10(gated.mean()) if gated.size else None
    return integrated, momentary, short_term


def _frames_db(samples: np.ndarray, rate: int) -> np.ndarray:
    size = max(1, int(rate * FRAME_S))
    count = len(samples) // size
    if count == 0:
        return np.array([])
    frames = samples[: count * size].reshape(count, size)
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / size
    return 10 * np.log10(np.maximum(power, 10 ** (FLOOR_DBFS / 10)))


def _dropouts(samples: np.ndarray, rate: int) -> int:
    """Short runs of digital zeros cut into loud sound: what a failing link or driver sounds like."""
    edge = max(1, int(rate * 0.01))
    shortest, longest = int(rate * DROPOUT_MIN_S), int(rate * DROPOUT_MAX_S)
    count = 0
    zeros = samples == 0.0
    if not zeros.any():
        return 0
    for start, length in _runs(zeros):
        if not shortest <= length <= longest or start < edge or start + length + edge > len(samples):
            continue
        before = samples[start - edge : start].astype(np.float64)
        after = samples[start + length : start + length + edge].astype(np.float64)
        if min(db(float(np.mean(before**2))), db(float(np.mean(after**2)))) >= DROPOUT_EDGE_DBFS:
            count += 1
    return count


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True."""
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(start), int(end - start)) for start, end in zip(edges[::2], edges[1::2], strict=True)]


def _line_excess(freqs: np.ndarray, power: np.ndarray, line: float) -> float:
    """dB by which the spectrum at `line` (±1 bin) stands above the median of ±3–25 Hz around it."""
    index = round(line)
    peak = power[max(0, index - 1) : index + 2].max()
    neighbours = np.concatenate((power[max(0, index - 25) : max(0, index - 3)], power[index + 4 : index + 26]))
    reference = float(np.median(neighbours)) if neighbours.size else 0.0
    if peak <= 0:
        return 0.0
    return 60.0 if reference <= 0 else 10 * math.log10(peak / reference)


def hum(samples: np.ndarray, rate: int, mains_hz: float) -> tuple[float | None, float]:
    """Mains hum in a Welch spectrum with 1 Hz bins: (fundamental or None, dB above its surroundings).

    Hum is the mains line itself standing out, or — rectifier buzz — its 2nd and 3rd harmonics
    both standing out. A voice's own harmonics move with its pitch, so over a window they rarely
    raise one fixed line, let alone two: requiring that keeps speech from reading as hum.
    """
    if len(samples) < rate or 3 * mains_hz >= rate / 2:
        return None, 0.0
    seconds = len(samples) // rate
    pieces = [samples[start : start + rate] for start in range(0, seconds * rate, rate)]
    sounding = [piece for piece in pieces if piece.any()]
    if len(sounding) == len(pieces) and seconds <= HUM_MAX_SECONDS:
        freqs, power = dsp.welch(samples, rate, nperseg=rate, noverlap=rate // 2)
    else:
        # Digital silence is no hum (a muted input, a dropout): only the seconds that carry sound are
        # judged — one second of speech beside nine of zeros once read as 12 dB of hum. A long
        # recording: HUM_MAX_SECONDS of those seconds, spread evenly over it, are plenty for a steady
        # mains line and keep an hour's analysis cheap. Welch segments never straddle two seconds.
        if len(sounding) < HUM_MIN_SOUNDING_S:
            return None, 0.0
        if len(sounding) > HUM_MAX_SECONDS:
            chosen = np.linspace(0, len(sounding) - 1, HUM_MAX_SECONDS).astype(np.int64)
            sounding = [sounding[index] for index in chosen]
        freqs, power = dsp.welch(np.concatenate(sounding), rate, nperseg=rate, noverlap=0)
    fundamental = _line_excess(freqs, power, mains_hz)
    buzz = min(_line_excess(freqs, power, 2 * mains_hz), _line_excess(freqs, power, 3 * mains_hz))
    level = max(fundamental, buzz)
    return (mains_hz if level >= HUM_DETECT_DB else None), round(level, 1)


def measure(samples: np.ndarray, rate: int, mains_hz: float = 50.0) -> AudioMetrics:
    samples = np.asarray(samples, dtype=np.float32)
    seconds = len(samples) / rate if rate else 0.0
    integrated, momentary, short_term = loudness(samples, rate)
    peak = max(float(samples.max()), -float(samples.min())) if samples.size else 0.0
    frames = _frames_db(samples, rate)
    # Noise, speech level and SNR without relying on pauses (probes/audio_noise.py): a window of
    # speech over a fan or a murmuring room has none, and must still be judged.
    noise = audio_noise.estimate(samples, rate)
    noise_floor = db(noise.noise_power) if noise.noise_power > 0 else FLOOR_DBFS
    noise_floor = max(noise_floor, FLOOR_DBFS) if frames.size or noise.frames else None
    speech_level = None if noise.speech_power is None else db(noise.speech_power)
    speech_frac = noise.speech_frac
    snr = None
    if speech_level is not None and noise_floor is not None and speech_frac >= MIN_SPEECH_FRAC:
        snr = speech_level - noise_floor
    clipped = 0
    if peak >= CLIP_LEVEL:  # only then can there be clipping: spare the pass otherwise
        clipped = sum(length for _, length in _runs(np.abs(samples) >= CLIP_LEVEL) if length >= CLIP_RUN)
    dropouts = _dropouts(samples, rate)
    hum_hz, hum_db = hum(samples, rate, mains_hz)
    return AudioMetrics(
        seconds=round(seconds, 3),
        integrated_lufs=None if integrated is None else round(integrated, 2),
        momentary_max_lufs=round(float(momentary.max()), 2)
        if momentary.size and np.isfinite(momentary.max())
        else None,
        short_term_max_lufs=round(float(short_term.max()), 2)
        if short_term.size and np.isfinite(short_term.max())
        else None,
        peak_dbfs=round(20 * math.log10(peak), 2) if peak > 0 else None,
        speech_level_dbfs=None if speech_level is None else round(speech_level, 2),
        noise_floor_dbfs=None if noise_floor is None or not math.isfinite(noise_floor) else round(noise_floor, 2),
        snr_db=None if snr is None or not math.isfinite(snr) else round(snr, 2),
        speech_frac=round(speech_frac, 3),
        hum_hz=hum_hz,
        hum_db=hum_db,
        clipping_frac=round(clipped / max(1, len(samples)), 6),
        dc_offset=round(float(samples.mean()), 6) if samples.size else 0.0,
        silence_frac=round(float(np.mean(frames < SILENCE_DBFS)), 3) if frames.size else 1.0,
        digital_silence=bool(samples.size) and not samples.any(),
        dropouts=dropouts,
    )
