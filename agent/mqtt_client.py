"""One place that turns a `[broker]` table into a configured paho client (TLS, login, protocol),
and the short connect-exchange-disconnect the CLI commands use."""

from __future__ import annotations

import logging
import ssl
import threading
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.config.models import BrokerConfig, Settings
from agent.config.secrets import resolve_password


def make_client(broker: BrokerConfig, client_id: str, password: str | None) -> mqtt.Client:
    """A paho client for `broker`; the password is handed to paho only, never logged."""
    v5 = broker.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else False,
    )
    client.enable_logger(logging.getLogger("paho"))
    if broker.username is not None:
        client.username_pw_set(broker.username, password)
    if broker.uses_tls:
        tls = broker.tls
        client.tls_set(
            ca_certs=str(tls.ca_file) if tls and tls.ca_file else None,
            certfile=str(tls.cert_file) if tls and tls.cert_file else None,
            keyfile=str(tls.key_file) if tls and tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        if tls and tls.insecure_skip_hostname_check:
            client.tls_insecure_set(True)
    return client


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
