"""Scale-out topology (docs/hub.md): a prefecture runs its own broker, bridged up to the province's.

Two real mosquittos: the prefecture broker (where the county's venue agent connects) bridges
`vc/jilin/changchun/#` both ways to the province broker (where the provincial hub connects). The
county's traffic reaches the provincial hub's database, and the provincial roll call reaches the
county venue and its answer comes back — through the bridge, over MQTT 5 so that the command's
Response Topic and Correlation Data survive the hop.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.engine import open_database
from hub.db.models import EventRecord, Venue
from sim.broker import Mosquitto
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess
from tests.peers.hub import Hub
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config

pytest_plugins = ["tests.peers.postgres"]

VENUE = "jilin/changchun/nongan/main"


def bridge_config(province_port: int) -> str:
    """The prefecture broker's side of the bridge (what an office adds to its mosquitto.conf)."""
    return (
        "connection changchun-to-province\n"
        f"address 127.0.0.1:{province_port}\n"
        "bridge_protocol_version mqttv50\n"  # keeps Response Topic / Correlation Data of commands and replies
        "topic vc/jilin/changchun/# both 1\n"  # up: the prefecture's venues; down: commands to them
        "cleansession false\n"  # the province keeps the bridge's queue while the link is down
        "try_private true\n"  # the province broker knows the bridge: no message loops back
        "notifications false\n"
        "restart_timeout 1\n"
    )


@dataclass
class Topology:
    province: Mosquitto
    prefecture: Mosquitto
    agent: AgentProcess
    province_watch: Hub


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    workdir = tmp_path_factory.mktemp("bridge")
    (workdir / "province").mkdir()
    (workdir / "prefecture").mkdir()
    province = Mosquitto(workdir=workdir / "province").start()
    prefecture = Mosquitto(workdir=workdir / "prefecture", extra_config=bridge_config(province.port))
    watch = Hub(province.port, subscription="vc/#")
    prefecture.start()
    config = write_config(workdir / "agent", prefecture.url, status_interval_s=1, flap_interval_s=0.5)
    agent = AgentProcess(config, workdir / "agent.log").start()
    try:
        watch.wait_for(lambda m: m.topic == f"vc/{VENUE}/availability" and m.payload == b"online", timeout=30)
        yield Topology(province, prefecture, agent, watch)
    finally:
        agent.ensure_dead()
        watch.close()
        prefecture.close()
        province.close()


def test_a_bridge_carries_a_county_up_to_the_province_hub_and_its_roll_call_down(
    topology: Topology, database_url: str, tmp_path: Path
) -> None:
    config = write_hub_config(tmp_path, topology.province.url, database_url, group=f"g{tmp_path.name[-8:]}")
    hub = HubProcess(config, tmp_path / "hub.log").start()
    hub.wait_connected()
    engine = open_database(database_url)
    try:

        def venue_online() -> bool:
            with Session(engine) as session:
                return session.scalar(select(Venue.state).where(Venue.key == VENUE)) == "online"

        wait_until(venue_online, 20, "the county venue online at the province")

        def events_stored() -> bool:
            with Session(engine) as session:
                return len(session.scalars(select(EventRecord.id).where(EventRecord.venue_key == VENUE)).all()) >= 3

        wait_until(events_stored, 20, "the county's events stored at the province")
        called = subprocess.run(
            [sys.executable, "-m", "hub", "rollcall", "-c", str(config), "--deadline", "15", "--json"],
            capture_output=True,
            text=True,
            timeout=90,
        )
        report = json.loads(called.stdout)
        (row,) = report["venues"]
        assert row["venue"] == VENUE and row["answered"] is True, (called.stderr, report)
        assert row["verdict"] in ("pass", "warn", "fail", "unknown")
    finally:
        assert hub.stop() == 0
