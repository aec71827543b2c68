"""A throwaway copy of this machine, for tests that install venue-agent for real (dpkg -i, the
bundle's install.sh without --root) and must leave nothing behind.

The script runs chrooted into an overlay of the root file system (writes land in a directory of
the test's own, dropped afterwards) inside new mount, PID and network namespaces: the machine's
/etc, /opt, /var/lib/dpkg and sysctls never change, whatever the script does, and other tests
running beside it see nothing. The network namespace has no interface but a loopback that is
down, so no registry can be reached from inside. /run is an empty tmpfs there, so systemd looks
absent (no systemctl calls reach the machine's systemd).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path


def unavailable_reason() -> str | None:
    """Why an overlay root cannot be made here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (mount and network namespaces, an overlay of /)"
    for tool in ("unshare", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "true"], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0:
        return f"cannot make namespaces here: {probe.stderr.strip()}"
    return None


def run_in_overlay(
    workdir: Path, script: str, binds: dict[Path, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Runs bash SCRIPT as root in a copy-on-write copy of this machine. BINDS maps host
    directories to the paths they are read-only at inside. Writes go to WORKDIR/upper (read it
    afterwards to see what the script left). Returns the finished process (stdout and stderr)."""
    upper, work, merged = workdir / "upper", workdir / "work", workdir / "merged"
    for path in (upper, work, merged):
        path.mkdir(parents=True, exist_ok=True)
    inner = workdir / "inner.sh"
    inner.write_text("set -euo pipefail\n" + textwrap.dedent(script))
    mounts = []
    for source, target in (binds or {}).items():
        mounts.append(f'mkdir -p "$m{target}" && mount --bind -o ro "{source}" "$m{target}"')
    outer = textwrap.dedent(
        f"""\
        set -euo pipefail
        m="{merged}"
        mount --make-rprivate /
        mount -t overlay overlay -o "lowerdir=/,upperdir={upper},workdir={work}" "$m"
        mount -t proc proc "$m/proc"
        mount --rbind /dev "$m/dev"
        mount -t tmpfs tmpfs "$m/run"
        mount -t tmpfs tmpfs "$m/tmp"
        {"; ".join(mounts) or ":"}
        cp "{inner}" "$m/tmp/inner.sh"
        exec chroot "$m" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            HOME=/root LANG=C.UTF-8 /bin/bash /tmp/inner.sh
        """
    )
    return subprocess.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "bash", "-c", outer],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def leftovers(workdir: Path, needle: str) -> list[str]:
    """The paths the script left in the overlay's upper layer whose name contains NEEDLE."""
    upper = workdir / "upper"
    return sorted(str(p.relative_to(upper)) for p in upper.rglob("*") if needle in p.name)
