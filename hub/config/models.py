"""The hub's config file as pydantic models, as strict as the agent's: unknown keys are errors.

```toml
[hub]
scope = "vc/jilin/#"                       # the subtree this office watches (a topic filter ending in /#)
database = "sqlite:///hub.sqlite3"         # or postgresql://user@host/db
inventory = "hub-inventory.csv"            # the venues that should exist (CSV or TOML)

[broker]                                   # exactly the agent's [broker] table (contract.broker)
url = "mqtt://broker.example:1883"

[[sink]]                                   # incident notices (hub/incidents/config.py)

[evaluation]
rules = "scoring-rules.toml"               # an office's own scoring rules (default: the shipped, non-official)
```

Relative paths (the SQLite file, the inventory, the scoring rules) are taken from the config file's directory, so a
config works the same whatever directory the service is started from.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from contract.broker import BrokerConfig, Strict
from hub.config.scope_filter import check_scope, scope_segments
from hub.config.web import WebSection
from hub.incidents.config import SinkConfig

_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class HubSection(Strict):
    """What this office watches, where it keeps it, and how it holds its broker session."""

    scope: str = Field(
        description="Topic filter of the subtree watched: `<prefix>/<province>[/<prefecture>[/<county>]]/#`, "
        "e.g. `vc/jilin/#` (the province) or `vc/jilin/changchun/#` (a prefecture, Art. 9)."
    )
    database: str = Field(
        default="sqlite:///hub.sqlite3",
        description="SQLAlchemy URL: `sqlite:///PATH` (embedded; relative to this file) or `postgresql://…`.",
    )
    inventory: Path | None = Field(
        default=None, description="CSV or TOML list of the venues that should exist (see docs/hub.md)."
    )
    group: str = Field(
        default="venue-hub",
        description="Shared-subscription group (`$share/<group>/…`): hub processes of one office use the same.",
    )
    instance: str = Field(
        default="1",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$",
        description="Names this process within the group (client id `venue-hub-<group>-<instance>`); "
        "each process of the group needs its own (`venue-hub run --instance`).",
    )
    session_expiry_s: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        le=0xFFFFFFFF,
        description="MQTT 5 session expiry: how long the broker keeps this hub's queue while it is down.",
    )
    silent_after_intervals: float = Field(
        default=2.5,
        ge=1.0,
        le=100.0,
        description="A venue heard from for longer than this × its status interval is `silent`.",
    )
    default_status_interval_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="Status interval assumed for a venue whose status does not state its own.",
    )
    max_payload_bytes: int = Field(
        default=1_048_576, ge=1024, le=64 * 1_048_576, description="Larger messages are rejected (counted)."
    )
    gap_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="A hole in a venue's seq is recorded as a gap once it has stayed open this long.",
    )
    summary_request_after_s: float = Field(
        default=1800,
        ge=0,
        le=7 * 86400,
        description="A pushed conference ended this long ago without a venue's Art. 20 summary: ask it (cmd/summary).",
    )
    summary_retry_s: float = Field(default=3600, ge=1, le=86400, description="Ask an unanswering venue again after.")
    decode_workers: int = Field(
        default=1,
        ge=0,
        le=32,
        description="Processes that validate payloads beside the store thread (0: in the store thread). "
        "Validation is most of the ingest's CPU and holds the GIL; a worker puts it on another core.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("scope")
    @classmethod
    def _valid_scope(cls, value: str) -> str:
        return check_scope(value)

    @field_validator("group")
    @classmethod
    def _valid_group(cls, value: str) -> str:
        if not _GROUP.fullmatch(value):
            raise ValueError("must be letters, digits, - and _ (it is a topic level of $share/<group>/…)")
        return value


class SnapshotsSection(Strict):
    """How many uplink snapshots the hub keeps per venue (hub/snapshots/)."""

    keep_selftest: int = Field(
        default=20,
        ge=0,
        le=1000,
        description="Snapshots taken at self-tests kept per venue, newest first (the latest of any kind is "
        "always kept).",
    )


class EvaluationSection(Strict):
    """The yearly evaluation (Art. 21–22, docs/hub-reports.md): which scoring rules `venue-hub evaluate`
    and the board's /evaluation page apply. The official annex is not public, so the default is the
    shipped, clearly labelled non-official file; an office names its own here once, rather than passing
    `--rules` to every run (where the board could not follow it)."""

    rules: Path | None = Field(
        default=None,
        description="Scoring rules (TOML, hub/reports/scoring-default.toml's format); relative to this file; "
        "checked when the config is read. Default: the shipped, non-official rules.",
    )


class HubSettings(Strict):
    """The whole hub config file."""

    hub: HubSection
    broker: BrokerConfig
    sink: list[SinkConfig] = Field(default_factory=list, description="Incident sinks (docs/hub.md).")
    web: WebSection = Field(default_factory=WebSection, description="The web board (docs/board.md).")
    snapshots: SnapshotsSection = Field(
        default_factory=lambda: SnapshotsSection(), description="Uplink snapshots kept (docs/board.md)."
    )
    evaluation: EvaluationSection = Field(
        default_factory=lambda: EvaluationSection(), description="The yearly evaluation (docs/hub-reports.md)."
    )

    @model_validator(mode="after")
    def _scope_under_prefix(self) -> HubSettings:
        prefix = scope_segments(self.hub.scope)[0]
        if prefix != self.broker.topic_prefix:
            raise ValueError(
                f"hub.scope starts with {prefix!r} but broker.topic_prefix is {self.broker.topic_prefix!r}"
            )
        return self
