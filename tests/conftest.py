"""Shared fixtures: a real mosquitto on a free loopback port, a hub subscriber, the agent as a process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sim.broker import Mosquitto
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess
from tests.peers.hub import Hub


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh broker per test: fault tests kill and restart it."""
    workdir = tmp_path / "broker"
    workdir.mkdir()
    with Mosquitto(workdir=workdir) as server:
        yield server


@pytest.fixture
def hub(broker: Mosquitto) -> Iterator[Hub]:
    subscriber = Hub(broker.port)
    yield subscriber
    subscriber.close()


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    """Factory: write a simulated venue config for `broker_url` and start the agent on it."""
    started: list[AgentProcess] = []

    def start(broker_url: str, env: dict[str, str] | None = None, **config: object) -> AgentProcess:
        path = write_config(tmp_path / "venue", broker_url, **config)  # type: ignore[arg-type]
        process = AgentProcess(path, tmp_path / "agent.log", env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.ensure_dead()
