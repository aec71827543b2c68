"""Config errors as a person reads them: `FILE:LINE: field.path: problem`, in the chosen language.

The loader (agent/config/load.py) words each problem in English, as the daemon's log and the
hub's tools read it. For a person the CLI says it in Chinese or English (#17 item 4): it asks
pydantic again for the error types and their context (the file was just read, so this is cheap)
and words them from `contract.config_error.CONFIG_MESSAGES`; field paths and lines are the
loader's own (`agent.config.locate`). Problems that are not validation errors (the file cannot be
read, is not TOML) are recognised by the loader's words; anything else keeps its English text.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from agent.cli.language import texts
from agent.cli.messages import say
from contract.config_error import ConfigError, ConfigIssue, describe_error

# The config's patterns, explained in both languages (agent/config/models.py PATTERN_HINTS has the English).
PATTERN_ZH = {
    "segment": "须为小写 ASCII 字母、数字、'-' 或 '_'（拼音标识），至多 64 个字符",
    "phone": "须为电话号码：数字、空格和 '-'，可有前导 '+'",
}
PREFIXES = {"cannot read the file: ": "config.unreadable", "not valid TOML: ": "config.toml"}


def _pattern_hints() -> dict[str, tuple[str, str]]:
    from agent.config.models import PATTERN_HINTS, PHONE_PATTERN
    from contract.broker import SEGMENT_PATTERN

    names = {SEGMENT_PATTERN: "segment", PHONE_PATTERN: "phone"}
    return {pattern: (PATTERN_ZH[names[pattern]], en) for pattern, en in PATTERN_HINTS.items() if pattern in names}


def _revalidated(path: Path) -> list[ConfigIssue] | None:
    """The validation errors of `path` with their pydantic types, or None if it cannot be asked again."""
    from pydantic import ValidationError

    from agent.config.load import MAX_CONFIG_BYTES, _field_name
    from agent.config.locate import index_lines, line_of
    from agent.config.models import Settings
    from contract.small_file import read_small_file

    try:
        text = read_small_file(path, MAX_CONFIG_BYTES).decode("utf-8")
        data = tomllib.loads(text)
        Settings.model_validate(data)
    except ValidationError as exc:
        hints, lines = _pattern_hints(), index_lines(text)
        issues = []
        for error in exc.errors():
            code, fields, english = describe_error(error, hints)
            location = tuple(error["loc"])
            issues.append(ConfigIssue(_field_name(location), english, line_of(lines, location), code, fields))
        return issues
    except Exception:  # unreadable, not TOML, too deep: the loader's own issues say it
        return None
    return None


def _coded(issue: ConfigIssue) -> ConfigIssue:
    """An issue the loader made (English only), with a code when its words are known."""
    for prefix, code in PREFIXES.items():
        if issue.message.startswith(prefix) and issue.code is None:
            fields = {"detail": issue.message.removeprefix(prefix)}
            return ConfigIssue(issue.field, issue.message, issue.line, code, fields)
    return issue


def coded_issues(path: Path, error: ConfigError) -> list[ConfigIssue]:
    """The loader's issues, each with a code (the same fields, lines and count)."""
    revalidated = _revalidated(path)
    if revalidated is not None and len(revalidated) == len(error.issues):
        return revalidated
    return [_coded(issue) for issue in error.issues]


def config_error_lines(path: Path, error: ConfigError) -> list[str]:
    """Every problem on its line, then the count: what `config check` and every command print.

    With `both`, each problem is two lines, Chinese then English, each a whole `FILE:LINE: field:
    problem` (a path, a field and two languages do not fit one line, and a script or a person
    grepping for the English keeps finding the line the loader has always printed)."""
    issues = coded_issues(path, error)
    lines = []
    for issue in issues:
        message = issue.bilingual()
        lines += [issue.render_in(path, text) for text in texts(message.zh, message.en)]
    lines.append(f"{path}: {say('cli.config_errors', count=len(issues))}")
    return lines
