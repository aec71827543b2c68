"""Where in a hub config file a key stands, and how a validation error is said — for the hub config
and the board's accounts file alike, so both name the key, the file and the line the same way."""

from __future__ import annotations

import re

from contract.shown_input import shown_input

_TABLE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _keys(text: str) -> list[str]:
    return [part.strip().strip("\"'") for part in text.split(".")]


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Each table (`("sink", 0)` for the first `[[sink]]`) and key path in `text` → its first line.

    tomllib keeps no positions; a line scan is enough for the flat tables a hub config has
    (multi-line strings are skipped over, inline tables count as their key's line).
    """
    found: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    arrays: dict[tuple[str | int, ...], int] = {}
    inside_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if inside_multiline:
            inside_multiline = line.count('"""') % 2 == 0 and line.count("'''") % 2 == 0
            continue
        if header := _TABLE.match(line):
            path: tuple[str | int, ...] = tuple(_keys(header.group(2)))
            if header.group(1) == "[[":
                arrays[path] = arrays.get(path, -1) + 1
                path = (*path, arrays[path])
            table = path
            found.setdefault(table, number)
        elif assignment := _ASSIGNMENT.match(line):
            found.setdefault((*table, *_keys(assignment.group(1))), number)
            inside_multiline = line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1
    return found


def line_of(lines: dict[tuple[str | int, ...], int], location: tuple[str | int, ...]) -> int | None:
    for end in range(len(location), 0, -1):
        if (line := lines.get(location[:end])) is not None:
            return line
    return None


def describe_error(error: dict) -> str:
    if error["type"] == "missing":
        return "required but missing"
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see docs/hub.md)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if "input" in error and error["type"] not in ("model_type", "dict_type"):
        shown = shown_input(error["loc"], error["input"])
        message += f" (got {shown})" if shown is not None else ""
    return message
