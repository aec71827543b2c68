"""atheris harness: the retained leaves `venue-agent status` reads. Any bytes as the retained status
(and self-test) give an exit code, a table a UTF-8 terminal takes (no escape sequence of the input
reaching it) and `--json` output."""

from __future__ import annotations

import io
import json

import atheris

from fuzz.harness import OURS, run

with atheris.instrument_imports(include=OURS):
    from agent.cli.status_view import exit_code, read_retained, render

from rich.console import Console


def seeds() -> list[bytes]:
    from tests.test_fuzz_status_view import good_selftest, good_status

    return [json.dumps(good_status()).encode(), json.dumps(good_selftest()).encode()]


def one_input(data: bytes) -> None:
    received = {"availability": b"online", "status": data, "selftest": data}
    found = {"topic": "vc/jilin/changchun/nongan/main", **read_retained(received)}
    code = exit_code(found)
    if code not in (0, 1, 2, 3):
        raise AssertionError(f"exit code {code}")
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    render(found, Console(file=stream, width=100, force_terminal=True))
    if b"\x1b[2J" in raw.getvalue() or b"\x1b]0;" in raw.getvalue():  # render itself clears and titles nothing
        raise AssertionError("a retained escape sequence reached the terminal")
    json.dumps(found | {"exit_code": code}, ensure_ascii=False).encode("utf-8")


if __name__ == "__main__":
    run(seeds, one_input)
