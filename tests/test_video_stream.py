"""Video through real decoding: an H.264 stream over UDP from ffmpeg, a frozen file, a lost stream."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys

import cv2

from collectors.video.sampler import frames
from collectors.video.source import parse_source
from contract.findings import Verdict
from probes.video import VideoJudge, VideoThresholds
from probes.video_metrics import measure
from sim.ports import free_port
from tests.video_media import needs_ffmpeg, photo, start_stream, still_video

BASE = "vc/jilin/changchun/nongan/main"


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "probe", "video", *args], capture_output=True, text=True, timeout=90
    )


@needs_ffmpeg
def test_probe_reads_a_live_udp_stream(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    stream = start_stream(port, seconds=8)
    try:
        result = probe(f"udp://127.0.0.1:{port}", "--seconds", "2", "--json", "--snapshot", str(tmp_path / "s.png"))
    finally:
        stream.kill()
        stream.wait()
    report = json.loads(result.stdout)
    assert result.returncode == 0, report["findings"]
    assert report["frames"] >= 3 and report["width"] == 1280 and report["kind"] == "url"
    assert set(report["metrics"]) >= {
        "luma_mean",
        "luma_p05",
        "luma_p95",
        "clipped_low_frac",
        "clipped_high_frac",
        "contrast_rms",
        "sharpness",
        "noise_sigma",
        "colourfulness",
        "saturation_mean",
        "black",
        "frozen",
    }
    assert report["metrics"]["frozen"] is False  # testsrc2 moves
    assert report["ms_per_frame"] > 0
    checks = {f["check"]: f for f in report["findings"]}
    assert checks["video.signal"]["verdict"] == "ok" and checks["video.colour"]["article"] == "第十七条 / Art. 17"
    snapshot = cv2.imread(str(tmp_path / "s.png"))
    assert snapshot is not None and snapshot.shape[1] >= 1280 and snapshot.shape[0] > 720  # picture + text panel


@needs_ffmpeg
def test_a_frozen_picture_is_detected(tmp_path):
    video = still_video(tmp_path / "still.mp4", photo("coffee"), seconds=4)
    judge = VideoJudge(VideoThresholds(window_s=math.inf, frozen_fail_s=1.5))
    previous = None
    for at, frame in frames(parse_source(str(video)), rate_hz=4):
        metrics, previous = measure(frame, previous)
        judge.add(at, metrics)
    signal = judge.findings(judge.samples[-1].at)[0]
    assert signal.check == "video.signal" and signal.verdict is Verdict.FAIL and signal.code == "video.signal.frozen"
    report = json.loads(probe(str(video), "--json").stdout)
    assert report["metrics"]["frozen"] is True


def test_missing_source_is_a_critical_signal_finding(tmp_path):
    result = probe(str(tmp_path / "nothing-here.mp4"), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 2 and report["frames"] == 0
    signal = report["findings"][0]
    assert (
        signal["check"] == "video.signal" and signal["verdict"] == "fail" and "no such file" in signal["message"]["en"]
    )
    bad = probe("x", "--rate", "0")
    assert bad.returncode == 3 and "must be positive" in bad.stderr


@needs_ffmpeg
def test_daemon_reports_a_lost_stream_and_its_return(broker, hub, start_agent):
    port = free_port(socket.SOCK_DGRAM)
    extra = f'\n[video]\nsource = "udp://127.0.0.1:{port}"\nrate_hz = 2\nframing_interval_s = 5\n'
    stream = start_stream(port, seconds=6)
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)
    try:

        def signal_event(verdict: str):
            return lambda m: (
                m.topic == f"{BASE}/events"
                and m.json().get("check") == "video.signal"
                and m.json()["verdict"] == verdict
            )

        status = hub.wait_for(
            lambda m: m.topic == f"{BASE}/status" and "video.colour" in m.json()["checks"], timeout=30
        )[-1].json()
        assert status["checks"]["video.signal"]["verdict"] == "ok"
        assert status["checks"]["video.brightness"]["verdict"] == "ok"  # testsrc2 is well exposed
        lost = hub.wait_for(signal_event("fail"), timeout=40)[0].json()  # the 6 s stream ends
        assert lost["code"] == "video.signal.lost" and lost["severity"] == "critical"
        stream.wait()
        stream = start_stream(port, seconds=30)
        back = hub.wait_for(lambda m: signal_event("ok")(m) and m.json()["previous"] == "fail", timeout=60)[0].json()
        assert back["code"] == "video.signal.ok"
        assert agent.stop() == 0
    finally:
        stream.kill()
        stream.wait()


@needs_ffmpeg
def test_keyframes_only_decoding_reads_the_stream(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    stream = start_stream(port, seconds=12)
    try:
        result = probe(f"udp://127.0.0.1:{port}", "--seconds", "3", "--decode", "keyframes", "--json")
    finally:
        stream.kill()
        stream.wait()
    report = json.loads(result.stdout)
    assert result.returncode == 0, report["findings"]
    assert report["frames"] >= 2 and report["width"] == 1280  # keyframes every second (GOP 25 at 25 fps)
    assert report["metrics"]["sharpness"] > 24
