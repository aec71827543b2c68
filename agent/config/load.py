"""Read a config file into `Settings`, or explain every problem with its field path and line.

Whatever is wrong with the file — unreadable, not a regular file, too large, not UTF-8, not TOML,
nested past what the parser can follow, or invalid — the answer is a `ConfigError` naming the file,
never another exception: `config check` prints it, the daemon refuses a reload with it and keeps
the configuration it has.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from agent.config.locate import index_lines, line_of
from agent.config.models import PATTERN_HINTS, Settings
from contract.config_error import ConfigError, ConfigIssue
from contract.shown_input import shown_input
from contract.small_file import MIB, UnreadableFile, read_small_file

# A venue's config is a few kilobytes; past this it is not a config someone wrote.
MAX_CONFIG_BYTES = 1 * MIB


def _field_name(location: tuple[str | int, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see docs/config.md)"
    if kind == "string_pattern_mismatch":
        message = PATTERN_HINTS.get(error.get("ctx", {}).get("pattern"), error["msg"])
    else:
        message = error["msg"].removeprefix("Value error, ")
    if "input" in error and kind not in ("model_type", "dict_type"):
        shown = shown_input(error["loc"], error["input"])
        message += f" (got {shown})" if shown is not None else ""
    return message


def _fails(path: Path, message: str) -> ConfigError:
    return ConfigError(path, [ConfigIssue("", message)])


def parse_config(text: str, path: Path) -> Settings:
    """Validate TOML text; raises ConfigError naming every bad field and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fails(path, f"not valid TOML: {exc}") from None
    except ValueError as exc:  # tomllib lets int()'s digit limit through
        raise _fails(path, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise _fails(path, "not usable TOML: arrays or tables nested too deeply") from None
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = index_lines(text)
        issues = []
        for error in exc.errors():
            location = tuple(error["loc"])
            missing_table = error["type"] == "missing" and len(location) == 1
            message = "required table is missing" if missing_table else _describe(error)
            issues.append(ConfigIssue(_field_name(location), message, line_of(lines, location)))
        raise ConfigError(path, issues) from None
    except RecursionError:
        raise _fails(path, "cannot be validated: values nested too deeply") from None


def load_config(path: Path) -> Settings:
    """Read and validate a config file; raises ConfigError and nothing else, whatever the file holds."""
    try:
        raw = read_small_file(path, MAX_CONFIG_BYTES)
        text = raw.decode("utf-8")
    except UnreadableFile as exc:
        raise _fails(path, f"cannot read the file: {exc.reason}") from None
    except UnicodeDecodeError as exc:
        raise _fails(path, f"cannot read the file: not UTF-8 text (byte {exc.start})") from None
    try:
        return parse_config(text, path)
    except ConfigError:
        raise
    except MemoryError:
        raise _fails(path, "cannot be read: it needs more memory than the agent has") from None
    except Exception as exc:  # a validator's bug must not escape as a crash of the reload or of `config check`
        raise _fails(path, f"cannot be validated ({type(exc).__name__}: {exc})") from None
