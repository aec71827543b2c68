"""The host monitor: free space for the outbox, load and the agent's own memory."""

from __future__ import annotations

import asyncio

from agent.config.models import Settings
from agent.monitors import Monitor, Reporter
from collectors.host import read_host
from probes.host import disk_unreadable, judge_disk


def build(settings: Settings) -> list[Monitor]:
    config = settings.host
    if not config.enabled:
        return []
    state_dir = settings.agent.state_dir

    async def run(reporter: Reporter) -> None:
        while True:
            try:
                reading = await asyncio.to_thread(read_host, state_dir)
            except OSError as exc:
                reporter.report(disk_unreadable(str(state_dir), exc.strerror or str(exc)))
            else:
                reporter.report(judge_disk(reading.disk, config.disk_warn_free_mb, config.disk_fail_free_mb))
                reporter.set_metric("host.disk_free_mb", round(reading.disk.free_mb, 1))
                reporter.set_metric("host.load_1m", round(reading.load_1m, 2))
                reporter.set_metric("host.agent_rss_mb", round(reading.agent_rss_mb, 1))
            await asyncio.sleep(config.interval_s)

    return [Monitor("host", run)]
