"""Sound that is noisy all the time (#15 item 2, 第十七条 清楚/无杂音): speech with no pause, noise
under the whole window, at 0–30 dB SNR — the noise is still measured and the window judged.

Material, made at test time: Mandarin and English sentences from espeak-ng and the spoken words of
alsa-utils' WAVs, with every pause cut out (each 10 ms stretch more than 35 dB below the loudest
is removed), repeated to fill 10 s at −26 dBFS active level. Noise: white, pink (20 Hz up) and
babble (six espeak voices in five languages, summed), under the whole window; "clean" speech
carries a line input's −90 dBFS hiss. The true SNR is the
speech's active level (mean power of its 20 ms frames within 45 dB of the loudest, P.56-like)
over the noise's mean power, full band — as the mixing sets it.
"""

from __future__ import annotations

import glob
import io
import itertools
import subprocess
from functools import cache

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from contract.findings import Verdict, severity_rank
from probes.audio import AudioJudge, AudioThresholds
from probes.audio_metrics import measure
from tests.audio_media import ALSA_SOUNDS, needs_espeak

pytestmark = needs_espeak

RATE = 48000
SECONDS = 10.0
ACTIVE_DBFS = -26.0
SNRS = (30, 20, 10, 5, 0)
ZH = (
    "各分会场请注意，省政府电视电话会议将于十分钟后开始，请检查音视频设备。",
    "联络员和技术人员请到位，发言时请靠近话筒，保持会场安静。",
)
EN = (
    "All branch venues, the provincial video conference begins in ten minutes.",
    "Please check your microphones and cameras, and keep the room quiet while others speak.",
)
BABBLE = (
    ("en-us", "Good morning everyone, the budget report is on the second page.", 170),
    ("zh", "今天的天气很好，我们下午三点在会议室见面。", 160),
    ("en-gb", "I think we should move the item to next week instead.", 150),
    ("de", "Wir treffen uns morgen früh um neun Uhr im Büro.", 165),
    ("fr", "Le rapport financier sera présenté après la pause.", 155),
    ("es", "La reunión de hoy empieza a las diez de la mañana.", 175),
)


def espeak(voice: str, text: str, speed: int = 150) -> np.ndarray:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    data, rate = soundfile.read(io.BytesIO(out), dtype="float64")
    return resample_poly(data, RATE, rate)


def without_pauses(samples: np.ndarray, below_db: float = -35.0) -> np.ndarray:
    """Cut every 10 ms stretch more than `below_db` under the loudest: speech with no pause left."""
    size = RATE // 100
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    power = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    return frames[power >= power.max() + below_db].ravel()


def filled(parts: list[np.ndarray], seconds: float = SECONDS) -> np.ndarray:
    sequence = np.concatenate([without_pauses(part) for part in parts])
    return np.tile(sequence, int(np.ceil(seconds * RATE / len(sequence))))[: int(seconds * RATE)]


def active_level_db(clean: np.ndarray) -> float:
    size = RATE // 50
    power = np.mean(clean[: len(clean) // size * size].reshape(-1, size) ** 2, axis=1)
    return float(10 * np.log10(power[power >= power.max() * 10 ** (-45 / 10)].mean()))


def at_level(clean: np.ndarray, level_db: float = ACTIVE_DBFS) -> np.ndarray:
    return clean * 10 ** ((level_db - active_level_db(clean)) / 20)


@cache
def speech(name: str) -> np.ndarray:
    """Continuous speech at −26 dBFS active level: 'zh', 'en' or 'alsa' (alsa-utils' spoken WAVs)."""
    if name == "zh":
        parts = [espeak("zh", text) for text in ZH]
    elif name == "en":
        parts = [espeak("en-us", text) for text in EN]
    else:
        files = sorted(path for path in glob.glob(str(ALSA_SOUNDS / "*.wav")) if "Noise" not in path)
        if not files:
            pytest.skip("alsa-utils' sounds are not installed")
        parts = [soundfile.read(path, dtype="float64", always_2d=True)[0][:, 0] for path in files]
    # A line input's own hiss (−90 dBFS, about 16-bit dither): espeak's exact zeros inside words
    # would otherwise read as dropouts once the pauses are cut, which no real uplink has.
    clean = at_level(filled(parts))
    return clean + np.random.default_rng(0).standard_normal(len(clean)) * 10 ** (-90 / 20)


@cache
def _babble() -> np.ndarray:
    voices = [filled([espeak(voice, text, speed)], SECONDS + 1) for voice, text, speed in BABBLE]
    return np.sum([voice / np.sqrt(np.mean(voice**2)) for voice in voices], axis=0)


def noise(kind: str, count: int, seed: int = 1) -> np.ndarray:
    """Unit-power noise: 'white', 'pink' (1/f from 20 Hz) or 'babble' (a seed-chosen stretch)."""
    rng = np.random.default_rng(seed)
    if kind == "white":
        out = rng.standard_normal(count)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(count))
        freqs = np.fft.rfftfreq(count, 1 / RATE)
        spectrum[1:] /= np.sqrt(freqs[1:])
        spectrum[freqs < 20] = 0
        out = np.fft.irfft(spectrum, count)
    else:
        crowd = _babble()
        start = int(rng.integers(0, len(crowd) - count + 1))
        out = crowd[start : start + count]
    return out / np.sqrt(np.mean(out**2))


def mixed(name: str, kind: str, snr_db: float, seed: int = 1) -> np.ndarray:
    """Speech `name` with noise `kind` under the whole window at a true SNR of `snr_db`."""
    clean = speech(name)
    return (clean + noise(kind, len(clean), seed) * 10 ** ((active_level_db(clean) - snr_db) / 20)).astype(np.float32)


def judged(samples: np.ndarray) -> dict[str, Verdict]:
    return {f.check: f.verdict for f in AudioJudge(AudioThresholds()).findings(measure(samples, RATE))}


def worse_or_same(verdicts: list[Verdict]) -> bool:
    return all(severity_rank(b) >= severity_rank(a) for a, b in itertools.pairwise(verdicts))


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
@pytest.mark.parametrize("name", ["zh", "en", "alsa"])
def test_noise_under_continuous_speech_is_measured_and_judged(name, kind):
    """The matrix of #15: SNR estimated within 5 dB from 5 to 30 dB, never unknown, verdicts
    that only get worse as the SNR falls (30 → 0 dB)."""
    rows = []
    for snr in SNRS:
        samples = mixed(name, kind, snr)
        metrics = measure(samples, RATE)
        rows.append((snr, metrics, judged(samples)))
    for snr, metrics, verdicts in rows:
        assert metrics.snr_db is not None, (snr, metrics)
        assert verdicts["audio.clarity"] is not Verdict.UNKNOWN, (snr, verdicts)
        assert verdicts["audio.noise"] is not Verdict.UNKNOWN, (snr, verdicts)
        if snr >= 5:
            assert metrics.snr_db == pytest.approx(snr, abs=5), (snr, metrics.snr_db)
    estimates = [metrics.snr_db for _, metrics, _ in rows]
    assert estimates == sorted(estimates, reverse=True), estimates
    for check in ("audio.clarity", "audio.noise"):
        assert worse_or_same([verdicts[check] for _, _, verdicts in rows]), (check, rows)
    worst = [max(verdicts.values(), key=severity_rank) for _, _, verdicts in rows]
    assert worse_or_same(worst), worst
    by_snr = {snr: verdicts for snr, _, verdicts in rows}
    assert by_snr[0]["audio.clarity"] is Verdict.FAIL and by_snr[0]["audio.noise"] is Verdict.FAIL
    assert by_snr[5]["audio.clarity"] is Verdict.FAIL
    assert by_snr[30]["audio.clarity"] is Verdict.OK


@pytest.mark.parametrize("name", ["zh", "en", "alsa"])
def test_clean_continuous_speech_passes_article_17(name):
    clean = speech(name).astype(np.float32)
    assert measure(clean, RATE).snr_db > 30
    assert judged(clean) == {
        "audio.signal": Verdict.OK,
        "audio.level": Verdict.OK,
        "audio.clarity": Verdict.OK,
        "audio.noise": Verdict.OK,
    }


@pytest.mark.parametrize("kind", ["white", "pink"])
def test_steady_noise_alone_is_not_speech(kind):
    """Noise with nobody speaking keeps its old verdicts: no speech (level warns, clarity unknown)
    and the noise floor judged as before — −40 dBFS of noise fails 无杂音."""
    hiss = (noise(kind, int(SECONDS * RATE)) * 10 ** (-40 / 20)).astype(np.float32)
    metrics = measure(hiss, RATE)
    assert metrics.speech_frac < 0.05 and metrics.snr_db is None
    assert metrics.noise_floor_dbfs == pytest.approx(-40, abs=1.5)
    verdicts = judged(hiss)
    assert verdicts["audio.level"] is Verdict.WARN
    assert verdicts["audio.clarity"] is Verdict.UNKNOWN
    assert verdicts["audio.noise"] is Verdict.FAIL


def test_silence_is_no_speech_and_digital_silence_fails_the_signal():
    zeros = np.zeros(int(SECONDS * RATE), np.float32)
    metrics = measure(zeros, RATE)
    assert metrics.snr_db is None and metrics.speech_frac == 0 and metrics.noise_floor_dbfs == -120
    assert judged(zeros)["audio.signal"] is Verdict.FAIL and judged(zeros)["audio.clarity"] is Verdict.UNKNOWN
    quiet = (noise("white", len(zeros)) * 10 ** (-90 / 20)).astype(np.float32)  # a line input's own hiss
    assert judged(quiet)["audio.clarity"] is Verdict.UNKNOWN


def test_speech_behind_a_gated_mixer_is_judged_by_its_noise_not_the_gate():
    """Digital zeros between phrases (a gate) are not the room: the noise under the speech is."""
    samples = mixed("zh", "pink", 10).copy()
    for second in range(10):  # the gate closes for 0.4 s of every second
        samples[second * RATE : second * RATE + int(0.4 * RATE)] = 0.0
    metrics = measure(samples, RATE)
    assert metrics.snr_db == pytest.approx(10, abs=5)
    assert judged(samples)["audio.clarity"] is Verdict.FAIL


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["white", "pink", "babble"]),
    seed=st.integers(0, 2**16),
    low=st.sampled_from([0, 5, 10, 15]),
    step=st.sampled_from([3, 6, 10]),
    gain_db=st.floats(-20, 6),
)
def test_less_snr_is_never_judged_better_and_gain_changes_no_snr(kind, seed, low, step, gain_db):
    """Any noise draw: the lower SNR is never judged better; the estimate does not follow gain."""
    quieter, cleaner = mixed("en", kind, low, seed), mixed("en", kind, low + step, seed)
    worse, better = judged(quieter), judged(cleaner)
    for check in ("audio.clarity", "audio.noise"):
        assert severity_rank(worse[check]) >= severity_rank(better[check]), (check, worse, better)
    assert measure(quieter, RATE).snr_db < measure(cleaner, RATE).snr_db
    scaled = measure(quieter * np.float32(10 ** (gain_db / 20)), RATE).snr_db
    assert scaled == pytest.approx(measure(quieter, RATE).snr_db, abs=0.1)
