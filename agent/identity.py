"""Who this agent is on the broker: the venue reference its payloads carry and its MQTT client id.

Both the daemon and the CLI (a self-test run by hand reports as the same venue) derive them from the
config here, so the two never disagree on a venue's name or client id.
"""

from __future__ import annotations

from agent.config import Settings
from contract.payloads import VenueRef


def venue_ref(settings: Settings) -> VenueRef:
    """The venue's place in the administrative tree, as every payload names it: what the `[venue]`
    table says of each field the contract's VenueRef has (the level is derived from the county)."""
    return VenueRef.model_validate({name: getattr(settings.venue, name) for name in VenueRef.model_fields})


def client_id_for(settings: Settings) -> str:
    """The configured client id, or one derived from the venue path (unique per venue by construction)."""
    venue = settings.venue
    return settings.broker.client_id or f"venue-agent-{venue.province}-{venue.prefecture}-{venue.county}-{venue.id}"
