"""What a config error may quote of the value it refuses.

Quoting the bad value helps a technician ("got 'Asia/Shanghia'"), but some values must never be
echoed to a terminal or a log: passwords, SNMP communities and keys, tokens, and webhook URLs
(a WeCom or DingTalk robot URL carries its key). A whole table is not quoted either: its repr
would carry whatever secrets it holds. Both programs' `config check` use this one rule.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from datetime import date, datetime, time

SECRET_WORDS = ("password", "secret", "community", "key", "token", "url", "sink")
_SHOWN = reprlib.Repr()  # Python 3.11 takes no keyword arguments here
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlevel = 3


def shown_input(location: Sequence[str | int], value: object) -> str | None:
    """The value as an error message may quote it (at most 60 characters), or None to quote nothing."""
    if isinstance(value, dict | list | tuple | set):
        return None
    if any(word in str(part).lower() for part in location for word in SECRET_WORDS):
        return None
    shown = value.isoformat() if isinstance(value, datetime | date | time) else _SHOWN.repr(value)
    return shown[:60]
