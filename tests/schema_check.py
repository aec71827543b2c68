"""Validate payloads the agent really published against the committed JSON Schemas in docs/schemas/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "schemas"


@cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(kind: str, payload: dict) -> None:
    errors = sorted(validator(kind).iter_errors(payload), key=lambda e: list(e.path))
    assert not errors, f"{kind} payload violates its schema: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors
    )
