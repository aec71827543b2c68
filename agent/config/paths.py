"""`LocalPath`: a path from the config, refused at load time when no file could have that name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator


def _no_nul(path: Path) -> Path:
    """A NUL cannot be in a file name: refused here rather than as a crash where the path is first used."""
    if "\x00" in str(path):
        raise ValueError("a path cannot contain a NUL character")
    return path


LocalPath = Annotated[Path, AfterValidator(_no_nul)]
