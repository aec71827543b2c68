"""The venue PC's clock against an NTP server (Art. 14's checkpoints are only as right as the clock).

One SNTP exchange through ntplib: offset = how far the local clock is from the server's, delay =
the round trip. A server that does not answer, or a name that does not resolve, is an error
reading, not an exception, so the self-test reports it as its own item.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import ntplib


@dataclass(frozen=True)
class ClockReading:
    server: str
    offset_ms: float | None = None
    delay_ms: float | None = None
    stratum: int | None = None
    error: str | None = None


def ntp_offset(server: str, port: int = 123, timeout_s: float = 2.0) -> ClockReading:
    """Ask `server` once (NTP v3); the offset is positive when the local clock is behind."""
    try:
        stats = ntplib.NTPClient().request(server, version=3, port=port, timeout=timeout_s)
    except ntplib.NTPException as exc:
        return ClockReading(server, error=f"no NTP answer from {server}:{port}: {exc}")
    except socket.gaierror as exc:
        return ClockReading(server, error=f"cannot resolve {server}: {exc.strerror or exc}")
    except OSError as exc:
        return ClockReading(server, error=f"NTP query to {server}:{port} failed: {exc.strerror or exc}")
    if stats.stratum == 0 or stats.stratum > 15:
        return ClockReading(
            server, stratum=stats.stratum, error=f"{server} is not synchronised (stratum {stats.stratum})"
        )
    return ClockReading(server, stats.offset * 1000.0, stats.delay * 1000.0, stats.stratum)
