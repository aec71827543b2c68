"""The word a view prints is the one its exit code says (#17): the real `venue-agent` entry point
as a subprocess, on real pictures, real sound files, a real UDP echo and snmpsim's recordings.

Advisory findings (Art. 15 framing, Art. 16 background) are shown apart and change neither; a
usage error is UNKNOWN (3) with one line on stderr, not click's CRITICAL-looking 2.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest

from sim.ports import free_port
from sim.snmp import SnmpSimulator
from tests.audio_media import RATE, needs_espeak, room, speech, with_hum, write
from tests.test_net_path import LossyUdpEcho
from tests.video_media import photo

WORDS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
HEADLINE = re.compile(r"^(OK|WARNING|CRITICAL|UNKNOWN) \(exit (\d)\)")


def venue_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100"},
    )


def assert_agrees(result: subprocess.CompletedProcess[str], expected: int) -> None:
    """The first line is `WORD (exit N)`: N is the code the process exited with, WORD its word."""
    first = result.stdout.splitlines()[0] if result.stdout else ""
    match = HEADLINE.match(first)
    assert match, (first, result.stdout[-800:], result.stderr[-800:])
    assert (match[1], int(match[2]), result.returncode) == (WORDS[expected], expected, expected), first


@pytest.mark.timeout(400)  # several CLI runs, each a Python importing the agent
def test_probe_video_words_and_exit_codes(tmp_path):
    """A well-exposed photograph with one face in the front row: framing warns (advisory), OK 0."""
    cv2.imwrite(str(tmp_path / "astronaut.png"), photo("astronaut"))
    cv2.imwrite(str(tmp_path / "black.png"), np.full((720, 1280, 3), 6, np.uint8))
    table = venue_agent("probe", "video", str(tmp_path / "astronaut.png"))
    assert_agrees(table, 0)
    assert "advisory" in table.stdout and "video.framing" in table.stdout
    document = json.loads(venue_agent("probe", "video", str(tmp_path / "astronaut.png"), "--json").stdout)
    framing = next(f for f in document["findings"] if f["check"] == "video.framing")
    assert framing["verdict"] == "warn" and framing["advisory"] is True
    assert_agrees(venue_agent("probe", "video", str(tmp_path / "black.png")), 2)
    missing = venue_agent("probe", "video", str(tmp_path / "nowhere.mp4"))
    assert_agrees(missing, 2)


@needs_espeak
@pytest.mark.timeout(400)  # several CLI runs, each a Python importing the agent
def test_probe_audio_words_and_exit_codes(tmp_path):
    clean = write(tmp_path / "room.wav", room())
    hum = write(tmp_path / "hum.wav", with_hum(speech(), -20.0))
    silent = write(tmp_path / "silent.wav", np.zeros(RATE * 5))
    assert_agrees(venue_agent("probe", "audio", str(clean)), 0)
    assert_agrees(venue_agent("probe", "audio", str(hum)), 2)
    assert_agrees(venue_agent("probe", "audio", str(silent)), 2)
    assert_agrees(venue_agent("probe", "audio", str(tmp_path / "nowhere.wav")), 2)


@pytest.mark.parametrize(("drop_every", "expected"), [(0, 0), (40, 1), (10, 2)])
def test_probe_net_words_and_exit_codes(drop_every, expected):
    """Loss 0 %, 2.5 % (warn at 1 %) and 10 % (fail at 5 %) over a real UDP echo; an open port."""
    echo = LossyUdpEcho(drop_every=drop_every)
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        port = str(listener.getsockname()[1])
        result = venue_agent(
            "probe", "net", "127.0.0.1", "--udp-echo", str(echo.port), "--count", "40", "--interval", "0.01",
            "--ports", port,
        )  # fmt: skip
    finally:
        listener.close()
        echo.close()
    assert_agrees(result, expected)


@pytest.mark.timeout(400)  # several CLI runs, each a Python importing the agent
def test_probe_snmp_words_and_exit_codes():
    with SnmpSimulator() as simulator:
        target = f"127.0.0.1:{simulator.port}"
        for community, expected in (("zte_zxr10", 0), ("h3c_comware", 1), ("poly_in_call", 2)):
            assert_agrees(venue_agent("probe", "snmp", target, "--community", community), expected)
    silent = venue_agent("probe", "snmp", f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "--timeout", "0.3")
    assert_agrees(silent, 2)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("probe", "snmp", "127.0.0.1", "--comunity", "x"), "--community"),
        (("probe", "net", "127.0.0.1", "--ports", "5060,x"), "numbers separated by commas"),
        (("probe", "video", "x", "--rate", "0"), "must be positive"),
        (("probe", "ssh", "127.0.0.1", "--device-type", "nosuch", "--username", "u"), "--device-type"),
        (("status",), "--config"),
        (("no-such-command",), "no-such-command"),
    ],
)
def test_a_usage_error_is_unknown_with_a_one_line_hint(args, says):
    result = venue_agent(*args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 3, result.stderr
    assert len(lines) == 1 and lines[0].startswith("UNKNOWN: 用法错误 / usage error: "), result.stderr
    assert says in lines[0] and "--help" in lines[0] and "Traceback" not in result.stderr
