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
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agent.link import Incoming
from agent.messages import AGENT_MESSAGES
from contract.payloads import CommandRequest, Reply, ReplyError, VenueRef, to_json, utc_now

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class _Caller:
    """Where and how to answer: response topic and correlation data (from properties or the body)."""

    topic: str | None
    correlation: bytes | None
    correlation_text: str | None


class _Rejected(Exception):
    def __init__(self, code: str, **fields: object):
        super().__init__(code)
        self.code = code
        self.fields = fields


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
        caller = _Caller(message.response_topic, message.correlation_data, _decode(message.correlation_data))
        try:
            result = await self._run(name, message.payload, caller)
        except _Rejected as rejected:
            log.warning("command %s rejected: %s %s", name, rejected.code, rejected.fields)
            message_text = AGENT_MESSAGES.render(rejected.code, command=name, **rejected.fields)
            self._reply(name, caller, error=ReplyError(code=rejected.code, message=message_text))
            return
        self._reply(name, caller, result=result)

    async def _run(self, name: str, payload: bytes, caller: _Caller) -> dict[str, Any]:
        """Parse, validate and run one command; raises _Rejected with the reply's error code."""
        try:
            body = json.loads(payload.decode("utf-8")) if payload.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Rejected("cmd.bad_json", error=str(exc)) from None
        if isinstance(body, dict):  # MQTT 3.1.1 callers name their reply topic in the body
            caller.topic = caller.topic or _text_or_none(body.get("response_topic"))
            if caller.correlation is None and isinstance(body.get("correlation_id"), str):
                caller.correlation_text = body["correlation_id"]
        try:
            request = CommandRequest.model_validate(body)
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
            )
            raise _Rejected("cmd.bad_payload", error=problem) from None
        handler = self._handlers.get(name)
        if handler is None:
            raise _Rejected("cmd.unknown", known=", ".join(sorted(self._handlers)))
        try:
            return await handler(request.args)
        except CommandArgumentError as exc:
            raise _Rejected("cmd.bad_payload", error=str(exc)) from None
        except Exception as exc:
            log.exception("command %s failed", name)
            raise _Rejected("cmd.failed", error=str(exc)) from None

    def _reply(
        self, name: str, caller: _Caller, result: dict[str, Any] | None = None, error: ReplyError | None = None
    ) -> None:
        reply = Reply(
            ts=utc_now(),
            venue=self._venue,
            command=name,
            ok=error is None,
            correlation_id=caller.correlation_text,
            result=result,
            error=error,
        )
        self._send(caller.topic or self._default_reply_topic, to_json(reply), caller.correlation)

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
