"""The case receipt order got wrong, with real processes: a real mosquitto, a real venue agent
(`python -m agent run`) and two real hub processes (`python -m hub run`) on one shared subscription,
on SQLite and on a real PostgreSQL.

Hub process A is stopped (its persistent session stays on the broker); the venue is killed, so its
Last Will `offline` waits in A's session queue — A is the group's only member. Hub B starts, reads the
retained Will (`offline`), and the venue comes back: its `online` is dealt to B (the deal is strictly in
turn, a new member last — pinned in tests/test_hub_broker.py — so one message put through first goes to
A), and B records the venue online while A is still down. Then A comes back and drains its stale
`offline` with a fresh receipt time:

- an MQTT 5 agent sets the contract's Message Expiry Interval on its `online` and its Will
  (contract/availability.py): A's copy arrives as old as it is, loses to B's newer `online`
  (`availability_stale`), and the venue stays online in the database;
- an MQTT 3.1.1 agent cannot: A's copy has no age, receipt order applies and the venue is wrongly
  recorded offline — the behaviour before the property, kept as the fallback (docs/hub.md).

Then the agent stops cleanly: its explicit `offline` carries the interval too (MQTT 5).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.db.engine import open_database
from hub.db.models import AvailabilityTransition, Venue
from hub.db.models import HubProcess as HubProcessRow
from sim.broker import Mosquitto
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess
from tests.peers.hub import Hub
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config

pytest_plugins = ["tests.peers.postgres"]

KEY = "jilin/changchun/nongan/main"
AVAILABILITY = f"vc/{KEY}/availability"
SPACER = f"vc/{KEY}/replies"  # command traffic: dealt like anything in scope, ignored by every hub


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def state(engine: Engine) -> str | None:
    with Session(engine) as session:
        return session.scalar(select(Venue.state).where(Venue.key == KEY))


def transitions(engine: Engine) -> list[tuple[str, str, str, bool]]:
    """(previous, state, reason, carried a broker time) of each of the venue's transitions, in order."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                AvailabilityTransition.previous,
                AvailabilityTransition.state,
                AvailabilityTransition.reason,
                AvailabilityTransition.broker_at,
            )
            .where(AvailabilityTransition.venue_key == KEY)
            .order_by(AvailabilityTransition.id)
        ).all()
    return [(r.previous, r.state, r.reason, r.broker_at is not None) for r in rows]


def counted(engine: Engine, instance: str, name: str) -> int:
    """What hub process `instance` counted (its heartbeat, every 5 s, and at its stop)."""
    with Session(engine) as session:
        rows = session.scalars(select(HubProcessRow)).all()
    return sum(row.counters.get(name, 0) for row in rows if row.client_id.endswith(f"-{instance}"))


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_an_offline_that_waited_in_a_stopped_hubs_queue(
    protocol: str, broker: Mosquitto, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    config = write_hub_config(tmp_path / "hub", broker.url, database_url)
    a = HubProcess(config, tmp_path / "hub-a.log", "a")
    b = HubProcess(config, tmp_path / "hub-b.log", "b")
    agent = AgentProcess(
        write_config(tmp_path / "venue", broker.url, protocol=protocol, status_interval_s=1),
        tmp_path / "agent.log",
    )
    watcher = Hub(broker.port, subscription=AVAILABILITY)
    try:
        a.start().wait_connected()
        agent.start()
        wait_until(lambda: state(engine) == "online" or None, 30, "A records the venue online")
        assert a.stop() == 0  # its session, and its turn in the group, stay on the broker

        agent.kill9()  # the Will, into A's queue: A is the group's only member
        watcher.wait_for(lambda m: m.payload == b"offline", timeout=20)
        b.start().wait_connected()
        wait_until(lambda: state(engine) == "offline" or None, 30, "B reads the retained Will")
        watcher.client.publish(SPACER, b"{}", qos=1).wait_for_publish(5)  # dealt to A: the venue's next, to B
        agent.start()
        wait_until(
            lambda: state(engine) == "online" or None,
            30,
            "B records the venue back online while A is down (if this times out, mosquitto dealt the "
            "venue's online to A: see test_a_shared_group_is_dealt_in_turn_and_a_new_member_comes_last)",
        )
        assert transitions(engine)[-2:] == [
            ("online", "offline", "availability", protocol == "5"),  # B: the retained Will
            ("offline", "online", "availability", protocol == "5"),  # B: the venue's online, live
        ]

        a.start().wait_connected()  # session resumed: A drains the stale offline, received now
        if protocol == "5":
            wait_until(lambda: counted(engine, "a", "availability_stale") or None, 30, "A drops its stale offline")
            assert state(engine) == "online"
            assert transitions(engine)[-1] == ("offline", "online", "availability", True)
        else:
            wait_until(lambda: state(engine) == "offline" or None, 30, "A applies its stale offline by receipt")
            assert counted(engine, "a", "availability_stale") == 0
            assert transitions(engine)[-1] == ("online", "offline", "availability", False)

        assert agent.stop() == 0  # a clean stop: the agent's own retained offline
        if protocol == "5":
            wait_until(lambda: state(engine) == "offline" or None, 30, "the clean stop's offline")
            assert transitions(engine)[-1] == ("online", "offline", "availability", True)
    finally:
        agent.ensure_dead()
        watcher.close()
        for hub in (a, b):
            if hub.alive:
                assert hub.stop() == 0
            hub.ensure_dead()
    assert "Traceback" not in a.log() + b.log()
    assert "session resumed" in a.log()
