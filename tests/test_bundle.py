"""The offline bundle (scripts/bundle.sh, its install.sh): built once for this machine's
architecture, then installed without any registry — into a throwaway root with --root, and for
real into a copy-on-write copy of this machine — and the installed venue-agent run.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests import overlay_root
from tests.packaging_build import (
    ROOT,
    TECHNICIAN_CONFIGURES,
    TEST_ONLY_DEBIAN,
    TEST_ONLY_WHEELS,
    build,
    host_arch,
    version,
)

# One worker builds the bundle once for all these tests (pytest -n 2 --dist loadgroup, scripts/test.sh).
pytestmark = [pytest.mark.timeout(600), pytest.mark.xdist_group("bundle")]

SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian 12's: what a venue PC has
INSTALL_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle's .tar.gz for this machine's architecture (one build for the module)."""
    return build("bundle.sh", tmp_path_factory.mktemp("bundle-out"), host_arch())


@pytest.fixture(scope="module")
def unpacked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle unpacked, as a technician would: its top directory."""
    where = tmp_path_factory.mktemp("bundle-unpacked")
    with tarfile.open(bundle) as tar:
        tar.extractall(where, filter="data")
    (top,) = where.iterdir()
    return top


def system_python_or_skip() -> Path:
    """Debian's python3, if it is the 3.11 with venv the bundle's wheels are for."""
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys, ensurepip, venv; sys.exit(sys.version_info[:2] != (3, 11))"],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} is not a CPython 3.11 with venv (Debian 12's python3, python3-venv)")
    return SYSTEM_PYTHON


def closed_port() -> int:
    """A loopback port nothing listens on (checked)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, f"something listens on 127.0.0.1:{port}"
    return port


def offline_env() -> dict[str, str]:
    """An environment in which every HTTP request goes to a closed loopback port: the index, and
    every proxy (the installer drops PIP_* variables, not the proxies, so a pip that tried a
    registry would fail on them)."""
    dead = f"http://127.0.0.1:{closed_port()}"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"PIP_INDEX_URL": f"{dead}/simple", "PIP_FIND_LINKS": ""})
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = dead
    env["no_proxy"] = env["NO_PROXY"] = ""
    return env


def run_installer(unpacked: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """install.sh ARGS with no registry reachable: in a network namespace of its own where this
    test may make one (no interface at all), and with every HTTP route pointing at a closed port."""
    command = ["bash", str(unpacked / "install.sh"), *args]
    if overlay_root.unavailable_reason() is None:
        command = ["unshare", "--net", *command]
    return subprocess.run(command, capture_output=True, text=True, env=offline_env(), timeout=INSTALL_TIMEOUT_S)


def mode_owner(path: Path, root: Path) -> tuple[str, str, str]:
    """(octal mode, user, group) of PATH, the names read from ROOT's own passwd and group."""
    info = path.stat()
    names = {}
    for file, number in (("passwd", info.st_uid), ("group", info.st_gid)):
        names[file] = "root" if number == 0 else str(number)
        for line in (root / "etc" / file).read_text().splitlines():
            fields = line.split(":")
            if int(fields[2]) == number:
                names[file] = fields[0]
    return oct(stat.S_IMODE(info.st_mode)), names["passwd"], names["group"]


def test_bundle_holds_what_the_install_needs_and_nothing_for_tests(bundle: Path, unpacked: Path) -> None:
    assert bundle.name == f"venue-agent-{version()}-debian12-{host_arch()}.tar.gz"
    assert os.access(unpacked / "install.sh", os.X_OK)
    for name in (
        "systemd/venue-agent.service",
        "systemd/venue-agent.sysusers",
        "systemd/venue-agent.tmpfiles",
        "systemd/60-venue-agent-ping.conf",
        "config/county.example.toml",
        "config/venue-agent.env.example",
        "docs/install.md",
        "debian-packages.txt",
        "BUNDLE",
    ):
        assert (unpacked / name).is_file(), f"the bundle lacks {name}"
    assert (unpacked / "config" / "county.example.toml").read_bytes() == (
        ROOT / "config" / "county.example.toml"
    ).read_bytes()
    wheels = sorted(p.name.lower() for p in (unpacked / "wheels").glob("*.whl"))
    assert any(w.startswith(f"venue_agent-{version()}-") for w in wheels)
    for name in ("paho_mqtt", "pydantic", "pysnmp", "numpy", "sounddevice"):
        assert any(w.startswith(name + "-") for w in wheels), f"no {name} wheel in {wheels}"
    assert not [w for w in wheels if w.startswith(TEST_ONLY_WHEELS)], "test extras in the bundle"
    listed = [
        line.split()[0] for line in (unpacked / "debian-packages.txt").read_text().splitlines() if line[:1].isalnum()
    ]
    assert {"python3", "python3-venv", "libportaudio2"} <= set(listed)
    assert not set(listed) & set(TEST_ONLY_DEBIAN), "test peers listed for the venue PC"
    env_template = (unpacked / "config" / "venue-agent.env.example").read_text()
    assert "#CODEC_COMMUNITY=" in env_template  # a *_env name of the example config
    checked = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_install_into_a_throwaway_root_without_registry_then_upgrade_rollback_remove(
    unpacked: Path, tmp_path: Path
) -> None:
    python = system_python_or_skip()
    root = tmp_path / "root"
    first = run_installer(unpacked, "--root", str(root), "--python", str(python))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "pip --no-index" in first.stdout

    agent = root / "opt/venue-agent/venv/bin/venue-agent"
    shown = subprocess.run([str(agent), "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and version() in shown.stdout, shown.stdout + shown.stderr
    config = root / "etc/venue-agent/venue.toml"
    # The example's broker password is a credential (password_credential = "broker-password"): here
    # given as systemd would hand it over (LoadCredential=venue-agent:…, docs/service.md).
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "venue-agent_broker-password").write_text("THE-PASSWORD")
    checked = subprocess.run(
        [str(agent), "config", "check", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, CREDENTIALS_DIRECTORY=str(credentials)),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK")
    no_tests = subprocess.run([str(agent.parent / "python"), "-c", "import pytest"], capture_output=True)
    assert no_tests.returncode != 0, "the production venv carries pytest"

    # The agreed layout.
    assert "venue-agent:" in (root / "etc/passwd").read_text()
    assert mode_owner(root / "etc/venue-agent", root) == ("0o750", "root", "venue-agent")
    assert mode_owner(config, root) == ("0o640", "root", "venue-agent")
    assert mode_owner(root / "etc/venue-agent/venue-agent.env", root) == ("0o640", "root", "venue-agent")
    assert mode_owner(root / "etc/venue-agent/credentials", root) == ("0o700", "root", "root")
    assert mode_owner(root / "var/lib/venue-agent", root) == ("0o700", "venue-agent", "venue-agent")
    for path in (
        "etc/systemd/system/venue-agent.service",
        "usr/lib/sysusers.d/venue-agent.conf",
        "usr/lib/tmpfiles.d/venue-agent.conf",
        "usr/lib/sysctl.d/60-venue-agent-ping.conf",
        "opt/venue-agent/share/install.sh",
    ):
        assert (root / path).is_file(), f"{path} not installed"
    assert (root / "etc/systemd/system/venue-agent.service").read_bytes() == (
        ROOT / "systemd/venue-agent.service"
    ).read_bytes()

    # An upgrade keeps the config (edited here) and the state; the venv before it stays for rollback.
    config.write_text(config.read_text() + "# edited by the technician\n")
    (root / "var/lib/venue-agent/outbox.sqlite").write_bytes(b"state")
    first_venv = os.readlink(root / "opt/venue-agent/venv")
    again = run_installer(unpacked, "--root", str(root), "--python", str(python))
    assert again.returncode == 0, again.stdout + again.stderr
    assert config.read_text().endswith("# edited by the technician\n")
    assert (root / "var/lib/venue-agent/outbox.sqlite").read_bytes() == b"state"
    second_venv = os.readlink(root / "opt/venue-agent/venv")
    assert second_venv != first_venv
    assert os.readlink(root / "opt/venue-agent/venv.previous") == first_venv

    back = run_installer(root / "opt/venue-agent/share", "--rollback", "--root", str(root))
    assert back.returncode == 0, back.stdout + back.stderr
    assert os.readlink(root / "opt/venue-agent/venv") == first_venv
    assert os.readlink(root / "opt/venue-agent/venv.previous") == second_venv
    shown = subprocess.run([str(agent), "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr

    removed = run_installer(unpacked, "--uninstall", "--purge", "--root", str(root))
    assert removed.returncode == 0, removed.stdout + removed.stderr
    for path in ("opt/venue-agent", "etc/venue-agent", "var/lib/venue-agent", "etc/systemd/system/venue-agent.service"):
        assert not (root / path).exists(), f"{path} left after --uninstall --purge"


def test_install_as_root_on_a_copy_of_this_machine(unpacked: Path, tmp_path: Path) -> None:
    """docs/install.md's steps as a technician runs them (install.sh without --root), in a
    throwaway copy of this machine with no network: the real systemd-sysusers user, the secrets
    and files given as the doc says, then `config check --service` reads them as that user."""
    reason = overlay_root.unavailable_reason()
    if reason:
        pytest.skip(f"no throwaway copy of this machine: {reason}")
    system_python_or_skip()
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed (config check --service runs as the service user through it)")
    result = overlay_root.run_in_overlay(
        tmp_path,
        """
        cd /mnt/bundle
        ./install.sh
        venue-agent --version
        """
        + TECHNICIAN_CONFIGURES
        + """
        echo "groups: $(id -nG venue-agent)"
        venue-agent config check --service -c /etc/venue-agent/venue.toml
        cd /mnt/bundle
        sysctl -n net.ipv4.ping_group_range
        echo "markers: installed"
        ./install.sh --uninstall --purge
        test ! -e /opt/venue-agent && test ! -e /etc/venue-agent && test ! -e /var/lib/venue-agent
        echo "markers: removed"
        """,
        {unpacked: "/mnt/bundle"},
        timeout=INSTALL_TIMEOUT_S,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert f"version {version()}" in result.stdout
    assert "OK: /etc/venue-agent/venue.toml" in result.stdout
    groups = result.stdout.split("groups: ", 1)[1].splitlines()[0].split()
    assert {"venue-agent", "audio", "video"} <= set(groups), groups
    assert "markers: removed" in result.stdout
    assert overlay_root.leftovers(tmp_path, "venue-agent") == []
