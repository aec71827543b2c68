"""The simulated venue of the demo (sim/), assembled for the soak, with a switch for every fault.

Same peers as `sim.demo`: mosquitto, snmpsim serving a Poly codec and a Cisco switch, a Cisco
codec (xAPI) and an H3C switch over SSH, an H.264 stream over UDP, Mandarin speech from a file,
a far end for the self-test — plus what a soak needs and the demo does not: the broker keeps its
sessions across restarts (persistence on, so the hub's queued messages survive a restart and a
loss counted at the hub is the agent's), and the agent's state_dir is a small tmpfs of its own
that can be filled to the last byte and emptied again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import subprocess
from pathlib import Path

from sim.broker import Mosquitto
from sim.demo import schedule, snmp_devices, ssh_devices
from sim.far_end import FarEnd
from sim.ports import free_port
from sim.snmp import SnmpSimulator
from sim.speech import have_espeak, room, write
from sim.ssh_devices import SshDeviceSimulator
from sim.stream import start_udp_stream, stop_process
from sim.venue import write_config

FILLER = "soak-filler.bin"


class SoakVenue:
    def __init__(self, workdir: Path, state_disk_mb: int = 64):
        self.workdir = workdir
        self.state_disk_mb = state_disk_mb
        self.broker: Mosquitto | None = None
        self.snmp: SnmpSimulator | None = None
        self.codec: SshDeviceSimulator | None = None
        self.switch: SshDeviceSimulator | None = None
        self.far: FarEnd | None = None
        self.video: subprocess.Popen[bytes] | None = None
        self.video_port = 0
        self.state_dir = workdir / "venue" / "state"
        self.mounted = False

    # -- assembling -----------------------------------------------------------------------------
    def start(self) -> Path:
        """Start every peer and write the venue's config; returns the config's path."""
        broker_dir = self.workdir / "broker"
        broker_dir.mkdir(parents=True)
        broker_dir.chmod(0o777)  # mosquitto drops root for its own user and writes its db here
        self.broker = Mosquitto(workdir=broker_dir)
        text = self.broker.config_path.read_text().replace(
            "persistence false\n", f"persistence true\npersistence_location {broker_dir}/\n"
        )
        self.broker.config_path.write_text(text)
        self.broker.start()
        self.snmp = SnmpSimulator().start()
        self.codec = SshDeviceSimulator("cisco_tp").start()
        self.switch = SshDeviceSimulator("hp_comware").start()
        self.codec.codec.loss_pct = 2.0
        os.environ["DEMO_SSH_PASSWORD"] = self.codec.password
        self.far = FarEnd()
        self.video_port = free_port(socket.SOCK_DGRAM)
        self.start_video()
        video = f'\n[video]\nsource = "udp://127.0.0.1:{self.video_port}"\nrate_hz = 1\n'
        audio = ""
        if have_espeak():
            wav = write(self.workdir / "uplink.wav", room())
            audio = f'\n[audio]\nsource = "{wav}"\nwindow_s = 10\ninterval_s = 5\n'
        self.state_dir.mkdir(parents=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.state_disk_mb}m", "tmpfs", str(self.state_dir)], check=True
        )
        self.mounted = True
        return write_config(
            self.workdir / "venue",
            self.broker.url,
            extra=snmp_devices(self.snmp)
            + ssh_devices(self.codec, self.switch, self.workdir / "known_hosts")
            + video
            + audio
            + schedule(self.far, starts_in_s=20),
            flap_interval_s=20,
            status_interval_s=10,
            metrics_interval_s=5,
        )

    # -- faults ---------------------------------------------------------------------------------
    def broker_down(self) -> None:
        assert self.broker is not None
        self.broker.stop()  # SIGTERM: mosquitto saves its sessions and their queued messages

    def broker_up(self) -> None:
        assert self.broker is not None
        self.broker.start()  # same port, same config

    def snmp_silent(self) -> None:
        assert self.snmp is not None
        self.snmp.stop()

    def snmp_back(self) -> None:
        assert self.snmp is not None
        self.snmp = SnmpSimulator(port=self.snmp.port).start()

    def ssh_silent(self) -> None:
        """The codec stops answering mid-output (a hung shell): every poll runs into its budget."""
        assert self.codec is not None
        self.codec.faults.stall = True

    def ssh_back(self) -> None:
        assert self.codec is not None
        self.codec.faults.stall = False

    def start_video(self) -> None:
        self.video = start_udp_stream(self.video_port, size="640x360", rate=10)

    def video_lost(self) -> None:
        stop_process(self.video)
        self.video = None

    def video_back(self) -> None:
        self.start_video()

    def disk_full(self) -> int:
        """Fill the state_dir's tmpfs to the last byte; returns the bytes written."""
        written = 0
        fd = os.open(self.state_dir / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (1 << 20, 4096, 1):
                block = b"\0" * chunk
                while True:
                    try:
                        count = os.write(fd, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
                    written += count
        finally:
            os.close(fd)
        return written

    def disk_free(self) -> None:
        (self.state_dir / FILLER).unlink(missing_ok=True)

    def disk_use(self) -> tuple[int, int]:
        """(used, size) of the state_dir's filesystem in bytes."""
        stats = os.statvfs(self.state_dir)
        return (stats.f_blocks - stats.f_bfree) * stats.f_frsize, stats.f_blocks * stats.f_frsize

    # -- closing --------------------------------------------------------------------------------
    def close(self) -> None:
        stop_process(self.video)
        for peer in (self.snmp, self.codec, self.switch):
            if peer is not None:
                with contextlib.suppress(Exception):
                    peer.stop()
        if self.far is not None:
            self.far.close()
        if self.broker is not None:
            self.broker.close()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.state_dir)], check=False)
            self.mounted = False
