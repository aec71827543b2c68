"""Fuzz: hub commands sent through a real mosquitto to the real `venue-agent run` process, with the
daemon's own handlers (ping, schedule, summary, selftest) and arguments of every shape.

What the in-process router fuzz (test_fuzz_commands.py) cannot see: the handlers' argument
checks, paho's decoding of the properties, the reply's way back through the broker. Each request
sent with a response topic under the venue's reply subtree gets exactly one reply there, carrying
its correlation data, a valid Reply; the agent keeps running, with no traceback in its log.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from contract.payloads import Reply
from contract.topics import VenueTopics
from fuzz.budget import examples
from sim.broker import Mosquitto
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess

TOPICS = VenueTopics("vc/jilin/changchun/nongan/main")
REPLY_WAIT_S = 30.0


class Caller:
    """The hub's side: sends commands with MQTT 5 response topic and correlation data, keeps replies."""

    def __init__(self, port: int):
        self.replies: dict[str, list[tuple[bytes, bytes | None]]] = defaultdict(list)
        self.arrived = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fuzz-hub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
        )
        self.misplaced: list[str] = []  # topics outside the reply subtree that carried a Reply
        self.status: dict[str, Any] | None = None
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("#", qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        if not message.topic.startswith(TOPICS.reply_subtree):
            self._watch(message.topic, bytes(message.payload))
            return
        token = message.topic.removeprefix(TOPICS.reply_subtree)
        correlation = getattr(message.properties, "CorrelationData", None)
        with self.arrived:
            self.replies[token].append((bytes(message.payload), correlation))
            self.arrived.notify_all()

    def _watch(self, topic: str, payload: bytes) -> None:
        try:
            document = json.loads(payload)
        except ValueError:
            return
        if not isinstance(document, dict):
            return
        if document.get("schema") == "venue-agent/reply/1" and topic != TOPICS.replies:
            self.misplaced.append(topic)
        if topic == TOPICS.status:
            with self.arrived:
                self.status = document
                self.arrived.notify_all()

    def send(self, name: str, payload: bytes, response_topic: str | None = None) -> str:
        token = uuid.uuid4().hex
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = response_topic or TOPICS.reply_topic(token)
        properties.CorrelationData = token.encode()
        self.client.publish(TOPICS.command(name), payload, qos=1, properties=properties).wait_for_publish(10)
        return token

    def wait(self, token: str, timeout_s: float) -> list[tuple[bytes, bytes | None]]:
        deadline = time.monotonic() + timeout_s
        with self.arrived:
            while not self.replies.get(token) and time.monotonic() < deadline:
                self.arrived.wait(deadline - time.monotonic())
            return list(self.replies.get(token, []))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Caller, AgentProcess]]:
    workdir = tmp_path_factory.mktemp("fuzz-live")
    (workdir / "broker").mkdir()
    with Mosquitto(workdir=workdir / "broker") as broker:
        config = write_config(workdir / "venue", broker.url, status_interval_s=5)
        agent = AgentProcess(config, workdir / "agent.log").start()
        caller = Caller(broker.port)
        try:
            for _ in range(60):  # the agent answers pings once it is subscribed
                if caller.wait(caller.send("ping", b"{}"), 1.0):
                    break
            else:
                pytest.fail(f"the agent never answered a ping:\n{agent.log()[-3000:]}")
            yield caller, agent
        finally:
            caller.close()
            agent.stop()


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
STARTS = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-12-03T09:00:00+08:00", "2026-12-03T09:00:00", "tomorrow", "", "9999-12-31T23:59:59Z"]),
    JSON,
)
CONFERENCE = st.fixed_dictionaries(
    {"id": st.one_of(st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True), JSON), "start": STARTS},
    optional={
        "title": st.one_of(st.text(max_size=30), JSON),
        "kind": st.one_of(st.sampled_from(["national", "provincial", "department", "followup", "x"]), JSON),
        "duration_min": st.one_of(st.integers(-5, 10**6), JSON),
        "far_end": st.one_of(st.just("127.0.0.1"), JSON),
        "extra": JSON,
    },
)
ARGS = {
    "ping": st.one_of(st.just({}), st.dictionaries(st.text(max_size=8), JSON, max_size=3)),
    "schedule": st.one_of(
        st.fixed_dictionaries({"conferences": st.lists(CONFERENCE, max_size=4)}),
        st.fixed_dictionaries({"conferences": JSON}),
        st.dictionaries(st.text(max_size=10), JSON, max_size=3),
    ),
    "summary": st.one_of(
        st.fixed_dictionaries({"conference_id": st.one_of(st.text(max_size=200), JSON)}),
        st.dictionaries(st.text(max_size=10), JSON, max_size=3),
    ),
    "selftest": st.one_of(
        st.fixed_dictionaries({}, optional={"framing": JSON, "conference_id": st.one_of(st.text(max_size=20), JSON)}),
        st.dictionaries(st.text(max_size=10), JSON, max_size=2),
    ),
    "no-such-command": st.just({}),
}
REQUESTS = st.sampled_from(["ping", "schedule", "schedule", "summary", "selftest", "no-such-command"]).flatmap(
    lambda name: st.tuples(st.just(name), ARGS[name], st.sampled_from(["args", "args", "args", "raw"]), JSON)
)


def _payload(args: Any, form: str, other: Any) -> bytes:
    if form == "raw":  # not a command object at all: a JSON value of any shape
        return json.dumps(other).encode()
    return json.dumps({"args": args}, ensure_ascii=False).encode()


@given(REQUESTS)
@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_each_command_gets_exactly_one_valid_reply(live: tuple[Caller, AgentProcess], request: tuple) -> None:
    caller, agent = live
    name, args, form, other = request
    token = caller.send(name, _payload(args, form, other))
    replies = caller.wait(token, REPLY_WAIT_S)
    assert agent.alive, agent.log()[-3000:]
    assert len(replies) == 1, (name, args, replies)
    payload, correlation = replies[0]
    assert correlation == token.encode()
    reply = Reply.model_validate_json(payload)
    assert reply.command == name and reply.ok == (reply.error is None)
    event(f"{name}: {'ok' if reply.ok else reply.error.code}")  # type: ignore[union-attr]


# Response topics a broker delivers (valid MQTT, no wildcard) but the agent must not answer on.
OUTSIDE = st.one_of(
    st.sampled_from([TOPICS.status, TOPICS.events, TOPICS.availability, TOPICS.command("ping"), TOPICS.reply_subtree]),
    st.from_regex(r"vc/jilin/changchun/[a-z]{1,8}/main/cmd/replies/[a-z0-9]{1,8}", fullmatch=True).filter(
        lambda topic: not topic.startswith(TOPICS.reply_subtree)
    ),
    st.from_regex(r"[a-z0-9/]{1,30}", fullmatch=True).filter(lambda topic: not topic.startswith(TOPICS.reply_subtree)),
)


@given(st.sampled_from(["ping", "schedule", "no-such-command"]), OUTSIDE)
@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_a_response_topic_outside_the_reply_subtree_is_never_answered(
    live: tuple[Caller, AgentProcess], name: str, topic: str
) -> None:
    caller, _agent = live
    caller.send(name, b'{"args": {}}', response_topic=topic)
    assert caller.wait(caller.send("ping", b"{}"), REPLY_WAIT_S), "the agent stopped answering"  # in order after it
    assert not caller.misplaced, caller.misplaced


def test_the_refusals_are_counted_in_the_status(live: tuple[Caller, AgentProcess]) -> None:
    """Self-contained (pytest-xdist may run it on another worker, with its own agent)."""
    caller, _agent = live
    caller.send("ping", b"{}", response_topic=TOPICS.status)
    deadline = time.monotonic() + 30
    with caller.arrived:
        while time.monotonic() < deadline:
            refused = ((caller.status or {}).get("commands") or {}).get("refused", 0)
            if refused >= 1:
                break
            caller.arrived.wait(deadline - time.monotonic())
    assert refused >= 1, caller.status
    assert not caller.misplaced, caller.misplaced


def test_the_agent_took_it_all_without_a_traceback(live: tuple[Caller, AgentProcess]) -> None:
    caller, agent = live
    time.sleep(1)  # a late duplicate reply would have arrived by now
    assert all(len(replies) == 1 for replies in caller.replies.values()), "a request answered twice"
    assert agent.alive
    log = agent.log()
    assert "Traceback" not in log and "task died" not in log, log[-3000:]


def test_the_live_agent_reads_its_log(live: tuple[Caller, AgentProcess]) -> None:
    """The log checked above is the agent's own (it logs its start), so 'no traceback' means something."""
    assert Path(live[1].log_path).read_text(encoding="utf-8", errors="replace").strip()
