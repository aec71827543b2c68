"""Audio metrics and Art. 17 verdicts on real speech with controlled faults; loudness against ffmpeg."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess

import numpy as np
import pytest

from contract.findings import Verdict, severity_rank
from probes.audio import AudioJudge, AudioThresholds
from probes.audio_metrics import measure
from tests.audio_media import ALSA_SOUNDS, RATE, needs_espeak, room, speech, with_hum, with_noise, write

pytestmark = needs_espeak


def metrics(samples: np.ndarray):
    return measure(np.clip(samples, -1, 1).astype(np.float32), RATE)


def verdicts(samples: np.ndarray) -> dict[str, Verdict]:
    return {f.check: f.verdict for f in AudioJudge(AudioThresholds()).findings(metrics(samples))}


def ebur128(path) -> float:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1])


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
@pytest.mark.parametrize("gain_db", [-30, -12, 0])
def test_integrated_loudness_agrees_with_ffmpeg_ebur128(tmp_path, gain_db):
    samples = room() * 10 ** (gain_db / 20)
    path = write(tmp_path / "uplink.wav", samples)
    import soundfile

    data, rate = soundfile.read(str(path), dtype="float32")
    ours = measure(data, rate).integrated_lufs
    assert ours == pytest.approx(ebur128(path), abs=0.1)


@pytest.mark.skipif(not (ALSA_SOUNDS / "Front_Center.wav").exists(), reason="alsa-utils' sounds are not installed")
def test_loudness_of_alsa_utils_spoken_wav_agrees_with_ffmpeg():
    import soundfile

    data, rate = soundfile.read(str(ALSA_SOUNDS / "Front_Center.wav"), dtype="float32", always_2d=True)
    assert measure(data[:, 0], rate).integrated_lufs == pytest.approx(
        ebur128(ALSA_SOUNDS / "Front_Center.wav"), abs=0.1
    )


def test_clean_room_speech_passes_article_17():
    result = verdicts(room())
    assert result == {
        "audio.signal": Verdict.OK,
        "audio.level": Verdict.OK,
        "audio.clarity": Verdict.OK,
        "audio.noise": Verdict.OK,
    }


def test_snr_estimate_follows_the_mixed_snr_and_clarity_follows():
    clean = speech()
    estimated, results = [], []
    for snr in (40, 25, 15, 8):
        mixed = with_noise(clean, snr)
        estimated.append(metrics(mixed).snr_db)
        results.append(verdicts(mixed)["audio.clarity"])
    assert estimated == sorted(estimated, reverse=True), estimated
    assert all(severity_rank(b) >= severity_rank(a) for a, b in itertools.pairwise(results)), results
    assert results[0] is Verdict.OK and results[-1] is Verdict.FAIL
    white = metrics(with_noise(clean, 15, kind="white")).snr_db
    assert white == pytest.approx(metrics(with_noise(clean, 15)).snr_db, abs=6)


def test_level_follows_gain_and_quiet_sound_is_flagged():
    base = room()
    levels = [metrics(base * 10 ** (g / 20)).integrated_lufs for g in (-30, -20, -10, 0)]
    assert levels == sorted(levels)
    assert levels[-1] - levels[0] == pytest.approx(30, abs=0.5)
    assert verdicts(base * 10 ** (-25 / 20))["audio.level"] is Verdict.FAIL  # about −45 LUFS: far too quiet
    assert verdicts(base)["audio.level"] is Verdict.OK


def test_hum_is_found_at_50_hz_and_judged_as_noise():
    base = room()
    assert metrics(base).hum_hz is None
    hummed = with_hum(base, -45)
    found = metrics(hummed)
    assert found.hum_hz == 50 and found.hum_db > 20
    assert verdicts(hummed)["audio.noise"] is not Verdict.OK
    sixty = measure(np.clip(with_hum(base, -45, mains=60.0), -1, 1).astype(np.float32), RATE, mains_hz=60.0)
    assert sixty.hum_hz == 60


def test_hard_clipping_is_measured_and_fails_the_level_check():
    loud = np.clip(room() * 8, -1, 1)  # +18 dB into a hard limit
    found = metrics(loud)
    assert found.clipping_frac > 0.005 and found.peak_dbfs == pytest.approx(0, abs=0.01)
    assert verdicts(loud)["audio.level"] is Verdict.FAIL
    assert metrics(room()).clipping_frac == 0


def test_dropouts_are_counted_and_judged():
    broken = room().copy()
    for second in range(1, 11, 2):  # five 30 ms gaps of digital zeros in the middle of speech
        start = second * RATE + RATE // 4
        broken[start : start + int(0.03 * RATE)] = 0.0
    found = metrics(broken)
    assert found.dropouts >= 3
    assert metrics(room()).dropouts == 0
    assert verdicts(broken)["audio.noise"] is not Verdict.OK


def test_silence_and_digital_silence():
    zeros = np.zeros(RATE * 5)
    found = metrics(zeros)
    assert found.digital_silence and found.silence_frac == 1.0
    assert verdicts(zeros)["audio.signal"] is Verdict.FAIL
    hiss = with_noise(np.zeros(RATE * 5) + 1e-3 * np.sin(np.arange(RATE * 5)), 60)
    assert metrics(hiss).speech_frac < 0.05 and verdicts(hiss)["audio.level"] is Verdict.WARN  # no speech


def test_dc_offset_is_measured():
    assert metrics(room() + 0.05).dc_offset == pytest.approx(0.05, abs=0.005)


@needs_espeak
def test_a_second_of_speech_before_digital_silence_is_not_hum():
    """A microphone muted after a word: the window is 1 s of real speech and 9 s of zeros. The zeros
    are digital silence (judged as such), never hum (it once read as 12.3 dB of hum, a false warn)."""
    window = np.zeros(10 * RATE, dtype=np.float32)
    window[:RATE] = speech(1.0)[:RATE]
    metrics = measure(window, RATE)
    assert metrics.hum_hz is None, metrics.hum_db
    codes = {f.code for f in AudioJudge(AudioThresholds()).findings(metrics, None)}
    assert "audio.noise.hum" not in codes, codes
    hummed = window.copy()  # and a hum under the sound that is there still counts when it lasts
    hummed[: 5 * RATE] = with_hum(speech(5.0), -20.0)[: 5 * RATE]
    assert measure(hummed, RATE).hum_hz == 50.0
