"""The demo: a simulated venue publishing to a private broker, and the hub's view of it, live.

`python -m sim.demo [--seconds N] [--no-outage]` starts mosquitto on a free loopback port, writes
a simulated venue config, runs `venue-agent run` on it, subscribes to `vc/#` as the provincial
hub would and prints every message as it arrives. Midway it cuts the venue's uplink (a TCP
proxy between agent and broker) for a few seconds, so you see the outbox at work: events raised
during the outage arrive after it, in order, none missing. At the end the agent is stopped with
SIGTERM (retained `offline`). Beside it runs the provincial hub (`venue-hub run`, SQLite in the
demo's folder) with an inventory of two venues; at the end `venue-hub venues` shows the office's
view: the simulated venue `offline` after its clean stop, and one that never reported `never`.

The simulated venue: a Poly codec and a Cisco switch over SNMP, a Cisco codec and an H3C switch
over SSH, an H.264 test pattern as the uplink picture, Mandarin speech as the uplink sound, a far
end (MCU) on loopback, and a provincial conference 15 s ahead — so its Art. 14 self-tests run at
once and are published on `selftest`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console

from sim.broker import Mosquitto
from sim.far_end import FarEnd
from sim.netcut import CuttableProxy
from sim.ports import free_port
from sim.snmp import SnmpSimulator
from sim.speech import have_espeak, room, write
from sim.ssh_devices import SshDeviceSimulator
from sim.stream import start_udp_stream
from sim.venue import write_config

LEAF_STYLE = {
    "availability": "bold cyan",
    "status": "green",
    "events": "yellow",
    "metrics": "blue",
    "selftest": "magenta",
}


class HubView:
    """Subscribes to the whole tree like the provincial hub and prints what arrives."""

    def __init__(self, port: int, console: Console):
        self.console = console
        self.event_seqs: list[int] = []
        self.event_ids: set[str] = set()
        self.duplicates = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"demo-hub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("vc/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        leaf = message.topic.rsplit("/", 1)[-1]
        stamp = time.strftime("%H:%M:%S")
        retained = " (retained)" if message.retain else ""
        text = message.payload.decode("utf-8", "replace")
        style = LEAF_STYLE.get(leaf, "white")
        self.console.print(f"[dim]{stamp}[/] [{style}]{message.topic}[/]{retained}  {self._summary(leaf, text)}")

    def _summary(self, leaf: str, text: str) -> str:
        if leaf == "availability":
            return f"[bold]{text}[/]"
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            return text[:80]
        if leaf == "events":
            duplicate = payload["id"] in self.event_ids
            if duplicate:
                self.duplicates += 1
            else:
                self.event_ids.add(payload["id"])
                self.event_seqs.append(payload["seq"])
            mark = " [dim](duplicate, dropped by id)[/]" if duplicate else ""
            return (
                f"#{payload['seq']} {payload['code']} [{payload['severity']}] "
                f"{payload['message']['zh']} / {payload['message']['en']}{mark}"
            )
        if leaf == "status":
            checks = ", ".join(f"{key}={finding['verdict']}" for key, finding in sorted(payload["checks"].items()))
            return f"overall={payload['overall']} checks: {checks} outbox pending={payload['outbox']['pending']}"
        if leaf == "metrics":
            return " ".join(f"{key}={value}" for key, value in payload["values"].items())
        if leaf == "selftest":
            items = ", ".join(f"{item['check']}={item['verdict']}" for item in payload["items"])
            run = f"{payload['trigger']} ({payload['conference_id']}): {payload['verdict']}"
            return f"{run} in {payload['duration_s']} s — {items}"
        return text[:100]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def snmp_devices(snmp: SnmpSimulator) -> str:
    """The simulated venue's SNMP devices: a Poly codec in a call (a camera has failed, 3 % loss)
    and the venue's Cisco switch (its codec port is down), plus the real recordings when present."""
    devices = [("codec", "poly_in_call", None), ("venue-switch", "cisco_ios", "Gi1/0/1")]
    if "vrp_5720" in snmp.communities():
        devices.append(("county-core", "vrp_5720", None))
    text = "\n[snmp]\ninterval_s = 5\n"
    for name, community, uplink in devices:
        text += (
            f'\n[[snmp.devices]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {snmp.port}\n'
            f'community = "{community}"\n' + (f'uplink = "{uplink}"\n' if uplink else "")
        )
    return text


def ssh_devices(codec: SshDeviceSimulator, switch: SshDeviceSimulator, known_hosts: Path) -> str:
    """A Cisco codec read over SSH (xAPI; in a call to the MCU with 2 % loss on the incoming video)
    and an H3C access switch (its uplink up); their host keys are in the venue's known_hosts."""
    known_hosts.write_text(codec.known_hosts_line() + switch.known_hosts_line())
    text = f'\n[ssh]\ninterval_s = 10\nknown_hosts = "{known_hosts}"\n'
    for name, sim, extra in (
        ("sx80", codec, ""),
        ("access-switch", switch, 'uplink = "GE1/0/24"\n'),
    ):
        text += (
            f'\n[[ssh.devices]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {sim.port}\n'
            f'device_type = "{sim.kind}"\nusername = "{sim.username}"\npassword_env = "DEMO_SSH_PASSWORD"\n' + extra
        )
    return text


def schedule(far: FarEnd, starts_in_s: float) -> str:
    """A provincial conference starting shortly (its pre-start self-tests run at once: they are
    due already) and the far end the self-test probes: UDP echo, SIP/H.323 ports, NTP."""
    start = (
        (datetime.now(UTC) + timedelta(seconds=starts_in_s))
        .replace(microsecond=0)
        .astimezone(ZoneInfo("Asia/Shanghai"))
    )
    return f"""
[selftest]
far_end = "127.0.0.1"
udp_echo_port = {far.echo_port}
ports = {far.tcp_ports}
probes = 20
probe_interval_s = 0.05
ntp_server = "127.0.0.1"
ntp_port = {far.ntp_port}

[[conference]]
id = "sheng-demo"
title = "全省视频会议（演示）"
kind = "provincial"
start = {start.isoformat()}
duration_min = 60
"""


def start_video(port: int) -> subprocess.Popen[bytes] | None:
    """The venue's uplink picture: ffmpeg's moving test pattern, H.264 in MPEG-TS over UDP."""
    if shutil.which("ffmpeg") is None:
        return None
    return start_udp_stream(port)


HUB_INVENTORY = """province,prefecture,county,id,name,liaison_name,liaison_phone
jilin,changchun,nongan,main,农安县政府视频会议室（模拟）,张联络,0431-88880001
jilin,changchun,dehui,main,德惠市政府视频会议室（未接入）,王联络,0431-88880002
"""


def start_hub(workdir: Path, broker: Mosquitto) -> tuple[Path, subprocess.Popen[bytes]]:
    """The provincial hub (`venue-hub run`) on the province's broker, with an inventory of two venues:
    the simulated one and one that never reports (so the demo shows the `never` state too)."""
    inventory = workdir / "hub-inventory.csv"
    inventory.write_text(HUB_INVENTORY, encoding="utf-8")
    config = workdir / "hub.toml"
    config.write_text(
        f'[hub]\nscope = "vc/jilin/#"\ndatabase = "sqlite:///{workdir / "hub.sqlite3"}"\n'
        f'inventory = "{inventory}"\n\n[broker]\nurl = "{broker.url}"\n',
        encoding="utf-8",
    )
    with (workdir / "hub.log").open("wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "hub", "run", "-c", str(config)], stderr=log_file)
    return config, process


def show_hub_view(config: Path, console: Console) -> None:
    """What the province's office sees: `venue-hub venues`, read from the hub's database."""
    console.rule("[bold]the hub's view: venue-hub venues[/]")
    shown = subprocess.run(
        [sys.executable, "-m", "hub", "venues", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": str(max(console.width, 150))},
    )
    console.print(shown.stdout.rstrip() or shown.stderr.rstrip(), markup=False, highlight=False)


def run_demo(seconds: float | None, outage: bool, console: Console) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="venue-agent-demo-"))
    (workdir / "broker").mkdir()
    broker = Mosquitto(workdir=workdir / "broker")
    broker.start()
    uplink = CuttableProxy(broker.port)  # the venue's line to the hub, which the demo cuts midway
    snmp = SnmpSimulator().start()  # the venue's codec and switches, answering SNMP on loopback
    codec, switch = SshDeviceSimulator("cisco_tp").start(), SshDeviceSimulator("hp_comware").start()
    codec.codec.loss_pct = 2.0
    os.environ["DEMO_SSH_PASSWORD"] = codec.password
    far = FarEnd()  # the MCU the conference dials, on loopback
    video_port = free_port(socket.SOCK_DGRAM)
    video = start_video(video_port)
    video_config = f'\n[video]\nsource = "udp://127.0.0.1:{video_port}"\nrate_hz = 1\n' if video else ""
    audio_config = ""
    if have_espeak():  # the venue's mixer output: Mandarin speech over a quiet room, looped in real time
        uplink_wav = write(workdir / "uplink.wav", room())
        audio_config = f'\n[audio]\nsource = "{uplink_wav}"\nwindow_s = 10\ninterval_s = 5\n'

    config = write_config(
        workdir / "venue",
        f"mqtt://127.0.0.1:{uplink.port}",
        extra=snmp_devices(snmp)
        + ssh_devices(codec, switch, workdir / "known_hosts")
        + video_config
        + audio_config
        + schedule(far, starts_in_s=15),
        flap_interval_s=2,
        status_interval_s=10,
        metrics_interval_s=5,
    )
    log_path = workdir / "agent.log"
    console.print(
        f"[bold]venue-agent demo[/]: broker {broker.url}, config {config}, agent log {log_path}, "
        f"hub database {workdir / 'hub.sqlite3'} (log {workdir / 'hub.log'})"
    )
    hub = HubView(broker.port, console)
    hub_config, hub_process = start_hub(workdir, broker)
    with log_path.open("wb") as log_file:
        agent = subprocess.Popen([sys.executable, "-m", "agent", "run", "-c", str(config)], stderr=log_file)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.monotonic()
    outage_done = not outage
    try:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if seconds is not None and elapsed >= seconds:
                break
            if not outage_done and elapsed >= 8:
                console.rule(
                    "[bold red]simulated outage: the venue's uplink is cut for 6 s — the agent keeps queueing[/]"
                )
                uplink.sever("reset")
                stop.wait(6)
                uplink.restore()
                console.rule("[bold green]uplink back: queued events arrive now, in order[/]")
                outage_done = True
            if agent.poll() is not None:
                console.print(f"[bold red]the agent exited with {agent.returncode}; see {log_path}[/]")
                return 1
            stop.wait(0.2)
        console.rule("stopping the agent (SIGTERM)")
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=20)
        time.sleep(0.5)
        show_hub_view(hub_config, console)
    finally:
        if agent.poll() is None:
            agent.kill()
        hub_process.terminate()
        hub_process.wait(timeout=20)
        hub.close()
        if video is not None:
            video.kill()
            video.wait()
        snmp.stop()
        codec.stop()
        switch.stop()
        far.close()
        uplink.close()
        broker.close()
    seqs = hub.event_seqs
    gaps = [n for n in range(1, max(seqs, default=0) + 1) if n not in set(seqs)]
    console.print(
        f"agent exit code {code}; hub received {len(seqs)} distinct events (seq 1..{max(seqs, default=0)}), "
        f"{hub.duplicates} duplicates dropped by id, "
        + ("[green]no gaps[/]" if not gaps else f"[red]missing {gaps}[/]")
        + ("" if seqs == sorted(seqs) else " [red]out of order[/]")
    )
    return 0 if code == 0 and not gaps else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="stop after this long (default: until Ctrl-C on a terminal, else 30 s)",
    )
    parser.add_argument("--no-outage", action="store_true", help="skip the simulated broker outage")
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else (None if sys.stdin.isatty() else 30.0)
    sys.exit(run_demo(seconds, not args.no_outage, Console(soft_wrap=True)))


if __name__ == "__main__":
    main()
