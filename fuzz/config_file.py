"""atheris harness: the config file. Any bytes through `load_config` give Settings or ConfigError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import atheris

from fuzz.harness import OURS, run

with atheris.instrument_imports(include=OURS):
    from agent.config import ConfigError, load_config


REPO = Path(__file__).resolve().parents[1]
FILE = Path(tempfile.mkdtemp(prefix="fuzz-config-")) / "venue.toml"


def seeds() -> list[bytes]:
    from sim.venue import write_config

    simulated = write_config(Path(tempfile.mkdtemp(prefix="fuzz-config-seed-")), "mqtt://127.0.0.1:1883")
    return [simulated.read_bytes(), *(path.read_bytes() for path in sorted((REPO / "config").glob("*.toml")))]


def one_input(data: bytes) -> None:
    FILE.write_bytes(data)
    try:
        load_config(FILE)
    except ConfigError as error:
        if not error.issues or not all(issue.message for issue in error.issues):
            raise AssertionError(f"a ConfigError without a message: {error.issues!r}") from None


if __name__ == "__main__":
    run(seeds, one_input)
