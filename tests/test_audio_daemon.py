"""The daemon listens to its configured input: verdicts into status, one event per change."""

from __future__ import annotations

import ctypes.util

import numpy as np
import pytest

from tests.audio_media import RATE, needs_espeak, room, with_hum, write
from tests.peers.alsa_fifo_input import FifoInput
from tests.schema_check import assert_valid

BASE = "vc/jilin/changchun/nongan/main"
pytestmark = needs_espeak


def test_daemon_judges_the_audio_window_and_reports_hum(broker, hub, start_agent, tmp_path):
    path = write(tmp_path / "uplink.wav", np.concatenate([room(), with_hum(room(), -40)]))
    extra = f'\n[audio]\nsource = "{path}"\nwindow_s = 10\ninterval_s = 1\n'
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)
    status = hub.wait_for(lambda m: m.topic == f"{BASE}/status" and "audio.level" in m.json()["checks"], timeout=30)[
        -1
    ].json()
    assert_valid("status", status)
    assert status["checks"]["audio.signal"]["verdict"] == "ok"
    assert status["checks"]["audio.level"]["article"] == "第十七条 / Art. 17"
    hum = hub.wait_for(
        lambda m: (
            m.topic == f"{BASE}/events"
            and m.json().get("check") == "audio.noise"
            and m.json()["code"] == "audio.noise.hum"
        ),
        timeout=40,
    )[0].json()
    assert hum["verdict"] in ("warn", "fail") and "50 Hz" in hum["message"]["en"]
    assert agent.stop() == 0


def test_daemon_reports_a_missing_input_and_keeps_running(broker, hub, start_agent, tmp_path):
    extra = '\n[audio]\nsource = "device:no-such-input"\n'
    agent = start_agent(broker.url, flap_interval_s=3600, extra=extra, env={"HOME": str(tmp_path)})
    lost = hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json().get("check") == "audio.signal", timeout=30)[
        0
    ].json()
    assert lost["verdict"] == "fail" and "no-such-input" in lost["message"]["en"]
    assert agent.alive
    assert agent.stop() == 0


@pytest.mark.skipif(ctypes.util.find_library("portaudio") is None, reason="libportaudio2 is not installed")
@pytest.mark.timeout(120)
def test_silence_and_hum_are_raised_by_the_onset_check_before_any_window(broker, hub, start_agent, tmp_path):
    """A live input through real PortAudio, played in real time: speech, then hum, then speech,
    then digital silence. The window is judged once a minute (`interval_s = 60`), so every event
    that arrives while the status still has no `audio.level` (only a window gives one) was raised
    by the onset check — hum and silence within a few of its ticks, not at a window."""
    speech = room()
    # Hum long enough for the onset's newest 4 s and a few ticks; speech around it: 14 s in all.
    signal = np.concatenate([speech[: 5 * RATE], with_hum(speech[: 6 * RATE], -45), speech[: 3 * RATE]])
    feed = FifoInput(tmp_path / "mic", signal)
    feed.start()
    try:
        extra = '\n[audio]\nsource = "device:uplink"\nwindow_s = 10\ninterval_s = 60\n'
        agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra, env=feed.env)

        def audio_event(code: str):
            return lambda m: m.topic == f"{BASE}/events" and m.json().get("code") == code

        hum = hub.wait_for(audio_event("audio.noise.hum"), timeout=60)[0].json()
        assert hum["verdict"] in ("warn", "fail") and "50 Hz" in hum["message"]["en"]
        silent = hub.wait_for(audio_event("audio.signal.silent"), timeout=60)[0].json()
        assert silent["verdict"] == "fail" and silent["check"] == "audio.signal"
        assert "数字静音" in silent["message"]["zh"] and "digital silence" in silent["message"]["en"]
        assert feed.played_s >= len(signal) / RATE  # the silence had begun: not a start-up artefact
        seen = len(hub.messages)
        status = hub.wait_for(lambda m: m.topic == f"{BASE}/status" and hub.messages.index(m) >= seen, timeout=30)[
            0
        ].json()
        assert_valid("status", status)
        assert "audio.level" not in status["checks"]  # no window judged yet: both came from the onset
        assert status["checks"]["audio.signal"]["code"] == "audio.signal.silent"
        assert status["checks"]["audio.noise"]["code"] == "audio.noise.hum"
        assert status["checks"]["audio.signal"]["article"] == "第十七条 / Art. 17"
        assert agent.stop() == 0
    finally:
        feed.close()
