"""Generate docs/schemas/*.json from the payload models (`python -m contract.schemas`).

A test regenerates them in memory and fails when the committed files are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from contract.payloads import PUBLISHED_MODELS
from contract.snapshot import Snapshot

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def render_schemas() -> dict[str, str]:
    """File name → JSON Schema text, for every published payload."""
    rendered = {}
    for kind, model in {**PUBLISHED_MODELS, "snapshot": Snapshot}.items():
        schema = model.model_json_schema(by_alias=True, mode="serialization")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"venue-agent/{kind}"} | schema
        rendered[f"{kind}.schema.json"] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return rendered


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        target = directory / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
