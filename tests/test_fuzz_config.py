"""Fuzz: the config file (agent.config.parse_config / load_config) on arbitrary text, on mutated
valid configs and on structured documents whose values have any type at any place.

The promise (docs/config.md): a Settings, or ConfigError listing every problem with its field
path and line — never another exception, never a hang. `load_config` adds the file itself: any
bytes at all, not UTF-8 included, give ConfigError too.
"""

from __future__ import annotations

import json
import math
import tempfile
import tomllib
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.config import ConfigError, Settings, load_config, parse_config
from fuzz.budget import examples
from sim.venue import write_config

REPO = Path(__file__).resolve().parents[1]
PATH = Path("/etc/venue-agent/venue.toml")
FUZZ = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_texts() -> list[str]:
    with tempfile.TemporaryDirectory() as directory:
        simulated = write_config(Path(directory), "mqtt://127.0.0.1:1883").read_text(encoding="utf-8")
    paths = sorted((REPO / "config").glob("*.example.toml"))
    examples = [path.read_text(encoding="utf-8") for path in paths if not path.name.startswith("hub")]  # venue-hub's
    return [simulated, *examples]


VALID_TEXTS = _valid_texts()


def _outcome(text: str) -> Settings | ConfigError:
    """parse_config's answer; any exception but ConfigError fails the test with its traceback."""
    try:
        return parse_config(text, PATH)
    except ConfigError as error:
        lines = text.count("\n") + 1
        assert error.issues, "a ConfigError names at least one problem"
        for issue in error.issues:
            assert issue.message.strip()
            assert issue.line is None or 1 <= issue.line <= lines, (issue, lines)
            rendered = issue.render(PATH)
            assert rendered.startswith(str(PATH)), rendered
        return error


def test_the_valid_configs_are_valid() -> None:
    """The mutations below start from configs that parse: otherwise they would prove little."""
    for text in VALID_TEXTS:
        assert isinstance(parse_config(text, PATH), Settings)


@given(st.text(max_size=400))
@FUZZ
def test_any_text(text: str) -> None:
    _outcome(text)


TOML_FRAGMENTS = st.sampled_from(
    [
        "=",
        "[",
        "]]",
        '"',
        "'''",
        '"""',
        "\\u00",
        "\x00",
        "\r",
        "#",
        "[agent]",
        "[[conference]]",
        "[venue.x]",
        "a.b.c = 1",
        "= 1",
        "1979-05-27T07:32:00Z",
        "0x7FFFFFFFFFFFFFFFFFFF",
        "9" * 5000,
        "inf",
        "nan",
        "-0.0",
        "1e400",
        "[" * 600 + "]" * 600,
        "{a = {b = {c = {}}}}",
        "true",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid config with lines dropped, doubled or swapped, and fragments spliced in."""
    lines = draw(st.sampled_from(VALID_TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "double", "swap", "splice", "value", "cut"]))
        if how == "drop":
            del lines[at]
        elif how == "double":
            lines.insert(at, lines[at])
        elif how == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif how == "splice":
            column = draw(st.integers(0, len(lines[at])))
            fragment = draw(st.one_of(TOML_FRAGMENTS, st.text(max_size=12)))
            lines[at] = lines[at][:column] + fragment + lines[at][column:]
        elif how == "value" and "=" in lines[at]:
            key = lines[at].split("=", 1)[0]
            lines[at] = f"{key}= {draw(TOML_FRAGMENTS)}"
        else:
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
    return "\n".join(lines)


@given(mutated())
@FUZZ
def test_mutated_valid_configs(text: str) -> None:
    outcome = _outcome(text)
    event(type(outcome).__name__)


# -- structured documents: the valid config's tree with a value of another type put anywhere -------

PRESENT_VALUES = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**80).map(lambda n: -n),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=10),
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=8))])),
    st.dates(),
    st.times(),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=3),
    st.lists(st.dictionaries(st.sampled_from(["name", "host", "id"]), st.text(max_size=5)), max_size=2),
)
ODD_VALUES = st.one_of(st.none(), PRESENT_VALUES)  # None has no TOML form: it means "delete this key"


def _toml_key(key: str) -> str:
    return json.dumps(key)  # a quoted key: any text, escaped as TOML basic strings are


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes (\\uXXXX, \\n, \\") are TOML's
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(document: dict[str, Any]) -> str:
    """A TOML text for a document: top-level scalars first, then one table (or array of tables) each."""
    head = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in document.items() if not _is_table(v)]
    body = []
    for key, value in document.items():
        if isinstance(value, dict):
            body.append(f"[{_toml_key(key)}]")
            body += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()]
        elif _is_table(value):
            for row in value:
                body.append(f"[[{_toml_key(key)}]]")
                body += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in row.items()]
    return "\n".join(head + body) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def retyped(draw: st.DrawFn) -> str:
    """The parsed valid config with 1–3 values (or whole tables) replaced by a value of any type."""
    document = tomllib.loads(draw(st.sampled_from(VALID_TEXTS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        value = draw(ODD_VALUES)
        if value is None:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        if draw(st.booleans()):
            target = parent if isinstance(parent, dict) else document
            target[draw(st.text(min_size=1, max_size=10))] = draw(PRESENT_VALUES)
    return to_toml(document)


@given(retyped())
@FUZZ
def test_structured_documents_with_values_of_any_type(text: str) -> None:
    outcome = _outcome(text)
    event(type(outcome).__name__)
    if isinstance(outcome, ConfigError):
        assert all(issue.field or issue.message.startswith("not ") for issue in outcome.issues), outcome


def test_the_toml_writer_round_trips_the_valid_configs() -> None:
    """The structured test is only as good as its TOML writer: unchanged documents must survive it."""
    for text in VALID_TEXTS:
        document = tomllib.loads(text)
        assert tomllib.loads(to_toml(document)) == document
        assert isinstance(parse_config(to_toml(document), PATH), Settings)


@given(st.binary(max_size=300), st.sampled_from(VALID_TEXTS))
@settings(max_examples=examples(100), deadline=None)
def test_any_bytes_in_the_file(noise: bytes, valid: str) -> None:
    """load_config on a real file: arbitrary bytes, or a valid config with bytes spliced in."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "venue.toml"
        data = valid.encode("utf-8")
        for content in (noise, data[: len(data) // 2] + noise + data[len(data) // 2 :]):
            path.write_bytes(content)
            try:
                load_config(path)
            except ConfigError as error:
                assert all(issue.message for issue in error.issues)
                assert str(error).startswith(str(path))
