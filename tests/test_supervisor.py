"""The supervisor: a failing loop is restarted with growing backoff while the others keep running."""

from __future__ import annotations

import asyncio

from agent.supervisor import Backoff, Supervisor
from contract.payloads import TaskState


def test_failing_task_restarts_with_backoff_and_others_keep_running():
    async def scenario() -> tuple[list[tuple[str, str, float | None]], int, int]:
        transitions: list[tuple[str, str, float | None]] = []

        def on_state(name: str, state: TaskState, error: BaseException | None) -> None:
            transitions.append((name, state.state, state.retry_in_s))

        supervisor = Supervisor(on_state, Backoff(initial_s=0.01, ceiling_s=0.04, healthy_after_s=10))
        attempts = 0
        ticks = 0

        async def flaky() -> None:
            nonlocal attempts
            attempts += 1
            if attempts <= 4:
                raise RuntimeError(f"device said no ({attempts})")
            await asyncio.sleep(3600)

        async def steady() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        supervisor.start("flaky", flaky)
        supervisor.start("steady", steady)
        await asyncio.sleep(0.4)
        await supervisor.stop()
        return transitions, attempts, ticks

    transitions, attempts, ticks = asyncio.run(scenario())
    assert attempts == 5
    delays = [delay for name, state, delay in transitions if name == "flaky" and state == "backoff"]
    assert delays == [0.01, 0.02, 0.04, 0.04]  # doubling up to the ceiling
    assert [state for name, state, _ in transitions if name == "flaky"][-1] == "running"
    assert ticks > 20  # the steady loop never stopped while the other one crashed
    assert [state for name, state, _ in transitions if name == "steady"] == ["running"]


def test_stop_cancels_and_waits():
    async def scenario() -> bool:
        cancelled = asyncio.Event()

        async def forever() -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                cancelled.set()

        supervisor = Supervisor(lambda *a: None, Backoff())
        supervisor.start("forever", forever)
        await asyncio.sleep(0.01)
        await supervisor.stop(["forever"])
        return cancelled.is_set() and supervisor.names() == []

    assert asyncio.run(scenario())
