"""What the command line says on its own account (#17): Chinese first, keyed by stable codes; no
library chatter (OpenCV's `[ WARN:0@…] global cap.cpp`, paho's logger) on the terminal; a lost
source's reason said once, not once per check it leaves unjudged."""

from __future__ import annotations

import os
import subprocess
import sys

from agent.cli.messages import CLI_MESSAGES
from sim.ports import free_port
from sim.venue import write_config


def venue_agent(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100", **env},
    )


def test_every_cli_message_has_both_languages():
    for code in CLI_MESSAGES.codes():
        zh, en = CLI_MESSAGES.template(code)
        assert code.startswith("cli.") and zh and en and zh != en, code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), code  # the Chinese text is Chinese


def test_a_usage_error_of_our_own_is_chinese_first():
    result = venue_agent("probe", "net", "127.0.0.1", "--ports", "99999")
    line = result.stderr.strip()
    assert result.returncode == 3 and len(line.splitlines()) == 1, result.stderr
    assert line.index("端口范围为 1–65535") < line.index("ports are 1–65535") and line.index("用法错误") == 9


def test_an_unopenable_stream_says_why_once_and_opencv_says_nothing(tmp_path):
    result = venue_agent("probe", "video", f"rtsp://127.0.0.1:{free_port()}/x", "--seconds", "1")
    assert result.returncode == 2, result.stderr
    assert "WARN" not in result.stderr and "cap.cpp" not in result.stderr, result.stderr
    assert result.stdout.count("no video signal") == 1 and result.stdout.count("as video.signal") == 3
    logged = tmp_path / "cli.log"
    debugged = venue_agent("probe", "video", str(tmp_path / "nowhere.mp4"), VENUE_AGENT_CLI_LOG=str(logged))
    assert debugged.returncode == 2 and logged.exists()


def test_an_unreachable_broker_is_one_line_and_no_paho_chatter(tmp_path):
    config = write_config(tmp_path, f"mqtt://127.0.0.1:{free_port()}")
    result = venue_agent("status", "-c", str(config), "--timeout", "1")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 3 and len(lines) == 1, result.stderr
    assert lines[0].startswith("UNKNOWN: 无法连接消息服务器 / cannot reach "), lines
