"""Fault to hub: how long from a fault in the venue to its event on the broker (issue #15 item 5).

Run: .venv/bin/python -m bench.fault_latency [--runs 10] [--only FAULT] [--seed 15]

One simulated venue, everything on loopback: a private mosquitto, the real agent
(`python -m agent run -c CONFIG`, as the tests start it) watching two snmpsim devices (a codec, and
a switch whose port Gi1/0/1 is the venue's uplink) with the trap receiver on, a live 720p25 H.264
picture over UDP and a live microphone (bench/fault_venue.py says how each is made and injected).
One fault at a time is injected, its event awaited at a paho subscriber on the same machine, then
cleared; the venue must be healthy again, and stay so for a judgement window, before the next run.
Each run starts after a random pause, so faults land at every phase of the poll and judgement
cycles and the percentiles cover the whole cycle, not one lucky phase.

Two figures per event: at the hub (subscriber arrival − injection, both on this process's
monotonic clock) and the agent's part (the event's `ts` − injection, on the wall clock both share):
the difference is the outbox, MQTT and the broker.

Agent settings are the defaults except: SNMP `interval_s = 5` (default 30, so a run takes seconds,
not a minute; every SNMP bound below is stated in terms of the interval, and scales with it), the
trap receiver enabled on a free port (it is off by default), `status_interval_s = 5` (sim/venue.py;
the status is only used to see that the venue is healthy between runs). Video (`rate_hz = 1`,
`window_s = 10`) and audio (`window_s = 10`, `interval_s = 5`) are as shipped.

Targets (issue #15): AV faults ≤ 2 s, a trap ≤ 1 s, a silent device ≤ its poll interval + its
timeout. Vendor anchors, quoted because they cannot be run here: Teams Rooms Pro's signals take
5 minutes to 2 hours; Cisco TMS tests a room only 15 minutes before a booking.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from bench.fault_venue import (
    BLOCK_FRAMES,
    READ_FRAMES,
    Instant,
    MicFeed,
    PictureFeed,
    SnmpDevice,
    Watch,
    preflight,
    send_datagram,
    trap_datagram,
)
from sim.broker import Mosquitto
from sim.ports import free_port
from sim.speech import have_espeak, room, with_hum
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess

BASE = "vc/jilin/changchun/nongan/main"
SNMP_INTERVAL_S = 5.0
SNMP_TIMEOUT_S = 2.0  # the default
SNMP_RETRIES = 1  # the default
SILENT_BOUND_S = SNMP_INTERVAL_S + SNMP_TIMEOUT_S * (1 + SNMP_RETRIES)  # when the agent has given up
AV_TARGET_S = 2.0
TRAP_TARGET_S = 1.0
AUDIO_WINDOW_S = 10.0  # [audio] window_s default: the window a fault must leave before the next run
VIDEO_WINDOW_S = 10.0  # [video.thresholds] window_s default
UPLINK = ("10101", "Gi1/0/1")
IF_OPER_STATUS = f"1.3.6.1.2.1.2.2.1.8.{UPLINK[0]}"
LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
ANCHORS = (
    "Microsoft Teams Rooms Pro: its signals take 5 minutes to 2 hours to reach the portal",
    "Cisco TMS: tests a room only 15 minutes before a booking",
)


# -- what is measured ------------------------------------------------------------------------------
@dataclass
class Measure:
    """One row of the table: an event the fault must raise, and the target it is held to."""

    label: str
    matches: Callable[[dict], bool]
    target_s: float
    target_text: str
    hub_s: list[float] = field(default_factory=list)
    agent_s: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    missing: int = 0


@dataclass
class Fault:
    """A fault and its undoing, the events it must raise and what a healthy venue's status shows."""

    name: str
    inject: Callable[[], Instant]
    clear: Callable[[], None]
    measures: list[Measure]
    healthy: Callable[[dict], bool]
    settle_s: float  # after the status is healthy again: let the judged window forget the fault
    loads: list[float] = field(default_factory=list)
    runs: int = 0
    note: str = ""


def verdict_of(status: dict, key: str) -> str | None:
    return (status.get("checks", {}).get(key) or {}).get("verdict")


def all_ok(*keys: str) -> Callable[[dict], bool]:
    return lambda status: all(verdict_of(status, key) == "ok" for key in keys)


def event(check: str, subject: str | None = None, code: str | None = None) -> Callable[[dict], bool]:
    """An event saying `check` (of `subject`) went bad — warn or fail — optionally with this code."""

    def matches(payload: dict) -> bool:
        return (
            payload.get("check") == check
            and payload.get("verdict") in ("warn", "fail")
            and (subject is None or (payload.get("data") or {}).get("subject") == subject)
            and (code is None or payload.get("code") == code)
        )

    return matches


def any_event(*checks: str) -> Callable[[dict], bool]:
    return lambda payload: payload.get("check") in checks and payload.get("verdict") in ("warn", "fail")


# -- the venue -------------------------------------------------------------------------------------
class Venue:
    """Every peer of the simulated venue and the agent, started in order and stopped in reverse."""

    def __init__(self, workdir: Path, stack: contextlib.ExitStack):
        self.workdir = workdir
        (workdir / "broker").mkdir(parents=True)
        self.broker = stack.enter_context(Mosquitto(workdir=workdir / "broker"))
        self.codec = SnmpDevice("cisco_roomos").start()
        stack.callback(self.codec.stop)
        self.switch = SnmpDevice("cisco_ios").start()
        stack.callback(self.switch.stop)
        self.switch.set(IF_OPER_STATUS, 2, "1")  # the uplink is up before any fault
        self.trap_port = free_port(socket.SOCK_DGRAM)
        self.video_port = free_port(socket.SOCK_DGRAM)
        self.picture = PictureFeed(self.video_port).start()
        stack.callback(lambda: self.picture.stop())
        speech = room()
        as_pcm = lambda samples: (np.clip(samples, -1, 1) * 32767).astype("<i2")  # noqa: E731
        self.mic = MicFeed(
            workdir / "mic",
            {
                "normal": as_pcm(speech),
                "silent": np.zeros(len(speech), "<i2"),  # a dead input: digital zeros (muted USB, cut Dante)
                "hum": as_pcm(with_hum(speech, -45)),  # 50 Hz mains hum at −45 dBFS, as tests/test_audio_live
            },
        )
        self.mic.start()
        stack.callback(self.mic.close)
        self.watch = Watch(self.broker.port, BASE)
        stack.callback(self.watch.close)
        config = write_config(workdir / "venue", self.broker.url, flap_interval_s=3600, extra=self.extra())
        self.agent = AgentProcess(config, workdir / "agent.log", env=self.mic.env).start()
        stack.callback(self.agent.ensure_dead)
        stack.callback(lambda: self.agent.alive and self.agent.stop())

    def extra(self) -> str:
        """The venue's monitors: the agent's defaults, except as the module's docstring says."""
        return f"""
[snmp]
interval_s = {SNMP_INTERVAL_S:g}
timeout_s = {SNMP_TIMEOUT_S:g}
retries = {SNMP_RETRIES}

[snmp.traps]
enabled = true
listen = "127.0.0.1"
port = {self.trap_port}

# Both devices are at 127.0.0.1 and the trap receiver matches a trap's sender by address: the
# last device with an address is the one a trap from it is filed under, so the switch comes last.
[[snmp.devices]]
name = "codec"
host = "127.0.0.1"
port = {self.codec.port}
community = "cisco_roomos"

[[snmp.devices]]
name = "core-switch"
host = "127.0.0.1"
port = {self.switch.port}
community = "cisco_ios"
uplink = "{UPLINK[1]}"

[video]
source = "udp://127.0.0.1:{self.video_port}"

[audio]
source = "device:{self.mic.pcm}"
"""

    # -- injections and their undoing ------------------------------------------------------------
    def link_trap(self, trap_oid: str) -> bytes:
        return trap_datagram(
            "cisco_ios",
            trap_oid,
            f"1.3.6.1.2.1.2.2.1.1.{UPLINK[0]}",
            "i",
            UPLINK[0],
            f"1.3.6.1.2.1.2.2.1.2.{UPLINK[0]}",
            "s",
            UPLINK[1],
            IF_OPER_STATUS,
            "i",
            "2" if trap_oid == LINK_DOWN else "1",
        )

    def link_down_with_trap(self) -> Instant:
        datagram = self.link_trap(LINK_DOWN)  # encoded before the fault: snmptrap's start-up is not latency
        at = self.switch.set(IF_OPER_STATUS, 2, "2")
        send_datagram(datagram, self.trap_port)
        return at

    def link_up_with_trap(self) -> None:
        datagram = self.link_trap(LINK_UP)
        self.switch.set(IF_OPER_STATUS, 2, "1")
        send_datagram(datagram, self.trap_port)

    def uplink_down(self) -> Instant:
        return self.switch.set(IF_OPER_STATUS, 2, "2")

    def uplink_up(self) -> None:
        self.switch.set(IF_OPER_STATUS, 2, "1")

    def picture_lost(self) -> Instant:
        return self.picture.kill()

    def picture_back(self) -> None:
        self.picture = PictureFeed(self.video_port).start()

    def picture_black(self) -> Instant:
        return self.picture.switch("black")

    def picture_normal(self) -> None:
        self.picture.switch("normal")

    def mic_fault(self, mode: str) -> Callable[[], Instant]:
        return lambda: self.mic.switch(mode)

    def mic_normal(self) -> None:
        self.mic.switch("normal")


def faults(venue: Venue) -> list[Fault]:
    codec_ok = all_ok("snmp.reachable@codec")
    uplink_ok = all_ok("snmp.uplink@core-switch")
    video_ok = all_ok("video.signal", "video.brightness")
    audio_ok = all_ok("audio.signal", "audio.level", "audio.noise")
    silent_text = (
        f"≤ {SILENT_BOUND_S:g} s = interval {SNMP_INTERVAL_S:g} + timeout {SNMP_TIMEOUT_S:g}"
        f" × (1 + retries {SNMP_RETRIES})"
    )
    poll_text = f"≤ {SNMP_INTERVAL_S + SNMP_TIMEOUT_S:g} s = interval + timeout (no target in the issue)"
    return [
        Fault(
            "device-silent",
            venue.codec.freeze,
            venue.codec.thaw,
            [Measure("snmp.reachable@codec", event("snmp.reachable", "codec"), SILENT_BOUND_S, silent_text)],
            codec_ok,
            settle_s=0,
            note="snmpsim stopped with SIGSTOP; resumed with SIGCONT",
        ),
        Fault(
            "link-down",
            venue.uplink_down,
            venue.uplink_up,
            [
                Measure(
                    "snmp.uplink@core-switch (next poll)",
                    event("snmp.uplink", "core-switch"),
                    SNMP_INTERVAL_S + SNMP_TIMEOUT_S,
                    poll_text,
                )
            ],
            uplink_ok,
            settle_s=0,
            note="ifOperStatus of Gi1/0/1 set to down(2) in the recording, no trap",
        ),
        Fault(
            "link-down-trap",
            venue.link_down_with_trap,
            venue.link_up_with_trap,
            [
                Measure(
                    "snmp.trap.link_down",
                    event("snmp.trap", "core-switch", "snmp.trap.link_down"),
                    TRAP_TARGET_S,
                    "≤ 1 s",
                ),
                Measure(
                    "snmp.uplink@core-switch (poll woken by the trap)",
                    event("snmp.uplink", "core-switch"),
                    TRAP_TARGET_S + SNMP_TIMEOUT_S,
                    f"≤ {TRAP_TARGET_S + SNMP_TIMEOUT_S:g} s = trap + one timeout (poll_on_trap's promise)",
                ),
            ],
            uplink_ok,
            settle_s=0,
            note="the same change, and net-snmp's linkDown trap sent from 127.0.0.1; cleared with linkUp",
        ),
        Fault(
            "video-lost",
            venue.picture_lost,
            venue.picture_back,
            [Measure("video.signal lost", event("video.signal", code="video.signal.lost"), AV_TARGET_S, "≤ 2 s")],
            video_ok,
            settle_s=VIDEO_WINDOW_S,
            note="the H.264/UDP sender killed with SIGKILL",
        ),
        Fault(
            "video-black",
            venue.picture_black,
            venue.picture_normal,
            [
                Measure("first video event", any_event("video.signal", "video.brightness"), AV_TARGET_S, "≤ 2 s"),
                Measure("video.signal black", event("video.signal", code="video.signal.black"), AV_TARGET_S, "≤ 2 s"),
            ],
            video_ok,
            settle_s=VIDEO_WINDOW_S,
            note="every frame replaced by video-range black at the encoder's input",
        ),
        Fault(
            "mic-silent",
            venue.mic_fault("silent"),
            venue.mic_normal,
            [
                Measure(
                    "first audio event", any_event("audio.signal", "audio.level", "audio.noise"), AV_TARGET_S, "≤ 2 s"
                ),
                Measure("audio.signal silent", event("audio.signal", code="audio.signal.silent"), AV_TARGET_S, "≤ 2 s"),
            ],
            audio_ok,
            settle_s=AUDIO_WINDOW_S,
            note="the microphone's samples become digital zeros",
        ),
        Fault(
            "hum",
            venue.mic_fault("hum"),
            venue.mic_normal,
            [Measure("audio.noise hum", event("audio.noise", code="audio.noise.hum"), AV_TARGET_S, "≤ 2 s")],
            audio_ok,
            settle_s=AUDIO_WINDOW_S,
            note="50 Hz hum (harmonics 1, 2, 3, 5) at −45 dBFS added to the speech",
        ),
    ]


FAULT_NAMES = ("device-silent", "link-down", "link-down-trap", "video-lost", "video-black", "mic-silent", "hum")


# -- running ---------------------------------------------------------------------------------------
def event_ts(payload: dict) -> float | None:
    try:
        return datetime.fromisoformat(str(payload["ts"]).replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError):
        return None


def run_fault(venue: Venue, fault: Fault, runs: int, rng: random.Random, deadline: float, wait_s: float) -> None:
    """`runs` injections of one fault; each waits for every measured event, clears, waits for health."""
    watch = venue.watch
    if not watch.wait_status(fault.healthy, 90):
        fault.note += f"; the venue was never healthy before it (status: {watch.status.get('checks')})"
        return
    time.sleep(fault.settle_s)
    for number in range(runs):
        if time.monotonic() > deadline:
            fault.note += f"; stopped after {number} runs (--max-minutes)"
            return
        time.sleep(rng.uniform(0, SNMP_INTERVAL_S))  # a random phase of the 5 s poll and judgement cycles
        fault.loads.append(os.getloadavg()[0])
        at = fault.inject()
        until = at.mono + wait_s
        arrivals: list[float] = []
        said: list[str] = []
        for measure in fault.measures:
            arrival = watch.wait_event(
                lambda p, m=measure, at=at: m.matches(p) and (event_ts(p) or 0) >= at.wall - 0.001,
                after=at.mono,
                timeout_s=max(0.0, until - time.monotonic()),
            )
            if arrival is None:
                measure.missing += 1
                said.append(f"{measure.label} not seen in {wait_s:g} s")
                continue
            arrivals.append(arrival.mono)
            measure.hub_s.append(arrival.mono - at.mono)
            ts = event_ts(arrival.payload)
            if ts is not None:
                measure.agent_s.append(ts - at.wall)
            measure.codes[str(arrival.payload.get("code"))] += 1
            said.append(f"{measure.label} {measure.hub_s[-1]:.2f} s")
        fault.runs += 1
        fault.clear()
        # healthy in a status newer than the fault's events: an older one may predate the fault
        if not watch.wait_status(fault.healthy, 90, since=max([time.monotonic(), *arrivals])):
            fault.note += f"; the venue did not recover after run {number + 1}"
            return
        print(f"  {fault.name} run {number + 1}/{runs}: {', '.join(said)}", flush=True)
        time.sleep(fault.settle_s)


# -- reporting -------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def table(selected: list[Fault]) -> tuple[str, list[str]]:
    """The markdown table, and one line per measure saying met or missed (p95 against the target)."""
    rows = [
        "| fault | event (code seen) | runs seen | p50 | p95 | max | agent-side p50 (ts − injection) | target "
        "| p95 vs target | load 1-min (mean, max) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for fault in selected:
        load = f"{statistics.mean(fault.loads):.2f}, {max(fault.loads):.2f}" if fault.loads else "—"
        for measure in fault.measures:
            seen = len(measure.hub_s)
            codes = ", ".join(code for code, _ in measure.codes.most_common())
            if seen:
                p50, p95, top = (percentile(measure.hub_s, q) for q in (50, 95, 100))
                verdict = "met" if p95 <= measure.target_s and not measure.missing else "missed"
                agent = f"{percentile(measure.agent_s, 50):.2f} s" if measure.agent_s else "—"
                figures = f"{p50:.2f} s | {p95:.2f} s | {top:.2f} s | {agent}"
            else:
                verdict, figures = "missed (no event)", "— | — | — | —"
            rows.append(
                f"| {fault.name} | {measure.label} ({codes or '—'}) | {seen}/{seen + measure.missing} | {figures} "
                f"| {measure.target_text} | {verdict} | {load} |"
            )
            verdicts.append(f"{fault.name} / {measure.label}: {verdict}")
    return "\n".join(rows), verdicts


def anchors(selected: list[Fault]) -> str:
    worst = max((max(m.hub_s) for f in selected for m in f.measures if m.hub_s), default=None)
    lines = ["Anchors (vendor figures as issue #15 quotes them; not runnable here):"]
    lines += [f"- {anchor}" for anchor in ANCHORS]
    if worst is not None:
        lines.append(
            f"- the slowest single event above took {worst:.1f} s: {300 / worst:.0f}× under Teams Rooms Pro's "
            f"best case (5 min), {900 / worst:.0f}× under TMS's 15-minute lead"
        )
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{os.cpu_count()}-core {platform.machine()}, {platform.platform(terse=True)}, "
        f"Python {platform.python_version()}, load average at start {os.getloadavg()[0]:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="injections per fault (default 10)")
    parser.add_argument("--only", choices=FAULT_NAMES, action="append", help="this fault only (repeatable)")
    parser.add_argument("--seed", type=int, default=15, help="seed of the random pauses before injections")
    parser.add_argument("--wait-s", type=float, default=60.0, help="longest wait for a fault's events (default 60)")
    parser.add_argument("--max-minutes", type=float, default=60.0, help="stop starting runs after this long")
    parser.add_argument(
        "--agent-log",
        type=Path,
        help="keep the agent's log here (the working directory is removed at the end): an outlier's cause is in it",
    )
    args = parser.parse_args()
    for tool in ("mosquitto", "ffmpeg", "snmptrap", "espeak-ng"):
        if shutil.which(tool) is None and not (tool == "mosquitto" and Path("/usr/sbin/mosquitto").exists()):
            print(f"{tool} is not installed", file=sys.stderr)
            return 2
    if not have_espeak():
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    started = time.monotonic()
    deadline = started + args.max_minutes * 60
    print(f"machine: {machine()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="venue-agent-fault-latency-"))
    try:
        checked, broken = preflight(workdir / "preflight")
        print(
            f"microphone FIFO: {broken} discontinuities in {checked} samples "
            f"(blocks of {BLOCK_FRAMES} frames = 4 PortAudio reads of {READ_FRAMES})",
            flush=True,
        )
        if broken:
            print(
                "the FIFO microphone pads reads with stale samples here: audio figures would be wrong", file=sys.stderr
            )
            return 1
        with contextlib.ExitStack() as stack:
            venue = Venue(workdir, stack)
            ready = venue.watch.wait_status(
                lambda s: all(
                    verdict_of(s, key) is not None
                    for key in ("snmp.reachable@codec", "snmp.uplink@core-switch", "video.signal", "audio.signal")
                ),
                90,
            )
            if not ready:
                print(f"the venue did not come up; agent log:\n{venue.agent.log()[-3000:]}", file=sys.stderr)
                return 1
            rng = random.Random(args.seed)
            selected = [fault for fault in faults(venue) if not args.only or fault.name in args.only]
            for fault in selected:
                print(f"{fault.name}: {fault.note}", flush=True)
                run_fault(venue, fault, args.runs, rng, deadline, args.wait_s)
            alive = venue.agent.alive
        rows, verdicts = table(selected)
        print(
            f"\nfault to hub, {args.runs} runs per fault, {time.monotonic() - started:.0f} s in all, "
            f"load average at the end {os.getloadavg()[0]:.2f}; agent alive to the end: {alive}\n"
        )
        print(rows)
        print()
        for fault in selected:
            print(f"- {fault.name}: {fault.note}")
        print()
        print("\n".join(verdicts))
        print()
        print(anchors(selected))
        return 0
    finally:
        kept = workdir / "agent.log"
        if args.agent_log is not None and kept.exists():
            shutil.copyfile(kept, args.agent_log)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
