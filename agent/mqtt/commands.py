"""Hub → agent commands on `cmd/<name>`, each answered on the caller's response topic.

MQTT 5 callers set the Response Topic and Correlation Data properties; MQTT 3.1.1 callers put
`response_topic` and `correlation_id` in the JSON body; with neither, the reply goes to the
venue's `replies` topic. A response topic is accepted only under the venue's own reply subtree
(`<base>/cmd/replies/…`, see `contract.topics.reply_topic_problem`): anything else could make the
agent publish into another venue's tree or its own `events`/`status`, or send mosquitto a topic it
treats as a malformed packet. Such a request is refused with a logged, counted reason and no reply.

Every other request gets exactly one reply: a malformed, oversized, too deeply nested or unknown
command an error reply that changes nothing; a handler that fails a `cmd.failed` reply; a handler
cancelled by shutdown a `cmd.cancelled` reply. Retained commands are ignored (counted): a command
left retained on the broker would otherwise run again at every reconnect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agent.messages import AGENT_MESSAGES
from agent.mqtt.link import Incoming
from contract.payloads import CommandRequest, CommandsState, Reply, ReplyError, VenueRef, to_json, utc_now
from contract.topics import VenueTopics, reply_topic_problem

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

MAX_COMMAND_BYTES = 256 * 1024  # a 500-conference schedule is ~150 KB
MAX_CORRELATION_BYTES = 1024
REFUSAL_LOG_EVERY_S = 10.0


@dataclass
class _Caller:
    """Where and how to answer: response topic and correlation data (from properties or the body)."""

    topic: str
    correlation: bytes | None
    correlation_text: str | None


class _Rejected(Exception):
    def __init__(self, code: str, **fields: object):
        super().__init__(code)
        self.code = code
        self.fields = fields


class _Refused(Exception):
    """No safe topic to answer on: the request is dropped with a logged reason."""


class CommandArgumentError(ValueError):
    """Raised by a handler whose arguments are wrong; becomes a `cmd.bad_payload` reply."""


class CommandBusyError(RuntimeError):
    """Raised by a handler that cannot take more work now; becomes a `cmd.busy` reply."""


class CommandRouter:
    def __init__(
        self,
        venue: VenueRef,
        topics: VenueTopics,
        send: Callable[[str, bytes, bytes | None], None],
    ):
        self._venue = venue
        self._topics = topics
        self._send = send
        self._handlers: dict[str, Handler] = {}
        self._running: set[asyncio.Task[None]] = set()
        self.counts = CommandsState()
        self._refusal_logged_at = -REFUSAL_LOG_EVERY_S
        self._refusals_unlogged = 0

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    def receive(self, message: Incoming) -> None:
        """Called on the loop for each message on cmd/+; handling runs as its own task."""
        self.counts.received += 1
        if message.retained:
            self.counts.ignored_retained += 1
            self._log_refusal(f"retained command on {message.topic!r} ignored (commands are acted on once)")
            return
        task = asyncio.get_running_loop().create_task(self._handle(message))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:  # _handle catches all; this is a last net
            log.error("command task died", exc_info=task.exception())

    async def _handle(self, message: Incoming) -> None:
        name = _short(self._topics.command_name(message.topic) or "?", 128)  # quoted in replies and logs
        try:
            caller = self._caller(message)
        except _Refused as refused:
            self.counts.refused += 1
            self._log_refusal(f"command {name!r} refused, no reply sent: {refused}")
            return
        try:
            result = await self._run(name, message.payload, caller)
        except _Rejected as rejected:
            log.warning("command %s rejected: %s %s", name, rejected.code, rejected.fields)
            self.counts.rejected += 1
            message_text = AGENT_MESSAGES.render(rejected.code, command=name, **rejected.fields)
            self._reply(name, caller, error=ReplyError(code=rejected.code, message=message_text))
            return
        except asyncio.CancelledError:
            self.counts.rejected += 1
            text = AGENT_MESSAGES.render("cmd.cancelled", command=name)
            self._reply(name, caller, error=ReplyError(code="cmd.cancelled", message=text))
            raise
        except Exception as exc:  # the reply must go out whatever went wrong inside
            log.exception("command %s failed", name)
            self.counts.rejected += 1
            text = AGENT_MESSAGES.render("cmd.failed", command=name, error=_short(exc))
            self._reply(name, caller, error=ReplyError(code="cmd.failed", message=text))
            return
        self.counts.answered += 1
        self._reply(name, caller, result=result)

    def _caller(self, message: Incoming) -> _Caller:
        """The reply's topic and correlation, from the MQTT 5 properties or else the JSON body.

        The body is only peeked at here (for MQTT 3.1.1 callers); it is parsed for real in `_run`."""
        topic = message.response_topic
        correlation = message.correlation_data
        correlation_text = None
        if topic is None or correlation is None:
            body = _peek_body(message.payload)
            if topic is None and "response_topic" in body:
                if not isinstance(body["response_topic"], str):
                    raise _Refused("response_topic in the body is not a string")
                topic = body["response_topic"]
            if correlation is None and isinstance(body.get("correlation_id"), str):
                correlation_text = body["correlation_id"]
        if topic is None:
            topic = self._topics.replies
        elif problem := reply_topic_problem(topic, self._topics):
            raise _Refused(f"response topic {_shown(topic)}: {problem}")
        if correlation is not None:
            if len(correlation) > MAX_CORRELATION_BYTES:
                raise _Refused(f"correlation data of {len(correlation)} bytes (at most {MAX_CORRELATION_BYTES})")
            correlation_text = _decode(correlation)
        elif correlation_text is not None and not _encodable(correlation_text):
            correlation_text = None  # a lone surrogate cannot be echoed; _run rejects the body for it
        return _Caller(topic, correlation, correlation_text)

    async def _run(self, name: str, payload: bytes, caller: _Caller) -> dict[str, Any]:
        """Parse, validate and run one command; raises _Rejected with the reply's error code."""
        if len(payload) > MAX_COMMAND_BYTES:
            raise _Rejected("cmd.too_large", size=len(payload), limit=MAX_COMMAND_BYTES)
        body = _parse_body(payload)
        try:
            request = CommandRequest.model_validate(body)
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
            )
            raise _Rejected("cmd.bad_payload", error=_short(problem)) from None
        if request.correlation_id is not None and not _encodable(request.correlation_id):
            raise _Rejected("cmd.bad_payload", error="correlation_id is not valid Unicode text (a lone surrogate)")
        handler = self._handlers.get(name)
        if handler is None:
            raise _Rejected("cmd.unknown", known=", ".join(sorted(self._handlers)))
        try:
            return await handler(request.args)
        except CommandArgumentError as exc:
            raise _Rejected("cmd.bad_payload", error=_short(exc)) from None
        except CommandBusyError as exc:
            raise _Rejected("cmd.busy", error=_short(exc)) from None

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
        try:
            payload = to_json(reply)
        except (ValueError, UnicodeError) as exc:  # a result that cannot be serialised: say so instead
            log.error("reply to %s cannot be serialised: %s", name, exc)
            text = AGENT_MESSAGES.render("cmd.failed", command=name, error="reply could not be serialised")
            payload = to_json(
                reply.model_copy(
                    update={"ok": False, "result": None, "error": ReplyError(code="cmd.failed", message=text)}
                )
            )
        self._send(caller.topic, payload, caller.correlation)

    def _log_refusal(self, text: str) -> None:
        """Refusals can come as a flood from a hostile publisher: one log line per REFUSAL_LOG_EVERY_S."""
        now = time.monotonic()
        if now - self._refusal_logged_at < REFUSAL_LOG_EVERY_S:
            self._refusals_unlogged += 1
            return
        more = f" (and {self._refusals_unlogged} more since the last such line)" if self._refusals_unlogged else ""
        log.warning("%s%s", text, more)
        self._refusal_logged_at, self._refusals_unlogged = now, 0

    async def cancel_all(self, grace_s: float) -> None:
        """Shutdown: give running commands `grace_s`, then cancel them (each answers `cmd.cancelled`)."""
        if not self._running:
            return
        _done, pending = await asyncio.wait(set(self._running), timeout=max(0.0, grace_s))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _peek_body(payload: bytes) -> dict[str, Any]:
    """The JSON body as a dict when it is one (for the reply topic of 3.1.1 callers); {} otherwise."""
    if len(payload) > MAX_COMMAND_BYTES:
        return {}
    try:
        body = _parse_body(payload)
    except _Rejected:
        return {}
    return body if isinstance(body, dict) else {}


def _parse_body(payload: bytes) -> Any:
    if not payload.strip():
        return {}
    try:
        return json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _Rejected("cmd.bad_json", error=f"not UTF-8 at byte {exc.start}") from None
    except RecursionError:
        raise _Rejected("cmd.bad_json", error="nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and ints past Python's 4300-digit limit
        raise _Rejected("cmd.bad_json", error=_short(exc)) from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex()


def _short(value: object, limit: int = 300) -> str:
    """Error text for a reply: bounded, and without characters that cannot be encoded."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(topic: str, limit: int = 80) -> str:
    """A topic as a log line may show it (escaped, bounded)."""
    return repr(topic[:limit] + ("…" if len(topic) > limit else "")).encode("ascii", "backslashreplace").decode()
