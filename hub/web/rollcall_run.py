"""A roll call started from the board: `hub.commands.rollcall.run_rollcall` (the CLI's own logic, which
asks, waits and stores the result) in a worker thread, with its rows filling in live.

`run_rollcall` answers only at its deadline, so while it runs a passive observer subscribes to the same
reply subtree (`<scope>/…/cmd/replies/+`) and fills each row the moment its venue's self-test reply
arrives — read the same way: a contract `Reply` from the venue its topic names, to a `selftest`
command. When `run_rollcall` returns, its rows (stored in `rollcall`/`rollcall_row`) replace the live
ones and are final, so what the page ends on is exactly what the CLI would have printed and kept.

One known limit: if another roll call (the CLI, another board process) calls the same venues in the same
seconds, the live rows may show that one's replies first; the final rows are always this roll call's.
A running roll call lives in the board process that started it; its result is in the database for all.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError
from sqlalchemy import Engine

from contract.mqtt_client import make_client
from contract.payloads import Reply
from hub.commands.requests import BrokerUnavailable
from hub.commands.rollcall import run_rollcall, summarise
from hub.commands.targets import conference_venue_keys, venues_in_scope
from hub.config.models import HubSettings
from hub.scope import leaf_filter, parse_topic

log = logging.getLogger("hub.web.rollcall")


@dataclass
class LiveRollCall:
    """What the roll call page shows: rows by venue, whether it is over, and the stored result's id."""

    id: str
    started_by: str
    scope: str
    conference_id: str | None
    started_at: datetime
    deadline_s: float
    rows: dict[str, dict[str, Any]]
    done: bool = False
    stored_id: str | None = None
    error: str | None = None
    version: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def bump(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def summary(self) -> dict[str, int]:
        return summarise([row for row in self.rows.values() if row["answered"] or self.done])

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "done": self.done,
            "stored_id": self.stored_id,
            "error": self.error,
            "rows": list(self.rows.values()),
            "summary": summarise(list(self.rows.values())) if self.done else None,
        }


def _row_from_reply(reply: Reply, seconds: float, liaison: dict | None) -> dict[str, Any]:
    result = reply.result if reply.ok else None
    row: dict[str, Any] = {"answered": True, "seconds": round(seconds, 2), "liaison": liaison, "failed_items": []}
    if result is not None and result.get("verdict") in ("pass", "warn", "fail", "unknown"):
        row["verdict"] = result["verdict"]
        row["failed_items"] = [i.get("check") for i in result.get("items", []) if i.get("verdict") == "fail"]
    else:
        row["verdict"] = "unknown"
    return row


class RollCalls:
    """The board's roll calls of this process (the latest few, by id)."""

    KEEP = 20

    def __init__(self, settings: HubSettings, engine: Engine, password: str | None):
        self.settings = settings
        self.engine = engine
        self.password = password
        self.runs: dict[str, LiveRollCall] = {}
        self._lock = threading.Lock()

    def start(
        self, scope: str, started_by: str, conference_id: str | None, framing: bool, deadline_s: float
    ) -> LiveRollCall:
        hub = self.settings.hub.model_copy(update={"scope": scope})
        only = conference_venue_keys(self.engine, conference_id) if conference_id else None
        targets = venues_in_scope(self.engine, hub, only) if only is None or only else []
        run = LiveRollCall(
            id=uuid.uuid4().hex[:12],
            started_by=started_by,
            scope=scope,
            conference_id=conference_id,
            started_at=datetime.now(UTC),
            deadline_s=deadline_s,
            rows={
                t["venue"]: {
                    "venue": t["venue"],
                    "name": t["name"],
                    "answered": False,
                    "verdict": None,
                    "failed_items": [],
                    "seconds": None,
                    "liaison": t["contacts"].get("liaison"),
                }
                for t in targets
            },
        )
        with self._lock:
            self.runs[run.id] = run
            for old in list(self.runs)[: -self.KEEP]:
                del self.runs[old]
        settings = self.settings.model_copy(update={"hub": hub})
        threading.Thread(
            target=self._run, args=(run, settings, framing), name=f"board-rollcall-{run.id}", daemon=True
        ).start()
        return run

    def _run(self, run: LiveRollCall, settings: HubSettings, framing: bool) -> None:
        observer = self._observe(run, settings)
        try:
            result = run_rollcall(settings, self.engine, self.password, run.conference_id, run.deadline_s, framing)
            for row in result.rows:
                name = run.rows.get(row["venue"], {}).get("name")
                run.rows[row["venue"]] = {**row, "name": name}
            run.stored_id = result.id
        except BrokerUnavailable as exc:
            run.error = str(exc)
        except Exception as exc:  # the board stays up whatever one roll call meets
            log.exception("board roll call %s failed", run.id)
            run.error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            if observer is not None:
                observer.disable_logger()
                observer.disconnect()
                observer.loop_stop()
            run.done = True
            run.bump()

    def _observe(self, run: LiveRollCall, settings: HubSettings) -> mqtt.Client | None:
        """A subscriber to the scope's replies that fills rows as they come (None if it cannot connect:
        the roll call still runs, its rows then appear at the end)."""
        broker = settings.broker
        prefix = broker.topic_prefix
        started = time.monotonic()
        topic_filter = f"{leaf_filter(settings.hub.scope, 'cmd/replies')}/+"
        subscribed = threading.Event()

        def on_message(_c, _u, message: mqtt.MQTTMessage) -> None:
            place = parse_topic(message.topic, prefix)
            if place is None or place.key not in run.rows or not place.leaf.startswith("cmd/replies/hub-selftest-"):
                return
            if run.rows[place.key]["answered"] or run.done:
                return
            try:
                reply = Reply.model_validate_json(message.payload)
            except ValidationError:
                return
            ref = reply.venue
            if f"{ref.province}/{ref.prefecture}/{ref.county}/{ref.id}" != place.key or reply.command != "selftest":
                return
            row = run.rows[place.key]
            run.rows[place.key] = {**row, **_row_from_reply(reply, time.monotonic() - started, row["liaison"])}
            run.bump()

        client = make_client(broker, f"venue-hub-board-{uuid.uuid4().hex[:8]}", self.password)
        client.on_connect = lambda c, *_a: c.subscribe(topic_filter, qos=1)
        client.on_subscribe = lambda *_a: subscribed.set()
        client.on_message = on_message
        try:
            client.connect(broker.host, broker.port, broker.keepalive_s)
        except OSError as exc:
            log.warning("board roll call %s: live rows off, cannot reach the broker: %s", run.id, exc)
            return None
        client.loop_start()
        subscribed.wait(5)
        return client
