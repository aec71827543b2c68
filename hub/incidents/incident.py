"""An incident: one thing an office must hear about at once (Art. 8(5)), with who to call about it.

An incident is built once, when a rule fires, and kept in the ledger as JSON; every sink renders its
notice from that kept copy, so a retry after a restart says exactly what the first attempt said.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from contract.findings import Message

INCIDENT_SCHEMA = "venue-hub/incident/1"
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Contact:
    """A person named in the venue's Art. 7 contacts (inventory or the agent's status)."""

    name: str | None
    phone: str | None

    @property
    def shown(self) -> str | None:
        parts = [part for part in (self.name, self.phone) if part]
        return " ".join(parts) if parts else None


@dataclass(frozen=True)
class ConferenceRef:
    id: str
    title: str | None = None
    start: datetime | None = None


@dataclass(frozen=True)
class Incident:
    """What happened, where, during (or before) which conference, and whom to call.

    `key` is the identity that makes "never sent twice" checkable: `event:<event id>` for an event,
    `availability:<conference id>:<venue>:<state>` for a venue lost before a conference (so a venue
    that flaps offline/online/offline before one conference is reported once, not on every flap).
    """

    key: str
    kind: str  # "event" or "availability"
    code: str  # an INCIDENT_TEXTS code
    severity: str  # "warning" or "critical"
    venue: str  # province/prefecture/county/id
    venue_name: str
    at: datetime
    message: Message
    detail: Message | None = None
    conference: ConferenceRef | None = None
    liaison: Contact | None = None
    technical_head: Contact | None = None
    event: dict[str, Any] | None = None  # the agent's event as published, for kind == "event"
    extra: dict[str, Any] = field(default_factory=dict)

    def reaches(self, min_severity: str) -> bool:
        return SEVERITY_ORDER[self.severity] >= SEVERITY_ORDER[min_severity]

    @property
    def mobiles(self) -> list[str]:
        """Mobile numbers of the contacts (for the robots' @-mentions); landlines cannot be mentioned."""
        phones = [c.phone for c in (self.liaison, self.technical_head) if c is not None and c.phone]
        return [p for p in dict.fromkeys(phones) if _is_mobile(p)]

    # -- the ledger's copy ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The generic webhook's body and the ledger's kept copy (RFC 3339 times, Chinese first)."""
        conference = None
        if self.conference is not None:
            conference = {
                "id": self.conference.id,
                "title": self.conference.title,
                "start": self.conference.start.isoformat() if self.conference.start else None,
            }
        return {
            "schema": INCIDENT_SCHEMA,
            "key": self.key,
            "kind": self.kind,
            "code": self.code,
            "severity": self.severity,
            "venue": {"key": self.venue, "name": self.venue_name},
            "at": self.at.isoformat(),
            "message": self.message.model_dump(),
            "detail": self.detail.model_dump() if self.detail else None,
            "conference": conference,
            "contacts": {
                "liaison": asdict(self.liaison) if self.liaison else None,
                "technical_head": asdict(self.technical_head) if self.technical_head else None,
            },
            "event": self.event,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incident:
        conference = data.get("conference")
        contacts = data.get("contacts") or {}
        return cls(
            key=data["key"],
            kind=data["kind"],
            code=data["code"],
            severity=data["severity"],
            venue=data["venue"]["key"],
            venue_name=data["venue"]["name"],
            at=datetime.fromisoformat(data["at"]),
            message=Message(**data["message"]),
            detail=Message(**data["detail"]) if data.get("detail") else None,
            conference=ConferenceRef(
                conference["id"],
                conference.get("title"),
                datetime.fromisoformat(conference["start"]) if conference.get("start") else None,
            )
            if conference
            else None,
            liaison=Contact(**contacts["liaison"]) if contacts.get("liaison") else None,
            technical_head=Contact(**contacts["technical_head"]) if contacts.get("technical_head") else None,
            event=data.get("event"),
            extra=data.get("extra") or {},
        )


def contacts_from(raw: dict[str, Any] | None) -> tuple[Contact | None, Contact | None]:
    """The liaison (会务联络员) and technical head (技术保障负责人) from a venue's contacts JSON.

    Accepts the agent's `[contacts]` shape (`{"liaison": {"name", "phone"}, "technical_head": {…}}`)
    and flat inventory columns (`liaison_name`, `liaison_phone`, `technical_name`, `technical_phone`)."""
    raw = raw or {}

    def person(nested: str, flat: str) -> Contact | None:
        entry = raw.get(nested)
        if isinstance(entry, dict):
            name, phone = entry.get("name"), entry.get("phone")
        else:
            name, phone = raw.get(f"{flat}_name"), raw.get(f"{flat}_phone")
        name = str(name).strip() if name else None
        phone = str(phone).strip() if phone else None
        return Contact(name, phone) if name or phone else None

    liaison = person("liaison", "liaison")
    technical = person("technical_head", "technical_head") or person("technical", "technical")
    return liaison, technical


def _is_mobile(phone: str) -> bool:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return len(digits) == 11 and digits.startswith("1")
