"""A config error names the field and the problem but never quotes a secret back (both programs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import ConfigError, parse_config
from hub.config.load import parse_settings

ROBOT_KEY = "0f1e2d3c-aaaa-bbbb-cccc-robotkey9999"


def test_a_bad_snmp_community_or_broker_password_is_not_quoted():
    text = Path("config/county.example.toml").read_text(encoding="utf-8")
    text += '\n[[snmp.devices]]\nname = "x"\nhost = "127.0.0.1"\ncommunity = ["s3cr3t-community"]\n'
    with pytest.raises(ConfigError) as raised:
        parse_config(text, Path("venue.toml"))
    rendered = str(raised.value)
    assert "snmp.devices" in rendered and "s3cr3t-community" not in rendered


def test_a_bad_sink_does_not_print_its_robot_url():
    text = f"""
[hub]
scope = "vc/jilin/#"
database = "sqlite:///hub.sqlite3"

[broker]
url = "mqtt://127.0.0.1:1883"

[[sink]]
name = "robot"
kind = "wecom-typo"
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}"
"""
    with pytest.raises(ConfigError) as raised:
        parse_settings(text, Path("hub.toml"))
    rendered = str(raised.value)
    assert "sink" in rendered and ROBOT_KEY not in rendered and "qyapi" not in rendered  # not even its start
