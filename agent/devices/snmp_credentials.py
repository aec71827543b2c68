"""A configured SNMP device's secrets, resolved once for polling and for the trap receiver alike
(SecretError naming the config key when a variable or file is missing)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.config.devices import SnmpDeviceConfig
from agent.config.secrets import resolve_env_secret


@dataclass(frozen=True)
class SnmpCredentials:
    community: str  # v1/v2c; `public` when none is configured
    auth_key: str | None  # v3
    priv_key: str | None  # v3


def credentials_of(device: SnmpDeviceConfig) -> SnmpCredentials:
    prefix = f"snmp.devices[{device.name}]"
    community = resolve_env_secret(device.community, device.community_env, f"{prefix}.community_env") or "public"
    v3 = device.v3
    if v3 is None:
        return SnmpCredentials(community, None, None)
    return SnmpCredentials(
        community,
        resolve_env_secret(v3.auth_key, v3.auth_key_env, f"{prefix}.v3.auth_key_env"),
        resolve_env_secret(v3.priv_key, v3.priv_key_env, f"{prefix}.v3.priv_key_env"),
    )
