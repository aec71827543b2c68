"""A config file that cannot be used, and every problem in it: where (field path, line) and what.

The venue agent's `config check` and the hub's print the same shape, `FILE:LINE: field.path:
problem`, so one error type serves both.

What the problem is can be said in Chinese and English (#17 item 4): `describe_error` maps the
common pydantic error types (missing, unknown key, a number or a boolean that is not one, a bound,
a choice, a length) to codes of `CONFIG_MESSAGES` with their context (the bound, the choices, the
value given), so a technician reads the problem in the language chosen. pydantic's own English
is kept for the rest and marked as such, never passed off as ours. An issue without a code (as
the loaders have always made them) says its English text, the Chinese naming only what kind of
problem it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.catalog import Catalog
from contract.findings import Message
from contract.shown_input import shown_input

CONFIG_MESSAGES = Catalog(
    {
        "config.missing": ("必填项缺失", "required but missing"),
        "config.missing_table": ("缺少必需的表", "required table is missing"),
        "config.extra": (
            "未知的键（请检查拼写；见 docs/config.md）",
            "unknown key (check the spelling; see docs/config.md)",
        ),
        "config.int": ("应为整数", "must be an integer"),
        "config.int_fraction": ("应为整数，不能有小数部分", "must be a whole number, without a fraction"),
        "config.float": ("应为数字", "must be a number"),
        "config.bool": ("应为 true 或 false", "must be true or false"),
        "config.string": ("应为字符串（用引号括起）", "must be a string (in quotes)"),
        "config.table": ("应为表（[表名] 或 {{ … }}）", "must be a table ([name] or {{ … }})"),
        "config.list": ("应为数组（[ … ]）", "must be an array ([ … ])"),
        "config.gt": ("应大于 {limit}", "must be greater than {limit}"),
        "config.ge": ("应不小于 {limit}", "must be at least {limit}"),
        "config.lt": ("应小于 {limit}", "must be less than {limit}"),
        "config.le": ("应不大于 {limit}", "must be at most {limit}"),
        "config.choice": ("应为以下之一：{expected}", "must be one of {expected}"),
        "config.too_short_text": ("至少 {count} 个字符", "must have at least {count} character(s)"),
        "config.too_long_text": ("至多 {count} 个字符", "must have at most {count} character(s)"),
        "config.too_short_list": ("至少 {count} 项", "must have at least {count} item(s)"),
        "config.too_long_list": ("至多 {count} 项", "must have at most {count} item(s)"),
        "config.pattern": ("格式不符：{zh}", "{en}"),
        "config.ours": ("{en}（仅有英文说明）", "{en}"),
        "config.pydantic": ("{en}（pydantic 的英文原文）", "{en} (pydantic's wording)"),
        "config.got": ("{text}（实际为 {got}）", "{text} (got {got})"),
        "config.unreadable": ("无法读取该文件：{detail}", "cannot read the file: {detail}"),
        "config.toml": ("不是有效的 TOML：{detail}", "not valid TOML: {detail}"),
        "config.other": ("配置无法使用：{en}", "{en}"),
    }
)

_BOUNDS = {
    "greater_than": ("config.gt", "gt"),
    "greater_than_equal": ("config.ge", "ge"),
    "less_than": ("config.lt", "lt"),
    "less_than_equal": ("config.le", "le"),
}
_PLAIN = {
    "extra_forbidden": "config.extra",
    "int_parsing": "config.int",
    "int_type": "config.int",
    "int_from_float": "config.int_fraction",
    "float_parsing": "config.float",
    "float_type": "config.float",
    "bool_parsing": "config.bool",
    "bool_type": "config.bool",
    "string_type": "config.string",
    "model_type": "config.table",
    "dict_type": "config.table",
    "model_attributes_type": "config.table",
    "list_type": "config.list",
}
_LENGTHS = {
    "string_too_short": ("config.too_short_text", "min_length"),
    "string_too_long": ("config.too_long_text", "max_length"),
    "too_short": ("config.too_short_list", "min_length"),
    "too_long": ("config.too_long_list", "max_length"),
}
# Error types whose input says nothing useful (a whole table) or that already name what was given.
_NOT_QUOTED = {"missing", "extra_forbidden", "model_type", "dict_type"}


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file: where (field path, line) and what.

    `message` is the English text (what logs and the hub's tools read); `code` and `fields`, when
    set, render it in both languages from `CONFIG_MESSAGES`."""

    field: str
    message: str
    line: int | None = None
    code: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def render(self, path: Path) -> str:
        return self.render_in(path, self.message)

    def render_in(self, path: Path, text: str) -> str:
        """`FILE:LINE: field.path: text` — the shape both programs print, with `text` in any language."""
        where = f"{path}:{self.line}" if self.line else str(path)
        return f"{where}: {self.field}: {text}" if self.field else f"{where}: {text}"

    def bilingual(self) -> Message:
        """What the problem is, in Chinese and English."""
        if self.code == "config.got":  # a quoted value after a message of its own, in each language
            text: Message = self.fields["text"]
            zh, en = CONFIG_MESSAGES.template("config.got")
            got = self.fields["got"]
            return Message(zh=zh.format(text=text.zh, got=got), en=en.format(text=text.en, got=got))
        if self.code is not None:
            return CONFIG_MESSAGES.render(self.code, **self.fields)
        return CONFIG_MESSAGES.render("config.other", en=self.message)


def _limit(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_error(
    error: Mapping[str, Any], pattern_hints: Mapping[str, tuple[str, str]] | None = None
) -> tuple[str, dict[str, Any], str]:
    """A pydantic error (an item of `ValidationError.errors()`) → (code, fields, English text).

    The value given is quoted where `contract.shown_input` allows (never a secret); a pattern is
    explained by `pattern_hints` (pattern → (zh, en)) when it has one."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    location: Sequence[str | int] = tuple(error.get("loc", ()))
    fields: dict[str, Any]
    if kind == "missing":
        code, fields = ("config.missing_table" if len(location) == 1 else "config.missing"), {}
    elif kind in _PLAIN:
        code, fields = _PLAIN[kind], {}
    elif kind in _BOUNDS:
        code, key = _BOUNDS[kind]
        fields = {"limit": _limit(ctx.get(key))}
    elif kind in _LENGTHS:
        code, key = _LENGTHS[kind]
        fields = {"count": ctx.get(key)}
    elif kind == "literal_error":
        code, fields = "config.choice", {"expected": ctx.get("expected", "")}
    elif kind == "string_pattern_mismatch" and pattern_hints and ctx.get("pattern") in pattern_hints:
        zh, en = pattern_hints[ctx["pattern"]]
        code, fields = "config.pattern", {"zh": zh, "en": en}
    elif kind in ("value_error", "assertion_error"):  # our validators' own (English) words
        code, fields = "config.ours", {"en": str(error.get("msg", "")).removeprefix("Value error, ")}
    else:
        code, fields = "config.pydantic", {"en": str(error.get("msg", kind))}
    message = CONFIG_MESSAGES.render(code, **fields)
    if "input" in error and kind not in _NOT_QUOTED:
        got = shown_input(location, error["input"])
        if got is not None:
            return "config.got", {"text": message, "got": got}, f"{message.en} (got {got})"
    return code, fields, message.en


class ConfigError(Exception):
    """The config cannot be used; `issues` lists every problem found."""

    def __init__(self, path: Path, issues: list[ConfigIssue]):
        self.path = path
        self.issues = issues
        super().__init__("\n".join(issue.render(path) for issue in issues))
