"""SNMP polling cost: the agent's poll against net-snmp's tools, and 200 devices in one interval.

Run: .venv/bin/python -m bench.snmp_poll [--devices 200]
The device is Debian's snmpd on loopback (C, fast, so the simulator is not what is measured).
1. One device, same OID set (system group, ifTable + ifXTable, HOST-RESOURCES storage and
   processors): the agent's `poll_device` (generic profile) against `snmpget` + `snmpbulkwalk`
   (one process per table, as a shell script would), wall time and CPU per poll, best of N.
2. N devices polled concurrently by one engine on one core (all are the same snmpd; each poll is
   independent): wall time for the whole round and agent CPU per device.
Targets (issue #3): 200 devices ≤ 5 s on one core; agent CPU per poll ≤ 3× net-snmp's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from collectors.snmp.poll import poll_device
from collectors.snmp.session import SnmpSession, SnmpTarget, close_engine
from sim.ports import free_port

TABLES = ["1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1", "1.3.6.1.2.1.25.2.3.1", "1.3.6.1.2.1.25.3.3.1"]


def start_snmpd(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    port = free_port(socket.SOCK_DGRAM)
    (workdir / "persist").mkdir()
    config = workdir / "snmpd.conf"
    config.write_text(f"agentAddress udp:127.0.0.1:{port}\nrocommunity public 127.0.0.1\n")
    process = subprocess.Popen(
        [
            shutil.which("snmpd") or "/usr/sbin/snmpd",
            "-f",
            "-C",
            "-c",
            str(config),
            "-Ln",
            "-r",
            "-p",
            str(workdir / "pid"),
        ],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    return process, port


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def net_snmp_poll(port: int) -> None:
    target = f"127.0.0.1:{port}"
    base = ["-v2c", "-c", "public", "-On", "-Cr50", target]
    subprocess.run(
        [
            "snmpget",
            "-v2c",
            "-c",
            "public",
            "-On",
            target,
            "1.3.6.1.2.1.1.1.0",
            "1.3.6.1.2.1.1.2.0",
            "1.3.6.1.2.1.1.3.0",
            "1.3.6.1.2.1.1.5.0",
        ],
        check=True,
        capture_output=True,
    )
    for table in TABLES:
        subprocess.run(["snmpbulkwalk", *base, table], check=True, capture_output=True)


async def agent_polls(engine: SnmpEngine, port: int, devices: int, concurrency: int = 32) -> list:
    """Poll `devices` sessions, at most `concurrency` at once (the daemon's default bound)."""
    slots = asyncio.Semaphore(concurrency)
    sessions = [
        SnmpSession(engine, SnmpTarget("127.0.0.1", port, community="public", timeout_s=5, retries=1))
        for _ in range(devices)
    ]

    async def one(session: SnmpSession):
        async with slots:
            return await poll_device(session, "generic")

    return await asyncio.gather(*(one(session) for session in sessions))


async def measure(port: int, rounds: int, devices: int) -> None:
    engine = SnmpEngine()  # created once, as in the daemon (it loads pysnmp's base MIBs: ~0.3 s)
    try:
        [probe] = await agent_polls(engine, port, 1)
        assert probe.reachable and probe.interfaces, probe.error
        print(
            f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}; "
            f"device: net-snmp snmpd, {len(probe.interfaces)} interfaces, {probe.requests} agent requests/poll"
        )
        ours_wall, ours_cpu, theirs_wall, theirs_cpu = [], [], [], []
        for _ in range(rounds):
            wall, cpu = time.perf_counter(), cpu_self()
            await agent_polls(engine, port, 1)
            ours_wall.append(time.perf_counter() - wall)
            ours_cpu.append(cpu_self() - cpu)
            wall, cpu = time.perf_counter(), cpu_children()
            net_snmp_poll(port)
            theirs_wall.append(time.perf_counter() - wall)
            theirs_cpu.append(cpu_children() - cpu)
        print(f"one device, best of {rounds}:")
        print(f"  agent poll_device:        wall {min(ours_wall) * 1e3:7.1f} ms, CPU {min(ours_cpu) * 1e3:7.1f} ms")
        print(
            f"  net-snmp get+bulkwalk×4:  wall {min(theirs_wall) * 1e3:7.1f} ms, "
            f"CPU {min(theirs_cpu) * 1e3:7.1f} ms (5 processes)"
        )
        print(f"  ratio agent/net-snmp CPU: {min(ours_cpu) / min(theirs_cpu):.2f}×  (target ≤ 3×)")
        wall, cpu = time.perf_counter(), cpu_self()
        readings = await agent_polls(engine, port, devices)
        wall, cpu = time.perf_counter() - wall, cpu_self() - cpu
        ok = sum(1 for r in readings if r.reachable and r.error is None)
        print(
            f"{devices} devices, 32 at a time, one core: {wall:.2f} s wall (target ≤ 5 s), "
            f"{cpu / devices * 1e3:.1f} ms agent CPU per device, {ok}/{devices} complete"
        )
    finally:
        await close_engine(engine)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # the agent on one core; snmpd and the tools run where they may
    with tempfile.TemporaryDirectory() as workdir:
        snmpd, port = start_snmpd(Path(workdir))
        try:
            asyncio.run(measure(port, args.rounds, args.devices))
        finally:
            snmpd.terminate()
            snmpd.wait()


if __name__ == "__main__":
    main()
