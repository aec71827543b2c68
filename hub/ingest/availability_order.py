"""Which of a venue's availabilities is the newer: by when the broker got each, not when a hub process did.

The payload is the bare word `online` / `offline` (the Last Will must be able to be it), so it carries
no time. Receipt order is wrong for a copy that waited at the broker — in a disconnected hub process's
persistent-session queue, or sent again after a crash — since it arrives late with a fresh receipt
time: with two processes, an `offline` queued for one of them for an hour would override the `online`
the other recorded meanwhile. The agent therefore publishes its availabilities, and sets its Will, with
the contract's MQTT 5 Message Expiry Interval, which the broker counts down while a copy waits
(contract/availability.py); the subscriber turns it into `Incoming.broker_age_s`.

- **The broker's time** of a copy is `received_at − broker_age_s`, to the whole second: the interval is
  counted in whole seconds of the broker's clock, so the fraction of `received_at` says nothing about
  the broker. Read by this process's clock — the same clock as every other process's receipt times, so
  several processes' hub machines still need NTP, as before.
- **Order**: by the broker's time; two copies of the same broker second by receipt (the later one
  received wins, as before the property existed). A copy without the property (MQTT 3.1.1, a 3.1.1
  bridge, an older agent) counts as got by the broker when this process got it: receipt order, exactly
  the behaviour before the property existed.
- **A retained copy** read by the start-up snapshot is the broker's state as of the snapshot's start:
  its receipt part is the snapshot's start, and anything recorded at or after that key wins over it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.ingest.decode import Incoming

OrderKey = tuple[datetime, datetime]


def broker_time(incoming: Incoming) -> datetime | None:
    """When the broker got `incoming`, to its whole second; None when the message carried no countdown."""
    if incoming.broker_age_s is None:
        return None
    return incoming.received_at.replace(microsecond=0) - timedelta(seconds=incoming.broker_age_s)


def recorded_key(broker_at: datetime | None, received_at: datetime) -> OrderKey:
    """The order of the availability a venue row holds (`availability_broker_at`, `availability_at`)."""
    return (broker_at or received_at, received_at)


def incoming_key(incoming: Incoming, broker_at: datetime | None) -> OrderKey:
    """The order of an availability just received (`broker_at` = `broker_time(incoming)`)."""
    received = incoming.snapshot_started or incoming.received_at
    return (broker_at or received, received)


def is_older(recorded: OrderKey, incoming: Incoming, broker_at: datetime | None) -> bool:
    """True when `incoming` must not replace the recorded availability: a live copy that is older than
    it, or a retained (snapshot) copy that is not newer than it."""
    key = incoming_key(incoming, broker_at)
    return recorded >= key if incoming.snapshot_started is not None else recorded > key
