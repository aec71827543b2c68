"""A whole sound file measured block by block (#15 item 3, the analysis core): the loudness of the
whole file agrees with ffmpeg's ebur128 within 0.2 LU, with the in-memory analysis exactly, and
no block read is larger than asked for (bounded memory)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from collectors.audio.source import AudioSourceError, parse_source, read_file, read_file_blocks
from probes.audio_file import measure_blocks
from probes.audio_metrics import measure
from tests.audio_media import ALSA_SOUNDS
from tests.test_audio_noise import RATE, mixed, needs_espeak

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def ebur128(path) -> float:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1])


@needs_espeak
@needs_ffmpeg
def test_a_minute_with_level_changes_read_in_odd_blocks_agrees_with_ffmpeg(tmp_path):
    gains = (1.0, 0.1, 0.5, 0.02, 1.0, 0.3)  # loud, −20 dB, −6, −34 (gated out), …: the gates matter
    samples = np.concatenate([mixed("zh", "pink", 20) * gain for gain in gains])
    path = tmp_path / "recording.wav"
    soundfile.write(str(path), np.clip(samples, -1, 1), RATE, subtype="PCM_16")
    source = parse_source(str(path))
    sizes: list[int] = []

    def counted(blocks):
        for block in blocks:
            sizes.append(len(block))
            yield block

    blocks, rate = read_file_blocks(source, block_s=3.7)  # blocks straddle the 10 s windows and 100 ms hops
    streamed = measure_blocks(counted(blocks), rate)
    whole = measure(*read_file(source))
    assert max(sizes) <= int(3.7 * RATE) and sum(sizes) == len(samples)
    assert streamed.seconds == pytest.approx(60)
    assert streamed.integrated_lufs == pytest.approx(ebur128(path), abs=0.2)
    assert streamed.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=0.01)
    assert streamed.momentary_max_lufs == pytest.approx(whole.momentary_max_lufs, abs=0.01)
    assert streamed.short_term_max_lufs == pytest.approx(whole.short_term_max_lufs, abs=0.01)
    assert streamed.snr_db == pytest.approx(20, abs=5) and streamed.peak_dbfs == whole.peak_dbfs


@needs_ffmpeg
@pytest.mark.skipif(not (ALSA_SOUNDS / "Front_Center.wav").exists(), reason="alsa-utils' sounds are not installed")
def test_alsa_utils_spoken_wav_streamed_agrees_with_ffmpeg():
    blocks, rate = read_file_blocks(parse_source(str(ALSA_SOUNDS / "Front_Center.wav")), block_s=0.25)
    assert measure_blocks(blocks, rate).integrated_lufs == pytest.approx(
        ebur128(ALSA_SOUNDS / "Front_Center.wav"), abs=0.2
    )


def test_a_file_that_is_not_sound_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not a sound file")
    with pytest.raises(AudioSourceError, match=str(path)):
        read_file_blocks(parse_source(str(path)))


def test_silence_streamed_is_digital_silence():
    metrics = measure_blocks([np.zeros(RATE * 3, np.float32)] * 4, RATE)
    assert metrics.digital_silence and metrics.integrated_lufs is None and metrics.snr_db is None
    assert metrics.seconds == pytest.approx(12)
