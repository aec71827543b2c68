"""One language at a time (#17 item 4): `--lang zh|en|both`, `VENUE_AGENT_LANG`, the locale; findings,
CLI errors, config errors (field path and line kept) and source errors all from catalogs; `--json`
keeps both; library chatter (OpenCV, FFmpeg, paho) never on the terminal.

Through the real entry point (`python -m agent …`) on real files, a real mosquitto address with
nothing behind it and an RTSP URL with no server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli.language import from_locale
from collectors.audio.source import SOURCE_MESSAGES as AUDIO_SOURCE_MESSAGES
from collectors.video.source import SOURCE_MESSAGES as VIDEO_SOURCE_MESSAGES
from contract.config_error import CONFIG_MESSAGES
from sim.ports import free_port
from sim.venue import write_config

CJK = re.compile(r"[\u4e00-\u9fff]")
LOCALE = ("LANG", "LC_ALL", "LC_MESSAGES", "VENUE_AGENT_LANG")


def venue_agent(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI with the locale cleared and `env` set (so the machine's own LANG decides nothing)."""
    base = {k: v for k, v in os.environ.items() if k not in LOCALE}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "COLUMNS": "200", **env},
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "both"),
        ({"LANG": "C.UTF-8"}, "both"),
        ({"LANG": "POSIX"}, "both"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),  # LC_ALL overrides
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "de_DE.UTF-8", "LC_ALL": ""}, "en"),  # empty is unset
    ],
)
def test_the_locale_decides_the_default(environ, expected):
    assert from_locale(environ) == expected


def test_every_source_and_config_message_has_both_languages():
    for catalog in (VIDEO_SOURCE_MESSAGES, AUDIO_SOURCE_MESSAGES, CONFIG_MESSAGES):
        for code in catalog.codes():
            zh, en = catalog.template(code)
            assert zh and en and zh != en and CJK.search(zh), code


def test_a_missing_file_in_each_language(tmp_path):
    """The source error, the finding around it and the summary: wholly in the language asked for."""
    missing = str(tmp_path / "nowhere.wav")
    zh = venue_agent("--lang", "zh", "probe", "audio", missing)
    en = venue_agent("probe", "audio", missing, VENUE_AGENT_LANG="en")
    both = venue_agent("probe", "audio", missing)  # no locale at all: both
    assert zh.returncode == en.returncode == both.returncode == 2, (zh.stderr, en.stderr, both.stderr)
    assert "文件不存在" in zh.stdout and "no such file" not in zh.stdout and "not ok" not in zh.stdout
    assert "无音频输入" in zh.stdout and "项异常" in zh.stdout
    assert "no such file" in en.stdout and not CJK.search(en.stdout.replace("第十七条", ""))
    assert "文件不存在" in both.stdout and "no such file" in both.stdout
    assert zh.stdout.splitlines()[0].startswith("CRITICAL (exit 2)")  # the word Nagios reads stays
    video = venue_agent("--lang", "zh", "probe", "video", str(tmp_path / "nowhere.mp4"))
    assert video.returncode == 2 and "无视频信号" in video.stdout and "文件不存在" in video.stdout
    assert "no such file" not in video.stdout


def test_the_locale_and_the_variable(tmp_path):
    missing = str(tmp_path / "nowhere.wav")
    assert "文件不存在" in venue_agent("probe", "audio", missing, LANG="zh_CN.UTF-8").stdout
    assert "文件不存在" not in venue_agent("probe", "audio", missing, LANG="en_US.UTF-8").stdout
    overridden = venue_agent("probe", "audio", missing, LANG="zh_CN.UTF-8", VENUE_AGENT_LANG="en")
    assert "文件不存在" not in overridden.stdout and "no such file" in overridden.stdout
    wrong = venue_agent("--lang", "fr", "probe", "audio", missing)
    assert wrong.returncode == 3 and "--lang" in wrong.stderr


def test_json_keeps_both_languages(tmp_path):
    result = venue_agent("--lang", "en", "probe", "audio", str(tmp_path / "nowhere.wav"), "--json")
    assert result.returncode == 2
    signal = next(f for f in json.loads(result.stdout)["findings"] if f["check"] == "audio.signal")
    assert "文件不存在" in signal["message"]["zh"] and "no such file" in signal["message"]["en"]
    assert "no such file" not in signal["message"]["zh"]  # the Chinese is Chinese all through


BAD_CONFIG = """
[venue]
province = "jilin"
prefecture = "changchun"
county = "nongan"
id = "Main"
name = "x"
colour = 1

[broker]
url = "mqtt://127.0.0.1:1883"

[agent]
state_dir = "{state}"
status_interval_s = "fast"
metrics_interval_s = 0.5
log_level = "loud"
"""


def test_config_errors_in_each_language_keep_field_and_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(BAD_CONFIG.format(state=tmp_path / "state"), encoding="utf-8")
    zh = venue_agent("--lang", "zh", "config", "check", "-c", str(config))
    en = venue_agent("--lang", "en", "config", "check", "-c", str(config))
    assert zh.returncode == en.returncode == 2
    zh_lines, en_lines = zh.stderr.strip().splitlines(), en.stderr.strip().splitlines()
    assert len(zh_lines) == len(en_lines) == 6, zh.stderr
    assert f"{config}:6: venue.id: 格式不符" in zh.stderr and "（实际为 'Main'）" in zh.stderr
    assert f"{config}:8: venue.colour: 未知的键" in zh.stderr
    assert f"{config}:15: agent.status_interval_s: 应为数字" in zh.stderr
    assert f"{config}:16: agent.metrics_interval_s: 应不小于 1" in zh.stderr
    assert f"{config}:17: agent.log_level: 应为以下之一" in zh.stderr and zh_lines[-1].endswith("配置有 5 处错误")
    assert f"{config}:16: agent.metrics_interval_s: must be at least 1 (got 0.5)" in en.stderr
    assert f"{config}:8: venue.colour: unknown key" in en.stderr and not CJK.search(en.stderr)
    assert "Input should be" not in zh.stderr + en.stderr  # pydantic's wording replaced, not echoed


def test_a_validator_of_our_own_is_marked_english_only(tmp_path):
    config = write_config(
        tmp_path, "mqtt://127.0.0.1:1883", extra="[host]\ndisk_warn_free_mb = 10\ndisk_fail_free_mb = 20\n"
    )
    result = venue_agent("--lang", "zh", "config", "check", "-c", str(config))
    assert result.returncode == 2
    assert "disk_fail_free_mb must not exceed disk_warn_free_mb（仅有英文说明）" in result.stderr


def test_a_usage_error_in_chinese_only():
    result = venue_agent("--lang", "zh", "probe", "net", "127.0.0.1", "--ports", "99999")
    line = result.stderr.strip()
    assert result.returncode == 3 and len(line.splitlines()) == 1
    assert "端口范围为 1–65535" in line and "ports are" not in line and line.startswith("UNKNOWN: 用法错误")


def test_no_library_chatter_on_a_missing_stream_or_an_unreachable_broker(tmp_path):
    """OpenCV's `[ WARN:0@…]`, FFmpeg's `[tcp @ …]` and paho's `Client is not connected` go to the
    log (VENUE_AGENT_CLI_LOG), never to the terminal; the command's own line says what failed."""
    stream = venue_agent("--lang", "zh", "probe", "video", f"rtsp://127.0.0.1:{free_port()}/live", "--seconds", "1")
    assert stream.returncode == 2, stream.stderr
    assert stream.stderr == "", stream.stderr
    assert "该地址（暂时）没有视频流" in stream.stdout and stream.stdout.count("无视频信号") == 1
    config = write_config(tmp_path / "venue", f"mqtt://127.0.0.1:{free_port()}")
    for args in (("status", "-c", str(config), "--timeout", "1"), ("selftest", "-c", str(config), "--via-broker")):
        result = venue_agent("--lang", "en", *args, "--problems")
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 3 and len(lines) == 1, result.stderr
        assert lines[0].startswith("UNKNOWN: cannot reach "), lines
        assert "not connected" not in result.stderr and "Traceback" not in result.stderr
    logged = tmp_path / "cli.log"
    debug = venue_agent(
        "probe", "video", f"rtsp://127.0.0.1:{free_port()}/x", "--seconds", "1", VENUE_AGENT_CLI_LOG=str(logged)
    )
    assert debug.returncode == 2 and logged.exists()


def test_a_whole_error_message_not_half_english(tmp_path: Path):
    """The issue's example: the Chinese text of a missing source used to end in English."""
    result = venue_agent("--lang", "zh", "probe", "video", str(tmp_path / "x.mp4"), "--json")
    signal = json.loads(result.stdout)["findings"][0]
    assert signal["message"]["zh"] == f"无视频信号：{tmp_path / 'x.mp4'}：文件不存在"
    assert signal["message"]["en"] == f"no video signal: {tmp_path / 'x.mp4'}: no such file"
