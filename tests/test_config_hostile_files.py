"""`venue-agent config check` (a real subprocess, with a timeout) on files that used to hang it,
exhaust its memory or end in a traceback; and `load_config` raising only ConfigError for each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import ConfigError, load_config
from agent.config.load import MAX_CONFIG_BYTES
from agent.schedule.keeper import ScheduleKeeper

ROOT = Path(__file__).resolve().parents[1]
BASE = """\
[venue]
province = "jilin"
prefecture = "changchun"
county = "nongan"
id = "main"
name = "农安县政府视频会议室"

[broker]
url = "mqtt://127.0.0.1:1883"

[agent]
state_dir = "{state_dir}"
"""


def config_check(path: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a technician runs it; the timeout is what proves a FIFO no longer hangs it."""
    return subprocess.run(
        [sys.executable, "-m", "agent", "config", "check", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(BASE.format(state_dir=tmp_path / "state") + text, encoding="utf-8")
    return path


def hostile_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name → (path, what the error must say)."""
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.toml"
    huge.write_text(BASE.format(state_dir=tmp_path) + "#" * MAX_CONFIG_BYTES, encoding="utf-8")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(BASE.format(state_dir=tmp_path).encode() + b"\n# caf\xe9\n")
    return {
        "deep arrays": (write(tmp_path, "deep.toml", "x = " + "[" * 50_000 + "]" * 50_000 + "\n"), "nested too deeply"),
        "deep tables": (
            write(tmp_path, "tables.toml", "x = " + "{a = " * 5_000 + "1" + "}" * 5_000),
            "nested too deeply",
        ),
        "deep value": (
            write(tmp_path, "value.toml", "[video]\nsource = " + "[" * 400 + "]" * 400 + "\n"),
            "video.source",
        ),
        "FIFO": (fifo, "FIFO"),
        "/dev/zero": (Path("/dev/zero"), "character device"),
        "a directory": (tmp_path, "directory"),
        "huge": (huge, "too large"),
        "5000 digits": (write(tmp_path, "digits.toml", "[host]\ninterval_s = " + "9" * 5000 + "\n"), "not valid TOML"),
        "not UTF-8": (latin, "not UTF-8"),
        "year 9999": (
            write(
                tmp_path,
                "y9999.toml",
                '[[conference]]\nid = "c"\nkind = "national"\nstart = 9999-12-31T23:30:00-08:00\n',
            ),
            "conference[0].start: must be in the years 2000–2199, not 9999",
        ),
        "year 1": (
            write(
                tmp_path, "y1.toml", '[[conference]]\nid = "c"\nkind = "national"\nstart = 0001-01-01T00:10:00+08:00\n'
            ),
            "not 1",
        ),
        "zone is a directory": (write(tmp_path, "zone.toml", '[schedule]\ntimezone = "Asia"\n'), "unknown time zone"),
        "NUL in a path": (write(tmp_path, "nul.toml", '[schedule]\nics_file = "/etc/a\\u0000b"\n'), "NUL"),
        "too many conferences": (
            write(
                tmp_path,
                "many.toml",
                "".join(
                    f'[[conference]]\nid = "c{n}"\nkind = "national"\nstart = 2099-01-01T09:00:00+08:00\n'
                    for n in range(501)
                ),
            ),
            "at most 500",
        ),
    }


CASES = [
    "deep arrays",
    "deep tables",
    "deep value",
    "FIFO",
    "/dev/zero",
    "a directory",
    "huge",
    "5000 digits",
    "not UTF-8",
    "year 9999",
    "year 1",
    "zone is a directory",
    "NUL in a path",
    "too many conferences",
]


@pytest.mark.parametrize("case", CASES)
def test_config_check_names_each_hostile_file_without_a_traceback_or_a_hang(tmp_path, case):
    cases = hostile_files(tmp_path)
    assert sorted(cases) == sorted(CASES)
    path, expected = cases[case]
    result = config_check(path)
    assert result.returncode == 2, (result.returncode, result.stderr[-800:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert expected in result.stderr and str(path) in result.stderr, result.stderr
    assert result.stdout == ""


def test_load_config_raises_only_config_error_and_a_keeper_builds_from_whatever_passes(tmp_path):
    for name, (path, _expected) in hostile_files(tmp_path).items():
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert caught.value.path == path, name
    good = write(
        tmp_path, "good.toml", '[[conference]]\nid = "c"\nkind = "national"\nstart = 2199-12-31T23:59:00-23:59\n'
    )
    schedule = ScheduleKeeper(load_config(good))
    assert list(schedule.timeline.conferences) == ["c"] and schedule.take_notices() == []


def test_a_truncated_ics_named_by_the_config_is_a_warning_naming_the_event(tmp_path):
    calendar = tmp_path / "conferences.ics"
    calendar.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        b"BEGIN:VEVENT\r\nUID:truncated-1\r\nDTSTART:2027120\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:edge-9999\r\nDTSTART:99991231T235959Z\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:fine\r\nDTSTART:20991203T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    path = write(tmp_path, "ics.toml", f'[schedule]\nics_file = "{calendar}"\n')
    result = config_check(path)
    assert result.returncode == 0 and result.stdout.startswith("OK") and "2 warning(s)" in result.stdout
    assert f"warning: {calendar}: event truncated-1: DTSTART '2027120' is not a date-time" in result.stderr
    assert f"warning: {calendar}: event edge-9999: start: must be in the years 2000–2199" in result.stderr
    assert "Traceback" not in result.stderr
    calendar.unlink()
    os.mkfifo(calendar)
    result = config_check(path)
    assert result.returncode == 0 and f"warning: {calendar}: cannot read the calendar: a FIFO" in result.stderr
