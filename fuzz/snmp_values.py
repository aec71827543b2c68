"""atheris harness: SNMP values. A value of any SNMP type, with contents from the input, decodes to
an int, printable text (or 0x-hex) or None, and `as_number` reads it without raising."""

from __future__ import annotations

import atheris

from fuzz.harness import OURS, run

with atheris.instrument_imports(include=OURS):
    from collectors.snmp.values import as_number, octets_to_text, one_line, to_python

from pysnmp.proto import rfc1902, rfc1905

MAKERS = [
    lambda p: rfc1902.Integer32(p.ConsumeIntInRange(-(2**31), 2**31 - 1)),
    lambda p: rfc1902.OctetString(p.ConsumeBytes(p.ConsumeIntInRange(0, 64))),
    lambda p: rfc1902.IpAddress(p.ConsumeBytes(4).ljust(4, b"\0")),
    lambda p: rfc1902.ObjectIdentifier(
        (p.ConsumeIntInRange(0, 2), p.ConsumeIntInRange(0, 39), *p.ConsumeIntListInRange(8, 0, 2**32 - 1))
    ),
    lambda p: rfc1902.Counter32(p.ConsumeIntInRange(0, 2**32 - 1)),
    lambda p: rfc1902.Gauge32(p.ConsumeIntInRange(0, 2**32 - 1)),
    lambda p: rfc1902.TimeTicks(p.ConsumeIntInRange(0, 2**32 - 1)),
    lambda p: rfc1902.Counter64(p.ConsumeIntInRange(0, 2**64 - 1)),
    lambda p: rfc1902.Opaque(p.ConsumeBytes(p.ConsumeIntInRange(0, 32))),
    lambda p: rfc1902.Bits(p.ConsumeBytes(p.ConsumeIntInRange(0, 4))),
    lambda p: rfc1905.noSuchObject,
    lambda p: rfc1905.endOfMibView,
]


def seeds() -> list[bytes]:
    return [bytes([n]) + b"Gi1/0/1 12.5 %\r\n" for n in range(len(MAKERS))]


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    value = MAKERS[provider.ConsumeIntInRange(0, len(MAKERS) - 1)](provider)
    decoded = to_python(value)
    if decoded is not None and not isinstance(decoded, int | str):
        raise AssertionError(f"{value!r} decoded to {decoded!r}")
    if isinstance(decoded, str):
        one_line(decoded)
    as_number(decoded)
    text = octets_to_text(provider.ConsumeBytes(provider.remaining_bytes()))
    if not (text.startswith("0x") or all(ch.isprintable() or ch in "\r\n\t" for ch in text)):
        raise AssertionError(f"unprintable text {text!r}")


if __name__ == "__main__":
    run(seeds, one_input)
