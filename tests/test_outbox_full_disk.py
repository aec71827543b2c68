"""Issue 11, item 1, through the real entry point: the daemon (`python -m agent run`) against a real
mosquitto, its state_dir on a real tmpfs that fills while events flow.

What the issue saw: pending climbing to 100,000 phantom messages, a log flood, status and ping
stopping, RSS growing without bound, no recovery after space was freed, SIGTERM ignored, the held
messages lost to kill -9 and no storage-error event at the hub. Each test below fills the disk while
the simulated venue raises ~20 events a second and checks the opposite.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.outbox_disk import SmallDisk, small_disk
from tests.peers.agent_process import AgentProcess
from tests.peers.hub import Hub, Received

BASE = "vc/jilin/changchun/nongan/main"
FAST = {"flap_interval_s": 0.05, "status_interval_s": 1, "metrics_interval_s": 1}
# Smaller than SQLite's 4 MB WAL autocheckpoint: the disk fills while the WAL still has to grow, as a
# venue disk that fills does; a WAL already grown could go on reusing its own pages.
DISK_SIZE = "3m"


@pytest.fixture
def state_disk(tmp_path: Path):
    with small_disk(tmp_path / "venue" / "state", size=DISK_SIZE) as disk:
        yield disk


def _event(code: str):
    return lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == code


def _status(m: Received) -> bool:
    return m.topic == f"{BASE}/status"


def _rss_kb(agent: AgentProcess) -> int:
    assert agent.process is not None
    for line in Path(f"/proc/{agent.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _outbox_log_lines(agent: AgentProcess) -> list[str]:
    return [line for line in agent.log().splitlines() if "agent.outbox" in line or "outbox " in line]


def _distinct(events: list[dict]) -> list[dict]:
    seen: set[str] = set()
    return [e for e in events if not (e["id"] in seen or seen.add(e["id"]))]


def _assert_seqs_gap_free_and_never_repeated(events: list[dict]) -> list[int]:
    distinct = _distinct(events)
    by_seq: dict[int, str] = {}
    for event in distinct:
        assert by_seq.setdefault(event["seq"], event["id"]) == event["id"], f"seq {event['seq']} given twice"
    seqs = sorted(by_seq)
    assert seqs == list(range(1, len(seqs) + 1)), f"gaps: {sorted(set(range(1, seqs[-1] + 1)) - set(seqs))}"
    return seqs


def _ping(hub: Hub) -> dict:
    correlation = uuid.uuid4().hex.encode()
    reply_to = f"{BASE}/cmd/replies/{correlation.decode()}"
    hub.publish(f"{BASE}/cmd/ping", b"{}", response_topic=reply_to, correlation=correlation)
    return hub.wait_for(lambda m: m.topic == reply_to, timeout=15)[-1].json()


def _fill_while_events_flow(hub: Hub, agent: AgentProcess, disk: SmallDisk) -> int:
    """Wait for the agent to run, fill the disk; returns how many messages the hub had then."""
    hub.wait_for(_event("agent.started"), timeout=20)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events", count=20, timeout=20)
    disk.fill()
    return len(hub.messages)


def test_a_disk_that_fills_while_events_flow_keeps_the_agent_whole(broker, hub, start_agent, state_disk):
    agent = start_agent(broker.url, **FAST)
    _fill_while_events_flow(hub, agent, state_disk)
    rss_at_fill = _rss_kb(agent)
    log_at_fill = len(_outbox_log_lines(agent))

    # The storage-error event reaches the hub: it is itself held, and sent from memory.
    error = hub.wait_for(_event("outbox.storage_error"), timeout=30)[0].json()
    assert "full" in error["message"]["en"] or "disk" in error["message"]["en"]
    after_error = len(hub.events())
    # Events keep arriving while the disk is full (sent from memory, not lost because the disk is)...
    hub.wait_for(lambda m: m.topic == f"{BASE}/events", count=after_error + 60, timeout=30)
    # ...the retained status keeps coming and says why...
    full_statuses = hub.wait_for(lambda m: _status(m) and m.json()["outbox"]["storage_error"], count=5, timeout=30)
    # ...and ping answers.
    pong = _ping(hub)
    assert pong["ok"] is True and pong["result"]["pong"] is True
    # Held messages are acknowledged from memory and forgotten: memory stays bounded, no phantoms.
    for status in full_statuses:
        outbox = status.json()["outbox"]
        assert outbox["held_in_memory"] < 1000 and outbox["pending"] < 1000, outbox
        assert outbox["dropped_events"] == 0 and outbox["dropped_metrics"] == 0, outbox
    assert _rss_kb(agent) - rss_at_fill < 30_000, "RSS grew while the disk was full"
    flood = _outbox_log_lines(agent)[log_at_fill:]
    assert len(flood) <= 3, flood  # one line for the episode, not one per message

    state_disk.free()
    recovered = hub.wait_for(_event("outbox.storage_recovered"), timeout=30)[0].json()
    assert recovered["data"]["delivered"] > 0  # delivered from memory while the disk was full
    hub.wait_for(lambda m: _status(m) and m.json()["outbox"]["storage_error"] is None, timeout=30)
    assert agent.stop(timeout=20) == 0
    hub.wait_for(_event("agent.stopping"), timeout=20)
    seqs = _assert_seqs_gap_free_and_never_repeated(hub.events())
    assert len(seqs) > after_error + 60


def test_sigterm_while_the_disk_is_full_exits_having_delivered_what_was_held(broker, hub, start_agent, state_disk):
    agent = start_agent(broker.url, **FAST)
    _fill_while_events_flow(hub, agent, state_disk)
    hub.wait_for(_event("outbox.storage_error"), timeout=30)
    held = hub.wait_for(lambda m: _status(m) and m.json()["outbox"]["storage_error"], timeout=30)
    assert held
    assert agent.stop(timeout=20) == 0  # exits in time, the disk still full
    hub.wait_for(_event("agent.stopping"), timeout=20)
    first_run = _assert_seqs_gap_free_and_never_repeated(hub.events())

    state_disk.free()
    agent.start()
    started = hub.wait_for(_event("agent.started"), count=2, timeout=30)[-1].json()
    assert started["seq"] > first_run[-1]  # seq goes on past what was held and delivered
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["seq"] > started["seq"] + 5, timeout=30)
    assert agent.stop(timeout=20) == 0
    hub.wait_for(_event("agent.stopping"), count=2, timeout=20)
    events = hub.events()
    assert not [e for e in events if e["code"] == "outbox.held_lost"], "the clean stop delivered all it held"
    _assert_seqs_gap_free_and_never_repeated(events)


def test_kill9_while_the_disk_is_full_loses_only_what_it_reports_and_never_repeats_a_seq(
    broker, hub, start_agent, state_disk
):
    agent = start_agent(broker.url, **FAST)
    _fill_while_events_flow(hub, agent, state_disk)
    hub.wait_for(_event("outbox.storage_error"), timeout=30)
    count = len(hub.events())
    hub.wait_for(lambda m: m.topic == f"{BASE}/events", count=count + 20, timeout=30)
    agent.kill9()
    time.sleep(0.5)  # let the broker deliver what it acknowledged
    before = {e["seq"] for e in _distinct(hub.events())}

    state_disk.free()
    agent.start()
    started = hub.wait_for(_event("agent.started"), count=2, timeout=30)[-1].json()
    assert started["seq"] > max(before)
    assert agent.stop(timeout=20) == 0
    hub.wait_for(_event("agent.stopping"), timeout=20)
    events = _distinct(hub.events())
    by_seq: dict[int, str] = {}
    for event in events:
        assert by_seq.setdefault(event["seq"], event["id"]) == event["id"], f"seq {event['seq']} given twice"
    missing = set(range(1, max(by_seq) + 1)) - set(by_seq)
    reported = sum(e["data"]["count"] for e in events if e["code"] == "outbox.held_lost")
    assert len(missing) <= reported, f"seqs {sorted(missing)} missing, {reported} reported lost"
