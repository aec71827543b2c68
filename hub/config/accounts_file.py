"""`[web] accounts_file`: board accounts kept apart from the main config (so the office can hand the
file's upkeep to whoever manages people, and keep the hashes out of the file everyone reads).

The file holds only `[[account]]` tables, each exactly a `[[web.account]]` of the main file, and is as
strict: an unknown key, a bad hash, a scope outside the hub's, a name given twice — each is named with
this file's path and line, and the hub refuses to start.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract.config_error import ConfigError, ConfigIssue
from hub.config.toml_lines import describe_error, key_lines, line_of
from hub.config.web import AccountConfig

MAX_ACCOUNTS_BYTES = 1_048_576


class AccountsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: list[AccountConfig] = Field(default_factory=list)


def load_accounts(path: Path) -> list[AccountConfig]:
    """The accounts in `path`, or ConfigError (whose `path` is this file) listing every problem."""

    try:
        if not path.is_file():
            raise ConfigError(path, [ConfigIssue("", "web.accounts_file: not a regular file (or missing)")])
        if path.stat().st_size > MAX_ACCOUNTS_BYTES:
            raise ConfigError(path, [ConfigIssue("", f"larger than {MAX_ACCOUNTS_BYTES} bytes")])
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(path, [ConfigIssue("", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [ConfigIssue("", f"not UTF-8 at byte {exc.start}")]) from None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(path, [ConfigIssue("", f"not valid TOML: {exc}")]) from None
    try:
        return AccountsFile.model_validate(data).account
    except ValidationError as exc:
        lines = key_lines(text)
        issues = [
            ConfigIssue(".".join(str(p) for p in error["loc"]), describe_error(error), line_of(lines, error["loc"]))
            for error in exc.errors()
        ]
        raise ConfigError(path, issues) from None
