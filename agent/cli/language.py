"""Which language the command line speaks to a person: `zh`, `en` or `both` (#17 item 4).

A technician in a Chinese venue reads Chinese; a script or a colleague elsewhere reads English;
printing both on every line (the earlier default) doubled every table. So the CLI speaks one
language at a time, chosen by, in order:

1. `venue-agent --lang zh|en|both …` (before the subcommand);
2. the environment variable `VENUE_AGENT_LANG` (the same three values; click reads it for `--lang`);
3. the locale, as POSIX orders it — `LC_ALL`, then `LC_MESSAGES`, then `LANG` (the first one set
   and not empty): `zh_*` → `zh`, any other real locale → `en`, and unset, `C` or `POSIX` (a
   service, a cron job, a minimal container: nobody chose) → `both`.

`--json` output always keeps both languages (machines pick what they need). Only the standard
library here: `venue-agent --version` must not pay for the catalogs (agent/cli/lazy_group.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

LANGUAGES = ("zh", "en", "both")
ENV_VARIABLE = "VENUE_AGENT_LANG"
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX precedence: LC_ALL overrides the others
SEPARATOR = " / "

_chosen: str | None = None


class Bilingual(Protocol):
    """What the catalogs render (contract.findings.Message, or any object with both texts)."""

    zh: str
    en: str


def from_locale(environ: Mapping[str, str] | None = None) -> str:
    """The language the locale implies: zh_* → zh, C/POSIX/unset → both, anything else → en."""
    environ = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "").strip()
        if not value:
            continue
        base = value.split(".")[0].split("@")[0]
        if base in ("C", "POSIX"):
            return "both"
        return "zh" if base.lower().startswith("zh") else "en"
    return "both"


def choose(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """`--lang`, else `VENUE_AGENT_LANG` (when it is one of the three), else the locale's."""
    environ = os.environ if environ is None else environ
    if option in LANGUAGES:
        return option
    variable = environ.get(ENV_VARIABLE, "").strip().lower()
    return variable if variable in LANGUAGES else from_locale(environ)


def set_language(language: str) -> None:
    global _chosen
    _chosen = language if language in LANGUAGES else "both"


def current() -> str:
    """The language chosen for this run (resolved from the environment if no command set it)."""
    return _chosen if _chosen is not None else choose()


def pick(zh: str, en: str, language: str | None = None) -> str:
    """One line in the chosen language; `both` is `中文 / English`, Chinese first."""
    language = language or current()
    if language == "zh":
        return zh
    if language == "en":
        return en
    return en if zh == en else f"{zh}{SEPARATOR}{en}"


def said(message: Bilingual, language: str | None = None) -> str:
    """A catalog message on one line, in the chosen language."""
    return pick(message.zh, message.en, language)


def stacked(zh: str, en: str, language: str | None = None) -> str:
    """For a table cell: the chosen language; `both` puts Chinese above English."""
    language = language or current()
    if language in ("zh", "en"):
        return pick(zh, en, language)
    return en if zh == en else f"{zh}\n{en}"


def texts(zh: str, en: str, language: str | None = None) -> list[str]:
    """The texts to show, one per line: the chosen language's, or both (Chinese first)."""
    language = language or current()
    if language == "zh":
        return [zh]
    if language == "en":
        return [en]
    return [en] if zh == en else [zh, en]
