"""`venue-agent probe snmp HOST[:PORT]`: one poll of one device, read and judged, for a technician."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

import click
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
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
    split_host_port,
)
from collectors.snmp.poll import poll_device
from collectors.snmp.profile import ProfileError, load_profiles
from collectors.snmp.rates import RateTracker
from collectors.snmp.reading import DeviceReading
from collectors.snmp.session import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpSession, SnmpTarget, close_engine
from contract.findings import Finding
from probes.device_thresholds import DeviceThresholds
from probes.snmp import judge


def report_json(reading: DeviceReading, findings: list[Finding]) -> dict:
    """The stable JSON shape (scripts depend on these keys: see docs/snmp.md)."""
    document: dict = {
        "device": {
            "target": reading.target,
            "reachable": reading.reachable and reading.error is None,
            "error": reading.error,
            "sys_descr": reading.sys_descr,
            "sys_object_id": reading.sys_object_id,
            "sys_name": reading.sys_name,
            "uptime_s": reading.uptime_s,
            "profile": reading.profile,
            "kind": reading.kind,
            "identity": reading.identity,
        },
        "health": {
            key: [{"entity": v.entity, "value": v.value} for v in reading.health.get(key, [])]
            for key in ("cpu_pct", "mem_pct", "temperature_c")
        },
        "interfaces": [
            i.model_dump(
                include={
                    "index",
                    "name",
                    "alias",
                    "admin_status",
                    "oper_status",
                    "speed_mbps",
                    "in_errors",
                    "out_errors",
                    "in_discards",
                    "out_discards",
                    "in_bps",
                    "out_bps",
                    "errors_per_min",
                }
            )
            for i in reading.interfaces
        ],
        "components": [c.model_dump() for c in reading.components],
        "findings": findings_json(findings),
        "requests": reading.requests,
        "poll_s": round(reading.poll_s or 0, 3),
    }
    if reading.kind == "codec":
        document["codec"] = {
            "registration": {
                "sip": reading.registration.get("sip", "unknown"),
                "h323": reading.registration.get("h323", "unknown"),
            },
            "peripherals": [c.model_dump() for c in reading.components],
            "calls": [c.model_dump() for c in reading.calls],
        }
    return document


def print_reading(console: Console, reading: DeviceReading) -> None:
    console.print(f"[bold]{reading.target}[/]  profile {reading.profile}  ({reading.kind})")
    if reading.sys_descr:
        console.print(f"sysDescr: {reading.sys_descr}")
    if reading.identity:
        console.print("identity: " + ", ".join(f"{k}={v}" for k, v in reading.identity.items()))
    for key, values in reading.health.items():
        if values:
            console.print(f"{key}: " + ", ".join(f"{v.entity} {v.value:g}" for v in values))
    if reading.registration:
        console.print("registration: " + ", ".join(f"{k} {v}" for k, v in reading.registration.items()))
    if reading.components:
        console.print("components: " + ", ".join(f"{c.kind} {c.name}: {c.status}" for c in reading.components))
    if reading.interfaces:
        table = Table(title=f"interfaces ({len(reading.interfaces)})")
        for column in ("index", "name", "admin", "oper", "Mbit/s", "in err", "out err", "err/min"):
            table.add_column(column, no_wrap=column == "name")  # a port's name is never cut
        for i in sorted(reading.interfaces, key=_down_first):
            table.add_row(
                str(i.index),
                escape(i.name),
                i.admin_status,
                i.oper_status,
                "" if i.speed_mbps is None else f"{i.speed_mbps:g}",
                str(i.in_errors),
                str(i.out_errors),
                "" if i.errors_per_min is None else f"{i.errors_per_min:.1f}",
            )
        console.print(table)


def _down_first(interface) -> tuple[bool, int]:
    """Ports that should be up and are not come first: those are what a technician looks for."""
    return (not (interface.admin_status == "up" and interface.oper_status != "up"), interface.index)


async def probe(target: SnmpTarget, profile: str, twice_after_s: float | None) -> DeviceReading:
    engine = SnmpEngine()
    try:
        session = SnmpSession(engine, target)
        rates = RateTracker()
        reading = await poll_device(session, profile)
        rates.annotate(reading, time.monotonic())
        if twice_after_s and reading.reachable:
            await asyncio.sleep(twice_after_s)
            reading = await poll_device(session, profile)
            rates.annotate(reading, time.monotonic())
        return reading
    finally:
        await close_engine(engine)  # copies of an answer still in flight must not meet a closed dispatcher


@click.command("snmp")
@click.argument("host_port", metavar="HOST[:PORT] | NAME", required=False)
@CONFIG_PROBE_OPTION
@click.option("--community", default=None, help="v1/v2c community [default: public].")
@click.option(
    "--snmp-version",
    "version",
    type=click.Choice(["1", "2c", "3"]),
    default=None,
    help="Default 2c, or 3 when --v3-user is given.",
)
@click.option("--v3-user", default=None, help="SNMPv3 USM user.")
@click.option("--auth-proto", type=click.Choice(sorted(AUTH_PROTOCOLS)), default=None)
@click.option("--auth-key-env", default=None, metavar="VAR", help="Environment variable holding the auth key.")
@click.option("--priv-proto", type=click.Choice(sorted(PRIV_PROTOCOLS)), default=None)
@click.option("--priv-key-env", default=None, metavar="VAR", help="Environment variable holding the privacy key.")
@click.option(
    "--profile",
    default=None,
    type=click.Choice(["auto", *sorted(load_profiles())]),
    help="auto (by sysObjectID/sysDescr) or a profile name [default: auto, or the device's].",
)
@click.option("--uplink", default=None, help="Interface (name, alias or index) that must be up.")
@click.option("--timeout", type=float, default=None, help="Seconds per request [default: 2, or [snmp] timeout_s].")
@click.option("--retries", type=int, default=None, help="[default: 1, or [snmp] retries]")
@click.option(
    "--rates",
    "twice_after_s",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Poll twice, SECONDS apart, to show interface rates and rising errors.",
)
@PROBLEMS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_snmp(
    host_port: str | None,
    config_path: Path | None,
    community: str | None,
    version: str | None,
    v3_user: str | None,
    auth_proto: str | None,
    auth_key_env: str | None,
    priv_proto: str | None,
    priv_key_env: str | None,
    profile: str | None,
    uplink: str | None,
    timeout: float | None,
    retries: int | None,
    twice_after_s: float | None,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Poll one device over SNMP and judge it (Art. 13). Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

    HOST[:PORT] with the options below, or -c CONFIG [NAME]: the `[[snmp.devices]]` entry called NAME
    (the only one when NAME is left out) with its address, version, community or USM user and keys
    (resolved as the daemon resolves them), profile, uplink, the [snmp] timeout and thresholds."""
    thresholds = DeviceThresholds()
    if config_path is not None:
        target, profile, uplink, thresholds, subject = _configured(
            config_path, host_port, profile, uplink, timeout, retries
        )
    else:
        if host_port is None:
            raise usage_error("cli.target_or_config")
        target = _typed(host_port, community, version, v3_user, auth_proto, auth_key_env, priv_proto, priv_key_env)
        target = dataclasses.replace(
            target, timeout_s=2.0 if timeout is None else timeout, retries=1 if retries is None else retries
        )
        subject = host_port
    try:
        reading = asyncio.run(probe(target, profile or "auto", twice_after_s))
    except ProfileError as exc:
        raise usage_error("cli.bad_source", detail=exc) from None
    findings = judge(subject, reading, thresholds, uplink)
    code = exit_code(findings)
    if as_json:
        click.echo(json.dumps(report_json(reading, findings), ensure_ascii=False, indent=2))
        raise SystemExit(code)
    console = Console()
    code = print_findings(console, findings, problems_only)
    if not problems_only:
        print_reading(console, reading)
    raise SystemExit(code)


def _typed(
    host_port: str,
    community: str | None,
    version: str | None,
    v3_user: str | None,
    auth_proto: str | None,
    auth_key_env: str | None,
    priv_proto: str | None,
    priv_key_env: str | None,
) -> SnmpTarget:
    """The device as typed on the command line."""
    host, port = split_host_port(host_port, 161)
    version = version or ("3" if v3_user else "2c")
    if version == "3" and not v3_user:
        raise usage_error("cli.v3_user")
    return SnmpTarget(
        host=host,
        port=port,
        version=version,
        community=community or "public",
        user=v3_user,
        auth_protocol=auth_proto or ("sha256" if auth_key_env else None),
        auth_key=env_secret(auth_key_env, "--auth-key-env"),
        priv_protocol=priv_proto or ("aes128" if priv_key_env else None),
        priv_key=env_secret(priv_key_env, "--priv-key-env"),
    )


def _configured(
    config_path: Path,
    name: str | None,
    profile: str | None,
    uplink: str | None,
    timeout: float | None,
    retries: int | None,
) -> tuple[SnmpTarget, str, str | None, DeviceThresholds, str]:
    """The configured device as the daemon polls it (agent/monitors/snmp.py `snmp_target`)."""
    from agent.cli.configured import device_named, load, secret_missing
    from agent.config.secrets import SecretError
    from agent.monitors.snmp import snmp_target

    settings = load(config_path)
    device = device_named(settings.snmp.devices, name, "snmp.devices")
    snmp = settings.snmp
    try:
        target = snmp_target(
            device, snmp.timeout_s if timeout is None else timeout, snmp.retries if retries is None else retries
        )
    except SecretError as exc:
        raise secret_missing(exc) from None
    return target, profile or device.profile, uplink or device.uplink, snmp.thresholds, device.name
