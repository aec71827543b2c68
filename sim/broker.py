"""A private mosquitto on a free loopback port, for the demo, the tests and the benchmarks.

It can be killed and started again on the same port, which is how fault tests cut the hub off.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from sim.ports import free_port, wait_for_listener
from sim.stream import stop_process


class MosquittoNotInstalled(RuntimeError):
    pass


class Mosquitto:
    def __init__(self, port: int | None = None, workdir: Path | None = None, extra_config: str = ""):
        binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if binary is None:
            raise MosquittoNotInstalled("mosquitto is not installed (Debian package `mosquitto`)")
        self.binary = binary
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="venue-agent-broker-"))
        self.config_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"
        self.config_path.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 100000\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\n" + extra_config,
            encoding="utf-8",
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Mosquitto:
        self._process = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for_listener(self.port)
        except TimeoutError:
            self._process.kill()
            error = self._process.communicate()[1].decode(errors="replace")
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {error}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without a word, as in a power cut."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        stop_process(self._process)
        self._process = None

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
