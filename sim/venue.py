"""The simulated venue's config: a county venue of Changchun, talking to a private broker."""

from __future__ import annotations

from pathlib import Path

TEMPLATE = """\
# Simulated venue (demo and tests). Real venues start from config/county.example.toml.
[venue]
province = "jilin"
prefecture = "changchun"
county = "{county}"
id = "main"
name = "{name}"

[contacts.liaison]
name = "张联络"
phone = "0431-88880001"

[contacts.technical_head]
name = "李技术"
phone = "13900000002"

[broker]
url = "{broker_url}"
protocol = "{protocol}"
keepalive_s = {keepalive_s}
reconnect_min_s = 1
reconnect_max_s = 2
{login}
[agent]
state_dir = "{state_dir}"
status_interval_s = {status_interval_s}
metrics_interval_s = {metrics_interval_s}
shutdown_flush_s = 5

[simulation]
flap_interval_s = {flap_interval_s}
"""


def write_config(
    directory: Path,
    broker_url: str,
    *,
    county: str = "nongan",
    name: str = "农安县政府视频会议室（模拟）",
    protocol: str = "5",
    keepalive_s: int = 5,
    status_interval_s: float = 5,
    metrics_interval_s: float = 10,
    flap_interval_s: float = 3,
    username: str | None = None,
    password_env: str | None = None,
    extra: str = "",
) -> Path:
    """Write `venue.toml` (and make its state dir) in `directory`; returns the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "venue.toml"
    text = TEMPLATE.format(
        county=county,
        name=name,
        broker_url=broker_url,
        protocol=protocol,
        keepalive_s=keepalive_s,
        state_dir=directory / "state",
        status_interval_s=status_interval_s,
        metrics_interval_s=metrics_interval_s,
        flap_interval_s=flap_interval_s,
        login=(f'username = "{username}"\n' if username else "")
        + (f'password_env = "{password_env}"\n' if password_env else ""),
    )
    path.write_text(text + extra, encoding="utf-8")
    return path
