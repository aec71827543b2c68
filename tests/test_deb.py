"""The Debian package (scripts/build-deb.sh): built once with dpkg-deb, its control data and files
read back with dpkg-deb --info/--contents, then installed with dpkg -i, upgraded, removed and
purged — in a copy-on-write copy of this machine (tests/overlay_root.py), so that the machine's
dpkg database, users, /etc and sysctls never change and the tests beside it see nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests import overlay_root
from tests.packaging_build import TECHNICIAN_CONFIGURES, TEST_ONLY_DEBIAN, TEST_ONLY_WHEELS, build, host_arch, version

# One worker builds the package once for all these tests (pytest -n 2 --dist loadgroup, scripts/test.sh).
pytestmark = [pytest.mark.timeout(600), pytest.mark.xdist_group("deb")]

CONFFILES = ["/etc/venue-agent/venue.toml", "/etc/venue-agent/venue-agent.env"]


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb for this machine's architecture (one build for the module)."""
    return build("build-deb.sh", tmp_path_factory.mktemp("deb-out"), host_arch())


def dpkg_deb(*args: str) -> str:
    result = subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"dpkg-deb {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_control_data(deb: Path) -> None:
    assert deb.name == f"venue-agent_{version()}_{host_arch()}.deb"
    fields = dict(
        line.split(": ", 1) for line in dpkg_deb("--field", str(deb)).splitlines() if ": " in line and line[:1] != " "
    )
    assert fields["Package"] == "venue-agent"
    assert fields["Version"] == version()
    assert fields["Architecture"] == host_arch()
    depends = [d.strip() for d in fields["Depends"].split(",")]
    for needed in ("python3-venv", "libportaudio2", "systemd", "python3 (>= 3.11~)", "python3 (<< 3.12)"):
        assert needed in depends, f"Depends lacks {needed}: {depends}"
    named = {re.split(r"[ (]", d)[0] for d in depends + fields.get("Recommends", "").split(",")}
    assert not named & set(TEST_ONLY_DEBIAN), f"test peers in Depends/Recommends: {named & set(TEST_ONLY_DEBIAN)}"
    info = dpkg_deb("--info", str(deb))
    for script in ("preinst", "postinst", "prerm", "postrm", "conffiles", "md5sums"):
        assert re.search(rf"\s{script}\s", info), f"no {script} in the control archive:\n{info}"
    assert dpkg_deb("--info", str(deb), "conffiles").split() == CONFFILES


def test_contents(deb: Path) -> None:
    listing = {}
    for line in dpkg_deb("--contents", str(deb)).splitlines():
        perms, owner, *_rest, name = line.split(None, 5)
        path = name.split(" -> ")[0].removeprefix(".").rstrip("/") or "/"
        listing[path] = (perms, owner)
    expected = {
        "/usr/lib/systemd/system/venue-agent.service": ("-rw-r--r--", "root/root"),
        "/usr/lib/sysusers.d/venue-agent.conf": ("-rw-r--r--", "root/root"),
        "/usr/lib/tmpfiles.d/venue-agent.conf": ("-rw-r--r--", "root/root"),
        "/usr/lib/sysctl.d/60-venue-agent-ping.conf": ("-rw-r--r--", "root/root"),
        "/etc/venue-agent": ("drwxr-x---", "root/root"),
        "/etc/venue-agent/credentials": ("drwx------", "root/root"),
        "/etc/venue-agent/venue.toml": ("-rw-r-----", "root/root"),
        "/etc/venue-agent/venue-agent.env": ("-rw-r-----", "root/root"),
        "/usr/share/venue-agent/install.sh": ("-rwxr-xr-x", "root/root"),
        "/usr/share/doc/venue-agent/install.md": ("-rw-r--r--", "root/root"),
        "/usr/bin/venue-agent": ("lrwxrwxrwx", "root/root"),
    }
    for path, want in expected.items():
        assert listing.get(path) == want, f"{path}: {listing.get(path)}, expected {want}"
    wheels = [p.rsplit("/", 1)[1].lower() for p in listing if p.startswith("/usr/share/venue-agent/wheels/")]
    assert any(w.startswith(f"venue_agent-{version()}-") for w in wheels)
    assert any(w.startswith("paho_mqtt-") for w in wheels)
    assert not [w for w in wheels if w.startswith(TEST_ONLY_WHEELS)], "test extras in the package"
    assert not [p for p in listing if p.startswith("/opt/")], "the venv is built by postinst, not shipped"


def test_install_upgrade_remove_purge(deb: Path, tmp_path: Path) -> None:
    reason = overlay_root.unavailable_reason()
    if reason:
        pytest.skip(f"no throwaway copy of this machine to dpkg -i into: {reason}")
    name = deb.name
    result = overlay_root.run_in_overlay(
        tmp_path,
        f"""
        deb=/mnt/deb/{name}
        say() {{ echo "step: $*"; }}
        dpkg -i "$deb"
        dpkg-query -W -f='${{Status}}\\n' venue-agent
        say "modes"; stat -c '%n %a %U:%G' /etc/venue-agent /etc/venue-agent/venue.toml \\
            /etc/venue-agent/venue-agent.env /etc/venue-agent/credentials /var/lib/venue-agent
        say "version"; venue-agent --version
        """
        + TECHNICIAN_CONFIGURES
        + """
        say "check"; venue-agent config check --service -c /etc/venue-agent/venue.toml
        say "nopytest"; /opt/venue-agent/venv/bin/python -c 'import pytest' 2>/dev/null && exit 9
        echo '# edited by the technician' >> /etc/venue-agent/venue.toml
        first=$(readlink /opt/venue-agent/venv)
        dpkg -i "$deb"
        say "kept"; tail -n 1 /etc/venue-agent/venue.toml
        test "$(readlink /opt/venue-agent/venv.previous)" = "$first"
        /usr/share/venue-agent/install.sh --rollback
        test "$(readlink /opt/venue-agent/venv)" = "$first"
        dpkg -r venue-agent
        say "removed"; test ! -e /opt/venue-agent && test ! -e /usr/bin/venue-agent
        test -e /etc/venue-agent/venue.toml  # a conffile: kept until purge
        dpkg --purge venue-agent
        say "purged"; test ! -e /etc/venue-agent && test ! -e /var/lib/venue-agent
        dpkg-query -W venue-agent 2>/dev/null && exit 8
        say "done"
        """,
        {deb.parent: "/mnt/deb"},
    )
    out = result.stdout
    assert result.returncode == 0, (out + result.stderr)[-4000:]
    for line in (
        "/etc/venue-agent 750 root:venue-agent",
        "/etc/venue-agent/venue.toml 640 root:venue-agent",
        "/etc/venue-agent/venue-agent.env 640 root:venue-agent",
        "/etc/venue-agent/credentials 700 root:root",
        "/var/lib/venue-agent 700 venue-agent:venue-agent",
    ):
        assert line in out, f"{line!r} not in:\n{out}"
    assert f"version {version()}" in out
    assert "OK: /etc/venue-agent/venue.toml" in out
    assert "step: kept\n# edited by the technician" in out
    assert "step: done" in out
    # Nothing of the package is left: no file whose name says venue-agent (the user stays, as
    # Debian packages leave system users; it is a line in /etc/passwd, not a file).
    assert overlay_root.leftovers(tmp_path, "venue-agent") == []
