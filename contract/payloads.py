"""Versioned JSON payloads published by the agent; docs/schemas/ is generated from these models.

Each payload carries `schema` = "venue-agent/<kind>/<major>". A consumer checks the major
version; additive changes keep it, anything that breaks a consumer bumps it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.findings import Finding, Message, Verdict

STATUS_SCHEMA = "venue-agent/status/1"
EVENT_SCHEMA = "venue-agent/event/1"
METRICS_SCHEMA = "venue-agent/metrics/1"
SELFTEST_SCHEMA = "venue-agent/selftest/1"
REPLY_SCHEMA = "venue-agent/reply/1"
COMMAND_SCHEMA = "venue-agent/command/1"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Payload(BaseModel):
    """Base of every payload: unknown fields are errors; `schema` is accepted by its alias or name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class VenueRef(Payload):
    """Who is speaking: the venue's place in the tree and its display name."""

    province: str
    prefecture: str
    county: str
    id: str
    name: str
    level: Literal["prefecture", "county"]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Event(Payload):
    """An alert or a change, delivered at least once (QoS 1); consumers de-duplicate by `id`."""

    schema_: Literal["venue-agent/event/1"] = Field(EVENT_SCHEMA, alias="schema")
    id: str = Field(description="Unique id (UUID); the same id on a redelivery.")
    seq: int = Field(ge=1, description="Per-agent sequence, gap-free across restarts.")
    ts: datetime = Field(description="When the event happened (UTC, RFC 3339).")
    venue: VenueRef
    code: str = Field(description="Stable code, e.g. agent.started; see docs/codes.md.")
    severity: Severity
    message: Message
    check: str | None = None
    verdict: Verdict | None = None
    previous: Verdict | None = None
    conference_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class TaskState(Payload):
    """A supervised task as the status shows it."""

    state: Literal["running", "backoff", "stopped"]
    restarts: int = 0
    last_error: str | None = None
    retry_in_s: float | None = None


class OutboxState(Payload):
    pending: int
    dropped_metrics: int
    dropped_events: int
    held_in_memory: int
    storage_error: str | None = None
    rejected_by_broker: int = Field(
        default=0, description="Messages the broker refused (PUBACK reason ≥ 0x80, e.g. an ACL); not retried."
    )


class CommandsState(Payload):
    """What became of the hub's commands since the agent started (docs/mqtt.md, Commands)."""

    received: int = 0
    answered: int = Field(default=0, description="Answered with a result.")
    rejected: int = Field(default=0, description="Answered with an error (bad, unknown, busy, failed, cancelled).")
    refused: int = Field(default=0, description="Not answered: no acceptable response topic (logged).")
    ignored_retained: int = Field(default=0, description="Retained commands, ignored so none runs twice.")


class AgentInfo(Payload):
    version: str
    hostname: str
    pid: int
    started_at: datetime


class Status(Payload):
    """Everything the agent knows now; retained, so a new subscriber sees it at once."""

    schema_: Literal["venue-agent/status/1"] = Field(STATUS_SCHEMA, alias="schema")
    ts: datetime
    venue: VenueRef
    agent: AgentInfo
    overall: Verdict = Field(description="Worst verdict over all checks.")
    checks: dict[str, Finding] = Field(description="Current finding per check id (and subject).")
    devices: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tasks: dict[str, TaskState] = Field(default_factory=dict)
    outbox: OutboxState
    contacts: dict[str, Any] = Field(default_factory=dict)
    conference: dict[str, Any] | None = None
    selftest: dict[str, Any] | None = Field(
        default=None, description="The last self-test run: id, ts, trigger, verdict, failed and warned items."
    )
    commands: CommandsState | None = None
    status_interval_s: float | None = Field(
        default=None, description="The longest the agent stays quiet: a hub calls it silent some multiple after."
    )


class Metrics(Payload):
    """Periodic numbers for trend graphs; may be dropped oldest-first when the outbox is full."""

    schema_: Literal["venue-agent/metrics/1"] = Field(METRICS_SCHEMA, alias="schema")
    id: str
    ts: datetime
    venue: VenueRef
    interval_s: float
    values: dict[str, float | int | None]


class SelftestItem(Payload):
    check: str
    verdict: Literal["pass", "warn", "fail", "unknown"]
    article: str
    reason: Message
    value: float | int | str | bool | None = None


class SelftestReport(Payload):
    """A run of the self-test suite (Art. 14); filled in by the self-test runner."""

    schema_: Literal["venue-agent/selftest/1"] = Field(SELFTEST_SCHEMA, alias="schema")
    id: str
    ts: datetime
    venue: VenueRef
    trigger: str = Field(description="`command`, `cli` or a checkpoint kind such as rollcall_selftest.")
    conference_id: str | None = None
    verdict: Literal["pass", "warn", "fail", "unknown"]
    items: list[SelftestItem]
    duration_s: float


class CommandRequest(Payload):
    """What the hub sends on cmd/<name>. Every field is optional; a bare `{}` is a valid ping."""

    schema_: Literal["venue-agent/command/1"] | None = Field(None, alias="schema")
    args: dict[str, Any] = Field(default_factory=dict)
    response_topic: str | None = Field(
        None, description="Only for MQTT 3.1.1 callers; MQTT 5 uses the Response Topic property."
    )
    correlation_id: str | None = Field(None, description="Echoed in the reply (MQTT 3.1.1 callers).")


class ReplyError(Payload):
    code: str
    message: Message


class Reply(Payload):
    """The agent's answer to a command, on the caller's response topic."""

    schema_: Literal["venue-agent/reply/1"] = Field(REPLY_SCHEMA, alias="schema")
    ts: datetime
    venue: VenueRef
    command: str
    ok: bool
    correlation_id: str | None = None
    result: dict[str, Any] | None = None
    error: ReplyError | None = None


PUBLISHED_MODELS: dict[str, type[BaseModel]] = {
    "status": Status,
    "event": Event,
    "metrics": Metrics,
    "selftest": SelftestReport,
    "reply": Reply,
    "command": CommandRequest,
}


def to_json(payload: BaseModel) -> bytes:
    """Serialise a payload exactly as published (aliases, RFC 3339 times, no nulls elided)."""
    return payload.model_dump_json(by_alias=True).encode()
