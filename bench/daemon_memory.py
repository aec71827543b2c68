"""The daemon's resident memory, by what it is configured to watch (issue 15 item 6).

Targets: ≤ 120 MB with every monitor configured, ≤ 80 MB with SNMP/SSH only (the agent loads only
what configured monitors need: agent/sources.py). The real `python -m agent run` on the simulated
venue of `scripts/demo.sh` — snmpsim devices, asyncssh codec and switch, a 720p25 H.264 test stream
over UDP, a looped speech file — with a private mosquitto; after `--settle` seconds the peak
(`VmHWM`) and current (`VmRSS`) resident size are read from /proc, for each configuration in turn.
The anchor is what a bare CPython with paho-mqtt and pydantic imported holds (the floor of any
Python MQTT agent with a typed contract).

    .venv/bin/python -m bench.daemon_memory --settle 40
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.broker import Mosquitto
from sim.demo import snmp_devices, ssh_devices, start_video
from sim.ports import free_port
from sim.snmp import SnmpSimulator
from sim.speech import have_espeak, room, write
from sim.ssh_devices import SshDeviceSimulator
from sim.stream import stop_process
from sim.venue import write_config


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of `pid` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


def run_agent(python: str, config: Path, settle_s: float, log: Path) -> tuple[float, float]:
    with log.open("wb") as sink:
        agent = subprocess.Popen([python, "-m", "agent", "run", "-c", str(config)], stderr=sink)
    try:
        time.sleep(settle_s)
        if agent.poll() is not None:
            raise RuntimeError(f"the agent exited with {agent.returncode}; see {log}")
        return memory_mib(agent.pid)
    finally:
        stop_process(agent, timeout_s=20)


def anchor(python: str) -> tuple[float, float]:
    probe = "import paho.mqtt.client, pydantic, pathlib; print(open('/proc/self/status').read())"
    text = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in text.splitlines() if line.startswith("Vm")}
    return values["VmHWM"], values["VmRSS"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=40.0, help="Seconds each configuration runs first.")
    parser.add_argument(
        "--agent-python",
        default=sys.executable,
        help="The interpreter the agent runs on (default: this venv's; a runtime-only venv, as the bundle "
        "installs, lacks the test extras — pysmi among them, which pysnmp loads when present).",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="venue-agent-memory-"))
    (workdir / "broker").mkdir()
    broker = Mosquitto(workdir=workdir / "broker").start()
    snmp = SnmpSimulator().start()
    codec, switch = SshDeviceSimulator("cisco_tp").start(), SshDeviceSimulator("hp_comware").start()
    os.environ["DEMO_SSH_PASSWORD"] = codec.password
    video_port = free_port(socket.SOCK_DGRAM)
    video = start_video(video_port)
    try:
        devices = snmp_devices(snmp) + ssh_devices(codec, switch, workdir / "known_hosts")
        picture = f'\n[video]\nsource = "udp://127.0.0.1:{video_port}"\nrate_hz = 1\n' if video else ""
        sound = ""
        if have_espeak():
            sound = f'\n[audio]\nsource = "{write(workdir / "uplink.wav", room())}"\n'
        configurations = {
            "SNMP + SSH only (target ≤ 80 MB)": devices,
            "every monitor (target ≤ 120 MB)": devices + picture + sound,
        }
        load = os.getloadavg()[0]
        print(f"{args.agent_python}; load average {load:.1f}; each configuration runs {args.settle:.0f} s")
        print(f"{'configuration':40} {'peak MiB':>9} {'now MiB':>8}")
        hwm, rss = anchor(args.agent_python)
        print(f"{'anchor: python + paho + pydantic':40} {hwm:9.1f} {rss:8.1f}")
        for number, (label, extra) in enumerate(configurations.items()):
            config = write_config(workdir / f"venue{number}", broker.url, extra=extra, flap_interval_s=3600)
            hwm, rss = run_agent(args.agent_python, config, args.settle, workdir / f"agent{number}.log")
            print(f"{label:40} {hwm:9.1f} {rss:8.1f}")
    finally:
        stop_process(video)
        snmp.stop()
        codec.stop()
        switch.stop()
        broker.close()


if __name__ == "__main__":
    main()
