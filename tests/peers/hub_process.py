"""The hub as a real OS process (`python -m hub run -c FILE`), and its config, for the hub tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def write_hub_config(
    directory: Path,
    broker_url: str,
    database_url: str,
    *,
    scope: str = "vc/jilin/#",
    inventory: Path | None = None,
    group: str = "venue-hub",
    default_status_interval_s: float = 2,
    gap_grace_s: float = 2,
    extra: str = "",
    extra_hub: str = "",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "hub.toml"
    lines = [
        "[hub]",
        f'scope = "{scope}"',
        f'database = "{database_url}"',
        f'group = "{group}"',
        f"default_status_interval_s = {default_status_interval_s}",
        f"gap_grace_s = {gap_grace_s}",
        "session_expiry_s = 3600",
        'log_level = "info"',
    ]
    if inventory is not None:
        lines.append(f'inventory = "{inventory}"')
    lines += [line for line in extra_hub.splitlines() if line]
    lines += ["", "[broker]", f'url = "{broker_url}"', "keepalive_s = 5", "reconnect_min_s = 1", "reconnect_max_s = 1"]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


class HubProcess:
    def __init__(self, config: Path, log_path: Path, instance: str = "1"):
        self.config = config
        self.log_path = log_path
        self.instance = instance
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> HubProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "run", "-c", str(self.config), "--instance", self.instance],
                stdout=log,
                stderr=log,
                env=os.environ.copy(),
            )
        return self

    def wait_connected(self, timeout: float = 20) -> None:
        wait_until(lambda: "subscribed to" in self.log() or None, timeout, f"hub {self.instance} connected")

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def ensure_dead(self) -> None:
        if self.alive:
            self.process.kill()  # type: ignore[union-attr]
            self.process.wait(timeout=10)  # type: ignore[union-attr]


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
