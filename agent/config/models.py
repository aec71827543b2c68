"""Typed configuration of one venue agent (one TOML file; see docs/config.md).

Every table forbids unknown keys, so a typo fails loudly instead of silently taking a default.
Key names are part of the public contract: scripts and the hub's provisioning depend on them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# A topic segment: lower-case pinyin or ASCII id; `_` alone marks a prefecture's own venue.
SEGMENT_PATTERN = r"^(?:_|[a-z0-9][a-z0-9_-]{0,63})$"
PREFECTURE_LEVEL = "_"
Segment = Annotated[str, Field(pattern=SEGMENT_PATTERN)]


class Strict(BaseModel):
    """Base of every config table: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class VenueConfig(Strict):
    """Where this venue sits in the administrative tree; it becomes the MQTT topic path."""

    province: Segment
    prefecture: Segment
    county: Segment = Field(description="County id, or `_` for the prefecture's own venue (see docs/mqtt.md).")
    id: Segment
    name: str = Field(min_length=1, description="Display name, e.g. 农安县政府视频会议室.")

    @field_validator("province", "prefecture", "id")
    @classmethod
    def _not_level_marker(cls, value: str) -> str:
        if value == PREFECTURE_LEVEL:
            raise ValueError("`_` is only allowed for `county` (a prefecture's own venue)")
        return value

    @property
    def level(self) -> Literal["prefecture", "county"]:
        return "prefecture" if self.county == PREFECTURE_LEVEL else "county"


PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,30}$"

# What a pattern means, for error messages people can act on.
PATTERN_HINTS = {
    SEGMENT_PATTERN: "must be lower-case ASCII letters, digits, '-' or '_' (pinyin ids), at most 64",
    PHONE_PATTERN: "must be a phone number: digits, spaces and '-', optionally a leading '+'",
}


class Contact(Strict):
    """A person filed with the province under Art. 7."""

    name: str = Field(min_length=1)
    phone: str = Field(pattern=PHONE_PATTERN)


class ContactsConfig(Strict):
    """Art. 7 roles; alerts name who is responsible."""

    meeting_head: Contact | None = None
    liaison: Contact | None = None
    technical_head: Contact | None = None
    technicians: list[Contact] = Field(default_factory=list)


class TlsConfig(Strict):
    """TLS for `mqtts://`; a client certificate and username/password may be combined."""

    ca_file: Path | None = Field(default=None, description="CA bundle; system CAs when absent.")
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure_skip_hostname_check: bool = False

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        return self


class BrokerConfig(Strict):
    """The MQTT broker of the hub and how to log in to it."""

    url: str = Field(description="mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS).")
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    topic_prefix: Segment = "vc"
    client_id: str | None = Field(default=None, max_length=128)
    username: str | None = None
    password: SecretStr | None = Field(default=None, description="Prefer one of the sources below.")
    password_env: str | None = Field(default=None, description="Name of an environment variable.")
    password_file: Path | None = None
    password_credential: str | None = Field(
        default=None, description="systemd credential name (LoadCredential=), read from $CREDENTIALS_DIRECTORY."
    )
    tls: TlsConfig | None = None
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60)
    reconnect_max_s: float = Field(default=30.0, gt=0, le=600)

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


class AgentConfig(Strict):
    """The daemon itself: where it keeps state, how often it publishes, how it bounds its outbox."""

    state_dir: Path
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    status_interval_s: float = Field(default=30.0, ge=1, le=3600)
    metrics_interval_s: float = Field(default=60.0, ge=1, le=3600)
    outbox_max_messages: int = Field(default=100_000, ge=100, le=10_000_000)
    outbox_sync: Literal["normal", "full"] = Field(
        default="normal", description="SQLite synchronous mode: normal survives crashes, full also power loss."
    )
    shutdown_flush_s: float = Field(default=5.0, ge=0, le=120)


class HostConfig(Strict):
    """The venue PC itself: free space for the outbox (Art. 13, keep faults out)."""

    enabled: bool = True
    interval_s: float = Field(default=30.0, ge=1, le=3600)
    disk_warn_free_mb: float = Field(default=1024, ge=0)
    disk_fail_free_mb: float = Field(default=200, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> HostConfig:
        if self.disk_fail_free_mb > self.disk_warn_free_mb:
            raise ValueError("disk_fail_free_mb must not exceed disk_warn_free_mb")
        return self


class SimulationConfig(Strict):
    """Only for the simulated venue (demo and tests): a check that flips between ok and warn."""

    flap_interval_s: float = Field(default=5.0, gt=0, le=3600)


class Settings(Strict):
    """The whole configuration file."""

    venue: VenueConfig
    broker: BrokerConfig
    agent: AgentConfig
    contacts: ContactsConfig = Field(default_factory=ContactsConfig)
    host: HostConfig = Field(default_factory=HostConfig)
    simulation: SimulationConfig | None = None
