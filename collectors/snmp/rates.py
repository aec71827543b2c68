"""Counters → rates across polls: 32-bit wrap, device restarts (sysUpTime going back), gaps.

A rate needs two good samples of the same counter on the same device life. When sysUpTime goes
back the device restarted: counters started again from zero, so the old sample is discarded
rather than read as a huge negative (or wrapped) delta. A sample missing on one poll just means
no rate that time; the next pair of samples gives one again.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.snmp.reading import DeviceReading


@dataclass
class _Sample:
    value: int
    at: float
    uptime_s: float | None


class RateTracker:
    """Keeps the previous sample of every counter of one device."""

    def __init__(self) -> None:
        self._samples: dict[tuple[int, str], _Sample] = {}
        self._uptime: float | None = None

    def restarted(self, uptime_s: float | None) -> bool:
        return uptime_s is not None and self._uptime is not None and uptime_s < self._uptime

    def rate(self, key: tuple[int, str], value: int | None, at: float, bits: int, restarted: bool) -> float | None:
        """Per-second rate of a counter since its previous sample, or None when there is none."""
        if value is None:
            return None
        previous = self._samples.get(key)
        self._samples[key] = _Sample(value, at, None)
        if previous is None or restarted or at <= previous.at:
            return None
        delta = value - previous.value
        if delta < 0:
            if bits != 32:
                return None  # a 64-bit counter going back is a reset, not a wrap
            delta += 2**32
        return delta / (at - previous.at)

    def annotate(self, reading: DeviceReading, at: float) -> None:
        """Fill the interfaces' rate fields from this reading and the previous one."""
        restarted = self.restarted(reading.uptime_s)
        if reading.uptime_s is not None:
            self._uptime = reading.uptime_s
        for interface in reading.interfaces:
            index, bits = interface.index, interface.counter_bits

            def per_s(name: str, value: int | None, width: int = bits, index: int = index) -> float | None:
                return self.rate((index, name), value, at, width, restarted)

            in_rate = per_s("in_octets", interface.in_octets)
            out_rate = per_s("out_octets", interface.out_octets)
            interface.in_bps = None if in_rate is None else in_rate * 8
            interface.out_bps = None if out_rate is None else out_rate * 8
            errors = [per_s(name, getattr(interface, name), 32) for name in ("in_errors", "out_errors")]
            discards = [per_s(name, getattr(interface, name), 32) for name in ("in_discards", "out_discards")]
            interface.errors_per_min = None if None in errors else sum(errors) * 60  # type: ignore[arg-type]
            interface.discards_per_min = None if None in discards else sum(discards) * 60  # type: ignore[arg-type]
