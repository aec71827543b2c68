"""A config file that cannot be used, and every problem in it: where (field path, line) and what.

The venue agent's `config check` and the hub's print the same shape, `FILE:LINE: field.path:
problem`, so one error type serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
