"""A dead bridge (docs/hub.md, "Bridges"): the prefecture broker's link up to the province broker stops
carrying anything while both brokers, the county venue and the prefecture's own hub go on. The silence
rule is the only thing that can notice it at the province — no Will is published for venues whose
broker is still up — so the province hub records the prefecture's venue `silent` while the
prefecture's hub keeps it `online`; when the link carries again, the province records it `online`.

Two real mosquittos, the bridge going through a cuttable TCP proxy (`sim.netcut`, "blackhole": the
sockets stay open and forward nothing, as a cut fibre), a real venue agent on the prefecture broker and
two real hub processes. The province's database runs on SQLite and on a real PostgreSQL; the
prefecture's hub keeps its own SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from hub.db.engine import open_database
from hub.db.models import AvailabilityTransition, Venue
from sim.broker import Mosquitto
from sim.netcut import CuttableProxy
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config
from tests.test_hub_bridge import VENUE, bridge_config

pytest_plugins = ["tests.peers.postgres"]


def state(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(Venue.state).where(Venue.key == VENUE)).scalar_one_or_none()


def transitions(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AvailabilityTransition.previous, AvailabilityTransition.state, AvailabilityTransition.reason)
            .where(AvailabilityTransition.venue_key == VENUE)
            .order_by(AvailabilityTransition.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
def link(tmp_path: Path) -> Iterator[tuple[Mosquitto, Mosquitto, CuttableProxy]]:
    (tmp_path / "province").mkdir()
    (tmp_path / "prefecture").mkdir()
    province = Mosquitto(workdir=tmp_path / "province").start()
    proxy = CuttableProxy(province.port)
    # the bridge notices a dead link within a few seconds (mosquitto's default keepalive is 60 s)
    prefecture = Mosquitto(
        workdir=tmp_path / "prefecture", extra_config=bridge_config(proxy.port) + "keepalive_interval 2\n"
    ).start()
    try:
        yield province, prefecture, proxy
    finally:
        prefecture.close()
        proxy.close()
        province.close()


def test_a_dead_bridge_turns_the_prefecture_silent_at_the_province_and_back(
    link: tuple[Mosquitto, Mosquitto, CuttableProxy], database_url: str, tmp_path: Path
) -> None:
    province, prefecture, proxy = link
    agent_config = write_config(tmp_path / "agent", prefecture.url, status_interval_s=1, flap_interval_s=0.5)
    agent = AgentProcess(agent_config, tmp_path / "agent.log").start()
    # both hubs assume the agent's 1 s status interval: silent after 2.5 s unheard
    province_hub = HubProcess(
        write_hub_config(tmp_path / "province-hub", province.url, database_url, default_status_interval_s=1),
        tmp_path / "province-hub.log",
    ).start()
    prefecture_url = f"sqlite:///{tmp_path / 'prefecture-hub.sqlite3'}"
    prefecture_hub = HubProcess(
        write_hub_config(
            tmp_path / "prefecture-hub",
            prefecture.url,
            prefecture_url,
            scope="vc/jilin/changchun/#",
            default_status_interval_s=1,
        ),
        tmp_path / "prefecture-hub.log",
    ).start()
    at_province, at_prefecture = open_database(database_url), open_database(prefecture_url)
    try:
        province_hub.wait_connected()
        prefecture_hub.wait_connected()
        wait_until(lambda: state(at_province) == "online", 90, "the county venue online at the province")
        wait_until(lambda: state(at_prefecture) == "online", 60, "the county venue online at the prefecture")

        proxy.sever("blackhole")
        wait_until(lambda: state(at_province) == "silent", 30, "the venue silent at the province")
        assert state(at_prefecture) == "online"  # heard all along on its own broker
        assert agent.process.poll() is None  # type: ignore[union-attr]

        proxy.restore()
        wait_until(lambda: state(at_province) == "online", 60, "the venue online at the province again")
        assert state(at_prefecture) == "online"
        assert ("online", "silent", "silence") in transitions(at_province)
        assert transitions(at_province)[-1][1] == "online"
        assert not any(new in ("silent", "offline") for _previous, new, _reason in transitions(at_prefecture))
    finally:
        agent.ensure_dead()
        assert province_hub.stop() == 0
        assert prefecture_hub.stop() == 0
        at_province.dispose()
        at_prefecture.dispose()
