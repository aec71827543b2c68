"""Hub → agent commands on `cmd/<name>`, each answered on the caller's response topic.

MQTT 5 callers set the Response Topic and Correlation Data properties; MQTT 3.1.1 callers put
`response_topic` and `correlation_id` in the JSON body; with neither, the reply goes to the
venue's `replies` topic. A malformed or unknown command gets an error reply and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from agent.contract.payloads import CommandRequest, Reply, ReplyError, VenueRef, to_json, utc_now
from agent.link import Incoming
from agent.messages import AGENT_MESSAGES

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class CommandArgumentError(ValueError):
    """Raised by a handler whose arguments are wrong; becomes a `cmd.bad_payload` reply."""


class CommandRouter:
    def __init__(
        self,
        venue: VenueRef,
        default_reply_topic: str,
        command_name: Callable[[str], str | None],
        send: Callable[[str, bytes, bytes | None], None],
    ):
        self._venue = venue
        self._default_reply_topic = default_reply_topic
        self._command_name = command_name
        self._send = send
        self._handlers: dict[str, Handler] = {}
        self._running: set[asyncio.Task[None]] = set()

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    def receive(self, message: Incoming) -> None:
        """Called on the loop for each message on cmd/+; handling runs as its own task."""
        task = asyncio.create_task(self._handle(message))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _handle(self, message: Incoming) -> None:
        name = self._command_name(message.topic) or "?"
        reply_topic = message.response_topic
        correlation_bytes = message.correlation_data
        correlation_text = _decode(correlation_bytes)
        try:
            body = json.loads(message.payload.decode("utf-8")) if message.payload.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._error(name, reply_topic, correlation_bytes, correlation_text, "cmd.bad_json", error=str(exc))
            return
        if isinstance(body, dict):
            reply_topic = reply_topic or _text_or_none(body.get("response_topic"))
            if correlation_bytes is None and isinstance(body.get("correlation_id"), str):
                correlation_text = body["correlation_id"]
        try:
            request = CommandRequest.model_validate(body)
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
            )
            self._error(name, reply_topic, correlation_bytes, correlation_text, "cmd.bad_payload", error=problem)
            return
        handler = self._handlers.get(name)
        if handler is None:
            known = ", ".join(sorted(self._handlers))
            self._error(name, reply_topic, correlation_bytes, correlation_text, "cmd.unknown", known=known)
            return
        try:
            result = await handler(request.args)
        except CommandArgumentError as exc:
            self._error(name, reply_topic, correlation_bytes, correlation_text, "cmd.bad_payload", error=str(exc))
            return
        except Exception as exc:
            log.exception("command %s failed", name)
            self._error(name, reply_topic, correlation_bytes, correlation_text, "cmd.failed", error=str(exc))
            return
        reply = Reply(
            ts=utc_now(),
            venue=self._venue,
            command=name,
            ok=True,
            correlation_id=correlation_text,
            result=result,
        )
        self._send(reply_topic or self._default_reply_topic, to_json(reply), correlation_bytes)

    def _error(
        self,
        name: str,
        topic: str | None,
        correlation: bytes | None,
        correlation_text: str | None,
        code: str,
        **fields: object,
    ) -> None:
        log.warning("command %s rejected: %s %s", name, code, fields)
        error = ReplyError(code=code, message=AGENT_MESSAGES.render(code, command=name, **fields))
        reply = Reply(
            ts=utc_now(),
            venue=self._venue,
            command=name,
            ok=False,
            correlation_id=correlation_text,
            error=error,
        )
        self._send(topic or self._default_reply_topic, to_json(reply), correlation)

    async def wait_idle(self) -> None:
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


def _decode(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex()


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value and "+" not in value and "#" not in value else None
