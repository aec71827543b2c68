"""`decode = "auto"` (the default) on real H.264 streams over UDP: keyframes only while they come often
enough (a 1 s GOP), every frame once they do not (a 5 s GOP) — switching by itself, with the frames
then coming at the sampling rate, not the keyframe rate (collectors/video/auto_decode.py)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from collectors.video.sampler import Sampler, frames
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


@needs_ffmpeg
def test_a_stream_that_goes_silent_is_a_loss_and_comes_back_on_keyframes(caplog):
    """A sender killed mid-stream is reported lost (ffmpeg's UDP input ends on silence), not taken
    for a long GOP; the stream's return is decoded on keyframes again, not by full decoding for the
    next 10 minutes (#15 item 5)."""
    port = free_port(socket.SOCK_DGRAM)
    got: list[float] = []
    losses: list[str] = []
    sampler = Sampler(
        parse_source(f"udp://127.0.0.1:{port}"),
        1.0,
        lambda at, _frame: got.append(at),
        losses.append,
        backoff_s=(0.5, 0.5),
        decode="auto",
    )
    stream = start_udp_stream(port, seconds=60, size="640x360", gop=25)
    with caplog.at_level(logging.INFO, logger="collectors.video.auto_decode"):
        sampler.start()
        try:
            assert _until(lambda: len(got) >= 3, 20), got
            stream.kill()
            stream.wait()
            assert _until(lambda: bool(losses), 20), "the silent stream was never reported lost"
            assert "ended" in losses[0], losses
            before = len(got)
            stream = start_udp_stream(port, seconds=60, size="640x360", gop=25)
            assert _until(lambda: len(got) >= before + 3, 30), (got, losses)
        finally:
            sampler.stop()
            stop_process(stream)
    assert sampler.auto.keyframes_from == 0.0, "the loss sent auto to full decoding"
    assert not [r for r in caplog.records if "decoding every frame" in r.getMessage()]


def _until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
