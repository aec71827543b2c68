"""The venue's retained leaves on the broker (availability, status, selftest), read as untrusted.

What is retained is whatever was last published on those topics — by this agent, an older or a
newer one, or anyone allowed to write there — so each leaf is read as untrusted input: bytes that
are not UTF-8, JSON nested past what the parser follows, more than `MAX_RETAINED_BYTES`, or a
payload that is not the contract's `venue-agent/status/1` / `venue-agent/selftest/1` shape make
the leaf unreadable, with its reason under `problems`. Fields a newer agent added within the same
major version are tolerated.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.config.models import Settings
from agent.mqtt.brief import BriefConnection
from contract.payloads import SelftestReport, Status
from contract.topics import VenueTopics

MAX_RETAINED_BYTES = 1024 * 1024  # a status of a venue with many devices is tens of kilobytes
AVAILABILITY = ("online", "offline")
JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


class Unreadable(ValueError):
    """Why a retained leaf cannot be shown."""


class _Brief(BaseModel):
    """A conference as the status lists it (current, next)."""

    model_config = ConfigDict(extra="ignore")
    id: str
    title: str = ""
    start: str


class _Summary(BaseModel):
    """The fields of the last Art. 20 summary that the table shows."""

    model_config = ConfigDict(extra="ignore")
    conference_id: str
    title: str | None = None
    actual_min: float
    allowed_min: int | None = None
    art17_min_ok_pct: float | None = None
    incidents: int
    call_drops: int


class _ConferenceShown(BaseModel):
    """`status.conference` is free-form in the contract; this is what the table reads of it."""

    model_config = ConfigDict(extra="ignore")
    current: list[_Brief] | None = None
    next: _Brief | None = None
    last_summary: _Summary | None = None


def fetch_retained(settings: Settings, timeout_s: float) -> dict[str, Any]:
    """Connect, subscribe to the venue's retained leaves and collect them for up to `timeout_s`."""
    topics = VenueTopics.for_venue(settings.broker.topic_prefix, settings.venue)
    wanted = {topics.availability: "availability", topics.status: "status", topics.selftest: "selftest"}
    received: dict[str, bytes] = {}
    connection = BriefConnection(settings, "status")
    connection.on_ready = lambda client: client.subscribe([(topic, 1) for topic in wanted])

    def on_message(client, userdata, message):  # paho's thread: keep the bytes, read them later
        leaf = wanted.get(message.topic)
        if leaf is None:
            return
        received[leaf] = bytes(message.payload)
        if len(received) == len(wanted):
            connection.done.set()

    connection.client.on_message = on_message
    connection.run(timeout_s, keepalive_s=10)
    return {"topic": topics.base, **read_retained(received)}


def read_retained(received: dict[str, bytes]) -> dict[str, Any]:
    """Each leaf as shown (text for availability, JSON for status and selftest); what cannot be
    read is left out and its reason put under `problems`."""
    found: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for leaf, payload in received.items():
        try:
            found[leaf] = _read_leaf(leaf, payload)
        except Unreadable as exc:
            problems[leaf] = str(exc)
    if problems:
        found["problems"] = problems
    return found


def _read_leaf(leaf: str, payload: bytes) -> Any:
    if len(payload) > MAX_RETAINED_BYTES:
        raise Unreadable(f"{len(payload)} bytes, more than the {MAX_RETAINED_BYTES} read")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start})") from None
    if leaf == "availability":
        if text not in AVAILABILITY:
            raise Unreadable(f"{text[:40]!r} is neither 'online' nor 'offline'")
        return text
    try:
        document = json.loads(text)
    except RecursionError:
        raise Unreadable("JSON nested too deeply") from None
    except ValueError as exc:
        raise Unreadable(f"not JSON ({exc})") from None
    try:  # a "\ud800" escape is valid JSON but no text a terminal (or --json) can be given
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Unreadable("holds text that is not valid Unicode (a lone surrogate escape)") from None
    _conforms(document, Status if leaf == "status" else SelftestReport)
    if leaf == "status" and document.get("conference") is not None:
        _conforms(document["conference"], _ConferenceShown, "conference.")
    return document


def _conforms(document: Any, model: type[BaseModel], prefix: str = "") -> None:
    """Unreadable unless `document` is `model`'s shape; keys the model does not know are allowed."""
    if not isinstance(document, dict):
        kind = JSON_KINDS.get(type(document), type(document).__name__)
        raise Unreadable(f"{prefix or 'the payload '}is a JSON {kind}, not an object")
    try:
        model.model_validate(document)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["type"] != "extra_forbidden"]
        if errors:
            shown = "; ".join(f"{prefix}{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in errors[:3])
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            raise Unreadable(f"not a {model.__name__} payload: {shown}{more}") from None
    except RecursionError:
        raise Unreadable("nested too deeply to validate") from None
