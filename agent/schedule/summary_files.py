"""The Art. 20 summaries kept on disk, one JSON file per conference, for `cmd/summary` to return later.

A hub that was down when the summary event went out (and whose broker could not keep it) asks for
it by conference id; the file is what it gets.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class SummaryFiles:
    def __init__(self, state_dir: Path):
        self.folder = state_dir / "summaries"

    def _path(self, conference_id: str) -> Path:
        return self.folder / f"{conference_id}.json"

    def save(self, summary: dict[str, Any]) -> None:
        """Keep a summary (a failure is logged: the event itself has already been queued)."""
        path = self._path(summary["conference_id"])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        except OSError as exc:
            log.error("cannot keep the summary of %s: %s", summary["conference_id"], exc)

    def load(self, conference_id: str) -> dict[str, Any] | None:
        """A kept summary, or None when there is none (or it cannot be read: logged)."""
        path = self._path(conference_id)
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("cannot read the kept summary %s: %s", path, exc)
            return None
        return summary if isinstance(summary, dict) else None
