"""Generate the docs that must never drift from the code: payload schemas, config reference, codes.

`python -m agent.docgen` rewrites them; tests/test_generated_docs.py fails when any is stale.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from agent.cli.messages import CLI_MESSAGES
from agent.config.models import Settings
from agent.messages import AGENT_MESSAGES
from agent.selftest.suite import SELFTEST_MESSAGES
from agent.sources import SOURCES
from contract.catalog import Catalog
from contract.config_error import CONFIG_MESSAGES
from contract.schemas import render_schemas
from hub.incidents.texts import INCIDENT_TEXTS
from hub.messages import HUB_MESSAGES
from hub.reports.texts import REPORT_TEXTS
from probes.clock import CLOCK_MESSAGES
from probes.net import NET_MESSAGES

DOCS = Path(__file__).resolve().parents[1] / "docs"
CATALOGS: dict[str, Catalog] = {
    "agent (events, errors, command replies)": AGENT_MESSAGES,
    "venue-agent's command line (its own errors and notes)": CLI_MESSAGES,
    "config errors (venue-agent and venue-hub, with the field and line)": CONFIG_MESSAGES,
    **{heading: catalog for source in SOURCES for heading, catalog in source.catalog_entries()},
    "network path to the far end (第十三条)": NET_MESSAGES,
    "clock against NTP (第十四条)": CLOCK_MESSAGES,
    "self-test runner (第十四条)": SELFTEST_MESSAGES,
    "the hub, venue-hub (ingest, venue states; its log lines)": HUB_MESSAGES,
    "the hub's incident notices (第八条第五项 / Art. 8(5))": Catalog(INCIDENT_TEXTS),
    "the hub's review and evaluation (第二十条, 第二十一至二十二条)": Catalog(REPORT_TEXTS),
}


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(arg).replace("'", '"') for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return (
            " \\| ".join(_type_name(arg) for arg in typing.get_args(annotation) if arg is not type(None))
            + " (optional)"
        )
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is list:
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if isinstance(annotation, type):
        return {
            "str": "string",
            "int": "integer",
            "float": "number",
            "bool": "boolean",
            "Path": "path",
            "SecretStr": "string (secret)",
        }.get(annotation.__name__, annotation.__name__)
    return str(annotation)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        return "(table of defaults)" if isinstance(field.default_factory, type) else "[]"
    if field.default is None or field.default is PydanticUndefined:
        return "—"
    value = field.default
    shown = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
    return f"`{shown}`"


def _constraints(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for name, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "min length")):
            if getattr(item, name, None) is not None:
                parts.append(f"{symbol} {getattr(item, name)}")
    return ", ".join(parts)


def _model_of(annotation: object) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _tables(model: type[BaseModel], path: str, label: str, out: list[str]) -> None:
    """One markdown table per TOML table, nested tables after their parent."""
    rows, nested = [], []
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        if sub is not None:
            child = f"{path}.{name}" if path else name
            is_list = typing.get_origin(field.annotation) is list
            nested.append((child, f"[[{child}]]" if is_list else f"[{child}]", sub))
            continue
        description = (field.description or "").replace("|", "\\|")
        limits = _constraints(field)
        rows.append(
            f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | "
            f"{description}{' (' + limits + ')' if limits else ''} |"
        )
    if label:
        out.append(f"### `{label}`\n")
        if model.__doc__:
            out.append(model.__doc__.strip().splitlines()[0] + "\n")
    if rows:
        out.append("| key | type | default | meaning |\n|---|---|---|---|")
        out.extend(rows)
        out.append("")
    for child, child_label, sub in nested:
        _tables(sub, child, child_label, out)


def render_config_reference() -> str:
    out = [
        "# Config reference (generated)\n",
        "Generated by `python -m agent.docgen` from `agent/config/models.py`; do not edit by hand.",
        "Explanations and examples: [config.md](config.md). Unknown keys anywhere are errors.\n",
    ]
    _tables(Settings, "", "", out)
    return "\n".join(out).rstrip() + "\n"


def render_codes() -> str:
    out = [
        "# Message codes (generated)\n",
        "Every text a person reads is keyed by a stable code; tools match on the code, people read the",
        "text (Chinese first, as the regulation). Codes never change meaning once published; texts may",
        "be improved. Generated by `python -m agent.docgen`; do not edit by hand.\n",
    ]
    for title, catalog in CATALOGS.items():
        out.append(f"## {title}\n\n| code | 中文 | English |\n|---|---|---|")
        for code in catalog.codes():
            zh, en = catalog.template(code)
            out.append(f"| `{code}` | {zh} | {en} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_all() -> dict[Path, str]:
    files = {DOCS / "schemas" / name: text for name, text in render_schemas().items()}
    files[DOCS / "config-reference.md"] = render_config_reference()
    files[DOCS / "codes.md"] = render_codes()
    return files


def main() -> None:
    for path, text in render_all().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(DOCS.parent))


if __name__ == "__main__":
    main()
