"""`venue-agent probe net TARGET`: the path to the conference's far end — latency, loss, jitter —
and whether its SIP and H.323 ports answer (Art. 13)."""

from __future__ import annotations

import json

import click
from rich.console import Console

from agent.cli.messages import bad_parameter
from agent.cli.probe_output import PROBLEMS_OPTION, exit_code, findings_json, print_findings, print_metrics
from collectors.net.path import icmp_echo, tcp_port, udp_echo
from probes.net import NetThresholds, judge_path, judge_port

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
@click.argument("target")
@click.option("--count", type=click.IntRange(1, 1000), default=20, show_default=True, help="Echo probes to send.")
@click.option(
    "--interval", type=click.FloatRange(0.01, 10), default=0.2, show_default=True, help="Seconds between probes."
)
@click.option(
    "--udp-echo",
    "udp_port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Use a UDP echo service on this port instead of ICMP.",
)
@click.option("--ports", default="5060,1720", show_default=True, help="TCP ports that must answer (empty: none).")
@PROBLEMS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_net(
    target: str, count: int, interval: float, udp_port: int | None, ports: str, problems_only: bool, as_json: bool
) -> None:
    """Latency, loss and jitter to TARGET (ICMP echo, or UDP echo) and its conference ports.

    Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    port_list = parse_ports(ports)
    path = udp_echo(target, udp_port, count, interval) if udp_port is not None else icmp_echo(target, count, interval)
    findings = [judge_path(path, NetThresholds())]
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
