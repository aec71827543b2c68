"""The `availability` leaf's clock: the broker's own countdown, since the payload cannot carry a time.

`availability` is the bare word `online` / `offline` because the broker's Last Will must be able to
be it, and the Will is fixed at connect: a time in it would be the connect time. So the agent publishes
both words — and sets its Will — with an MQTT 5 Message Expiry Interval of `AVAILABILITY_EXPIRY_S`,
the largest the protocol allows (136 years: it never expires in practice). A broker hands every copy
over with the interval *minus the seconds the copy waited* (MQTT 5 §3.3.2.3.3): in a disconnected
session's queue, in flight unacknowledged, as a retained message, behind a bridge. A receiver reads
that age back (`broker_age_s`) and knows when the broker got the message, whatever its own session or
queue did; the hub orders a venue's availabilities by it (hub/ingest/store.py).

What mosquitto 2.0.11 really does with it is pinned in tests/test_hub_broker.py. Over MQTT 3.1.1 — the
publisher's, the receiver's or a bridge's (mosquitto's `bridge_protocol_version` default) — the property
does not exist, and a receiver sees none: it orders by receipt, as before the property existed.
"""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ONLINE = "online"
OFFLINE = "offline"
WORDS = (ONLINE, OFFLINE)

AVAILABILITY_EXPIRY_S = 4_294_967_295
"""The Message Expiry Interval of every `availability` the agent publishes and of its Last Will: the
MQTT 5 maximum (a four-byte integer), so that `AVAILABILITY_EXPIRY_S − remaining` is the copy's age."""

PLAUSIBLE_AGE_S = 10 * 366 * 24 * 3600
"""An age beyond ten years is not one: the publisher started from a smaller interval than ours
(`mosquitto_pub -e 3600`, another tool), so the countdown says nothing about when the broker got it."""


def expiry_properties(packet_type: int) -> Properties:
    """The MQTT 5 properties of an availability: `PacketTypes.PUBLISH` for `online`/`offline` published,
    `PacketTypes.WILLMESSAGE` for the Last Will (paho's `will_set(..., properties=...)`)."""
    properties = Properties(packet_type)
    properties.MessageExpiryInterval = AVAILABILITY_EXPIRY_S
    return properties


def publish_properties() -> Properties:
    """The properties of a published `online` / `offline`."""
    return expiry_properties(PacketTypes.PUBLISH)


def will_properties() -> Properties:
    """The properties of the Last Will (`offline`)."""
    return expiry_properties(PacketTypes.WILLMESSAGE)


def broker_age_s(remaining: int | None) -> int | None:
    """How many whole seconds a copy waited at the broker(s) before it was handed over, from the Message
    Expiry Interval it arrived with; None when it carried none (MQTT 3.1.1, a 3.1.1 bridge, an agent
    older than this contract) or one that did not start at `AVAILABILITY_EXPIRY_S`."""
    if remaining is None or not 0 <= remaining <= AVAILABILITY_EXPIRY_S:
        return None
    age = AVAILABILITY_EXPIRY_S - remaining
    return age if age <= PLAUSIBLE_AGE_S else None
