"""Entry point of the `venue-agent` command (click)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent import __version__
from agent.cli.language import LANGUAGES, choose, set_language
from agent.cli.lazy_group import LazyGroup
from agent.cli.options import CONFIG_OPTION, PROBLEMS_OPTION
from agent.cli.quiet import keep_libraries_off_the_terminal
from agent.cli.usage import NagiosGroup

if TYPE_CHECKING:
    from agent.config import Settings

# Each command loads its own stack when it runs (agent/cli/lazy_group.py): `--version`, `--help` and
# one probe do not pay for SciPy, OpenCV, pysnmp and netmiko together.
PROBES = {
    "snmp": "agent.cli.probe_snmp:probe_snmp",
    "ssh": "agent.cli.probe_ssh:probe_ssh",
    "video": "agent.cli.probe_video:probe_video",
    "audio": "agent.cli.probe_audio:probe_audio",
    "net": "agent.cli.probe_net:probe_net",
}


def _load_or_exit(path: Path) -> Settings:
    """The settings, or every config error (field path, line; in the chosen language) and exit 2."""
    from agent.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        from agent.cli.config_errors import config_error_lines

        for line in config_error_lines(path, exc):
            click.echo(line, err=True)
        sys.exit(2)


@click.group(cls=NagiosGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="venue-agent")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    envvar="VENUE_AGENT_LANG",
    default=None,
    help="Language of what is printed: zh, en or both (default from LANG/LC_ALL: zh_* → zh, C or unset → both). "
    "--json keeps both.",
)
@click.pass_context
def main(context: click.Context, lang: str | None) -> None:
    """Monitoring agent of a government video-conference branch venue (吉林省 2013 办法)."""
    set_language(choose(lang))
    if context.invoked_subcommand != "run":  # the daemon logs to the journal; a command prints verdicts
        keep_libraries_off_the_terminal()


@main.command()
@CONFIG_OPTION
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Overrides [agent] log_level.",
)
def run(config_path: Path, log_level: str | None) -> None:
    """Run the daemon in the foreground (systemd runs it this way)."""
    import asyncio

    from agent.config.secrets import SecretError
    from agent.daemon import Agent

    settings = _load_or_exit(config_path)
    logging.basicConfig(
        level=(log_level or settings.agent.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code = asyncio.run(Agent(config_path, settings).run())
    except SecretError as exc:
        click.echo(f"{config_path}: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


@main.group(cls=LazyGroup, lazy={"check": "agent.cli.config_check:config_check"})
def config() -> None:
    """Work with config files."""


@main.command()
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--timeout", default=3.0, show_default=True, help="Seconds to wait for retained messages.")
@PROBLEMS_OPTION
def status(config_path: Path, as_json: bool, timeout: float, problems_only: bool) -> None:
    """Read this venue's retained availability, status and self-test from the broker.

    Exit codes as a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL (failed check or offline), 3 UNKNOWN.
    """
    from agent.cli import status_view

    settings = _load_or_exit(config_path)
    sys.exit(status_view.show(settings, as_json=as_json, timeout_s=timeout, problems_only=problems_only))


@main.command()
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "include_past", is_flag=True, help="Also conferences that have ended.")
def schedule(config_path: Path, as_json: bool, include_past: bool) -> None:
    """Conferences ahead and their Art. 14 checkpoints (eve test, power-on, roll call, seating, …)."""
    from agent.cli import schedule_view

    sys.exit(schedule_view.show(_load_or_exit(config_path), as_json, include_past))


@main.command()
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the selftest payload).")
@click.option(
    "--conference", "conference_id", default=None, help="Probe this conference's far end (default: current or next)."
)
@click.option("--framing", is_flag=True, help="Include the Art. 15 framing and Art. 16 background checks.")
@click.option(
    "--via-broker",
    is_flag=True,
    help="Ask the running daemon (cmd/selftest), which reads its monitors instead of opening the sources.",
)
@click.option(
    "--local",
    is_flag=True,
    help="Run here even when the daemon runs on this host (by default it is then asked, as with --via-broker).",
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(1, 600),
    default=None,
    help="With --via-broker: seconds to wait for the daemon's reply (default: [selftest] timeout_s + 15).",
)
@PROBLEMS_OPTION
def selftest(
    config_path: Path,
    as_json: bool,
    conference_id: str | None,
    framing: bool,
    via_broker: bool,
    local: bool,
    wait_s: float | None,
    problems_only: bool,
) -> None:
    """Run the Art. 14 self-test suite now: devices, network path, picture, sound, clock, outbox.

    Exit codes as a Nagios plugin: 0 pass, 1 warn, 2 fail, 3 unknown.
    """
    from agent.cli import selftest_view
    from agent.cli.quiet import quieten_opencv

    quieten_opencv()
    settings = _load_or_exit(config_path)
    code = selftest_view.show(settings, as_json, conference_id, framing, via_broker, wait_s, problems_only, local)
    sys.exit(code)


@main.group(cls=LazyGroup, lazy=PROBES)
def probe() -> None:
    """Diagnostics a technician runs by hand; Nagios exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."""


if __name__ == "__main__":
    main()
