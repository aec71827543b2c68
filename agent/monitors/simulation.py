"""The simulated venue's heartbeat: a check that alternates ok/warn so the demo and tests see events.

Enabled only by a `[simulation]` table, which real venue configs do not have.
"""

from __future__ import annotations

import asyncio
import itertools

from agent.config.models import Settings
from agent.monitors import Monitor, Reporter
from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict

SIM_MESSAGES = Catalog(
    {
        "sim.flap.ok": ("模拟检查第 {n} 次：正常", "simulated check, round {n}: ok"),
        "sim.flap.warn": ("模拟检查第 {n} 次：告警（仅用于演示）", "simulated check, round {n}: warning (demo only)"),
    }
)


def build(settings: Settings) -> list[Monitor]:
    simulation = settings.simulation
    if simulation is None:
        return []

    async def run(reporter: Reporter) -> None:
        for n in itertools.count(1):
            verdict = Verdict.WARN if n % 2 == 0 else Verdict.OK
            code = f"sim.flap.{verdict.value}"
            reporter.report(
                Finding(
                    check="sim.flap",
                    verdict=verdict,
                    code=code,
                    article=Article.ART13,
                    message=SIM_MESSAGES.render(code, n=n),
                    value=n,
                )
            )
            reporter.set_metric("sim.rounds", n)
            await asyncio.sleep(simulation.flap_interval_s)

    return [Monitor("simulation", run)]
