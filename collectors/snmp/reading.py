"""What one SNMP poll of one device saw — raw facts, no verdicts (the JSON shape of `probe snmp`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EntityValue(BaseModel):
    entity: str
    value: float


class Interface(BaseModel):
    index: int
    name: str
    alias: str | None = None
    admin_status: str = "unknown"
    oper_status: str = "unknown"
    speed_mbps: float | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None
    in_octets: int | None = None
    out_octets: int | None = None
    counter_bits: int = Field(default=64, description="64 for IF-MIB HC counters, 32 otherwise (wrap handling)")
    # Filled in across polls by collectors.snmp.rates:
    in_bps: float | None = None
    out_bps: float | None = None
    errors_per_min: float | None = None
    discards_per_min: float | None = None


class Component(BaseModel):
    """A part the device reports a state for: microphone, camera, NIC, sensor, subsystem."""

    kind: str
    name: str
    status: str


class Call(BaseModel):
    index: str
    far_site: str | None = None
    loss_rx_pct: float | None = None
    loss_tx_pct: float | None = None
    jitter_rx_ms: float | None = None
    jitter_tx_ms: float | None = None
    latency_rx_ms: float | None = None
    latency_tx_ms: float | None = None


class DeviceReading(BaseModel):
    target: str
    reachable: bool
    error_kind: str | None = Field(
        default=None, description="timeout, auth, error-status, transport, profile or config"
    )
    error: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_name: str | None = None
    uptime_s: float | None = None
    profile: str | None = None
    kind: str | None = None
    identity: dict[str, str | int | None] = Field(default_factory=dict)
    health: dict[str, list[EntityValue]] = Field(default_factory=dict)
    interfaces: list[Interface] = Field(default_factory=list)
    registration: dict[str, str] = Field(default_factory=dict)
    components: list[Component] = Field(default_factory=list)
    calls: list[Call] = Field(default_factory=list)
    requests: int = 0
    poll_s: float | None = None
