"""SSH polling at scale: 50 simulated devices (25 Cisco codecs, 25 Huawei switches) read concurrently.

Run: .venv/bin/python -m bench.ssh_poll [--codecs 25 --switches 25 --workers 16]
The devices run in a separate process (sim.ssh_fleet), so only the agent side is measured here.
For each of two rounds — the first logs in, the second reuses the open sessions — it prints wall
time, peak threads and the resident memory the agent side added. The anchor is the same work with
a lean asyncio SSH client (asyncssh: one shell per device, each command read up to the device's
prompt or the xAPI trailer, no parsing), run side by side on the same fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncssh

from collectors.ssh.poll import SshPool
from collectors.ssh.profile import profile_for
from collectors.ssh.session import SshSession, SshTarget

PASSWORD = "venue-test"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakThreads:
    def __init__(self):
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, threading.active_count())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


async def agent_rounds(devices: list[dict], known_hosts: Path, workers: int) -> list[dict]:
    pool = SshPool(workers)
    sessions = [
        SshSession(SshTarget(f"d{n}", "127.0.0.1", d["port"], d["kind"], "admin", PASSWORD, known_hosts=known_hosts))
        for n, d in enumerate(devices)
    ]
    rounds = []
    base = rss_mb()
    for label in ("first poll (login)", "second poll (sessions open)"):
        with PeakThreads() as threads:
            started = time.perf_counter()
            readings = await asyncio.gather(*(pool.poll(s) for s in sessions))
            wall = time.perf_counter() - started
        ok = sum(1 for r in readings if r.reachable and not r.rejected)
        rounds.append({"round": label, "wall_s": wall, "ok": ok, "threads": threads.peak, "rss_mb": rss_mb() - base})
    await asyncio.gather(*(asyncio.to_thread(s.close) for s in sessions))
    pool.close()
    return rounds


async def anchor_rounds(devices: list[dict], known_hosts: Path) -> list[dict]:
    """asyncssh, one interactive shell per device, each command read to its end marker."""

    async def open_shell(device):
        connection = await asyncssh.connect(
            "127.0.0.1", device["port"], username="admin", password=PASSWORD, known_hosts=str(known_hosts)
        )
        writer, reader, _ = await connection.open_session(term_type="vt100")
        end = re.compile(r"(?m)^(OK|ERROR|Command not recognized\.)\r?$") if device["kind"] == "cisco_tp" else None
        if device["kind"] == "cisco_tp":
            await _read_until(reader, end)
        else:
            await _read_until(reader, re.compile(r"<[^>]+>"))
            writer.write("screen-length 0 temporary\n")
            await _read_until(reader, re.compile(r"<[^>]+>"))
        return connection, writer, reader, end or re.compile(r"<[^>]+>")

    async def poll(shell, kind):
        _connection, writer, reader, end = shell
        for command in profile_for(kind).all_commands():
            writer.write(command + ("\r\n" if kind == "cisco_tp" else "\n"))
            await _read_until(reader, end)

    rounds = []
    base = rss_mb()
    started = time.perf_counter()
    shells = await asyncio.gather(*(open_shell(d) for d in devices))
    await asyncio.gather(*(poll(s, d["kind"]) for s, d in zip(shells, devices, strict=True)))
    rounds.append({"round": "first poll (login)", "wall_s": time.perf_counter() - started, "rss_mb": rss_mb() - base})
    started = time.perf_counter()
    await asyncio.gather(*(poll(s, d["kind"]) for s, d in zip(shells, devices, strict=True)))
    rounds.append({"round": "second poll (sessions open)", "wall_s": time.perf_counter() - started})
    for connection, *_ in shells:
        connection.close()
    return rounds


async def _read_until(reader, pattern: re.Pattern) -> str:
    data = ""
    while not pattern.search(data):
        chunk = await asyncio.wait_for(reader.read(65536), timeout=30)
        if not chunk:
            break
        data += chunk
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", type=int, default=25)
    parser.add_argument("--switches", type=int, default=25)
    parser.add_argument("--workers", type=int, nargs="+", default=[50, 16])
    args = parser.parse_args()
    fleet = subprocess.Popen(
        [sys.executable, "-m", "sim.ssh_fleet", "--codecs", str(args.codecs), "--switches", str(args.switches)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    devices = [json.loads(fleet.stdout.readline()) for _ in range(args.codecs + args.switches)]
    with tempfile.TemporaryDirectory() as tmp:
        known_hosts = Path(tmp) / "known_hosts"
        known_hosts.write_text("".join(d["known_hosts"] for d in devices))
        print(f"{platform.node()} {platform.processor() or platform.machine()}, {len(devices)} devices")
        anchor = asyncio.run(anchor_rounds(devices, known_hosts))
        for workers in args.workers:
            ours = asyncio.run(agent_rounds(devices, known_hosts, workers))
            for mine, theirs in zip(ours, anchor, strict=True):
                print(
                    f"workers={workers:<3} {mine['round']:<28} agent {mine['wall_s']:6.2f} s "
                    f"({mine['ok']}/{len(devices)} ok, peak {mine['threads']} threads, +{mine['rss_mb']:.0f} MB) | "
                    f"asyncssh anchor {theirs['wall_s']:6.2f} s → {mine['wall_s'] / theirs['wall_s']:.1f}×"
                )
    fleet.stdin.close()
    fleet.wait(timeout=60)


if __name__ == "__main__":
    main()
