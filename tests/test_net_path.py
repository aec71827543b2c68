"""Path probes against loopback peers the test controls: ICMP, a lossy UDP echo, open and closed ports."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest

from collectors.net.path import icmp_echo, tcp_port, udp_echo
from contract.findings import Verdict
from probes.net import NetThresholds, judge_path, judge_port
from sim.ports import free_port


class LossyUdpEcho:
    """A UDP echo on 127.0.0.1 that drops every `drop_every`-th datagram (0: none)."""

    def __init__(self, drop_every: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.drop_every = drop_every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        seen = 0
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            seen += 1
            if self.drop_every and seen % self.drop_every == 0:
                continue
            self.sock.sendto(data, peer)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_icmp_to_loopback():
    reading = icmp_echo("127.0.0.1", count=5, interval_s=0.02)
    if reading.error and "not permitted" in reading.error:
        pytest.skip(reading.error)
    assert reading.sent == 5 and reading.loss_pct == 0 and reading.latency_ms < 50
    assert judge_path(reading, NetThresholds()).verdict is Verdict.OK


@pytest.mark.parametrize(
    ("drop_every", "loss", "verdict"), [(0, 0.0, Verdict.OK), (10, 10.0, Verdict.FAIL), (50, 2.0, Verdict.WARN)]
)
def test_lossy_udp_echo_turns_the_path_verdict(drop_every, loss, verdict):
    echo = LossyUdpEcho(drop_every)
    try:
        reading = udp_echo("127.0.0.1", echo.port, count=100, interval_s=0.002, timeout_s=0.2)
    finally:
        echo.close()
    assert reading.loss_pct == pytest.approx(loss)
    finding = judge_path(reading, NetThresholds())
    assert finding.verdict is verdict and finding.article == "第十三条 / Art. 13"
    assert reading.jitter_ms is not None and reading.latency_ms < 50


def test_silent_far_end_is_a_failed_path():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        reading = udp_echo("127.0.0.1", silent.getsockname()[1], count=3, interval_s=0.01, timeout_s=0.1)
    finally:
        silent.close()
    finding = judge_path(reading, NetThresholds())
    assert finding.verdict is Verdict.FAIL and "all 3 probes lost" in finding.message.en


def test_conference_ports_open_and_closed():
    listener = socket.create_server(("127.0.0.1", 0))
    open_port = listener.getsockname()[1]
    try:
        opened = tcp_port("127.0.0.1", open_port, "SIP")
        closed = tcp_port("127.0.0.1", free_port(), "H.323")
    finally:
        listener.close()
    assert opened.open and judge_port("mcu", opened).verdict is Verdict.OK
    assert not closed.open and "refused" in closed.error.lower()
    finding = judge_port("mcu", closed)
    assert finding.verdict is Verdict.FAIL and "H.323" in finding.message.en


def test_probe_net_cli(tmp_path):
    echo = LossyUdpEcho(drop_every=10)
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "agent",
                "probe",
                "net",
                "127.0.0.1",
                "--udp-echo",
                str(echo.port),
                "--count",
                "50",
                "--interval",
                "0.01",
                "--ports",
                str(listener.getsockname()[1]),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        listener.close()
        echo.close()
    report = json.loads(result.stdout)
    assert result.returncode == 2 and report["loss_pct"] == pytest.approx(10.0)
    assert report["ports"][0]["open"] is True
    bad = subprocess.run(
        [sys.executable, "-m", "agent", "probe", "net", "127.0.0.1", "--ports", "5060,x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 3 and "numbers separated by commas" in bad.stderr


def test_tcp_handshake_times_measure_the_path_where_icmp_is_not_permitted():
    """The fallback path probe: SYN-ACK and RST are both replies; a closed port still measures."""
    from collectors.net.path import tcp_connect_echo
    from sim.far_end import FarEnd

    with FarEnd() as far:
        answered = tcp_connect_echo("127.0.0.1", far.tcp_ports[0], count=5, interval_s=0.01)
    refused = tcp_connect_echo("127.0.0.1", free_port(), count=5, interval_s=0.01)
    for reading in (answered, refused):
        assert reading.method == "tcp-connect" and reading.sent == 5 and len(reading.received) == 5
        assert judge_path(reading, NetThresholds()).verdict is Verdict.OK
