"""The `[broker]` table both programs read: where the MQTT broker is and how to log in (TLS, password).

The venue agent and the hub (`venue-hub`) reach the same broker the same way, so the model lives
here, beside the contract, and neither program imports the other's configuration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SEGMENT_PATTERN = r"^(?:_|[a-z0-9][a-z0-9_-]{0,63})$"
PREFECTURE_LEVEL = "_"
Segment = Annotated[str, Field(pattern=SEGMENT_PATTERN)]

PACKET_HEADROOM_BYTES = 64 * 1024
"""Room above a payload limit for the rest of an MQTT packet: fixed header, topic, properties (response
topic, correlation data, user properties). The tree's own topics are well under 1 KiB, so a program
announcing `max_packet_size(limit)` as its MQTT 5 Maximum Packet Size still receives every message up
to its payload limit, and ones somewhat over it, which it refuses itself in its own words (the agent's
`cmd.too_large` reply, the hub's `too_large` count), while the broker drops anything larger unsent."""


def max_packet_size(payload_limit: int) -> int:
    """The Maximum Packet Size (MQTT 5 CONNECT property, mosquitto's `max_packet_size`) for a payload limit."""
    return payload_limit + PACKET_HEADROOM_BYTES


class Strict(BaseModel):
    """Base of every config table: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class TlsConfig(Strict):
    """TLS for `mqtts://`; a client certificate and username/password may be combined."""

    ca_file: Path | None = Field(default=None, description="CA bundle; system CAs when absent.")
    cert_file: Path | None = Field(default=None, description="Client certificate (PEM), if the hub asks for one.")
    key_file: Path | None = Field(default=None, description="Its private key (PEM); give both or neither.")
    insecure_skip_hostname_check: bool = Field(
        default=False, description="Accept a broker certificate whose name does not match (testing only)."
    )

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        return self


class BrokerConfig(Strict):
    """The MQTT broker of the hub and how to log in to it."""

    url: str = Field(description="mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS).")
    protocol: Literal["5", "3.1.1"] = Field(default="5", description="MQTT protocol version.")
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="A dead link is noticed after 1.5× this.")
    topic_prefix: Segment = Field(default="vc", description="First topic level (see docs/mqtt.md).")
    client_id: str | None = Field(
        default=None, max_length=128, description="Default: venue-agent-<province>-<prefecture>-<county>-<id>."
    )
    username: str | None = Field(default=None, description="Broker login name.")
    password: SecretStr | None = Field(default=None, description="Prefer one of the sources below.")
    password_env: str | None = Field(default=None, description="Name of an environment variable.")
    password_file: Path | None = Field(default=None, description="File holding the password (one line).")
    password_credential: str | None = Field(
        default=None, description="systemd credential name (LoadCredential=), read from $CREDENTIALS_DIRECTORY."
    )
    tls: TlsConfig | None = None
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60, description="First reconnect delay; doubles.")
    reconnect_max_s: float = Field(default=30.0, gt=0, le=600, description="Longest reconnect delay.")

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"scheme must be mqtt:// or mqtts://, got {parts.scheme or 'none'!r}")
        if not parts.hostname:
            raise ValueError("no host in the URL")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError(f"bad port: {exc}") from None
        if parts.path not in ("", "/"):
            raise ValueError("the URL must not have a path")
        return value

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @model_validator(mode="after")
    def _one_password_source(self) -> BrokerConfig:
        sources = [
            name
            for name in ("password", "password_env", "password_file", "password_credential")
            if getattr(self, name) is not None
        ]
        if len(sources) > 1:
            raise ValueError(f"give at most one password source, not {', '.join(sources)}")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def uses_tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"
