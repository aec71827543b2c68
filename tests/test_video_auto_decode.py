"""`decode = "auto"` (the default) on real H.264 streams over UDP: keyframes only while they come often
enough (a 1 s GOP), every frame once they do not (a 5 s GOP) — switching by itself, with the frames
then coming at the sampling rate, not the keyframe rate (collectors/video/auto_decode.py)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from collectors.video.sampler import frames
from collectors.video.source import parse_source
from sim.ports import free_port
from sim.stream import start_udp_stream, stop_process
from tests.video_media import needs_ffmpeg

LISTEN_S = 12.0


def sampled(spec: str) -> list[float]:
    """The times of the frames `auto` hands over at 1 frame/s within LISTEN_S."""
    stop = threading.Event()
    timer = threading.Timer(LISTEN_S, stop.set)
    timer.start()
    try:
        return [at for at, _frame in frames(parse_source(spec), 1.0, stop, decode="auto")]
    finally:
        timer.cancel()


@needs_ffmpeg
@pytest.mark.parametrize(("gop", "switches"), [(25, False), (125, True)], ids=["1 s GOP", "5 s GOP"])
def test_auto_keeps_keyframes_while_they_suffice_and_decodes_every_frame_when_not(caplog, gop, switches):
    port = free_port(socket.SOCK_DGRAM)
    stream = start_udp_stream(port, seconds=LISTEN_S + 10, size="640x360", gop=gop)
    try:
        time.sleep(0.5)  # ffmpeg up
        with caplog.at_level(logging.INFO, logger="collectors.video.auto_decode"):
            times = sampled(f"udp://127.0.0.1:{port}")
    finally:
        stop_process(stream)
    switched = any(
        "decoding every frame" in r.getMessage() or "trying every frame" in r.getMessage() for r in caplog.records
    )
    assert switched is switches, [r.getMessage() for r in caplog.records]
    assert len(times) >= 5, times  # frames kept coming either way
    spacing = [later - earlier for earlier, later in zip(times[-4:], times[-3:], strict=False)]
    assert max(spacing) < 2.5, times  # about 1 frame/s, not one per 5 s keyframe
