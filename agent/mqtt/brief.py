"""The short connect-exchange-disconnect the CLI commands use (the client itself: contract/mqtt_client.py)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt

from agent.config.models import Settings
from agent.config.secrets import resolve_password
from contract.mqtt_client import make_client


class BriefConnection:
    """Connect, do one exchange, disconnect — for CLI commands that talk to the broker once
    (`status`, `selftest --via-broker`). Set `on_ready` (subscribe, publish) and `on_message`,
    call `done.set()` when finished, then `run(timeout)`."""

    def __init__(self, settings: Settings, purpose: str):
        self.broker = settings.broker
        self.done = threading.Event()
        self.connected = threading.Event()
        self.failure: str | None = None
        self.on_ready: Callable[[mqtt.Client], None] = lambda client: None
        self.client = make_client(
            self.broker, f"venue-agent-{purpose}-{uuid.uuid4().hex[:8]}", resolve_password(self.broker)
        )
        self.client.on_connect = self._on_connect

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self.failure = f"broker refused the connection: {reason}"
            self.done.set()
            return
        self.connected.set()
        self.on_ready(client)

    def run(self, timeout_s: float, keepalive_s: int = 30) -> None:
        """Until `done` or `timeout_s`; ConnectionError when the broker is unreachable or refuses."""
        try:
            self.client.connect(self.broker.host, self.broker.port, keepalive=keepalive_s)
        except OSError as exc:
            raise ConnectionError(f"cannot reach {self.broker.url}: {exc.strerror or exc}") from None
        self.client.loop_start()
        try:
            self.done.wait(timeout_s)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
        if self.failure:
            raise ConnectionError(self.failure)
        if not self.connected.is_set():
            raise ConnectionError(f"no answer from {self.broker.url} within {timeout_s:g} s")
