"""A TCP proxy on loopback that can cut the line and restore it: a venue's uplink going down.

`sever("reset")` closes every connection at once and refuses new ones (the far end sees a reset);
`sever("blackhole")` keeps sockets open but forwards nothing, as a cut fibre does, so only
keepalives reveal it. `restore()` forwards again. Used by the demo, the fault tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Literal

from sim.ports import free_port


class CuttableProxy:
    def __init__(self, upstream_port: int, listen_port: int | None = None, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.port = listen_port or free_port()
        self.mode: Literal["open", "reset", "blackhole"] = "open"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, name="netcut-accept", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "reset":
                _abort(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                _abort(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), name="netcut-pump", daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.2):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if self.mode == "open":
                        key.data.sendall(data)
                    # blackhole: read and discard, as a dead link swallows packets
        except OSError:
            return
        finally:
            selector.close()
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))
            _abort(a)
            _abort(b)

    def sever(self, how: Literal["reset", "blackhole"] = "reset") -> None:
        self.mode = how
        if how == "reset":
            with self._lock:
                pairs, self._pairs = self._pairs, []
            for a, b in pairs:
                _abort(a)
                _abort(b)

    def restore(self) -> None:
        if self.mode == "blackhole":
            # A link that comes back after a long cut: the old TCP sessions are dead on both ends.
            self.sever("reset")
        self.mode = "open"

    def close(self) -> None:
        self._stop.set()
        self.sever("reset")
        self._listener.close()
        self._thread.join(timeout=2)


def _abort(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.close()
