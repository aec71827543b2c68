"""One place that turns a `[broker]` table into a configured paho client (TLS, login, protocol),
for the venue agent and the hub alike."""

from __future__ import annotations

import logging
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract.broker import BrokerConfig


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
