"""Counter rates across polls: 32-bit wrap, 64-bit reset, device restart, missing samples."""

from __future__ import annotations

from collectors.snmp.rates import RateTracker
from collectors.snmp.reading import DeviceReading, Interface


def reading(uptime_s: float, in_octets: int | None, in_errors: int | None = 0, bits: int = 32) -> DeviceReading:
    return DeviceReading(
        target="t",
        reachable=True,
        uptime_s=uptime_s,
        interfaces=[
            Interface(
                index=1,
                name="ge1",
                in_octets=in_octets,
                out_octets=0,
                in_errors=in_errors,
                out_errors=0,
                in_discards=0,
                out_discards=0,
                counter_bits=bits,
            )
        ],
    )


def test_first_poll_has_no_rate_second_has():
    tracker = RateTracker()
    first = reading(100, 1_000)
    tracker.annotate(first, at=0.0)
    assert first.interfaces[0].in_bps is None and first.interfaces[0].errors_per_min is None
    second = reading(110, 11_000, in_errors=5)
    tracker.annotate(second, at=10.0)
    assert second.interfaces[0].in_bps == 8_000.0  # 10,000 octets in 10 s
    assert second.interfaces[0].errors_per_min == 30.0  # 5 errors in 10 s


def test_32bit_counter_wrap_is_a_small_positive_delta():
    tracker = RateTracker()
    tracker.annotate(reading(100, 2**32 - 1_000), at=0.0)
    wrapped = reading(110, 9_000)
    tracker.annotate(wrapped, at=10.0)
    assert wrapped.interfaces[0].in_bps == (10_000 / 10) * 8


def test_64bit_counter_going_back_is_a_reset_not_a_wrap():
    tracker = RateTracker()
    tracker.annotate(reading(100, 5_000_000, bits=64), at=0.0)
    back = reading(110, 1_000, bits=64)
    tracker.annotate(back, at=10.0)
    assert back.interfaces[0].in_bps is None


def test_device_restart_discards_the_old_sample():
    tracker = RateTracker()
    tracker.annotate(reading(100_000, 2**32 - 10), at=0.0)
    restarted = reading(30, 500)  # sysUpTime went back: counters restarted from zero
    tracker.annotate(restarted, at=10.0)
    assert restarted.interfaces[0].in_bps is None  # not read as a wrap of 2^32
    after = reading(40, 1_500)
    tracker.annotate(after, at=20.0)
    assert after.interfaces[0].in_bps == 800.0


def test_missing_sample_gives_no_rate_then_recovers():
    tracker = RateTracker()
    tracker.annotate(reading(100, 1_000), at=0.0)
    gap = reading(110, None)
    tracker.annotate(gap, at=10.0)
    assert gap.interfaces[0].in_bps is None
    tracker.annotate(reading(120, 2_000), at=20.0)
    later = reading(130, 3_000)
    tracker.annotate(later, at=30.0)
    assert later.interfaces[0].in_bps == 800.0
