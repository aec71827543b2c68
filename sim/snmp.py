"""Simulated SNMP devices: snmpsim serving .snmprec recordings on a loopback UDP port.

Recordings: the project's own (`sim/snmprec/`, written from the MIB definitions) and, when the
workplace has them, the real-device recordings in `../shared/fixtures/snmp/`. The community
string selects the device: it is the file name without `.snmprec`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.ports import free_port
from sim.stream import stop_process

OWN_RECORDINGS = Path(__file__).parent / "snmprec"
SHARED_RECORDINGS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "snmp"


def recording_dirs() -> list[Path]:
    dirs = [OWN_RECORDINGS]
    if SHARED_RECORDINGS.is_dir():
        dirs.append(SHARED_RECORDINGS)
    return dirs


def _responder() -> str:
    found = shutil.which("snmpsim-command-responder") or str(Path(sys.executable).parent / "snmpsim-command-responder")
    if not Path(found).exists():
        raise RuntimeError("snmpsim is not installed (pip install snmpsim pysmi)")
    return found


class SnmpSimulator:
    def __init__(self, data_dirs: list[Path] | None = None, port: int | None = None):
        self.data_dirs = data_dirs or recording_dirs()
        self.port = port or free_port(socket.SOCK_DGRAM)
        self.workdir = Path(tempfile.mkdtemp(prefix="venue-agent-snmpsim-"))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30) -> SnmpSimulator:
        command = [
            _responder(),
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            f"--cache-dir={self.workdir / 'cache'}",
            "--log-level=error",
        ]
        command += [f"--data-dir={directory}" for directory in self.data_dirs]
        log = (self.workdir / "snmpsim.log").open("wb")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=log, env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"snmpsim exited: {(self.workdir / 'snmpsim.log').read_text(errors='replace')[-2000:]}"
                )
            if asyncio.run(self._answers()):
                return self
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"snmpsim did not answer on 127.0.0.1:{self.port} within {timeout_s} s")

    async def _answers(self) -> bool:
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        from collectors.snmp.session import SnmpError, SnmpSession, SnmpTarget, close_engine, parse_oid

        engine = SnmpEngine()
        try:
            session = SnmpSession(
                engine, SnmpTarget("127.0.0.1", self.port, community=self.any_community(), timeout_s=0.5, retries=0)
            )
            await session.get([parse_oid("1.3.6.1.2.1.1.1.0")])
            return True
        except SnmpError:
            return False
        finally:
            await close_engine(engine)

    def any_community(self) -> str:
        return "linux_host"

    def communities(self) -> list[str]:
        return sorted(path.stem for directory in self.data_dirs for path in directory.glob("*.snmprec"))

    def stop(self) -> None:
        stop_process(self._process)
        self._process = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SnmpSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
