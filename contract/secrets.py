"""Resolve passwords and keys from wherever the config says they live; never log their values.

Shared by the venue agent and the hub (both log in to the broker the same way).

A `password_credential = "NAME"` is a systemd credential. Under systemd it is read from
`$CREDENTIALS_DIRECTORY`, where the unit's `LoadCredential=venue-agent:/etc/venue-agent/credentials`
put every file of that directory as `venue-agent_<file name>` (docs/service.md); a credential
passed by its own name (`LoadCredential=NAME:…` in a drop-in) is found as well. Outside systemd
(`venue-agent status`, `config check` in a shell) the variable is unset, and the same file is read
from the credential source directory itself, so that those commands see what the service sees.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from contract.broker import BrokerConfig
from contract.small_file import KIB, UnreadableFile, read_small_file

CREDENTIALS_VARIABLE = "CREDENTIALS_DIRECTORY"  # set by systemd when the unit has LoadCredential=
# Where the credential files are kept on disk (the unit's LoadCredential= source directory).
CREDENTIAL_SOURCE_DIR = Path("/etc/venue-agent/credentials")
# Outside systemd, this variable names another source directory (a test, a second instance).
CREDENTIAL_SOURCE_VARIABLE = "VENUE_AGENT_CREDENTIALS_SOURCE"
# The IDs a unit loads a whole directory under: file F arrives as `<ID>_F` (systemd.exec(5)).
DIRECTORY_CREDENTIAL_IDS = ("venue-agent",)


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


def _read_file(path: Path, field: str, context: str = "") -> str:
    try:
        return read_small_file(path, MAX_SECRET_BYTES).decode("utf-8").rstrip("\r\n")
    except UnreadableFile as exc:
        raise SecretError(SecretIssue(field, f"cannot read {path}{context}: {exc.reason}")) from None
    except UnicodeDecodeError as exc:
        raise SecretError(SecretIssue(field, f"cannot read {path}{context}: not UTF-8 ({exc})")) from None


def credential_source_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory credential files are kept in when not running under systemd."""
    env = os.environ if environ is None else environ
    configured = env.get(CREDENTIAL_SOURCE_VARIABLE)
    return Path(configured) if configured else CREDENTIAL_SOURCE_DIR


def credential_candidates(name: str, environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where credential `name` is looked for, in order: under systemd its own name, then the
    directory-loaded `<ID>_name`; outside systemd the file in the source directory."""
    env = os.environ if environ is None else environ
    directory = env.get(CREDENTIALS_VARIABLE)
    if directory:
        base = Path(directory)
        return [base / name, *(base / f"{prefix}_{name}" for prefix in DIRECTORY_CREDENTIAL_IDS)]
    return [credential_source_dir(env) / name]


def resolve_credential(name: str, field: str, environ: Mapping[str, str] | None = None) -> str:
    """The credential's text; SecretError naming `field` and every path looked at when it is missing."""
    if not name or "/" in name or name in (".", ".."):
        raise SecretError(SecretIssue(field, f"{name!r} is not a credential name (a plain file name)"))
    env = os.environ if environ is None else environ
    candidates = credential_candidates(name, env)
    if directory := env.get(CREDENTIALS_VARIABLE):
        if not os.access(directory, os.X_OK):
            message = f"cannot open ${CREDENTIALS_VARIABLE} ({directory}): not a directory this user may enter"
            raise SecretError(SecretIssue(field, message))
        for path in candidates:
            if os.path.lexists(path):
                return _read_file(path, field, f" (${CREDENTIALS_VARIABLE})")
        looked = ", ".join(str(path) for path in candidates)
        message = (
            f"no credential {name!r} in ${CREDENTIALS_VARIABLE} (looked for {looked}): put the file in "
            f"{CREDENTIAL_SOURCE_DIR} and restart the service"
        )
        raise SecretError(SecretIssue(field, message))
    context = f" (${CREDENTIALS_VARIABLE} is not set: not under systemd, so read from the credential source directory)"
    return _read_file(candidates[0], field, context)


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
        return resolve_credential(credential, f"{field}.password_credential", env)
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
