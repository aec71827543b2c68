"""What one SSH poll of one device saw — raw facts, no verdicts (the JSON shape of `probe ssh`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SshInterface(BaseModel):
    """Same keys as the SNMP probe's interfaces (no index: the CLI names ports, it does not number them)."""

    name: str
    admin_status: str = "unknown"  # up / down
    oper_status: str = "unknown"  # up / down
    description: str | None = None
    speed: str | None = None
    in_errors: int | None = None
    out_errors: int | None = None


class CodecCall(BaseModel):
    id: int
    status: str
    direction: str | None = None
    protocol: str | None = None
    remote: str | None = None
    duration_s: int | None = None
    tx_rate_kbps: int | None = None
    rx_rate_kbps: int | None = None


class MediaChannel(BaseModel):
    call: int
    channel: int
    direction: str | None = None
    type: str | None = None
    loss_pct: float | None = None
    jitter_ms: float | None = None


class VideoInput(BaseModel):
    connector: int
    connected: bool | None = None
    signal: str | None = None  # OK / Unsupported / Unknown
    type: str | None = None


class Diagnostic(BaseModel):
    level: str
    type: str | None = None
    description: str | None = None


class CodecStatus(BaseModel):
    """The same readings from either software line (TC or CE/RoomOS): see collectors/ssh/codec.py."""

    product: str | None = None
    software: str | None = None
    dialect: str | None = Field(default=None, description="The software line the commands were chosen for: tc or ce.")
    system_state: str | None = None
    active_calls: int = 0
    temperature: str | None = None  # Normal / High / Critical (CE/RoomOS)
    temperature_c: float | None = None  # the hottest sensor, °C (TC)
    temperature_limit_c: float | None = None  # where the codec shuts itself down, °C (TC)
    calls: list[CodecCall] = Field(default_factory=list)
    media: list[MediaChannel] = Field(default_factory=list)
    video_inputs: list[VideoInput] = Field(default_factory=list)
    registration: dict[str, str | None] = Field(default_factory=lambda: {"sip": None, "h323": None})
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    diagnostics_read: bool = Field(default=True, description="False where the line has no Diagnostics subtree (TC).")


class SshReading(BaseModel):
    device: str
    target: str
    device_type: str
    reachable: bool
    error_kind: str | None = None
    error: str | None = None
    interfaces: list[SshInterface] = Field(default_factory=list)
    cpu_pct: float | None = None
    codec: CodecStatus | None = None
    rejected: list[str] = Field(default_factory=list, description="`command: the device's error line` per refusal.")
    unparsed: list[str] = Field(default_factory=list, description="Commands whose output no parser understood.")
