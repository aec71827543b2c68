"""The daemon's own manners (#17 item 6), against a real broker with real media files:

- a video *file* as the source is analysed at its `rate_hz`, like a capture card (it was read as fast
  as it decoded: 6–12 frames a second at more than a core);
- a SIGHUP with an unchanged config keeps standing findings standing: no finding event is raised
  again (a hum alert fired anew on every reload, `previous: null`);
- a reload that drops a source drops its checks from the status at once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from sim.speech import room, write
from tests.peers.hub import Received

BASE = "vc/jilin/changchun/nongan/main"
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def _black_video(path: Path, seconds: int = 6) -> Path:
    """A dark 25 fps H.264 file: `video.brightness` fails and stays failed (a standing problem)."""
    source = ["-f", "lavfi", "-i", f"color=c=0x050505:size=640x360:rate=25:duration={seconds}"]
    encode = ["-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *source, *encode], check=True)
    return path


def _media(tmp_path: Path) -> str:
    video = _black_video(tmp_path / "dark.mp4")
    silence = tmp_path / "silence.wav"
    write(silence, room() * 0.0)
    return (
        f'\n[video]\nsource = "{video}"\nrate_hz = 1\nframing_interval_s = 5\n'
        f'\n[audio]\nsource = "{silence}"\nwindow_s = 3\ninterval_s = 1\n'
    )


def _finding_events(messages: list[Received]) -> list[dict]:
    return [m.json() for m in messages if m.topic == f"{BASE}/events" and m.json().get("check")]


def _is_status(m: Received) -> bool:
    return m.topic == f"{BASE}/status"


def _wait_for_more_status(hub, more: int, timeout: float) -> None:
    """Wait for `more` status publications beyond those already seen."""
    seen = sum(1 for m in list(hub.messages) if _is_status(m))
    hub.wait_for(_is_status, count=seen + more, timeout=timeout)


def _status_with(check: str):
    return lambda m: m.topic == f"{BASE}/status" and check in m.json()["checks"]


@needs_ffmpeg
def test_a_file_source_is_analysed_at_its_rate(broker, hub, start_agent, tmp_path):
    agent = start_agent(broker.url, flap_interval_s=3600, metrics_interval_s=2, extra=_media(tmp_path))
    try:

        def counted(m: Received) -> bool:
            return m.topic == f"{BASE}/metrics" and m.json()["values"].get("video.frames_analysed") is not None

        samples = hub.wait_for(counted, timeout=60, count=8)
        first, last = samples[2].json(), samples[-1].json()  # past the source's opening
        frames = last["values"]["video.frames_analysed"] - first["values"]["video.frames_analysed"]
        seconds = (datetime.fromisoformat(last["ts"]) - datetime.fromisoformat(first["ts"])).total_seconds()
        rate = frames / seconds
        assert 0.8 <= rate <= 1.2, f"{frames} frames in {seconds:.1f} s = {rate:.2f}/s; rate_hz = 1"
    finally:
        assert agent.stop() == 0


@needs_ffmpeg
def test_a_reload_keeps_standing_findings_standing(broker, hub, start_agent, tmp_path):
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=_media(tmp_path))
    try:
        hub.wait_for(_status_with("video.brightness"), timeout=60)
        hub.wait_for(_status_with("audio.signal"), timeout=60)
        # The onset check calls the silence within a second or two; the window's checks (level,
        # clarity, noise) stand only once its first window is judged: wait for them too, or a
        # reload would look like it raised them again when they are merely new.
        hub.wait_for(_status_with("audio.clarity"), timeout=60)
        raised = {event["check"] for event in _finding_events(hub.messages)}
        assert {"video.brightness", "audio.signal"} <= raised

        agent.signal(signal.SIGHUP)  # the same file
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "config.reloaded")
        reloaded = len(hub.messages)
        # Long enough for every monitor to report again: the audio window (3 s + 1 s), the video
        # framing round (5 s), several status publications (1 s).
        _wait_for_more_status(hub, 12, timeout=40)
        after = hub.messages[reloaded:]
        again = [(e["check"], e["verdict"], e.get("previous")) for e in _finding_events(after)]
        assert again == [], f"a reload of the same config raised finding events again: {again}"
        status = [m for m in after if m.topic == f"{BASE}/status"][-1].json()
        assert status["checks"]["video.brightness"]["verdict"] == "fail"
        assert status["checks"]["audio.signal"]["verdict"] == "fail"

        # Drop the audio source: its checks leave the status with the reload, not minutes later.
        text = agent.config.read_text(encoding="utf-8")
        agent.config.write_text(text[: text.index("\n[audio]")], encoding="utf-8")
        agent.signal(signal.SIGHUP)
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "config.reloaded", count=2)
        dropped = len(hub.messages)
        _wait_for_more_status(hub, 3, timeout=20)
        latest = [m for m in hub.messages[dropped:] if m.topic == f"{BASE}/status"][-1].json()
        assert not [check for check in latest["checks"] if check.startswith("audio.")]
        assert latest["checks"]["video.brightness"]["verdict"] == "fail"
    finally:
        assert agent.stop() == 0
