"""The daemon listens to its configured input: verdicts into status, one event per change."""

from __future__ import annotations

import numpy as np

from tests.audio_media import needs_espeak, room, with_hum, write
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
