"""The agent's uplink snapshot (issue #13 item 2): a small JPEG of the analysed frame, retained on the
venue's `snapshot` leaf, at every self-test and on `cmd/snapshot` — and none where the venue forbids
it. Real ffmpeg stream in, real mosquitto out, the picture decoded by OpenCV."""

from __future__ import annotations

import socket
import subprocess

import cv2
import numpy as np

from contract.snapshot import MAX_JPEG_BYTES, MAX_SIDE_PX, Snapshot
from sim.ports import free_port
from tests.schema_check import assert_valid
from tests.video_media import needs_ffmpeg, start_stream

BASE = "vc/jilin/changchun/nongan/main"
REPLIES = f"{BASE}/cmd/replies"


def _ask(hub, command: str, token: str, body: bytes = b"{}") -> dict:
    hub.publish(f"{BASE}/cmd/{command}", body, response_topic=f"{REPLIES}/{token}", correlation=token.encode())
    return hub.wait_for(lambda m: m.topic == f"{REPLIES}/{token}", timeout=60)[0].json()


def _video_agent(broker, hub, start_agent, snapshots: bool):
    port = free_port(socket.SOCK_DGRAM)
    stream = start_stream(port, seconds=90)
    extra = f'\n[video]\nsource = "udp://127.0.0.1:{port}"\nrate_hz = 2\nsnapshots = {str(snapshots).lower()}\n'
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)
    hub.wait_for(
        lambda m: m.topic == f"{BASE}/status" and m.json()["checks"].get("video.signal", {}).get("verdict") == "ok",
        timeout=60,
    )
    return agent, stream


def _snapshot_of(message) -> Snapshot:
    """The payload read through the contract's own model (which enforces the size bounds)."""
    return Snapshot.model_validate_json(message.payload)


@needs_ffmpeg
def test_snapshots_at_a_selftest_and_on_command(broker, hub, start_agent):
    agent, stream = _video_agent(broker, hub, start_agent, snapshots=True)
    try:
        reply = _ask(hub, "snapshot", "shot-1")
        assert reply["ok"] is True, reply
        assert reply["result"]["published"] == f"{BASE}/snapshot"
        message = hub.wait_for(lambda m: m.topic == f"{BASE}/snapshot", timeout=30)[-1]
        assert_valid("snapshot", message.json())
        snapshot = _snapshot_of(message)
        assert snapshot.trigger == "command" and snapshot.id == reply["result"]["id"]
        jpeg = snapshot.jpeg_bytes()
        assert len(jpeg) <= MAX_JPEG_BYTES
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert picture is not None and max(picture.shape[:2]) <= MAX_SIDE_PX
        assert (picture.shape[1], picture.shape[0]) == (snapshot.width, snapshot.height)
        assert picture.std() > 5, "a real picture, not a blank"
        assert {f.check for f in snapshot.findings} >= {"video.signal", "video.brightness"}

        report = _ask(hub, "selftest", "test-1")
        assert report["ok"] is True, report
        selftest_id = report["result"]["id"]
        message = hub.wait_for(
            lambda m: m.topic == f"{BASE}/snapshot" and m.json().get("selftest_id") == selftest_id, timeout=30
        )[-1]
        assert _snapshot_of(message).trigger == "selftest"

        retained = subprocess.run(
            ["mosquitto_sub", "-p", str(broker.port), "-t", f"{BASE}/snapshot", "-C", "1", "-W", "10"],
            capture_output=True,
            timeout=20,
        )
        assert Snapshot.model_validate_json(retained.stdout.strip()).selftest_id == selftest_id
        assert agent.stop() == 0
    finally:
        stream.kill()


@needs_ffmpeg
def test_no_snapshot_where_the_venue_forbids_it(broker, hub, start_agent):
    agent, stream = _video_agent(broker, hub, start_agent, snapshots=False)
    try:
        reply = _ask(hub, "snapshot", "shot-off")
        assert reply["ok"] is False and "snapshots = false" in reply["error"]["message"]["en"]
        assert _ask(hub, "selftest", "test-off")["ok"] is True
        assert agent.stop() == 0
        assert not [m for m in hub.messages if m.topic == f"{BASE}/snapshot"]
    finally:
        stream.kill()
