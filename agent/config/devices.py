"""The `[snmp]` and `[ssh]` tables: the devices the agent watches (Art. 13), their credentials and
thresholds.

Each device's name is the subject of its findings, so names are unique per table; a credential is
given once (inline, from the environment or from a file), never two ways at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, IPvAnyAddress, SecretStr, StringConstraints, field_validator, model_validator

from agent.config.paths import LocalPath
from collectors.ssh.profile import profiles as ssh_profiles
from contract.broker import Segment, Strict
from probes.device_thresholds import DeviceThresholds, SshThresholds

SNMP_AUTH = Literal["sha", "sha1", "sha224", "sha256", "sha384", "sha512", "md5"]
EngineId = Annotated[str, StringConstraints(pattern=r"^(0x)?[0-9a-fA-F]{10,64}$")]
SNMP_PRIV = Literal["aes", "aes128", "aes192", "aes256", "des"]


def require_unique_names(names: list[str]) -> None:
    """Device names are the subjects of findings (`check@name`): two alike would mix their verdicts."""
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"device names must be unique: {', '.join(duplicates)}")


class SnmpV3Config(Strict):
    """SNMPv3 USM user. Cisco RoomOS accepts only SHA-2 with AES; prefer sha256 + aes128 or stronger."""

    user: str = Field(min_length=1, description="USM user name.")
    auth_protocol: SNMP_AUTH | None = Field(default="sha256", description="None for noAuthNoPriv.")
    auth_key: SecretStr | None = Field(default=None, description="Prefer auth_key_env.")
    auth_key_env: str | None = Field(default=None, description="Environment variable holding the auth key.")
    priv_protocol: SNMP_PRIV | None = Field(default="aes128", description="None for authNoPriv.")
    priv_key: SecretStr | None = Field(default=None, description="Prefer priv_key_env.")
    priv_key_env: str | None = Field(default=None, description="Environment variable holding the privacy key.")

    @model_validator(mode="after")
    def _keys_present(self) -> SnmpV3Config:
        if self.auth_protocol and self.auth_key is None and self.auth_key_env is None:
            raise ValueError("auth_protocol is set but neither auth_key nor auth_key_env is given")
        if self.priv_protocol and self.priv_key is None and self.priv_key_env is None:
            raise ValueError("priv_protocol is set but neither priv_key nor priv_key_env is given")
        if self.priv_protocol and not self.auth_protocol:
            raise ValueError("privacy needs authentication (set auth_protocol)")
        return self


class SnmpDeviceConfig(Strict):
    """One codec, switch or router polled over SNMP."""

    name: Segment = Field(description="Short id, used as the subject of findings, e.g. `codec` or `core-switch`.")
    host: str = Field(min_length=1, description="Address or name of the device.")
    port: int = Field(default=161, ge=1, le=65535)
    version: Literal["1", "2c", "3"] = Field(default="2c", description="SNMP version.")
    community: SecretStr | None = Field(default=None, description="v1/v2c community; default `public`.")
    community_env: str | None = Field(default=None, description="Environment variable holding the community.")
    v3: SnmpV3Config | None = Field(default=None, description='Required when version = "3".')
    profile: str = Field(default="auto", description="`auto` (by sysObjectID/sysDescr) or a profile name.")
    uplink: str | None = Field(default=None, description="Interface (name, alias or index) whose loss is a fault.")
    interval_s: float | None = Field(default=None, ge=1, le=3600, description="Overrides [snmp] interval_s.")
    trap_engine_id: EngineId | None = Field(
        default=None, description="The device's SNMPv3 engine ID (hex), needed only for its v3 *traps* (not informs)."
    )

    @model_validator(mode="after")
    def _credentials(self) -> SnmpDeviceConfig:
        if self.version == "3" and self.v3 is None:
            raise ValueError("version 3 needs a [snmp.devices.v3] table")
        if self.version != "3" and self.v3 is not None:
            raise ValueError(f"a v3 table is given but version is {self.version!r}")
        if self.community is not None and self.community_env is not None:
            raise ValueError("give community or community_env, not both")
        return self


class SnmpTrapsConfig(Strict):
    """The trap and inform receiver: a device that sends a trap is heard at once, not at its next poll."""

    enabled: bool = Field(default=False, description="Listen for traps and informs from the `[[snmp.devices]]`.")
    listen: IPvAnyAddress = Field(default="0.0.0.0", description="Address to listen on.")
    port: int = Field(default=162, ge=1, le=65535, description="UDP port; below 1024 needs CAP_NET_BIND_SERVICE.")
    communities_env: str | None = Field(
        default=None,
        description="Environment variable with the accepted v2c communities, comma-separated; "
        "default: the communities of the devices.",
    )
    poll_on_trap: bool = Field(default=True, description="A trap from a device polls that device at once.")
    log_interval_s: float = Field(default=60, ge=1, le=3600, description="At most one log line per refusal kind.")
    engine_id: EngineId | None = Field(default=None, description="This agent's SNMPv3 engine ID (hex); default: made.")


class SnmpConfig(Strict):
    """SNMP polling of the venue's codec and network gear (Art. 13)."""

    interval_s: float = Field(default=30, ge=1, le=3600, description="Poll period per device.")
    timeout_s: float = Field(default=2, gt=0, le=60, description="Per request, before a retry.")
    retries: int = Field(default=1, ge=0, le=10)
    concurrency: int = Field(default=32, ge=1, le=1024, description="Devices polled at the same time, at most.")
    thresholds: DeviceThresholds = Field(default_factory=DeviceThresholds)
    devices: list[SnmpDeviceConfig] = Field(default_factory=list)
    traps: SnmpTrapsConfig = Field(default_factory=SnmpTrapsConfig)

    @model_validator(mode="after")
    def _unique_names(self) -> SnmpConfig:
        require_unique_names([device.name for device in self.devices])
        return self


class SshDeviceConfig(Strict):
    """One codec (Cisco TelePresence/RoomOS xAPI) or switch (Huawei VRP, H3C Comware, Cisco IOS) read over SSH."""

    name: Segment = Field(description="Short id, the subject of findings, e.g. `codec` or `core-switch`.")
    host: str = Field(min_length=1, description="Address or name of the device.")
    port: int = Field(default=22, ge=1, le=65535)
    device_type: str = Field(
        description="netmiko device type that has a profile: cisco_tp, huawei, hp_comware, cisco_ios."
    )
    username: str = Field(min_length=1, description="Login name (a read-only account is enough).")
    password: SecretStr | None = Field(default=None, description="Prefer password_env or password_file.")
    password_env: str | None = Field(default=None, description="Environment variable holding the password.")
    password_file: LocalPath | None = Field(default=None, description="File holding the password.")
    password_credential: str | None = Field(
        default=None, description="Name of a systemd credential (LoadCredential=) holding the password."
    )
    key_file: LocalPath | None = Field(default=None, description="Private key for public-key login.")
    uplink: str | None = Field(default=None, description="Interface (name or description) whose loss is a fault.")
    require_registration: bool = Field(
        default=True, description="Codecs: not registered to SIP or H.323 is a fault (false: dialled by address)."
    )
    interval_s: float | None = Field(default=None, ge=5, le=3600, description="Overrides [ssh] interval_s.")

    @field_validator("device_type")
    @classmethod
    def _has_profile(cls, value: str) -> str:
        known = ssh_profiles()
        if value not in known:
            raise ValueError(f"no SSH profile for {value!r}; known: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> SshDeviceConfig:
        passwords = [
            x for x in (self.password, self.password_env, self.password_file, self.password_credential) if x is not None
        ]
        if not passwords and self.key_file is None:
            raise ValueError("give password_env, password_file, password_credential, password or key_file")
        if len(passwords) > 1:
            raise ValueError("give one of password, password_env, password_file and password_credential")
        return self


class SshConfig(Strict):
    """SSH reading of codecs and network gear (Art. 13), through netmiko in worker threads."""

    interval_s: float = Field(default=60, ge=5, le=3600, description="Poll period per device.")
    connect_timeout_s: float = Field(default=10, gt=0, le=120, description="TCP connect, SSH handshake, login.")
    command_timeout_s: float = Field(default=15, gt=0, le=300, description="Waiting for one command's output.")
    workers: int = Field(default=8, ge=1, le=256, description="Worker threads = devices talked to at once, at most.")
    known_hosts: LocalPath | None = Field(
        default=None, description="OpenSSH known_hosts file; default `<state_dir>/ssh_known_hosts`."
    )
    trust_on_first_use: bool = Field(
        default=False, description="Accept and record an unknown host key once (a changed key is always refused)."
    )
    thresholds: SshThresholds = Field(
        default_factory=SshThresholds, description="CPU and in-call loss and jitter, as in [snmp.thresholds]."
    )
    devices: list[SshDeviceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> SshConfig:
        require_unique_names([device.name for device in self.devices])
        return self
