"""Usage errors as a Nagios plugin reports them: UNKNOWN (exit 3) and one line with a hint.

click exits 2 on a usage error, which Nagios reads as CRITICAL: a typo in a check command
(`--comunity`) would page someone about a venue that is fine. Every `venue-agent` command is
run through `NagiosGroup`, which turns click's usage errors into one line, the command's
`--help` named, and exit 3.
"""

from __future__ import annotations

import sys
from typing import Any

import click

USAGE_EXIT = 3


def hint_line(error: click.UsageError) -> str:
    """`UNKNOWN: 用法错误 / usage error: No such option: --comunity (Possible options: --community) — see …`"""
    from agent.cli.messages import say  # the catalog needs pydantic: loaded only when there is an error

    command = error.ctx.command_path if error.ctx is not None else "venue-agent"
    message = " ".join(error.format_message().split())
    return f"UNKNOWN: {say('cli.usage')}: {message} — see `{command} --help`"


class NagiosGroup(click.Group):
    """A click group whose usage errors exit 3 (UNKNOWN) with a one-line hint instead of 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # `venue-agent probe`: the help is the hint
            click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message(), err=True)
            sys.exit(USAGE_EXIT)
        except click.UsageError as exc:
            click.echo(hint_line(exc), err=True)
            sys.exit(USAGE_EXIT)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
