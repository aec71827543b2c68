"""A snapshot message's payload → a validated `contract.snapshot.Snapshot`, or `SnapshotRejected`.

The payload is untrusted like every message on the broker: it must parse (pydantic's JSON parser:
bounded nesting), validate against the contract model (whose own validators bound the picture: base64,
a JPEG of at most 60 KiB whose header says at most 480 px — see contract/snapshot.py), hold no NUL, and
name the venue of its topic. Pure: no I/O, so the ingest can call it before its transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from contract.snapshot import Snapshot

CONTENT_TYPES = ("application/json", "application/vnd.venue-agent.snapshot+json")


class SnapshotRejected(ValueError):
    """A snapshot refused: `reason` is the ingest's stable counter name (`bad_json`, `schema`,
    `venue_mismatch`, `content_type`, `unknown_venue`), `detail` says what was wrong and where."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(f"snapshot rejected ({reason}): {detail}")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return (f"{where}: {message}" if where else message)[:200]


def decode_snapshot(venue_key: str, payload: bytes, properties: Mapping[str, object] | None = None) -> Snapshot:
    """The snapshot in `payload`, published on the topic of `venue_key` (`province/prefecture/county/id`).

    `properties` are the message's MQTT 5 properties as a mapping (paho's names: `ContentType`, …);
    only a stated content type is checked — a JSON envelope carries everything else itself."""
    content_type = (properties or {}).get("ContentType")
    if content_type is not None and str(content_type).split(";")[0].strip() not in CONTENT_TYPES:
        raise SnapshotRejected("content_type", f"content type {str(content_type)[:60]!r} is not JSON")
    try:
        snapshot = Snapshot.model_validate_json(payload)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
            raise SnapshotRejected("bad_json", _first_error(exc)) from None
        raise SnapshotRejected("schema", _first_error(exc)) from None
    ref = snapshot.venue
    claimed = f"{ref.province}/{ref.prefecture}/{ref.county}/{ref.id}"
    if claimed != venue_key:
        raise SnapshotRejected("venue_mismatch", f"the payload names venue {claimed[:80]}, the topic {venue_key}")
    if b"\\u0000" in payload and _has_nul(snapshot.model_dump(mode="json")):
        raise SnapshotRejected("schema", "a NUL character (\\u0000)")
    return snapshot


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in str(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
