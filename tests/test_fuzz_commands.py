"""Fuzz: the command router (agent/mqtt/commands.py) fed arbitrary hub commands.

What comes from outside here: the payload bytes, the MQTT 5 Response Topic and Correlation Data
properties, the topic's command name and the retained flag. Whatever they hold, each request
gets exactly one reply on a topic that is valid MQTT and inside the venue's own reply subtree (or
its `replies` topic), carrying the caller's correlation data and a payload that is a valid Reply —
or it is refused with a logged reason and no reply; a retained command is ignored. No handler
task may die unobserved and no exception may escape to the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.mqtt.commands import CommandArgumentError, CommandBusyError, CommandRouter
from agent.mqtt.link import Incoming
from contract.payloads import Reply, VenueRef
from contract.topics import VenueTopics, reply_topic_problem, topic_problem
from fuzz.budget import examples

VENUE = VenueRef(province="jilin", prefecture="changchun", county="nongan", id="main", name="农安", level="county")
TOPICS = VenueTopics.for_venue("vc", VENUE)
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
FUZZ = settings(max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text from anywhere in Unicode, lone surrogates and control characters included: what a JSON body
# can carry (`"\\ud800"` decodes to a lone surrogate).
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=60)
# What a broker can hand over as a topic or a string property: valid UTF-8, so no lone surrogate
# (paho decodes them strictly), but control characters and non-characters are possible.
MQTT_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)), max_size=60)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(ANY_TEXT, children, max_size=4)),
    max_leaves=20,
)


ACCEPTED_REPLY_TOPICS = st.builds(TOPICS.reply_topic, st.from_regex(r"[a-z0-9/]{1,20}", fullmatch=True))
REFUSED_REPLY_TOPICS = st.one_of(
    st.just(TOPICS.reply_subtree),  # the subtree itself, nothing below it
    st.just(TOPICS.events),
    st.just(TOPICS.status),
    st.just(TOPICS.command("selftest")),  # would answer into its own command topic
    st.just("vc/jilin/changchun/other/main/cmd/replies/x"),  # another venue's tree
    st.builds(lambda tail: TOPICS.reply_subtree + tail, MQTT_TEXT),  # controls, non-characters, wildcards
    st.builds(lambda n: TOPICS.reply_subtree + "x" * n, st.integers(65_400, 66_000)),  # over 65,535 bytes
    MQTT_TEXT,
)
# one_of draws its branches uniformly; an identity map keeps a nested one_of from being flattened
# into branches of its own, so the weights below are what they look like.
BODY_REPLY_TOPICS = st.one_of(  # in a JSON body anything goes, lone surrogates included
    ACCEPTED_REPLY_TOPICS,
    st.builds(lambda tail: TOPICS.reply_subtree + tail, ANY_TEXT),
    ANY_TEXT,
)


def _json(value: Any, raw: bool) -> bytes:
    """JSON with escapes (a lone surrogate as `\\ud800`), or raw (a lone surrogate as bytes that are
    not UTF-8, as a hostile client may send)."""
    if not raw:
        return json.dumps(value).encode("ascii")
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _bodies() -> st.SearchStrategy[bytes]:
    requests = st.fixed_dictionaries(
        {},
        optional={
            "schema": st.one_of(st.just("venue-agent/command/1"), ANY_TEXT),
            "args": st.one_of(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=4), JSON_VALUES),
            "response_topic": st.one_of(BODY_REPLY_TOPICS, JSON_VALUES.map(lambda value: value)),
            "correlation_id": st.one_of(ANY_TEXT, JSON_VALUES),
            "extra": JSON_VALUES,
        },
    )
    well_formed = st.fixed_dictionaries(
        {"args": st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=4)},
        optional={"schema": st.just("venue-agent/command/1"), "correlation_id": MQTT_TEXT},
    )
    nested = st.integers(1, 3000).map(lambda depth: ("[" * depth + "]" * depth).encode())
    return st.one_of(
        st.builds(_json, well_formed, st.booleans()),
        st.builds(_json, well_formed, st.booleans()),
        st.builds(_json, requests, st.booleans()),
        st.builds(_json, JSON_VALUES, st.booleans()),
        st.binary(max_size=300),
        nested,
        st.just(b""),
        st.just(b" \n\t"),
        st.just(b'{"args": {"n": ' + b"9" * 5000 + b"}}"),
        st.integers(256 * 1024 - 10, 256 * 1024 + 10).map(lambda n: b'{"args":{"x":"' + b"a" * n + b'"}}'),
    )


def _names() -> st.SearchStrategy[str]:
    """Known names, and any text: a broker delivers strict UTF-8 topics, but the router must still
    answer a caller in process that names a command with a lone surrogate (it once killed the task)."""
    known = st.sampled_from(["echo", "fails", "bad_args", "busy", "slow"])
    return st.one_of(known, known, MQTT_TEXT, ANY_TEXT)


MESSAGES = st.builds(
    lambda name, payload, response_topic, correlation, retained: Incoming(
        topic=TOPICS.command(name),
        payload=payload,
        response_topic=response_topic,
        correlation_data=correlation,
        retained=retained,
    ),
    _names(),
    _bodies(),
    st.sampled_from(["none", "accepted", "accepted", "refused"]).flatmap(
        lambda kind: {"none": st.none(), "accepted": ACCEPTED_REPLY_TOPICS, "refused": REFUSED_REPLY_TOPICS}[kind]
    ),
    st.one_of(
        st.none(), st.none(), st.binary(max_size=40), st.binary(max_size=40), st.binary(min_size=1000, max_size=1100)
    ),
    st.sampled_from([False] * 9 + [True]),  # retained about one time in ten
)


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _echo(args: dict[str, Any]) -> dict[str, Any]:
    return {"args": args}


async def _fails(args: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError(f"handler broke on {args!r}")


async def _bad_args(args: dict[str, Any]) -> dict[str, Any]:
    raise CommandArgumentError(f"bad arguments {args!r}")


async def _busy(args: dict[str, Any]) -> dict[str, Any]:
    raise CommandBusyError("a self-test is running")


async def _slow(args: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0.001)
    return {"slept": True, "echo": args}


def _router(sent: list[tuple[str, bytes, bytes | None]]) -> CommandRouter:
    router = CommandRouter(VENUE, TOPICS, lambda topic, payload, corr: sent.append((topic, payload, corr)))
    for name, handler in (
        ("echo", _echo),
        ("fails", _fails),
        ("bad_args", _bad_args),
        ("busy", _busy),
        ("slow", _slow),
    ):
        router.register(name, handler)
    return router


def _run(messages: list[Incoming]) -> tuple[CommandRouter, list, list[logging.LogRecord], list[dict]]:
    """Feed `messages` to a fresh router on a fresh loop; wait for every handler to finish."""
    sent: list[tuple[str, bytes, bytes | None]] = []
    loop_errors: list[dict] = []
    recorder = Recorder()
    logger = logging.getLogger("agent.mqtt.commands")
    logger.addHandler(recorder)
    previous_level = logger.level
    logger.setLevel(logging.DEBUG)

    async def main() -> CommandRouter:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: loop_errors.append(context))
        router = _router(sent)
        for message in messages:
            router.receive(message)
        await router.cancel_all(grace_s=10)
        return router

    try:
        router = asyncio.run(main())
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(previous_level)
    return router, sent, recorder.records, loop_errors


def _check_reply(message: Incoming, topic: str, payload: bytes, correlation: bytes | None) -> Reply:
    assert topic_problem(topic) is None, topic
    assert topic == TOPICS.replies or reply_topic_problem(topic, TOPICS) is None, topic
    if message.response_topic is not None:
        assert topic == message.response_topic
    assert correlation == message.correlation_data
    text = payload.decode("utf-8")  # raises if the reply is not UTF-8
    reply = Reply.model_validate_json(text)
    assert reply.ok == (reply.error is None)
    assert reply.venue == VENUE
    return reply


@given(MESSAGES)
@FUZZ
def test_each_command_gets_one_reply_or_a_logged_refusal(message: Incoming) -> None:
    router, sent, records, loop_errors = _run([message])
    counts = router.counts
    assert counts.received == 1
    assert not loop_errors, loop_errors
    assert not [r for r in records if r.getMessage().startswith("command task died")]
    if message.retained:
        event("ignored: retained")
        assert sent == [] and counts.ignored_retained == 1
        return
    if counts.refused:
        event("refused")
        assert sent == [] and counts.refused == 1 and counts.answered == counts.rejected == 0
        assert any("refused" in r.getMessage() for r in records if r.levelno >= logging.WARNING)
        return
    assert len(sent) == 1, sent
    assert counts.answered + counts.rejected == 1
    reply = _check_reply(message, *sent[0])
    event("answered ok" if reply.ok else f"error reply {reply.error.code}")  # type: ignore[union-attr]
    if reply.ok:
        assert reply.result is not None
    else:
        assert reply.error is not None and reply.error.code.startswith("cmd.")
        assert reply.error.message.zh and reply.error.message.en


@given(st.lists(MESSAGES, min_size=2, max_size=25))
@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_burst_of_commands_is_accounted_for(messages: list[Incoming]) -> None:
    """Many at once on one router: every one is answered, refused or ignored, and the counts add up."""
    router, sent, _records, loop_errors = _run(messages)
    counts = router.counts
    assert not loop_errors, loop_errors
    assert counts.received == len(messages)
    assert counts.ignored_retained == sum(m.retained for m in messages)
    assert counts.received == counts.answered + counts.rejected + counts.refused + counts.ignored_retained
    assert len(sent) == counts.answered + counts.rejected
    for topic, payload, _correlation in sent:
        assert topic_problem(topic) is None
        Reply.model_validate_json(payload.decode("utf-8"))


def test_the_documented_accepted_case_is_generated_and_answered() -> None:
    """The property above must not pass by refusing everything: a well-formed request is answered ok."""
    message = Incoming(
        topic=TOPICS.command("echo"),
        payload=b'{"args": {"x": 1}}',
        response_topic=TOPICS.reply_topic("abc"),
        correlation_data=b"\x00\xff",
    )
    router, sent, _records, _errors = _run([message])
    assert router.counts.answered == 1
    reply = _check_reply(message, *sent[0])
    assert reply.ok and reply.result == {"args": {"x": 1}}
