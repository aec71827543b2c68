"""atheris harness: hub commands. Payload, response topic, correlation data and command name drawn
from the input; the router answers exactly once on a valid topic inside the venue's reply subtree,
or refuses with nothing sent — never a dead task, never an exception in the event loop."""

from __future__ import annotations

import asyncio
import json
import logging

import atheris

from fuzz.harness import OURS, run

with atheris.instrument_imports(include=OURS):
    from agent.mqtt.commands import CommandArgumentError, CommandRouter
    from agent.mqtt.link import Incoming
    from contract.payloads import Reply, VenueRef
    from contract.topics import VenueTopics, topic_problem


VENUE = VenueRef(province="jilin", prefecture="changchun", county="nongan", id="main", name="农安", level="county")
TOPICS = VenueTopics.for_venue("vc", VENUE)
logging.getLogger("agent.mqtt.commands").setLevel(logging.CRITICAL)  # refusals are expected by the thousand


def seeds() -> list[bytes]:
    bodies = [b'{"args": {}}', b'{"args": {"x": [1, 2, {"y": null}]}, "correlation_id": "c1"}', b"", b"[[[]]]"]
    return [bytes([n]) + b"\x00" * 4 + body for n, body in enumerate(bodies)]


def _text(provider: atheris.FuzzedDataProvider, limit: int) -> str:
    """Any text, lone surrogates included: more than a broker delivers (paho decodes strictly), as a
    caller in process may pass."""
    return provider.ConsumeUnicode(provider.ConsumeIntInRange(0, limit))


async def _echo(args: dict) -> dict:
    return {"echo": args}


async def _bad(args: dict) -> dict:
    raise CommandArgumentError("bad arguments")


async def _broken(args: dict) -> dict:
    raise RuntimeError("handler broke")


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    name = ["echo", "bad", "broken", _text(provider, 12)][provider.ConsumeIntInRange(0, 3)]
    topic_kind = provider.ConsumeIntInRange(0, 3)
    topic = [None, TOPICS.reply_topic("t"), TOPICS.reply_subtree + _text(provider, 30), _text(provider, 40)][topic_kind]
    correlation = provider.ConsumeBytes(provider.ConsumeIntInRange(0, 1100)) if provider.ConsumeBool() else None
    retained = provider.ConsumeIntInRange(0, 9) == 0
    payload = provider.ConsumeBytes(provider.remaining_bytes())
    message = Incoming(TOPICS.command(name), payload, topic, correlation, retained)
    sent: list[tuple[str, bytes, bytes | None]] = []
    errors: list[dict] = []

    async def main() -> CommandRouter:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
        router = CommandRouter(VENUE, TOPICS, lambda t, p, c: sent.append((t, p, c)))
        for handler_name, handler in (("echo", _echo), ("bad", _bad), ("broken", _broken)):
            router.register(handler_name, handler)
        router.receive(message)
        await router.cancel_all(grace_s=5)
        return router

    counts = asyncio.run(main()).counts
    if errors:
        raise AssertionError(f"an exception reached the event loop: {errors}")
    if counts.answered + counts.rejected + counts.refused + counts.ignored_retained != 1:
        raise AssertionError(f"the request was not accounted for exactly once: {counts}")
    if len(sent) != counts.answered + counts.rejected:
        raise AssertionError(f"{len(sent)} replies for {counts}")
    for reply_topic, reply, reply_correlation in sent:
        inside = reply_topic == TOPICS.replies or reply_topic.startswith(TOPICS.reply_subtree)
        if topic_problem(reply_topic) or not inside:
            raise AssertionError(f"a reply on {reply_topic!r}")
        if reply_correlation != correlation:
            raise AssertionError("the reply does not carry the request's correlation data")
        Reply.model_validate(json.loads(reply.decode("utf-8")))


if __name__ == "__main__":
    run(seeds, one_input)
