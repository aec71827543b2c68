"""Read a config file into `Settings`, or explain every problem with its field path and line."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from agent.config.locate import index_lines, line_of
from agent.config.models import PATTERN_HINTS, Settings


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file: where (field path, line) and what."""

    field: str
    message: str
    line: int | None = None

    def render(self, path: Path) -> str:
        where = f"{path}:{self.line}" if self.line else str(path)
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(Exception):
    """The config cannot be used; `issues` lists every problem found."""

    def __init__(self, path: Path, issues: list[ConfigIssue]):
        self.path = path
        self.issues = issues
        super().__init__("\n".join(issue.render(path) for issue in issues))


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
        shown = repr(error["input"])
        message += f" (got {shown[:60]})"
    return message


def parse_config(text: str, path: Path) -> Settings:
    """Validate TOML text; raises ConfigError naming every bad field and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [ConfigIssue("", f"not valid TOML: {exc}")]) from None
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


def load_config(path: Path) -> Settings:
    """Read and validate a config file; raises ConfigError (also for an unreadable file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(path, [ConfigIssue("", f"cannot read the file: {reason}")]) from None
    return parse_config(text, path)
