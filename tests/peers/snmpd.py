"""Debian's net-snmp `snmpd` with an SNMPv3 authPriv user, on a free loopback UDP port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from sim.ports import free_port

USER, AUTH_KEY, PRIV_KEY = "venueuser", "auth-pass-123", "priv-pass-456"


class Snmpd:
    def __init__(self, workdir: Path):
        self.port = free_port(socket.SOCK_DGRAM)
        self.workdir = workdir
        (workdir / "conf").mkdir(parents=True)
        (workdir / "persist").mkdir()
        self.config = workdir / "conf" / "snmpd.conf"
        self.config.write_text(
            f"agentAddress udp:127.0.0.1:{self.port}\n"
            f'createUser {USER} SHA-256 "{AUTH_KEY}" AES "{PRIV_KEY}"\n'
            f"rouser {USER} priv\n"
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Snmpd:
        binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
        self._process = subprocess.Popen(
            [
                binary,
                "-f",
                "-C",
                "-c",
                str(self.config),
                "-Lf",
                str(self.workdir / "snmpd.log"),
                "-r",
                "-p",
                str(self.workdir / "snmpd.pid"),
            ],
            env={**os.environ, "SNMP_PERSISTENT_DIR": str(self.workdir / "persist")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # snmpd has no readiness signal; the tests' first request retries anyway
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
