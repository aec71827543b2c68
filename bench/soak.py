"""Soak: the simulated venue with every monitor for `--minutes`, faults on a schedule, the agent's
resident memory, open file descriptors and threads sampled from /proc every `--sample-s`.

Run (as root: the state_dir is a tmpfs mounted for the run and unmounted at the end):

    .venv/bin/python -m bench.soak [--minutes 30] [--sample-s 30] [--cycle-s 300] [--json-out FILE]

The real `venue-agent run` process watches the demo's venue (SNMP codec and switch, SSH codec and
switch, the H.264 uplink over UDP, speech from a file, a conference whose self-tests run at the
start) and a hub subscriber sends it `cmd/selftest` once per cycle. Each cycle (default 5 min,
the first starting after one minute) brings, at fixed fractions of the cycle:

- 0.10 broker restart (mosquitto stopped, down for 0.05 of the cycle, started on the same port);
- 0.25 SNMP device silent (snmpsim stopped) for 0.20, then back;
- 0.50 SSH codec silent (its shell hangs mid-answer) for 0.20, then back;
- 0.75 video source lost (ffmpeg killed) for 0.15, then back;
- 0.90 state_dir disk full (its tmpfs filled to the last byte) for 0.08, then emptied.

At the end it prints the table of samples, the least-squares slope of each figure over the
samples after `--warmup-s` (default 5 min; target: flat), and the event verdict: the seqs the
hub received (de-duplicated by id) against the agent's own seq counter read from its outbox after
a clean stop — gap-free and no duplicates is the promise. Results: docs/benchmarks.md (Soak).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.proc_sample import Sample, sample, slope
from bench.soak_hub import SoakHub
from bench.soak_venue import SoakVenue
from contract.topics import VenueTopics

# (fraction of the cycle at which it starts, fraction it lasts, name, start, end)
FAULTS: list[tuple[float, float, str, str, str]] = [
    (0.10, 0.05, "broker restart", "broker_down", "broker_up"),
    (0.25, 0.20, "SNMP device silent", "snmp_silent", "snmp_back"),
    (0.50, 0.20, "SSH codec silent", "ssh_silent", "ssh_back"),
    (0.75, 0.15, "video source lost", "video_lost", "video_back"),
    (0.90, 0.08, "state_dir disk full", "disk_full", "disk_free"),
]
FIRST_CYCLE_AT_S = 60.0
SELFTEST_AT = 0.0  # cmd/selftest at the start of every cycle


@dataclass
class Step:
    at_s: float
    label: str
    action: Callable[[], object]


def plan(venue: SoakVenue, hub: SoakHub, minutes: float, cycle_s: float) -> list[Step]:
    """Every fault start and end, and every command, in time order; none ends after the run."""
    end_s = minutes * 60 - 30
    steps: list[Step] = []
    start = FIRST_CYCLE_AT_S
    while start < end_s:
        if start + SELFTEST_AT * cycle_s < end_s:
            steps.append(Step(start, "cmd/selftest sent", lambda: hub.send_command("selftest")))
        for at, lasts, name, begin, finish in FAULTS:
            t0, t1 = start + at * cycle_s, start + (at + lasts) * cycle_s
            if t1 < end_s:
                steps.append(Step(t0, f"{name}: begins", getattr(venue, begin)))
                steps.append(Step(t1, f"{name}: ends", getattr(venue, finish)))
        start += cycle_s
    return sorted(steps, key=lambda step: step.at_s)


def agent_event_seq(state_dir: Path) -> tuple[int, int]:
    """(highest event seq the agent ever gave, events still queued) from its outbox file."""
    db = sqlite3.connect(f"file:{state_dir / 'outbox.sqlite3'}?mode=ro", uri=True)
    try:
        counted = db.execute("SELECT value FROM counters WHERE name = 'seq:event'").fetchone()
        queued = db.execute("SELECT MAX(seq), COUNT(*) FROM outbox WHERE kind = 'event'").fetchone()
    finally:
        db.close()
    return max(counted[0] if counted else 0, queued[0] or 0), queued[1]


def report(samples: list[Sample], warmup_s: float) -> dict[str, dict[str, float | None]]:
    """Per figure: first, last, min, max, and the slope per hour after the warm-up."""
    after = [s for s in samples if s.t_s >= warmup_s]
    figures = {}
    for name in ("rss_mb", "fds", "threads"):
        values = [getattr(s, name) for s in samples]
        per_s = slope([(s.t_s, getattr(s, name)) for s in after])
        figures[name] = {
            "first": values[0] if values else None,
            "last": values[-1] if values else None,
            "min_after_warmup": min((getattr(s, name) for s in after), default=None),
            "max_after_warmup": max((getattr(s, name) for s in after), default=None),
            "slope_per_hour": None if per_s is None else per_s * 3600,
        }
    return figures


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="venue-agent-soak-"))
    venue = SoakVenue(workdir)
    hub: SoakHub | None = None
    agent: subprocess.Popen[bytes] | None = None
    samples: list[Sample] = []
    happened: list[tuple[float, str]] = []
    log_path = workdir / "agent.log"
    started = time.monotonic()

    def note(text: str) -> None:
        elapsed = time.monotonic() - started
        happened.append((round(elapsed, 1), text))
        print(f"[{elapsed:7.1f} s] {text}", flush=True)

    try:
        config = venue.start()
        assert venue.broker is not None
        topics = VenueTopics.for_venue("vc", _VenuePlace())
        hub = SoakHub(venue.broker.port, topics)
        time.sleep(1)  # the hub's persistent session exists before the agent's first event
        with log_path.open("wb") as log_file:
            agent = subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "-c", str(config)], stdout=log_file, stderr=log_file
            )
        started = time.monotonic()
        note(f"agent pid {agent.pid} started; workdir {workdir}; log {log_path}")
        steps = plan(venue, hub, args.minutes, args.cycle_s)
        next_sample = 0.0
        duration = args.minutes * 60
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= duration:
                break
            if agent.poll() is not None:
                note(f"the agent exited with {agent.returncode}")
                break
            while steps and steps[0].at_s <= elapsed:
                step = steps.pop(0)
                try:
                    outcome = step.action()
                except Exception as exc:  # a fault that could not be applied is reported, the soak goes on
                    note(f"{step.label} — FAILED to apply: {exc!r}")
                else:
                    note(step.label + (f" ({outcome} bytes)" if isinstance(outcome, int) else ""))
            if elapsed >= next_sample:
                taken = sample(agent.pid, round(elapsed, 1))
                samples.append(taken)
                print(
                    f"[{elapsed:7.1f} s] sample rss={taken.rss_mb:.1f} MB fds={taken.fds} threads={taken.threads}",
                    flush=True,
                )
                next_sample += args.sample_s
            time.sleep(0.2)
        alive_at_end = agent.poll() is None
        if alive_at_end:
            note("stopping the agent (SIGTERM)")
            agent.send_signal(signal.SIGTERM)
        exit_code = agent.wait(timeout=60)
        time.sleep(3)  # the last messages reach the hub
        agent_seq, still_queued = agent_event_seq(venue.state_dir)
        verdict = hub.event_verdict(agent_seq)
        replies = {token: hub.replies.get(token) for token in hub.sent_commands}
        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {platform.machine()}, {_cpus()} CPUs (shared with other work)",
            "minutes": args.minutes,
            "sample_s": args.sample_s,
            "cycle_s": args.cycle_s,
            "warmup_s": args.warmup_s,
            "agent_alive_at_end": alive_at_end,
            "agent_exit_code": exit_code,
            "samples": [asdict(s) for s in samples],
            "figures": report(samples, args.warmup_s),
            "events": verdict | {"still_queued_in_outbox": still_queued},
            "event_codes": dict(hub.codes.most_common()),
            "commands": {
                "sent": len(replies),
                "answered": sum(1 for r in replies.values() if r is not None),
                "ok": sum(1 for r in replies.values() if r and r.get("ok")),
                "errors": sorted({r["error"]["code"] for r in replies.values() if r and r.get("error")}),
            },
            "availability_changes": hub.availability,
            "last_status_tasks": (hub.last_status or {}).get("tasks"),
            "last_status_outbox": (hub.last_status or {}).get("outbox"),
            "log_errors": _log_lines(log_path, ("ERROR", "Traceback")),
            "faults": happened,
        }
        _print_result(result)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        clean = alive_at_end and exit_code == 0 and not verdict["missing"] and not verdict["same_seq_different_id"]
        return 0 if clean else 1
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait()
        if hub is not None:
            hub.close()
        venue.close()


class _VenuePlace:
    """The simulated venue's place in the tree (sim/venue.py's defaults)."""

    province, prefecture, county, id = "jilin", "changchun", "nongan", "main"


def _cpus() -> int:
    return os.cpu_count() or 0


def _log_lines(path: Path, markers: tuple[str, ...]) -> dict[str, object]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    hits = [line for line in lines if any(marker in line for marker in markers)]
    return {"count": len(hits), "first": hits[:8]}


def _print_result(result: dict) -> None:
    print("\n  t (s)   RSS (MB)   fds   threads")
    for s in result["samples"]:
        print(f"{s['t_s']:7.0f}   {s['rss_mb']:8.1f}   {s['fds']:3d}   {s['threads']:7d}")
    print(f"\nslope after the first {result['warmup_s']:.0f} s (least squares), per hour:")
    for name, figure in result["figures"].items():
        rate = figure["slope_per_hour"]
        shown = "n/a (too few samples)" if rate is None else f"{rate:+.3f}"
        print(
            f"  {name:8s} {shown}   (first {figure['first']}, last {figure['last']}, after warm-up "
            f"{figure['min_after_warmup']}…{figure['max_after_warmup']})"
        )
    events = result["events"]
    print(
        f"\nevents: agent seq {events['agent_seq']}, hub received {events['received_distinct']} distinct, "
        f"{events['duplicates_dropped_by_id']} duplicates dropped by id, missing {events['missing'] or 'none'}, "
        f"same seq with two ids {events['same_seq_different_id']}, in order {events['in_order']}, "
        f"still queued {events['still_queued_in_outbox']}"
    )
    print(f"commands: {result['commands']}")
    print(f"agent alive at the end: {result['agent_alive_at_end']}, exit code {result['agent_exit_code']}")
    print(f"log lines with ERROR/Traceback: {result['log_errors']['count']}")
    for line in result["log_errors"]["first"]:
        print(f"  {line[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the soak (default 30)")
    parser.add_argument("--sample-s", type=float, default=30.0, help="seconds between samples (default 30)")
    parser.add_argument("--cycle-s", type=float, default=300.0, help="period of the fault schedule (default 300)")
    parser.add_argument("--warmup-s", type=float, default=300.0, help="samples before this are left out of the slope")
    parser.add_argument("--json-out", default=None, help="also write the full result as JSON here")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
