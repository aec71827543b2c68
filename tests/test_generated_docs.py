"""Docs generated from the code (schemas, config reference, codes) must match it; stale files fail here."""

from __future__ import annotations

from agent.docgen import DOCS, render_all


def test_generated_docs_are_current():
    stale = [
        str(path.relative_to(DOCS.parent))
        for path, text in render_all().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"regenerate with `python -m agent.docgen`: {stale}"


def test_no_orphan_schema_files():
    generated = {path.name for path in render_all() if path.parent.name == "schemas"}
    committed = {path.name for path in (DOCS / "schemas").glob("*.json")}
    assert committed == generated


def test_every_payload_names_its_schema_version():
    for path, text in render_all().items():
        if path.parent.name == "schemas":
            assert '"schema"' in text, path.name
