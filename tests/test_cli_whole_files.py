"""Whole files by default (#15 item 3): `probe audio FILE` and `probe video FILE` analyse all of a
file unless `--seconds`/`--frames` limit them, and the JSON says how much was analysed.

The loudness of a whole real-speech recording (espeak-ng, sim/speech.py) is what ffmpeg's ebur128
measures of it, within 0.2 LU: ffmpeg is run here on the same file. The recording is quieter in
its first 10 s than after, so reading only the old default of 10 s would miss by far more.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from sim.speech import RATE, room, speech, write
from tests.audio_media import needs_espeak
from tests.video_media import photo, still_video


def venue_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VENUE_AGENT_LANG": "en", "COLUMNS": "200"},
    )


def ebur128_integrated(path) -> float:
    """ffmpeg's integrated loudness of the whole file (its summary, not a running value)."""
    result = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-filter_complex", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary = result.stderr.split("Summary:")[-1]
    return float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1])


@needs_espeak
@pytest.mark.timeout(300)
def test_probe_audio_measures_the_whole_file_as_ffmpeg_ebur128(tmp_path):
    quiet, loud = room(speech(10.0)) * 10 ** (-10 / 20), room(speech(35.0))
    path = write(tmp_path / "recording.wav", np.concatenate((quiet, loud)))
    whole = venue_agent("probe", "audio", str(path), "--json")
    document = json.loads(whole.stdout)
    assert whole.returncode in (0, 1, 2), whole.stderr
    assert document["whole_file"] is True and abs(document["analysed_s"] - 45.0) < 0.01
    reference = ebur128_integrated(path)
    assert abs(document["metrics"]["integrated_lufs"] - reference) <= 0.2, (document["metrics"], reference)
    first = json.loads(venue_agent("probe", "audio", str(path), "--seconds", "10", "--json").stdout)
    assert first["whole_file"] is False and abs(first["analysed_s"] - 10.0) < 0.01
    assert abs(first["metrics"]["integrated_lufs"] - reference) > 2  # what the old default measured
    table = venue_agent("probe", "audio", str(path))
    assert "whole file" in table.stdout  # the metrics title says how much was analysed


@pytest.mark.timeout(300)
def test_probe_video_analyses_a_file_longer_than_the_old_default_whole(tmp_path):
    path = still_video(tmp_path / "long.mp4", photo("astronaut"), 16)
    document = json.loads(venue_agent("probe", "video", str(path), "--json").stdout)
    assert document["whole_file"] is True and 15.5 <= document["analysed_s"] <= 16.5, document["analysed_s"]
    assert 30 <= document["frames"] <= 33  # 2 frames a second of 16 s (the old default stopped at 10 s)
    limited = json.loads(venue_agent("probe", "video", str(path), "--frames", "5", "--json").stdout)
    assert limited["whole_file"] is False and limited["frames"] == 5
    seconds = json.loads(venue_agent("probe", "video", str(path), "--seconds", "4", "--json").stdout)
    assert seconds["whole_file"] is False and 4.0 <= seconds["analysed_s"] <= 5.0 and seconds["frames"] <= 10


def test_a_long_file_is_read_in_bounded_blocks(tmp_path):
    """An hour is not read into memory at once: the blocks the measurement sees are at most 10 s."""
    from collectors.audio.source import parse_source, read_file_blocks

    path = write(tmp_path / "long.wav", np.tile(room(speech(10.0)), 6))
    blocks, rate = read_file_blocks(parse_source(str(path)))
    sizes = [len(block) for block in blocks]
    assert rate == RATE and max(sizes) <= 10 * RATE and sum(sizes) == 60 * RATE
