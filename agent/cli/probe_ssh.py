"""`venue-agent probe ssh HOST[:PORT]`: log in to one codec or switch, read it and judge it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.configured import CONFIG_PROBE_OPTION
from agent.cli.messages import usage_error
from agent.cli.options import PROBLEMS_OPTION
from agent.cli.probe_output import (
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
            "dialect": codec.dialect,
            "system_state": codec.system_state,
            "active_calls": codec.active_calls,
            "temperature": codec.temperature,
            "temperature_c": codec.temperature_c,
            "temperature_limit_c": codec.temperature_limit_c,
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
            "diagnostics_read": codec.diagnostics_read,
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
                "software": f"{codec['software']} ({codec['dialect']})" if codec["dialect"] else codec["software"],
                "system_state": codec["system_state"],
                "calls": "; ".join(calls) or "none",
                "registration": ", ".join(f"{k} {v}" for k, v in codec["registration"].items()),
                "temperature": _temperature(codec),
            },
        )


def _temperature(codec: dict) -> str | None:
    """CE/RoomOS says a state (Normal/High/Critical); TC says degrees and where it shuts down."""
    if codec["temperature_c"] is None:
        return codec["temperature"]
    limit = codec["temperature_limit_c"]
    return f"{codec['temperature_c']:g} °C" + ("" if limit is None else f" (shuts down at {limit:g} °C)")


# The file docs/install.md has a technician create (the service reads it too, via [ssh] known_hosts).
INSTALLED_KNOWN_HOSTS = Path("/etc/venue-agent/ssh_known_hosts")


def default_known_hosts(installed: Path = INSTALLED_KNOWN_HOSTS) -> Path:
    """The installed venue's known_hosts when it exists (what the daemon checks against), else the
    user's own ~/.ssh/known_hosts: a probe by hand should trust what the daemon trusts."""
    return installed if installed.exists() else Path("~/.ssh/known_hosts").expanduser()


@click.command("ssh")
@click.argument("host_port", metavar="HOST[:PORT] | NAME", required=False)
@CONFIG_PROBE_OPTION
@click.option(
    "--device-type", default=None, type=click.Choice(sorted(profiles())), help="netmiko device type of the device."
)
@click.option("--username", default=None, help="Login name.")
@click.option("--password-env", default=None, help="Environment variable holding the password.")
@click.option("--key", "key_file", type=click.Path(path_type=Path, exists=True), default=None, help="Private key file.")
@click.option(
    "--known-hosts",
    type=click.Path(path_type=Path),
    default=None,
    help=f"OpenSSH known_hosts file the device's key is checked against [default: {INSTALLED_KNOWN_HOSTS} "
    "if it exists, else ~/.ssh/known_hosts; with -c the config's].",
)
@click.option("--trust-on-first-use", is_flag=True, help="Accept an unknown host key once and record it.")
@click.option("--uplink", default=None, help="Interface whose loss is a fault (switches).")
@click.option("--timeout", type=float, default=None, help="Seconds for the login and for each command [default: 10].")
@PROBLEMS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_ssh(
    host_port: str | None,
    config_path: Path | None,
    device_type: str | None,
    username: str | None,
    password_env: str | None,
    key_file: Path | None,
    known_hosts: Path | None,
    trust_on_first_use: bool,
    uplink: str | None,
    timeout: float | None,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Log in to a codec (xAPI) or switch (CLI) over SSH, read its state and judge it.

    HOST[:PORT] with --device-type, --username and a login, or -c CONFIG [NAME]: the
    `[[ssh.devices]]` entry called NAME (the only one when left out) with its address, device type,
    login (password resolved as the daemon does), key, uplink and the [ssh] known_hosts (default
    `<state_dir>/ssh_known_hosts`, the daemon's), timeouts and thresholds.
    Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    thresholds, registration = SshThresholds(), True
    if config_path is not None:
        target, uplink, thresholds, registration = _configured(config_path, host_port, known_hosts, uplink, timeout)
        if trust_on_first_use:
            target = dataclasses.replace(target, trust_on_first_use=True)
    else:
        if host_port is None:
            raise usage_error("cli.target_or_config")
        if device_type is None or username is None:
            raise usage_error("cli.ssh_needs")
        if password_env is None and key_file is None:
            raise usage_error("cli.ssh_login")
        password = env_secret(password_env, "--password-env")
        host, port = split_host_port(host_port, 22)
        seconds = 10.0 if timeout is None else timeout
        target = SshTarget(
            name=host,
            host=host,
            port=port,
            device_type=device_type,
            username=username,
            password=password,
            key_file=key_file,
            known_hosts=known_hosts or default_known_hosts(),
            trust_on_first_use=trust_on_first_use,
            connect_timeout_s=seconds,
            command_timeout_s=seconds,
        )
    reading = asyncio.run(_read(target))
    findings = judge(reading, thresholds, uplink, registration)
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


def _configured(
    config_path: Path, name: str | None, known_hosts: Path | None, uplink: str | None, timeout: float | None
) -> tuple[SshTarget, str | None, SshThresholds, bool]:
    """The configured device as the daemon reads it (agent/monitors/ssh.py `ssh_target`)."""
    from agent.cli.configured import device_named, load, secret_missing
    from agent.config.secrets import SecretError
    from agent.monitors.ssh import ssh_target

    settings = load(config_path)
    device = device_named(settings.ssh.devices, name, "ssh.devices")
    try:
        target = ssh_target(device, settings.ssh, settings.agent.state_dir)
    except SecretError as exc:
        raise secret_missing(exc) from None
    changes: dict = {"known_hosts": known_hosts} if known_hosts is not None else {}
    if timeout is not None:
        changes |= {"connect_timeout_s": timeout, "command_timeout_s": timeout}
    target = dataclasses.replace(target, **changes)
    return target, uplink or device.uplink, settings.ssh.thresholds, device.require_registration
