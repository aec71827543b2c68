"""Resolve passwords and keys from wherever the config says they live; never log their values.

Shared by the venue agent and the hub (both log in to the broker the same way)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from contract.broker import BrokerConfig
from contract.small_file import KIB, UnreadableFile, read_small_file


@dataclass(frozen=True)
class SecretIssue:
    """Which field names the missing secret, and why it cannot be had."""

    field: str
    message: str


class SecretError(Exception):
    """A configured secret source is not available; `issue` names the field."""

    def __init__(self, issue: SecretIssue):
        self.issue = issue
        super().__init__(f"{issue.field}: {issue.message}")


MAX_SECRET_BYTES = 64 * KIB  # a password or key file; a FIFO or /dev/zero named by mistake must not hang or fill memory


def _read_file(path: Path, field: str) -> str:
    try:
        return read_small_file(path, MAX_SECRET_BYTES).decode("utf-8").rstrip("\r\n")
    except UnreadableFile as exc:
        raise SecretError(SecretIssue(field, f"cannot read {path}: {exc.reason}")) from None
    except UnicodeDecodeError as exc:
        raise SecretError(SecretIssue(field, f"cannot read {path}: not UTF-8 ({exc})")) from None


def resolve_password(broker: BrokerConfig, environ: dict[str, str] | None = None) -> str | None:
    """The broker password in clear text, or None when none is configured."""
    return resolve_password_fields(broker, "broker", environ)


def resolve_password_fields(owner: object, field: str, environ: dict[str, str] | None = None) -> str | None:
    """A password from `owner`'s password / password_env / password_file / password_credential
    fields (the broker, an SSH device); `field` names the owner in error messages."""
    env = os.environ if environ is None else environ
    password = getattr(owner, "password", None)
    if password is not None:
        return password.get_secret_value()
    if (variable := getattr(owner, "password_env", None)) is not None:
        value = env.get(variable)
        if value is None:
            raise SecretError(SecretIssue(f"{field}.password_env", f"environment variable {variable} is not set"))
        return value
    if (path := getattr(owner, "password_file", None)) is not None:
        return _read_file(path, f"{field}.password_file")
    if (credential := getattr(owner, "password_credential", None)) is not None:
        directory = env.get("CREDENTIALS_DIRECTORY")
        if not directory:
            message = "$CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=)"
            raise SecretError(SecretIssue(f"{field}.password_credential", message))
        return _read_file(Path(directory) / credential, f"{field}.password_credential")
    return None


def resolve_env_secret(
    value: SecretStr | None, env_name: str | None, field: str, environ: dict[str, str] | None = None
) -> str | None:
    """A secret given inline or by environment variable name (SNMP communities and keys)."""
    if value is not None:
        return value.get_secret_value()
    if env_name is None:
        return None
    env = os.environ if environ is None else environ
    if env_name not in env:
        raise SecretError(SecretIssue(field, f"environment variable {env_name} is not set"))
    return env[env_name]
