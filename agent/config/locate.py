"""Find the line of a TOML file that a validation error's field path points at.

`tomllib` keeps no positions, so this scans the text once for table headers and keys and maps
each dotted path to its line. It is deliberately forgiving: an error whose exact key is absent
(a missing field) points at its table's header; a missing table yields no line at all.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")

Path = tuple[str | int, ...]


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def index_lines(text: str) -> dict[Path, int]:
    """Map every table and key path in `text` to its 1-based line number."""
    lines: dict[Path, int] = {}
    table: Path = ()
    array_counts: dict[Path, int] = {}
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            path: Path = tuple(_split_dotted(header.group(2)))
            if header.group(1) == "[[":
                index = array_counts.get(path, -1) + 1
                array_counts[path] = index
                lines.setdefault(path, number)
                path = (*path, index)
            table = path
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, *_split_dotted(key.group(1))), number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def line_of(lines: dict[Path, int], location: Path) -> int | None:
    """Line of the longest prefix of `location` found in the file, or None."""
    for end in range(len(location), 0, -1):
        found = lines.get(tuple(location[:end]))
        if found is not None:
            return found
    return None
