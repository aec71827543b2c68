"""The xAPI status parser: property-based round trips over generated trees, and the real answers'
quirks (CR LF, echo, ghosts, quoted strings, error records, unknown commands)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.ssh.xapi import Quoted, instances, parse, render_status, subtree

NAMES = st.from_regex(r"[A-Z][A-Za-z]{0,11}", fullmatch=True)
VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40)
LEAVES = st.one_of(VALUES, VALUES.map(Quoted), st.integers(0, 10**6).map(str))


def non_empty(children):
    named = st.dictionaries(NAMES, children, min_size=1, max_size=4)
    indexed = st.dictionaries(
        st.integers(1, 999), st.dictionaries(NAMES, children, min_size=1, max_size=3), min_size=1, max_size=3
    )
    return st.one_of(named, indexed)


TREES = st.dictionaries(NAMES, st.recursive(LEAVES, non_empty, max_leaves=25), min_size=1, max_size=5)


def answer(lines: list[str], line_end: str = "\r\n") -> str:
    return line_end.join(["xStatus", *lines, "** end", "", "OK", ""])


@given(TREES, st.sampled_from(["\r\n", "\n"]))
@settings(max_examples=200, deadline=None)
def test_render_then_parse_gives_the_tree_back(tree, line_end):
    parsed = parse(answer(render_status(tree), line_end))
    assert parsed.ok and parsed.error is None
    assert parsed.tree == tree


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_any_text_parses_without_raising(text):
    parse(text)
    parse("*s " + text)
    parse("*r Status (status=Error):\r\n    Reason: " + text)


@given(TREES)
@settings(max_examples=100, deadline=None)
def test_ghost_lines_remove_their_instance(tree):
    tree = {**tree, "Video": {"Input": {"Source": {1: {"Availability": "Idle"}, 3: {"Availability": "Ready"}}}}}
    lines = [*render_status(tree), "*s Video Input Source 3 (ghost=True)"]
    parsed = parse(answer(lines)).tree
    assert list(instances(subtree(parsed, "Video", "Input", "Source"))) == [1]


def test_documented_call_answer():
    text = (
        'xStatus Call\r\n*s Call 3 Status: Connected\r\n*s Call 3 Direction: Incoming\r\n*s Call 3 Protocol: "sip"\r\n'
        '*s Call 3 RemoteNumber: "name@company.com"\r\n*s Call 3 Encryption Type: "Aes-128"\r\n'
        "*s Call 3 Duration: 123\r\n** end\r\n\r\nOK\r\n"
    )
    parsed = parse(text)
    call = instances(parsed.tree["Call"])[3]
    assert call["Protocol"] == "sip" and call["RemoteNumber"] == "name@company.com"
    assert call["Encryption"]["Type"] == "Aes-128" and call["Duration"] == "123"


def test_error_record_and_unknown_command():
    error = parse(
        '*r Status (status=Error): \r\n    Reason: "No match on address expression."\r\n'
        '    XPath: "Status/Foo"\r\n** end\r\n\r\nERROR\r\n'
    )
    assert error.ok is False and error.error == "No match on address expression."
    unknown = parse("xFoo\r\nCommand not recognized.\r\n")
    assert unknown.ok is False and unknown.error == "Command not recognized."
