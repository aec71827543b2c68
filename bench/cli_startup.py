"""What a monitoring system pays for running `venue-agent` as a check every minute (issue 15 item 6).

Each command is run `--runs` times as a fresh process; the wall time and the peak resident memory
(GNU `time`'s %M) are taken per run and their medians printed, beside net-snmp's `snmpget`
asking the same simulated device (snmpsim on loopback) for sysDescr — the anchor a Nagios check of
a switch would otherwise be.

    .venv/bin/python -m bench.cli_startup --runs 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.snmp import SnmpSimulator

VENUE_AGENT = str(Path(sys.executable).parent / "venue-agent")
GNU_TIME = "/usr/bin/time"  # Debian package `time`


def measure(command: list[str]) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, exit status) of one run of `command`; the memory as GNU time reports it.

    Measured by `/usr/bin/time` rather than this process's own wait4: Linux charges a child the
    resident size of the process it was forked (or vforked) from until it execs, so every figure
    would start at this benchmark's own ~60 MiB; `time` is small, and its child is charged only its own."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()  # GNU time's own %e has a resolution of 10 ms
        done = subprocess.run(
            [GNU_TIME, "-f", "%e %M", "-o", report.name, *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        seconds = time.perf_counter() - started
        fields = report.read().split()
    return seconds, int(fields[-1]) / 1024, done.returncode


def run(label: str, command: list[str], runs: int) -> tuple[str, float, float, int]:
    samples = [measure(command) for _ in range(runs)]
    seconds = statistics.median(s for s, _, _ in samples)
    rss = statistics.median(m for _, m, _ in samples)
    return label, seconds, rss, samples[-1][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--venue-agent",
        default=VENUE_AGENT,
        help="The program measured (default: this venv's). A runtime-only install (the bundle's) lacks the "
        "test extras — pysmi among them, whose presence makes pysnmp build a MIB compiler on first use.",
    )
    args = parser.parse_args()
    program = args.venue_agent
    print(f"{program}; load average {os.getloadavg()[0]:.1f}; {args.runs} runs each, medians")
    with SnmpSimulator() as device:
        target = f"127.0.0.1:{device.port}"
        community = device.any_community()
        rows = [
            run("venue-agent --version", [program, "--version"], args.runs),
            run("venue-agent --help", [program, "--help"], args.runs),
            run(
                "venue-agent probe snmp (one device)",
                [program, "probe", "snmp", target, "--community", community, "--json"],
                args.runs,
            ),
        ]
        if snmpget := shutil.which("snmpget"):
            anchor = [snmpget, "-v2c", "-c", community, "-t", "2", "-r", "1", target, "1.3.6.1.2.1.1.1.0"]
            rows.append(run("anchor: snmpget sysDescr.0", anchor, args.runs))
    anchor_s = rows[-1][1] if rows[-1][0].startswith("anchor") else None
    print(f"{'command':40} {'median s':>9} {'RSS MiB':>8} {'exit':>5} {'× snmpget':>10}")
    for label, seconds, rss, code in rows:
        ratio = f"{seconds / anchor_s:.1f}" if anchor_s else "—"
        print(f"{label:40} {seconds:9.3f} {rss:8.1f} {code:5d} {ratio:>10}")


if __name__ == "__main__":
    main()
