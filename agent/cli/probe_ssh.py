"""`venue-agent probe ssh HOST[:PORT]`: log in to one codec or switch, read it and judge it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.messages import usage_error
from agent.cli.probe_output import (
    PROBLEMS_OPTION,
    env_secret,
    exit_code,
    findings_json,
    print_findings,
    print_metrics,
    split_host_port,
)
from collectors.ssh.poll import SshPool
from collectors.ssh.profile import profiles
from collectors.ssh.readings import SshReading
from collectors.ssh.session import SshSession, SshTarget
from contract.findings import Finding
from probes.device_thresholds import SshThresholds
from probes.ssh import judge


def report_json(reading: SshReading, findings: list[Finding]) -> dict:
    """The stable JSON shape (scripts depend on these keys: see docs/ssh.md)."""
    document: dict = {
        "device": {
            "target": reading.target,
            "device_type": reading.device_type,
            "reachable": reading.reachable,
            "error_kind": reading.error_kind,
            "error": reading.error,
            "cpu_pct": reading.cpu_pct,
            "rejected": reading.rejected,
            "unparsed": reading.unparsed,
        },
        "interfaces": [i.model_dump() for i in reading.interfaces],
        "findings": findings_json(findings),
    }
    if reading.codec is not None:
        codec = reading.codec
        document["codec"] = {
            "product": codec.product,
            "software": codec.software,
            "system_state": codec.system_state,
            "active_calls": codec.active_calls,
            "temperature": codec.temperature,
            "calls": [c.model_dump() for c in codec.calls],
            "media": [
                {
                    "call": m.call,
                    "channel": m.channel,
                    "direction": m.direction,
                    "type": m.type,
                    "loss_pct": None if m.loss_pct is None else round(m.loss_pct, 3),
                    "jitter_ms": m.jitter_ms,
                }
                for m in codec.media
            ],
            "video_inputs": [v.model_dump() for v in codec.video_inputs],
            "registration": codec.registration,
            "diagnostics": [d.model_dump() for d in codec.diagnostics],
        }
    return document


def print_report(console: Console, document: dict) -> None:
    print_metrics(console, f"{document['device']['target']} ({document['device']['device_type']})", document["device"])
    if document["interfaces"]:
        table = Table(title="interfaces")
        for column in ("name", "admin", "oper", "description", "errors"):
            table.add_column(column, no_wrap=column == "name")  # a port's name is never cut
        down_first = sorted(document["interfaces"], key=lambda i: not (i["admin_status"] == "up" != i["oper_status"]))
        for i in down_first:
            errors = "" if i["in_errors"] is None else f"{i['in_errors']}/{i['out_errors']}"
            cells = (i["name"], i["admin_status"], i["oper_status"], i["description"] or "", errors)
            table.add_row(*(escape(str(cell)) for cell in cells))
        console.print(table)
    codec = document.get("codec")
    if codec:
        calls = [f"{c['status']} {c['protocol']} {c['remote']} {c['duration_s']} s" for c in codec["calls"]]
        print_metrics(
            console,
            "codec",
            {
                "product": codec["product"],
                "software": codec["software"],
                "system_state": codec["system_state"],
                "calls": "; ".join(calls) or "none",
                "registration": ", ".join(f"{k} {v}" for k, v in codec["registration"].items()),
                "temperature": codec["temperature"],
            },
        )


@click.command("ssh")
@click.argument("host_port", metavar="HOST[:PORT]")
@click.option(
    "--device-type", required=True, type=click.Choice(sorted(profiles())), help="netmiko device type of the device."
)
@click.option("--username", required=True, help="Login name.")
@click.option("--password-env", default=None, help="Environment variable holding the password.")
@click.option("--key", "key_file", type=click.Path(path_type=Path, exists=True), default=None, help="Private key file.")
@click.option(
    "--known-hosts",
    type=click.Path(path_type=Path),
    default=Path("~/.ssh/known_hosts").expanduser(),
    show_default=True,
    help="OpenSSH known_hosts file the device's key is checked against.",
)
@click.option("--trust-on-first-use", is_flag=True, help="Accept an unknown host key once and record it.")
@click.option("--uplink", default=None, help="Interface whose loss is a fault (switches).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds for the login and for each command.")
@PROBLEMS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_ssh(
    host_port: str,
    device_type: str,
    username: str,
    password_env: str | None,
    key_file: Path | None,
    known_hosts: Path,
    trust_on_first_use: bool,
    uplink: str | None,
    timeout: float,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Log in to a codec (xAPI) or switch (CLI) over SSH, read its state and judge it.

    Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    if password_env is None and key_file is None:
        raise usage_error("cli.ssh_login")
    password = env_secret(password_env, "--password-env")
    host, port = split_host_port(host_port, 22)
    target = SshTarget(
        name=host,
        host=host,
        port=port,
        device_type=device_type,
        username=username,
        password=password,
        key_file=key_file,
        known_hosts=known_hosts,
        trust_on_first_use=trust_on_first_use,
        connect_timeout_s=timeout,
        command_timeout_s=timeout,
    )
    reading = asyncio.run(_read(target))
    findings = judge(reading, SshThresholds(), uplink)
    document = report_json(reading, findings)
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        raise SystemExit(exit_code(findings))
    console = Console()
    code = print_findings(console, findings, problems_only)
    if not problems_only:
        print_report(console, document)
    raise SystemExit(code)


async def _read(target: SshTarget) -> SshReading:
    pool, session = SshPool(1), SshSession(target)
    try:
        return await pool.poll(session)
    finally:
        await asyncio.to_thread(session.close)
        pool.close()
