"""A click group whose subcommands are imported when they are run, not when the program starts.

Monitoring systems run `venue-agent` as a check every minute; importing every stack up front
(SciPy for the audio checks, OpenCV, pysnmp, netmiko) made `venue-agent --version` take 1.5 s and
170 MB. Each probe's module — and with it its stack — now loads only when that probe is asked for
(the pattern click's documentation gives for lazily loaded subcommands)."""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """`lazy` maps a subcommand's name to `"package.module:attribute"`."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy:
            return super().get_command(ctx, name)
        module, _, attribute = self.lazy[name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[name]} is not a click command")
        return command
