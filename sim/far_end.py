"""A simulated far end on loopback: what the venue's self-test probes before a conference.

- a UDP echo service whose packet loss the caller sets (to inject a lossy path),
- TCP listeners standing in for the MCU's SIP (5060) and H.323 (1720) signalling ports,
- an SNTP server whose clock can be set off by a chosen offset (to inject a wrong venue clock).

Plain sockets and threads; everything stops on `close()`.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)


def _ntp_timestamp(unix_time: float) -> bytes:
    seconds = unix_time + NTP_EPOCH_OFFSET
    whole = int(seconds)
    return struct.pack("!II", whole, int((seconds - whole) * 2**32))


class FarEnd:
    """UDP echo + signalling ports + SNTP on 127.0.0.1, each on a free port."""

    def __init__(self, loss: float = 0.0, tcp_ports: int = 2, clock_offset_s: float = 0.0, seed: int = 7):
        self.loss = loss
        self.clock_offset_s = clock_offset_s
        self._random = random.Random(seed)
        self._closing = threading.Event()
        self.echo = self._udp_socket()
        self.ntp = self._udp_socket()
        self.listeners = [self._tcp_listener() for _ in range(tcp_ports)]
        self.echo_port = self.echo.getsockname()[1]
        self.ntp_port = self.ntp.getsockname()[1]
        self.tcp_ports = [listener.getsockname()[1] for listener in self.listeners]
        self._threads = [
            threading.Thread(target=self._serve_echo, name="far-end echo", daemon=True),
            threading.Thread(target=self._serve_ntp, name="far-end ntp", daemon=True),
        ] + [
            threading.Thread(target=self._serve_tcp, args=(listener,), name="far-end tcp", daemon=True)
            for listener in self.listeners
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _udp_socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        return sock

    @staticmethod
    def _tcp_listener() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.settimeout(0.2)
        return sock

    def close_port(self, index: int) -> int:
        """Stop listening on one signalling port (as an MCU whose SIP service is down); returns it.

        shutdown() first: a listener closed while its thread waits in accept() stays open in the
        kernel until that wait ends, and would still take connections meanwhile."""
        listener = self.listeners[index]
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        self._threads[2 + index].join(timeout=2)
        return self.tcp_ports[index]

    def _serve_echo(self) -> None:
        while not self._closing.is_set():
            try:
                data, peer = self.echo.recvfrom(2048)
            except (TimeoutError, OSError):
                continue
            if self._random.random() >= self.loss:
                self.echo.sendto(data, peer)

    def _serve_ntp(self) -> None:
        while not self._closing.is_set():
            try:
                request, peer = self.ntp.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            if len(request) < 48:
                continue
            received = time.time() + self.clock_offset_s
            version = (request[0] >> 3) & 0x7
            header = struct.pack("!BBbb", (version << 3) | 4, 2, 6, -20)  # server mode, stratum 2
            reply = (
                header
                + struct.pack("!II", 0, 0)  # root delay, root dispersion
                + b"SIM\0"  # reference id
                + _ntp_timestamp(received - 16)  # reference time
                + request[40:48]  # originate = the client's transmit time
                + _ntp_timestamp(received)
                + _ntp_timestamp(time.time() + self.clock_offset_s)
            )
            self.ntp.sendto(reply, peer)

    def _serve_tcp(self, listener: socket.socket) -> None:
        while not self._closing.is_set():
            try:
                connection, _peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            connection.close()

    def close(self) -> None:
        self._closing.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in [self.echo, self.ntp, *self.listeners]:
            sock.close()

    def __enter__(self) -> FarEnd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
