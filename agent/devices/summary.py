"""`DeviceSummary`: what the status shows of one device, and what the conference record reads of it.

The SNMP and SSH monitors each say more (profile, interfaces, the call list…), kept as extra fields
and published as they are; the fields the agent itself reads — which transport, whether the device
answered, what kind it is and how many calls it has — are typed here, so a monitor that forgets or
misspells one fails where it builds the summary, not silently in the Art. 3/20 record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class DeviceSummary(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    via: Literal["snmp", "ssh"]
    reachable: bool
    kind: str | None = None  # the profile's kind: `codec`, `switch`…
    error: str | None = None
    calls: int | None = None  # active calls, when the device is a codec that says
    read_at: datetime | None = None  # when this summary was read (a trap makes a poll sooner than its period)

    def active_calls(self) -> int | None:
        """A reachable codec's active call count; None for other devices (the record counts codecs only)."""
        if self.kind == "codec" and self.reachable and self.calls is not None:
            return self.calls
        return None

    def as_status(self) -> dict[str, Any]:
        """The JSON object the status carries under `devices` (unchanged shape: every field kept)."""
        return self.model_dump(mode="json")
