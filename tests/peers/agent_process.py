"""The agent as a real OS process (`python -m agent run`), so tests can SIGTERM, SIGHUP and kill -9 it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


class AgentProcess:
    def __init__(self, config: Path, log_path: Path, env: dict[str, str] | None = None):
        self.config = config
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "-c", str(self.config)],
                stdout=log,
                stderr=log,
                env=self.env,
            )
        return self

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait; returns the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ensure_dead(self) -> None:
        if self.alive:
            self.process.kill()  # type: ignore[union-attr]
            self.process.wait(timeout=10)  # type: ignore[union-attr]
