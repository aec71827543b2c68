"""Times on a screen in one zone, the venue's ([schedule] timezone, Asia/Shanghai by default).

Payloads carry UTC (`…Z`) and the schedule the venue's offset (`…+08:00`); a technician reading
both on one screen has to do the sum. Every view shows local wall-clock times and says once, in
its header, which zone and offset they are in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def zone_named(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_ZONE)


def zone_line(zone: ZoneInfo, at: datetime | None = None) -> str:
    """`times in Asia/Shanghai (UTC+08:00)`: said once per screen."""
    offset = (at or datetime.now(UTC)).astimezone(zone).strftime("%z")
    return f"times in {zone.key} (UTC{offset[:3]}:{offset[3:]}) / 时间为 {zone.key} 当地时间"


def local(value: object, zone: ZoneInfo) -> str:
    """An ISO time (text or datetime) as the venue's wall clock; text that is no time is returned
    as it is (retained payloads are untrusted, and the caller escapes what it shows)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is None:  # the contract's times are aware; a naive one is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
