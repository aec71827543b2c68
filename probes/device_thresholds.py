"""The thresholds devices are graded against, one model per config table.

CPU load and in-call media quality are read over SNMP and over SSH alike, with the same defaults
(docs/snmp.md says why each is where it is). Memory, temperature and interface errors are read over
SNMP only, so `[ssh.thresholds]` does not accept them: a key that nothing reads would be a silent
typo, against the config's promise that unknown keys fail loudly.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SshThresholds(BaseModel):
    """`[ssh.thresholds]`: CPU and in-call media loss and jitter, what the SSH collector reads."""

    model_config = ConfigDict(extra="forbid")

    cpu_warn_pct: float = Field(default=80, ge=0, le=100)
    cpu_fail_pct: float = Field(default=95, ge=0, le=100)
    call_loss_warn_pct: float = Field(default=1, ge=0)
    call_loss_fail_pct: float = Field(default=5, ge=0)
    call_jitter_warn_ms: float = Field(default=30, ge=0)
    call_jitter_fail_ms: float = Field(default=50, ge=0)


class DeviceThresholds(SshThresholds):
    """`[snmp.thresholds]`: the same, and memory, temperature and interface errors; defaults justified
    in docs/snmp.md."""

    mem_warn_pct: float = Field(default=85, ge=0, le=100)
    mem_fail_pct: float = Field(default=95, ge=0, le=100)
    temp_warn_c: float = Field(default=65, description="°C; network gear is usually rated to 70–75 °C inside")
    temp_fail_c: float = Field(default=80)
    if_errors_warn_per_min: float = Field(default=1, ge=0, description="errors + discards per minute, any interface")
