"""Jinja2 filters the templates share: times in Beijing time (the offices' clock), numbers short."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment

BEIJING = ZoneInfo("Asia/Shanghai")


def local_time(value: datetime | str | None, seconds: bool = True) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def number(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def message(value: object, language: str) -> str:
    """A contract `Message` dict in the board's language."""
    if isinstance(value, dict):
        return str(value.get("en" if language == "en" else "zh") or value.get("zh") or "")
    return "" if value is None else str(value)


def install_filters(environment: Environment) -> None:
    environment.filters["local_time"] = local_time
    environment.filters["number"] = number
    environment.filters["message"] = message
