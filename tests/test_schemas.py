"""docs/schemas/ is generated from the payload models; a stale file fails here."""

from __future__ import annotations

from agent.contract.schemas import SCHEMA_DIR, render_schemas


def test_committed_schemas_match_the_models():
    rendered = render_schemas()
    committed = {path.name for path in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == set(rendered), "regenerate with: python -m agent.contract.schemas"
    for name, text in rendered.items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == text, (
            f"docs/schemas/{name} is stale; regenerate with: python -m agent.contract.schemas"
        )


def test_every_payload_names_its_schema_version():
    for name, text in render_schemas().items():
        assert '"schema"' in text, name
