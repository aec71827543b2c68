"""One MQTT message → a typed, checked item for the store, or a `Rejection` with a stable reason.

Everything on the broker is untrusted input: a hostile or broken publisher may send anything to any
topic the broker lets it. So a message is accepted only when its topic is a venue topic inside this
hub's scope, its leaf is one the contract defines, its size is within `max_payload_bytes`, its body
parses (pydantic's JSON parser: bounded nesting, no giant-integer trap) and validates against the
contract model of that leaf, and the venue it names is the venue of its topic (a venue can only speak
for itself). Commands and replies seen on the subtree are not venue traffic: they are `Ignored`.

Decoding is most of the ingest's CPU (pydantic's validation of a 5.8 KB status and its serialisation
for the stored document), and pure, so `venue-hub run` can do it in worker processes (`decode_batch`,
`[hub] decode_workers`): what comes back is only what the store needs — the document, the facts the
store's columns take (`StatusFacts`, `ts`, the venue's name and level) and, for events and self-tests,
the model itself (the incident desk takes the event whole). A status model, with its sixteen nested
findings, costs more to pickle than to validate again; its facts cost next to nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from contract import topics
from contract.availability import WORDS
from contract.findings import is_advisory
from contract.payloads import Event, Metrics, SelftestReport, Status, VenueRef
from contract.snapshot import Snapshot
from hub.db.models import JsonText
from hub.scope import TopicPlace, parse_topic, venue_in_scope

MODELS: dict[str, type[BaseModel]] = {
    topics.STATUS: Status,
    topics.EVENTS: Event,
    topics.SELFTEST: SelftestReport,
    topics.METRICS: Metrics,
    topics.SNAPSHOT: Snapshot,  # the uplink picture: its own validators bound the JPEG (contract/snapshot.py)
}
SCHEMA_NAMES = {
    topics.STATUS: "status",
    topics.EVENTS: "event",
    topics.SELFTEST: "selftest",
    topics.METRICS: "metrics",
    topics.SNAPSHOT: "snapshot",
}
AVAILABILITY_VALUES = WORDS
MAX_SEQ = 2**63 - 1  # the event.seq column is a BIGINT
FAILING_VERDICTS = ("warn", "fail")
# The models a decode worker sends back whole: the store and the desk read them field by field, and they
# are small (an event) or rare (a self-test report). Statuses, metrics and snapshots travel as facts.
KEEP_MODEL = (topics.EVENTS, topics.SELFTEST)


@dataclass(frozen=True)
class Incoming:
    """A message as paho handed it over (`mid`/`qos` to acknowledge it once stored)."""

    topic: str
    payload: bytes
    retain: bool
    received_at: datetime
    mid: int = 0
    qos: int = 0
    snapshot_started: datetime | None = None  # set for retained messages read by the start-up snapshot
    # Whole seconds the message waited at the broker(s), read from its MQTT 5 Message Expiry Interval
    # (contract/availability.py); None without one. Only availabilities carry it: the store orders them by
    # when the broker got them, `received_at − broker_age_s`, not by when this process did.
    broker_age_s: int | None = None


@dataclass(frozen=True)
class StatusFacts:
    """What the store writes of a validated status besides its document (`venue_status`, `venue`)."""

    overall: str
    failing: list[str]  # the check ids at warn or fail, advisory (Art. 15/16) ones left out, sorted
    contacts: dict[str, Any] | None
    status_interval_s: float | None


@dataclass(frozen=True)
class Accepted:
    """A message the store will apply. `document` is the validated payload as stored (serialised once,
    by pydantic); `ts`, `venue_name`, `venue_level` and `status` are what the store reads of it.
    `model` is the validated payload itself when decoded in this process, and after a decode worker
    only for events and self-tests (KEEP_MODEL); None for availability."""

    incoming: Incoming
    place: TopicPlace
    leaf: str
    model: BaseModel | None = None
    availability: str | None = None
    document: JsonText | None = None
    ts: datetime | None = None
    venue_name: str | None = None
    venue_level: str | None = None
    status: StatusFacts | None = None


@dataclass(frozen=True)
class Rejection:
    """A message refused: `reason` is the stable counter name, `code` the message code, `fields` its text."""

    incoming: Incoming
    reason: str
    code: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Ignored:
    """Not venue traffic (a command, a reply): counted, not stored, not an error."""

    incoming: Incoming
    reason: str


Decoded = Accepted | Rejection | Ignored


def _shown(topic: str, limit: int = 120) -> str:
    """A topic safe to put in a log line: bounded, control characters escaped."""
    text = topic if len(topic) <= limit else topic[:limit] + "…"
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}"[:200] if where else str(error["msg"])[:200]


def _venue_matches(ref: VenueRef, place: TopicPlace) -> bool:
    return (ref.province, ref.prefecture, ref.county, ref.id) == (
        place.province,
        place.prefecture,
        place.county,
        place.venue,
    )


def decode(incoming: Incoming, prefix: str, scope: str, max_payload_bytes: int) -> Decoded:
    """Classify and validate one message (pure: no I/O)."""
    topic = incoming.topic
    place = parse_topic(topic, prefix)
    if place is None:
        return Rejection(incoming, "topic", "ingest.rejected.topic", {"topic": _shown(topic)})
    if not venue_in_scope(place.key, scope):
        return Rejection(incoming, "scope", "ingest.rejected.scope", {"topic": _shown(topic), "scope": scope})
    leaf = place.leaf
    if leaf.startswith(f"{topics.COMMAND}/") or leaf == topics.REPLIES:
        return Ignored(incoming, "command_traffic")
    if leaf != topics.AVAILABILITY and leaf not in MODELS:
        return Rejection(incoming, "leaf", "ingest.rejected.leaf", {"topic": _shown(topic), "leaf": _shown(leaf, 40)})
    size = len(incoming.payload)
    if size > max_payload_bytes:
        fields = {"topic": _shown(topic), "size": size, "limit": max_payload_bytes}
        return Rejection(incoming, "too_large", "ingest.rejected.too_large", fields)
    if leaf == topics.AVAILABILITY:
        value = incoming.payload.decode("utf-8", errors="replace").strip()
        if value not in AVAILABILITY_VALUES:
            fields = {"topic": _shown(topic), "value": _shown(repr(value), 40)}
            return Rejection(incoming, "availability", "ingest.rejected.availability", fields)
        return Accepted(incoming, place, leaf, availability=value)
    model_type = MODELS[leaf]
    try:
        model = model_type.model_validate_json(incoming.payload)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
            fields = {"topic": _shown(topic), "error": _first_error(exc)}
            return Rejection(incoming, "bad_json", "ingest.rejected.bad_json", fields)
        fields = {"topic": _shown(topic), "schema": SCHEMA_NAMES[leaf], "error": _first_error(exc)}
        return Rejection(incoming, "schema", "ingest.rejected.schema", fields)
    ref: VenueRef = model.venue  # type: ignore[attr-defined]
    if not _venue_matches(ref, place):
        claimed = f"{ref.province}/{ref.prefecture}/{ref.county}/{ref.id}"
        fields = {"topic": _shown(topic), "claimed": _shown(claimed, 80)}
        return Rejection(incoming, "venue_mismatch", "ingest.rejected.venue_mismatch", fields)
    document = JsonText(model.model_dump_json(by_alias=True))
    if problem := _unstorable(model, document, incoming.payload):
        fields = {"topic": _shown(topic), "schema": SCHEMA_NAMES[leaf], "error": problem}
        return Rejection(incoming, "schema", "ingest.rejected.schema", fields)
    facts = _status_facts(model) if isinstance(model, Status) else None
    return Accepted(
        incoming,
        place,
        leaf,
        model=model,
        document=document,
        ts=getattr(model, "ts", None),
        venue_name=ref.name,
        venue_level=ref.level,
        status=facts,
    )


def _status_facts(status: Status) -> StatusFacts:
    failing = sorted(
        check
        for check, finding in status.checks.items()
        if finding.verdict in FAILING_VERDICTS and not is_advisory(check)  # Art. 15/16 advice is not a fault
    )
    interval = status.status_interval_s
    return StatusFacts(
        overall=status.overall.value,
        failing=failing,
        contacts=status.contacts or None,
        status_interval_s=float(interval) if interval is not None else None,
    )


# -- decoding in worker processes ------------------------------------------------------------------------
GC_THRESHOLD = (50_000, 20, 20)


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for the ingest's allocation pattern (call once started).

    Each validated status allocates a few hundred container objects, so with CPython's default
    threshold (700) a collection runs every few messages, and every tenth of the older ones scans every
    tracked object the process holds — the imported libraries, SQLAlchemy's caches, the store's
    per-venue caches. Measured on the fleet's payloads: decode 72 µs per message with the collector off,
    165–190 µs with the defaults. `gc.freeze()` moves what exists at start-up out of the collector's
    sight for good, and a threshold of 50,000 makes the young collections rare; the ingest makes
    almost no reference cycles, so the memory they hold meanwhile is small and still reclaimed."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def warm_worker() -> None:
    """A new decode worker: the contract models imported and the collector tuned before its first batch
    (a second of imports would otherwise fall on that batch's latency). It ignores SIGINT and SIGTERM:
    systemd (KillMode=control-group) and a terminal's Ctrl-C signal every process of the service, and
    the worker must keep decoding while `venue-hub run` stores what it has received; the main process
    ends the pool when it is done (and a worker whose parent died sees its pipe close and exits)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    tune_gc()


_DETACHED = Incoming("", b"", False, datetime.fromtimestamp(0).astimezone())


def decode_batch(messages: list[tuple[str, bytes]], prefix: str, scope: str, max_payload_bytes: int) -> list[Decoded]:
    """`decode` of each (topic, payload) in a worker process, returned without the message (the caller
    has it: `attach`) and without the models the store does not need — so that what crosses the pipe
    back is little more than the documents."""
    out: list[Decoded] = []
    for topic, payload in messages:
        decoded = decode(Incoming(topic, payload, False, _DETACHED.received_at), prefix, scope, max_payload_bytes)
        if isinstance(decoded, Accepted):
            model = decoded.model if decoded.leaf in KEEP_MODEL else None
            out.append(replace(decoded, incoming=_DETACHED, model=model))
        else:
            out.append(replace(decoded, incoming=_DETACHED))
    return out


def attach(decoded: Decoded, incoming: Incoming) -> Decoded:
    """A worker's result joined to the message it was decoded from (receipt time, mid, retain flag)."""
    return replace(decoded, incoming=incoming)


def _unstorable(model: BaseModel, document: str, payload: bytes) -> str | None:
    """Valid input a database would refuse: PostgreSQL's JSON and text types take no NUL character, and
    `seq` is a 64-bit column. (pydantic already writes an out-of-range number like 1e999 as null.)

    A NUL can only have reached the document through the escape `\\u0000` in the payload (JSON allows
    no raw control character in a string, and pydantic's parser refuses one), so a payload without that
    escape needs no search of the document; one with it is checked exactly (the escape may be part of a
    literal `\\\\u0000`, which is no NUL)."""
    seq = model.seq if isinstance(model, Event) else None
    if seq is not None and seq > MAX_SEQ:
        return f"seq is larger than {MAX_SEQ}"
    if b"\\u0000" not in payload:
        return None
    return "a NUL character (\\u0000)" if _has_nul(json.loads(document)) else None


def _has_nul(value: Any) -> bool:
    """Whether any string (or key) in a parsed JSON document holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
