"""The live path through real PortAudio: sounddevice opens an ALSA `file` PCM defined by the test."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.audio_media import needs_espeak, room, with_hum
from tests.peers.alsa_file_input import alsa_home

needs_portaudio = pytest.mark.skipif(
    ctypes.util.find_library("portaudio") is None, reason="libportaudio2 is not installed"
)
pytestmark = [needs_espeak, needs_portaudio]


def probe_device(env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "agent", "probe", "audio", "device:uplink", "--json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    return {"code": result.returncode, **json.loads(result.stdout)}


def test_live_input_through_portaudio_judges_the_uplink(tmp_path):
    clean = probe_device(alsa_home(tmp_path / "clean", np.tile(room(), 6)), "--seconds", "10")
    assert clean["seconds"] == pytest.approx(10.0) and clean["overflows"] == 0
    verdicts = {f["check"]: f["verdict"] for f in clean["findings"]}
    assert verdicts == {"audio.signal": "ok", "audio.level": "ok", "audio.clarity": "ok", "audio.noise": "ok"}
    assert -30 < clean["metrics"]["integrated_lufs"] < -20

    hum = probe_device(alsa_home(tmp_path / "hum", np.tile(with_hum(room(), -45), 6)), "--seconds", "10")
    assert hum["metrics"]["hum_hz"] == 50
    assert {f["check"]: f["verdict"] for f in hum["findings"]}["audio.noise"] != "ok" and hum["code"] >= 1

    silent = probe_device(alsa_home(tmp_path / "silent", np.zeros(48000 * 20)), "--seconds", "3")
    assert silent["code"] == 2 and silent["findings"][0]["check"] == "audio.signal"


def test_a_missing_device_is_a_clear_critical_finding(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "agent", "probe", "audio", "device:no-such-input", "--json", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    report = json.loads(result.stdout)
    assert result.returncode == 2
    assert report["findings"][0]["verdict"] == "fail" and "no-such-input" in report["findings"][0]["message"]["en"]
