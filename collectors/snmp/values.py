"""pysnmp values → plain Python, coping with what real devices send (hex text, CR LF, sentinels)."""

from __future__ import annotations

import math

from pyasn1.type.univ import Null
from pysnmp.proto import rfc1902, rfc1905

Value = int | str | None

_ABSENT = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView, Null)


def to_python(value: object) -> Value:
    """Integers for numbers and ticks, dotted text for OIDs, text for strings, None for 'absent'."""
    if isinstance(value, _ABSENT):
        return None
    if isinstance(value, rfc1902.ObjectIdentifier):
        return ".".join(str(part) for part in value.asTuple())
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, rfc1902.OctetString):
        return octets_to_text(value.asOctets())
    try:
        return int(value)  # Integer32, Counter32/64, Gauge32, Unsigned32, TimeTicks
    except (TypeError, ValueError):
        return str(value)


def octets_to_text(data: bytes) -> str:
    """Text when the octets are text (UTF-8, or GB18030 as Chinese devices send), else 0x-hex."""
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
            return text.rstrip("\x00")
    return "0x" + data.hex()


def one_line(text: str | None) -> str | None:
    """sysDescr often spans lines (CR LF inside); shown on one line, whitespace folded."""
    return " ".join(text.split()) if text else text


def as_number(value: Value) -> float | None:
    """A finite number, from an integer or the first word of a text value ("44 %"); else None: a text
    such as "nan" or "1e999" is no measurement, and an infinite figure would not survive JSON."""
    if isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip().split()[0])
        except (ValueError, IndexError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None
