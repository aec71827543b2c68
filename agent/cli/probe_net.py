"""`venue-agent probe net TARGET`: the path to the conference's far end — latency, loss, jitter —
and whether its SIP and H.323 ports answer (Art. 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from agent.cli.configured import CONFIG_PROBE_OPTION
from agent.cli.messages import bad_parameter, usage_error
from agent.cli.options import PROBLEMS_OPTION
from agent.cli.probe_output import exit_code, findings_json, print_findings, print_metrics
from collectors.net.path import icmp_echo, tcp_port, udp_echo
from probes.net import NetThresholds, judge_path, judge_port

if TYPE_CHECKING:
    from agent.config.models import SelftestConfig

PORT_NAMES = {5060: "SIP", 5061: "SIP-TLS", 1720: "H.323"}


def parse_ports(text: str) -> list[int]:
    try:
        ports = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise bad_parameter("cli.ports_not_numbers", text=repr(text)) from None
    if any(not 0 < port < 65536 for port in ports):
        raise bad_parameter("cli.ports_range", text=repr(text))
    return ports


@click.command("net")
@click.argument("target", required=False)
@CONFIG_PROBE_OPTION
@click.option("--count", type=click.IntRange(1, 1000), default=None, help="Echo probes to send [default: 20].")
@click.option(
    "--interval", type=click.FloatRange(0.01, 10), default=None, help="Seconds between probes [default: 0.2]."
)
@click.option(
    "--udp-echo",
    "udp_port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Use a UDP echo service on this port instead of ICMP.",
)
@click.option("--ports", default=None, help="TCP ports that must answer (empty: none) [default: 5060,1720].")
@PROBLEMS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_net(
    target: str | None,
    config_path: Path | None,
    count: int | None,
    interval: float | None,
    udp_port: int | None,
    ports: str | None,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Latency, loss and jitter to TARGET (ICMP echo, or UDP echo) and its conference ports.

    Or -c CONFIG: the far end the self-test probes (the conference in progress or next, else
    [selftest] far_end), with [selftest] udp_echo_port, ports, probes, probe_interval_s and path
    thresholds. Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    thresholds = NetThresholds()
    port_list = parse_ports(ports) if ports is not None else [5060, 1720]
    if config_path is not None:
        selftest, target = _far_end(config_path, target)
        thresholds, udp_port = selftest.path, selftest.udp_echo_port if udp_port is None else udp_port
        count, interval = count or selftest.probes, interval or selftest.probe_interval_s
        port_list = port_list if ports is not None else list(selftest.ports)
    if target is None:
        raise usage_error("cli.target_or_config")
    count, interval = count or 20, interval or 0.2
    path = udp_echo(target, udp_port, count, interval) if udp_port is not None else icmp_echo(target, count, interval)
    findings = [judge_path(path, thresholds)]
    port_readings = [tcp_port(target, port, PORT_NAMES.get(port, f"TCP {port}")) for port in port_list]
    findings += [judge_port(target, reading) for reading in port_readings]
    report = {
        "target": target,
        "method": path.method,
        "sent": path.sent,
        "received": len(path.received),
        "loss_pct": None if path.loss_pct is None else round(path.loss_pct, 2),
        "latency_ms": None if path.latency_ms is None else round(path.latency_ms, 3),
        "jitter_ms": None if path.jitter_ms is None else round(path.jitter_ms, 3),
        "error": path.error,
        "ports": [
            {"port": r.port, "name": r.name, "open": r.open, "connect_ms": r.connect_ms, "error": r.error}
            for r in port_readings
        ],
        "findings": findings_json(findings),
    }
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        raise SystemExit(exit_code(findings))
    console = Console()
    code = print_findings(console, findings, problems_only)
    if not problems_only:
        print_metrics(
            console,
            f"path to {target} ({path.method})",
            {k: report[k] for k in ("sent", "received", "loss_pct", "latency_ms", "jitter_ms", "error")},
        )
    raise SystemExit(code)


def _far_end(config_path: Path, target: str | None) -> tuple[SelftestConfig, str | None]:
    """The config's [selftest] table and the far end its self-test would probe now (`target` wins)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from agent.cli.configured import load
    from agent.cli.held_schedule import held_schedule
    from agent.schedule.timeline import Timeline
    from agent.selftest.checks import far_end_host

    settings = load(config_path)
    if target is None:  # the conference in focus among those the daemon holds (config, .ics, pushed)
        now = datetime.now(UTC)
        conferences = [conference for conference, _ in held_schedule(settings, now).conferences]
        conference = Timeline(conferences, ZoneInfo(settings.schedule.timezone)).in_focus(now)
        target = far_end_host(conference, settings.selftest)
        if target is None:
            raise usage_error("cli.no_far_end")
    return settings.selftest, target
