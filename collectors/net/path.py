"""Latency, loss and jitter to a host, and whether its conference ports answer.

ICMP echo uses Linux's unprivileged ICMP datagram sockets (no root needed where
net.ipv4.ping_group_range allows the agent's group; always as root). Where that is refused, a UDP
echo service (if the far end has one) or TCP connect times give the path figures instead.
"""

from __future__ import annotations

import itertools
import os
import select
import socket
import statistics
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class PathReading:
    target: str
    method: str  # icmp, udp-echo or tcp-connect
    sent: int = 0
    rtts_ms: list[float | None] = field(default_factory=list)  # None = lost
    error: str | None = None

    @property
    def received(self) -> list[float]:
        return [rtt for rtt in self.rtts_ms if rtt is not None]

    @property
    def loss_pct(self) -> float | None:
        return None if not self.sent else 100.0 * (self.sent - len(self.received)) / self.sent

    @property
    def latency_ms(self) -> float | None:
        return statistics.median(self.received) if self.received else None

    @property
    def jitter_ms(self) -> float | None:
        """Mean absolute difference of consecutive round-trip times (RFC 3550's idea, on RTTs)."""
        got = self.received
        if len(got) < 2:
            return None
        return statistics.fmean(abs(b - a) for a, b in itertools.pairwise(got))


@dataclass(frozen=True)
class PortReading:
    port: int
    name: str
    open: bool
    connect_ms: float | None
    error: str | None


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_echo(host: str, count: int = 10, interval_s: float = 0.2, timeout_s: float = 1.0) -> PathReading:
    reading = PathReading(host, "icmp")
    try:
        address = socket.gethostbyname(host)
    except OSError as exc:
        reading.error = f"cannot resolve {host}: {exc.strerror or exc}"
        return reading
    raw = False
    try:  # unprivileged ICMP (Linux ping sockets), where net.ipv4.ping_group_range allows it
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except PermissionError:
        try:  # a raw socket, where the agent has CAP_NET_RAW (root)
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            raw = True
        except PermissionError as exc:
            reading.error = f"ICMP echo not permitted: {exc.strerror or exc}"
            return reading
    identifier = os.getpid() & 0xFFFF

    def packet(sequence: int) -> bytes:
        payload = b"venue-agent path probe"
        header = struct.pack("!BBHHH", 8, 0, 0, identifier, sequence)
        return struct.pack("!BBHHH", 8, 0, _checksum(header + payload), identifier, sequence) + payload

    def sequence_of(data: bytes) -> int | None:
        if raw:  # a raw socket hands over the IP header too, and every ICMP message of the host
            data = data[(data[0] & 0x0F) * 4 :]
            if len(data) < 8 or struct.unpack("!H", data[4:6])[0] != identifier:
                return None
        if len(data) >= 8 and data[0] == 0:  # echo reply (the kernel rewrites a ping socket's id)
            return struct.unpack("!H", data[6:8])[0]
        return None

    with sock:
        _probe(sock, reading, count, interval_s, timeout_s, packet, sequence_of, (address, 0))
    return reading


def _probe(
    sock: socket.socket,
    reading: PathReading,
    count: int,
    interval_s: float,
    timeout_s: float,
    packet: Callable[[int], bytes],
    sequence_of: Callable[[bytes], int | None],
    address: tuple[str, int] | None = None,
) -> None:
    """Send `count` probes on a fixed schedule, as ping does, collecting replies in between.

    Sending never waits for a reply, so a lossy path takes no longer to measure than a clean one:
    count × interval + timeout at most. A reply later than `timeout_s` counts as lost.
    """
    sent_at: dict[int, float] = {}
    rtts: dict[int, float] = {}
    next_send = time.perf_counter()
    sequence = 0
    while True:
        now = time.perf_counter()
        if sequence < count and now >= next_send:
            try:
                sock.sendto(packet(sequence), address) if address else sock.send(packet(sequence))
            except OSError as exc:
                reading.error = f"{reading.method}: {exc.strerror or exc}"
                break
            sent_at[sequence] = now
            sequence += 1
            next_send += interval_s
            continue
        last_wait = max(sent_at.values(), default=now) + timeout_s
        wake = next_send if sequence < count else last_wait
        if sequence >= count and (now >= last_wait or len(rtts) == len(sent_at)):
            break
        ready, _, _ = select.select([sock], [], [], max(0.0, wake - now))
        if not ready:
            continue
        try:
            data = sock.recv(2048)
        except OSError:
            continue
        arrived = time.perf_counter()
        got = sequence_of(data)
        if got in sent_at and got not in rtts and arrived - sent_at[got] <= timeout_s:
            rtts[got] = (arrived - sent_at[got]) * 1000
    reading.sent = len(sent_at)
    reading.rtts_ms = [rtts.get(number) for number in range(reading.sent)]


def udp_echo(host: str, port: int, count: int = 10, interval_s: float = 0.2, timeout_s: float = 1.0) -> PathReading:
    """Sequence-numbered datagrams to a UDP echo service (RFC 862 or the far end's own)."""
    reading = PathReading(f"{host}:{port}", "udp-echo")
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host, port))
    except OSError as exc:
        reading.error = f"UDP echo: {exc.strerror or exc}"
        return reading

    def sequence_of(data: bytes) -> int | None:
        return struct.unpack("!I", data[:4])[0] if len(data) >= 4 else None

    with sock:
        _probe(
            sock, reading, count, interval_s, timeout_s, lambda n: struct.pack("!I", n) + b"venue-agent", sequence_of
        )
    return reading


def tcp_connect_echo(
    host: str, port: int, count: int = 10, interval_s: float = 0.2, timeout_s: float = 1.0
) -> PathReading:
    """Round trips from TCP handshakes, where ICMP is not permitted and no UDP echo exists.

    A SYN answered by SYN-ACK or by RST is a reply either way (the path carried it both ways), so a
    closed port still measures the path; only silence counts as loss.
    """
    reading = PathReading(f"{host}:{port}", "tcp-connect")
    for _ in range(count):
        started = time.perf_counter()
        reading.sent += 1
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                reading.rtts_ms.append((time.perf_counter() - started) * 1000)
        except ConnectionRefusedError:
            reading.rtts_ms.append((time.perf_counter() - started) * 1000)
        except TimeoutError:
            reading.rtts_ms.append(None)
        except OSError as exc:
            reading.error = f"TCP connect to {host}:{port}: {exc.strerror or exc}"
            reading.rtts_ms.append(None)
            break
        time.sleep(max(0.0, interval_s - (time.perf_counter() - started)))
    return reading


def tcp_port(host: str, port: int, name: str, timeout_s: float = 2.0) -> PortReading:
    """Whether a TCP connection to host:port completes (SIP 5060, H.323 1720, …), and how fast."""
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return PortReading(port, name, True, (time.perf_counter() - started) * 1000, None)
    except TimeoutError:
        return PortReading(port, name, False, None, f"no answer within {timeout_s:g} s (filtered?)")
    except OSError as exc:
        return PortReading(port, name, False, None, exc.strerror or str(exc))
