"""`venue-agent selftest` as a technician reads it (#17): the first line is the verdict word and
its exit code, the failed items come first, and the advisory framing items grade nothing.

A real self-test through the entry point: snmpsim's codec, a far end with a UDP echo, NTP and
TCP ports (sim/far_end.py), an H.264 test pattern and recorded speech.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sim.far_end import FarEnd
from tests.test_selftest import media, snmp, venue_config

__all__ = ["media", "snmp"]  # the module's fixtures, shared with tests/test_selftest.py
ADVISORY = ("video.framing", "video.background")
EXIT = {"pass": 0, "warn": 1, "fail": 2, "unknown": 3}


def selftest(config: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "selftest", "-c", config, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100"},
    )


@pytest.mark.timeout(400)  # two self-tests, each a Python importing the agent and sampling for seconds
def test_advisory_framing_changes_neither_word_nor_exit_code(tmp_path, media, snmp):
    """A test pattern has nobody in the front row: framing is not ok, and grades nothing. (The
    graded items are taken from the run itself: on a loaded machine the path's jitter may fail.)"""
    with FarEnd() as far:
        config = venue_config(tmp_path, media, snmp.port, far)
        table = selftest(config, "--framing")
        document = selftest(config, "--framing", "--json")
    report = json.loads(document.stdout)
    framing = [item for item in report["items"] if item["check"].startswith("video.framing")]
    assert framing and framing[0]["verdict"] != "pass", report["items"]
    graded = [item["verdict"] for item in report["items"] if not item["check"].startswith(ADVISORY)]
    assert document.returncode == EXIT[worst(graded)], (graded, document.stderr[-500:])
    first = table.stdout.splitlines()[0]
    word = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}[table.returncode]
    assert first.startswith(f"{word} (exit {table.returncode}): ") and "advisory" in first, first
    assert "video.framing" in table.stdout


def worst(verdicts: list[str]) -> str:
    return max(verdicts, key=["pass", "unknown", "warn", "fail"].index)


@pytest.mark.timeout(400)
def test_a_failed_item_leads_the_table(tmp_path, media, snmp):
    with FarEnd() as far:
        far.loss = 0.5
        config = venue_config(tmp_path, media, snmp.port, far)
        table = selftest(config)
        quick = selftest(config, "--problems")
    out = table.stdout
    assert table.returncode == 2 and out.startswith("CRITICAL (exit 2): "), out[:300] + table.stderr[-500:]
    assert out.index("net.path") < out.index("video.brightness")  # the failed item before the passed ones
    assert quick.returncode == 2 and "net.path" in quick.stdout and "video.brightness" not in quick.stdout
