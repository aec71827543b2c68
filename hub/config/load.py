"""Read the hub's config file into `HubSettings`, or explain every problem with its field path and line.

Whatever is wrong — unreadable, too large, not UTF-8, not TOML, invalid — the answer is a
`ConfigError` listing `ConfigIssue`s (`FILE:LINE: field.path: problem`), never a traceback:
`venue-hub config check` prints them and exits 2, `venue-hub run` refuses to start with them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from contract.config_error import ConfigError, ConfigIssue
from hub.config.models import HubSettings
from hub.config.scope_filter import scopes_overlap
from hub.config.toml_lines import describe_error, key_lines, line_of

MAX_CONFIG_BYTES = 1_048_576


def parse_settings(text: str, path: Path) -> HubSettings:
    """Validate `text` (the content of `path`) and resolve relative paths against `path`'s directory."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))  # tomllib gives the position only in the text (3.11)
        line = int(found.group(1)) if found else None
        raise ConfigError(path, [ConfigIssue("", f"not valid TOML: {exc}", line)]) from None
    except RecursionError:
        raise ConfigError(path, [ConfigIssue("", "not valid TOML: nested too deeply")]) from None
    try:
        settings = HubSettings.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        issues = [
            ConfigIssue(".".join(str(p) for p in error["loc"]), describe_error(error), line_of(lines, error["loc"]))
            for error in exc.errors()
        ]
        raise ConfigError(path, issues) from None
    settings = resolve_paths(settings, path.parent)
    lines = key_lines(text)
    check_rules(settings, lines_of=lines, path=path)
    return with_account_file(settings, lines_of=lines, path=path)


def check_rules(settings: HubSettings, *, lines_of: dict, path: Path) -> None:
    """`[evaluation] rules` read and checked now, like the accounts file: a typo in an office's scoring
    rules is found by `config check` (naming the key, its line and each problem in the rules file), not
    by the first evaluation asked for at the end of the year — or by the board, showing an error page."""
    rules_path = settings.evaluation.rules
    if rules_path is None:
        return
    from hub.reports.scoring import RulesError, load_rules

    try:
        load_rules(rules_path)
    except RulesError as exc:
        line = line_of(lines_of, ("evaluation", "rules"))
        raise ConfigError(path, [ConfigIssue("evaluation.rules", problem, line) for problem in exc.problems]) from None


def with_account_file(settings: HubSettings, *, lines_of: dict, path: Path) -> HubSettings:
    """The settings with `[web] accounts_file`'s accounts added, checked as the main file's are: a name
    given twice (in either file) or a scope outside the hub's is an error naming where."""
    web = settings.web
    accounts = list(web.account)
    outside = [
        ConfigIssue(
            f"web.account.{n}.scope",
            f"{a.scope} lies outside hub.scope {settings.hub.scope}",
            line_of(lines_of, ("web", "account", n, "scope")),
        )
        for n, a in enumerate(accounts)
        if not scopes_overlap(a.scope, settings.hub.scope)
    ]
    if outside:
        raise ConfigError(path, outside)
    if web.accounts_file is not None:
        from hub.config.accounts_file import load_accounts

        extra = load_accounts(web.accounts_file)
        issues = [
            ConfigIssue(f"account.{n}.scope", f"{a.scope} lies outside hub.scope {settings.hub.scope}")
            for n, a in enumerate(extra)
            if not scopes_overlap(a.scope, settings.hub.scope)
        ]
        if issues:
            raise ConfigError(web.accounts_file, issues)
        accounts += extra
    seen: set[str] = set()
    for number, account in enumerate(accounts):
        if account.name in seen:
            where = line_of(lines_of, ("web", "account", number)) if number < len(web.account) else None
            raise ConfigError(path, [ConfigIssue(f"web.account ({account.name})", "account name given twice", where)])
        seen.add(account.name)
    if web.listen is not None and not accounts:
        line = line_of(lines_of, ("web", "listen"))
        raise ConfigError(
            path, [ConfigIssue("web.listen", "the board is served but no [[web.account]] can sign in", line)]
        )
    if len(accounts) == len(web.account):
        return settings
    return settings.model_copy(update={"web": web.model_copy(update={"account": accounts})})


def resolve_paths(settings: HubSettings, base: Path) -> HubSettings:
    hub = settings.hub
    update: dict[str, object] = {}
    if hub.inventory is not None and not hub.inventory.is_absolute():
        update["inventory"] = base / hub.inventory
    if hub.database.startswith("sqlite:///") and not hub.database.startswith("sqlite:////"):
        update["database"] = f"sqlite:///{(base / hub.database.removeprefix('sqlite:///')).resolve()}"
    rules = settings.evaluation.rules
    if rules is not None and not rules.is_absolute():
        settings = settings.model_copy(
            update={"evaluation": settings.evaluation.model_copy(update={"rules": base / rules})}
        )
    web_update = {
        name: base / value
        for name in ("accounts_file", "session_secret_file")
        if (value := getattr(settings.web, name)) is not None and not value.is_absolute()
    }
    if web_update:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update=web_update)})
    if not update:
        return settings
    return settings.model_copy(update={"hub": hub.model_copy(update=update)})


def load_settings(path: Path) -> HubSettings:
    """The settings in `path`, or `ConfigError`."""
    try:
        if not path.is_file():
            raise ConfigError(path, [ConfigIssue("", "not a regular file (or missing)")])
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(path, [ConfigIssue("", f"larger than {MAX_CONFIG_BYTES} bytes")])
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, [ConfigIssue("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [ConfigIssue("", f"not UTF-8 at byte {exc.start}")]) from None
    return parse_settings(text, path)
