"""Fuzz: the retained payloads `venue-agent status` reads back from the broker (agent/cli/status_view.py).

Whatever is retained on `availability`, `status` and `selftest` — arbitrary bytes, or the contract's
payloads with values of other types put anywhere, keys removed or added, text with markup, lone
surrogates (a JSON `\\ud800` escape), control characters — the command's path from the received
bytes to what it prints (`read_retained` → `exit_code` → the table, or `--json`) gives a Nagios
exit code and output that can be written to a UTF-8 terminal, with no escape sequence of the
payload reaching it, never a traceback. An unreadable leaf is UNKNOWN (3) with its reason, an
`offline` venue CRITICAL (2).
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rich.console import Console

from agent.cli.status_view import exit_code, read_retained, render
from contract.findings import Finding, Message, Verdict
from contract.payloads import AgentInfo, OutboxState, SelftestItem, SelftestReport, Status, VenueRef
from fuzz.budget import examples

BASE = "vc/jilin/changchun/nongan/main"
FUZZ = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
VENUE = VenueRef(province="jilin", prefecture="changchun", county="nongan", id="main", name="会议室", level="county")


def good_status() -> dict[str, Any]:
    finding = Finding(
        check="video.brightness",
        verdict=Verdict.WARN,
        code="video.brightness.dark",
        message=Message(zh="画面偏暗", en="picture dark"),
        article="第十七条 / Art. 17",
        value=41.5,
        threshold=60,
        unit="%",
    )
    status = Status(
        ts="2026-12-02T06:00:00Z",
        venue=VENUE,
        agent=AgentInfo(version="1", hostname="h", pid=1, started_at="2026-12-02T05:00:00Z"),
        overall=Verdict.WARN,
        checks={"video.brightness": finding},
        outbox=OutboxState(pending=2, dropped_metrics=0, dropped_events=0, held_in_memory=0, storage_error="full"),
        conference={
            "current": [{"id": "sheng-1", "title": "全省会议", "start": "2026-12-02T06:30:00Z"}],
            "next": {"id": "guo-2", "title": "国务院会议", "start": "2026-12-03T01:00:00Z"},
            "last_summary": {
                "conference_id": "guo-1",
                "title": None,
                "actual_min": 95.0,
                "allowed_min": 90,
                "art17_min_ok_pct": 93.7,
                "incidents": 2,
                "call_drops": 1,
            },
        },
    )
    return status.model_dump(mode="json", by_alias=True)


def good_selftest() -> dict[str, Any]:
    report = SelftestReport(
        id="r1",
        ts="2026-12-02T05:30:00Z",
        venue=VENUE,
        trigger="rollcall_selftest",
        conference_id="sheng-1",
        verdict="fail",
        items=[
            SelftestItem(check="net.path", verdict="fail", article="x", reason=Message(zh="丢包", en="loss")),
            SelftestItem(check="host.disk", verdict="pass", article="x", reason=Message(zh="好", en="ok"), value=3),
        ],
        duration_s=4.2,
    )
    return report.model_dump(mode="json", by_alias=True)


# Any text, lone surrogates included (a `\\ud800` escape made `venue-agent status` fail to print).
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=20)
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
    st.sampled_from(["[bold red]x[/]", "[/]", "[link=file:///etc/passwd]x", "ok", "fail", "offline", "\x1b[2J"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(ANY_TEXT, st.integers(), max_size=3),
    st.just({"zh": 1, "en": None}),
    st.just([{"id": 1}]),
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
def mutated(draw: st.DrawFn, good: dict[str, Any]) -> dict[str, Any]:
    """`good` with 1–3 values replaced by a value of any type, deleted, or given a sibling key."""
    document = copy.deepcopy(good)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document) or [()]))
        if not path:
            break
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        how = draw(st.sampled_from(["retype", "retype", "delete", "sibling"]))
        if how == "retype":  # a copy: st.just hands out one object, which a later mutation would change
            parent[path[-1]] = copy.deepcopy(draw(ODD_VALUES))
        elif how == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(ANY_TEXT)] = copy.deepcopy(draw(ODD_VALUES))
    return document


MARKUP_OR_ODD_TEXT = st.one_of(
    ANY_TEXT,
    st.sampled_from(
        ["[bold red]x[/]", "[/]", "[link=file:///etc/passwd]x", "\x1b[2J", "\x1b]0;title\x07", "", "\ud800"]
    ),
)


@st.composite
def restrung(draw: st.DrawFn, good: dict[str, Any]) -> dict[str, Any]:
    """`good` with some of its text replaced by other text: still the contract's shape, so it is
    shown — markup, escape sequences, lone surrogates and all."""
    document = copy.deepcopy(good)
    texts = [path for path in _paths(document) if isinstance(_at(document, path), str)]
    for path in draw(st.lists(st.sampled_from(texts), min_size=1, max_size=4)):
        parent = _at(document, path[:-1])
        parent[path[-1]] = draw(MARKUP_OR_ODD_TEXT)
    return document


def _at(document: Any, path: tuple) -> Any:
    for step in path:
        document = document[step]
    return document


def _encode(document: Any, raw: bool) -> bytes:
    if raw:  # lone surrogates as bytes that are not UTF-8
        return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(document).encode("ascii")  # lone surrogates as \\udXXX escapes


def leaf(good: dict[str, Any]) -> st.SearchStrategy[bytes | None]:
    return st.one_of(
        st.none(),  # never retained
        st.just(_encode(good, False)),
        st.builds(_encode, mutated(good), st.booleans()),
        st.builds(_encode, mutated(good), st.booleans()),
        st.builds(_encode, restrung(good), st.just(False)),
        st.builds(_encode, restrung(good), st.just(False)),
        st.binary(max_size=200),
        st.builds(_encode, ODD_VALUES, st.booleans()),
    )


AVAILABILITY = st.one_of(
    st.just(b"online"),
    st.just(b"online"),
    st.none(),
    st.sampled_from([b"offline", b"Online", b"", b"\xff"]),
    st.binary(),
)


def _terminal(width: int) -> tuple[Console, io.BytesIO]:
    """A console writing UTF-8 strictly, as to a real terminal: a lone surrogate could not be written."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    return Console(file=stream, width=width, force_terminal=True, color_system="standard"), raw


@given(AVAILABILITY, leaf(good_status()), leaf(good_selftest()), st.integers(30, 200))
@FUZZ
def test_retained_leaves_give_an_exit_code_and_printable_output(
    availability: bytes | None, status: bytes | None, selftest: bytes | None, width: int
) -> None:
    received = {
        name: value
        for name, value in (("availability", availability), ("status", status), ("selftest", selftest))
        if value is not None
    }
    found = {"topic": BASE, **read_retained(received)}
    code = exit_code(found)
    assert code in (0, 1, 2, 3)
    if found.get("availability") == "offline":
        assert code == 2
    elif found.get("problems") or "status" not in found:
        assert code == 3
    event(f"exit {code}" + (" with problems" if found.get("problems") else ""))
    console, raw = _terminal(width)
    render(found, console)  # the table
    shown = raw.getvalue().decode("utf-8")
    assert "\x1b[2J" not in shown and "\x1b]0;" not in shown  # retained escape sequences never reach the terminal
    json.dumps(found | {"exit_code": code}, ensure_ascii=False, indent=2).encode("utf-8")  # `--json`


def test_the_good_payloads_are_read_as_they_are() -> None:
    """The mutations start from leaves that read cleanly: ok, warn, the conference and the self-test shown."""
    received = {
        "availability": b"online",
        "status": _encode(good_status(), False),
        "selftest": _encode(good_selftest(), False),
    }
    found = {"topic": BASE, **read_retained(received)}
    assert "problems" not in found and exit_code(found) == 1  # overall warn
    console, raw = _terminal(200)
    render(found, console)
    text = raw.getvalue().decode("utf-8")
    assert "全省会议" in text and "failed: net.path" in text
