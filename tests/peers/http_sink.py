"""A real HTTP server on 127.0.0.1 that plays a webhook receiver or a WeCom / DingTalk group robot.

It answers each POST from a script (e.g. 500, 500, then 200 with `{"errcode": 0}`), records every
request it got (path, query, headers, body), and lets a test wait for a number of them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROBOT_OK = (200, b'{"errcode":0,"errmsg":"ok"}')


@dataclass
class Posted:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int  # what the server answered

    def json(self) -> Any:
        return json.loads(self.body)


class HttpSink:
    """`answers` is consumed one per request; when it runs out, `then` answers every further request."""

    def __init__(self, answers: list[tuple[int, bytes]] | None = None, then: tuple[int, bytes] = ROBOT_OK):
        self.answers = list(answers or [])
        self.then = then
        self.requests: list[Posted] = []
        self._cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with sink._cond:
                    status, answer = sink.answers.pop(0) if sink.answers else sink.then
                    parts = urlsplit(self.path)
                    sink.requests.append(
                        Posted(parts.path, parse_qs(parts.query), dict(self.headers.items()), body, status)
                    )
                    sink._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="http-sink", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(
        self, count: int, predicate: Callable[[Posted], bool] = lambda p: True, timeout: float = 30.0
    ) -> list[Posted]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [p for p in self.requests if predicate(p)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {count} request(s); got {len(found)}")
                self._cond.wait(remaining)

    def __enter__(self) -> HttpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses every connection for as long as the block runs: bound, never
    listening, held (so no other process can take it meanwhile, as with a port merely closed)."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()
