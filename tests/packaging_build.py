"""Runs scripts/bundle.sh and scripts/build-deb.sh for the packaging tests.

The dependency wheels come from a cache kept across runs (~/.cache/venue-agent-bundle-wheels/<arch>,
or $VENUE_BUNDLE_WHEEL_CACHE): filled from the registry the first time, read with pip --no-index
afterwards. Where neither the registry nor a full cache is there, the scripts exit 3 and the tests
skip, saying so; any other failure of a build fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXIT_NO_WHEELS = 3  # scripts/packaging-lib.sh: PKG_EXIT_NO_WHEELS
BUILD_TIMEOUT_S = 240
# The test extras and the suite's peers: none of them belongs on a venue PC.
TEST_ONLY_WHEELS = ("pytest", "ruff", "snmpsim", "hypothesis", "selenium", "scikit_image", "jsonschema", "psutil")
TEST_ONLY_DEBIAN = ("mosquitto", "snmpd", "postgresql", "chromium", "espeak-ng", "openssl")

# docs/install.md, 4.: the secrets and files the example config names, as the technician gives them.
TECHNICIAN_CONFIGURES = """
printf '%s' 'THE-PASSWORD' | install -m 0600 /dev/stdin /etc/venue-agent/credentials/broker-password
printf '%s\\n' CODEC_COMMUNITY=public SWITCH_AUTH_KEY=auth-key-1 SWITCH_PRIV_KEY=priv-key-1 CODEC_SSH_PASSWORD=pw \\
    >> /etc/venue-agent/venue-agent.env
mkdir -p /tmp/pki && cd /tmp/pki && for f in hub-ca.pem client.pem client.key; do echo placeholder > "$f"; done
install -m 0640 -g venue-agent hub-ca.pem client.pem client.key /etc/venue-agent/
cd /
"""


def host_arch() -> str:
    """This machine's Debian architecture (amd64, arm64)."""
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def wheel_cache(arch: str) -> Path:
    """Where the dependency wheels for ARCH are kept between runs."""
    base = os.environ.get("VENUE_BUNDLE_WHEEL_CACHE") or str(Path.home() / ".cache" / "venue-agent-bundle-wheels")
    return Path(base) / arch


def version() -> str:
    """The project's version, as the scripts read it."""
    for line in (ROOT / "agent" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__ = "):
            return line.split('"')[1]
    raise AssertionError("agent/__init__.py has no __version__")


def build(script: str, out: Path, arch: str) -> Path:
    """Runs scripts/SCRIPT --arch ARCH --out OUT with the wheel cache; returns the file it made
    (its last line of output). Skips the test when no wheels can be had."""
    if shutil.which("dpkg") is None:
        pytest.skip("not a Debian system (no dpkg)")
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / script),
            "--arch",
            arch,
            "--out",
            str(out),
            "--wheel-cache",
            str(wheel_cache(arch)),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=BUILD_TIMEOUT_S,
    )
    if result.returncode == EXIT_NO_WHEELS:
        pytest.skip(
            f"{script}: no registry reachable and no wheel cache at {wheel_cache(arch)}: {result.stderr.strip()[-300:]}"
        )
    assert result.returncode == 0, f"{script} failed ({result.returncode}):\n{result.stderr[-4000:]}"
    made = Path(result.stdout.strip().splitlines()[-1])
    assert made.is_file(), f"{script} printed {made}, which is not a file"
    return made
