"""A device whose table never ends (each GETBULK answered with rows further on) used to keep a poll
walking for ever (found by fuzzing: 4,971 requests in 60 s and growing). A walk now stops past
MAX_WALK_ROWS rows of one column and the reading says why; the poll ends."""

from __future__ import annotations

from pysnmp.proto import rfc1902

from collectors.snmp.session import MAX_WALK_ROWS
from tests.test_fuzz_snmp import Plan, RandomDevice, _poll


def test_a_table_that_never_ends_ends_the_poll_with_a_reason() -> None:
    device = RandomDevice()
    try:
        endless = Plan(7, 0, 0, 0, 0, 0, 0, rows=10**9, sys_object_id="1.3.6.1.4.1.9.1.1208")
        device.use(endless, [rfc1902.Integer32(1)])
        reading = _poll(device.port, "generic", timeout_s=3)
    finally:
        device.close()
    assert reading.error is not None and "does not end" in reading.error, reading.error
    assert str(MAX_WALK_ROWS) in reading.error
    assert reading.requests <= MAX_WALK_ROWS  # bounded: it did not walk on
