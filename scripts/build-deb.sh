#!/usr/bin/env bash
# Builds venue-agent as a Debian package with Debian's own dpkg-deb, on a machine that reaches the
# package registries (or has a wheel cache, as scripts/bundle.sh):
#
#   bash scripts/build-deb.sh [--arch amd64|arm64] [--out DIR] [--wheel-cache DIR] [--offline]
#
# writes DIR/venue-agent_<version>_<arch>.deb (default DIR: dist/). The package carries the same
# content as the bundle: the wheels (/usr/share/venue-agent/wheels), the unit
# (/usr/lib/systemd/system), the sysusers.d, tmpfiles.d and sysctl.d files, the config
# (/etc/venue-agent/venue.toml from the county example, and venue-agent.env, both conffiles), the
# docs (/usr/share/doc/venue-agent). Its postinst creates the user (systemd-sysusers), builds
# /opt/venue-agent/venv from the shipped wheels with pip --no-index, applies tmpfiles and sysctl and
# reloads systemd; it never enables or starts the service (the admin's config comes first). prerm
# stops and disables it; postrm removes the venv; purge removes /etc/venue-agent and
# /var/lib/venue-agent too (the user stays, as Debian packages leave system users).
set -euo pipefail

PKG_TOOL=build-deb.sh
PKG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/packaging-lib.sh
source "$PKG_ROOT/scripts/packaging-lib.sh"

ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
OUT="$PKG_ROOT/dist"
CACHE=""
OFFLINE=0
while (($#)); do
    case "$1" in
    --arch) ARCH="${2:?--arch needs amd64 or arm64}"; shift 2 ;;
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --wheel-cache) CACHE="${2:?--wheel-cache needs a directory}"; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    -h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) pkg_die "unknown argument: $1 (see --help)" ;;
    esac
done
pkg_machine "$ARCH" >/dev/null
command -v dpkg-deb >/dev/null || pkg_die "dpkg-deb not found (Debian package dpkg)"

VERSION="$(pkg_version)"
SYSTEMD_DIR="$(pkg_systemd_dir)"
PYTHON="$(pkg_python)"
mkdir -p "$OUT" || pkg_die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PKG="$WORK/pkg"
SHARE="$PKG/usr/share/venue-agent"
umask 022
mkdir -p "$SHARE/wheels" "$PKG/DEBIAN" "$PKG/usr/lib/systemd/system" "$PKG/usr/lib/sysusers.d" \
    "$PKG/usr/lib/tmpfiles.d" "$PKG/usr/lib/sysctl.d" "$PKG/usr/share/doc/venue-agent" "$PKG/usr/bin"

pkg_note "building venue-agent_${VERSION}_$ARCH.deb"
PROJECT_WHEEL="$(pkg_build_project_wheel "$PYTHON" "$WORK/project")"
pkg_fetch_wheels "$PYTHON" "$ARCH" "$PROJECT_WHEEL" "$SHARE/wheels" "$CACHE" "$OFFLINE"
[[ -e $SHARE/wheels/$(basename "$PROJECT_WHEEL") ]] || cp "$PROJECT_WHEEL" "$SHARE/wheels/"
chmod 0644 "$SHARE"/wheels/*.whl

# The files of the package.
install -m 0755 "$PKG_ROOT/scripts/install-bundle.sh" "$SHARE/install.sh" # --venv-only and --rollback
install -m 0644 "$PKG_ROOT/config/county.example.toml" "$SHARE/county.example.toml"
pkg_env_template "$PKG_ROOT/config/county.example.toml" >"$SHARE/venue-agent.env.example"
install -m 0644 "$SYSTEMD_DIR/venue-agent.service" "$PKG/usr/lib/systemd/system/venue-agent.service"
install -m 0644 "$SYSTEMD_DIR/venue-agent.sysusers" "$PKG/usr/lib/sysusers.d/venue-agent.conf"
install -m 0644 "$SYSTEMD_DIR/venue-agent.tmpfiles" "$PKG/usr/lib/tmpfiles.d/venue-agent.conf"
install -m 0644 "$SYSTEMD_DIR/60-venue-agent-ping.conf" "$PKG/usr/lib/sysctl.d/60-venue-agent-ping.conf"
install -m 0644 "$PKG_ROOT/docs/install.md" "$PKG/usr/share/doc/venue-agent/install.md"
[[ ! -r $PKG_ROOT/docs/service.md ]] || install -m 0644 "$PKG_ROOT/docs/service.md" "$PKG/usr/share/doc/venue-agent/service.md"
printf 'venue-agent %s\nLicense: proprietary (pyproject.toml); the wheels under /usr/share/venue-agent/wheels carry their own licences.\n' \
    "$VERSION" >"$PKG/usr/share/doc/venue-agent/copyright"
ln -s /opt/venue-agent/venv/bin/venue-agent "$PKG/usr/bin/venue-agent"
# The config: owned root:root in the package (the group venue-agent does not exist at unpack);
# the tmpfiles.d file, applied by postinst and at every boot, makes them root:venue-agent.
install -d -m 0750 "$PKG/etc/venue-agent"
install -d -m 0700 "$PKG/etc/venue-agent/credentials"
install -m 0640 "$PKG_ROOT/config/county.example.toml" "$PKG/etc/venue-agent/venue.toml"
install -m 0640 "$SHARE/venue-agent.env.example" "$PKG/etc/venue-agent/venue-agent.env"
printf '%s\n' /etc/venue-agent/venue.toml /etc/venue-agent/venue-agent.env >"$PKG/DEBIAN/conffiles"

# Depends: the runtime lines of scripts/apt-packages.txt (python3 pinned to the wheels' 3.11) and
# systemd (sysusers, tmpfiles, the unit); Recommends: the optional lines.
depends=()
while read -r pkg; do
    if [[ $pkg == python3 ]]; then depends+=("python3 (>= 3.11~)" "python3 (<< 3.12)"); else depends+=("$pkg"); fi
done < <(pkg_debian_packages runtime)
depends+=(systemd)
mapfile -t recommends < <(pkg_debian_packages optional)
recommends+=(procps)
join() {
    local IFS=$'\x1f'
    local s="$*"
    echo "${s//$'\x1f'/, }"
}
installed_kb="$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)"
cat >"$PKG/DEBIAN/control" <<EOF
Package: venue-agent
Version: $VERSION
Architecture: $ARCH
Maintainer: ${DEBFULLNAME:-venue-agent maintainers} <${DEBEMAIL:-venue-agent@localhost}>
Installed-Size: $installed_kb
Depends: $(join "${depends[@]}")
Recommends: $(join "${recommends[@]}")
Section: net
Priority: optional
Description: video-conference venue monitoring agent (Jilin 2013 rules, Art. 13/14/17)
 Monitors a government video-conference branch venue (codec, network gear, picture, sound,
 schedule) and reports to the provincial hub over MQTT. The Python packages are shipped as
 wheels; postinst builds /opt/venue-agent/venv from them without any network.
 .
 Installing does not start the service: edit /etc/venue-agent/venue.toml, run
 venue-agent config check --service -c /etc/venue-agent/venue.toml, then
 systemctl enable --now venue-agent (docs: /usr/share/doc/venue-agent/install.md).
EOF

cat >"$PKG/DEBIAN/preinst" <<'EOF'
#!/bin/sh
# venue-agent preinst: refuse to install over an offline-bundle install (its unit in /etc would
# shadow this package's, and both would manage /opt/venue-agent).
set -e
case "$1" in
install | upgrade)
    if [ -e /opt/venue-agent/share/BUNDLE ]; then
        echo "venue-agent: installed from an offline bundle here; remove it first (config and state are kept):" >&2
        echo "  /opt/venue-agent/share/install.sh --uninstall" >&2
        exit 1
    fi
    ;;
esac
exit 0
EOF

cat >"$PKG/DEBIAN/postinst" <<EOF
#!/bin/sh
# venue-agent postinst: the service user, the venv from the shipped wheels (no network), the
# directories and sysctl; never enables or starts the service.
set -e
VERSION="$VERSION"
EOF
cat >>"$PKG/DEBIAN/postinst" <<'EOF'
case "$1" in
configure)
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers /usr/lib/sysusers.d/venue-agent.conf
    elif ! getent passwd venue-agent >/dev/null; then
        getent group venue-agent >/dev/null || groupadd --system venue-agent
        useradd --system --gid venue-agent --home-dir /var/lib/venue-agent --no-create-home \
            --shell /usr/sbin/nologin --comment "venue-agent video-conference monitor" venue-agent
        for group in audio video; do
            if getent group "$group" >/dev/null; then usermod -a -G "$group" venue-agent; fi
        done
    fi
    VENUE_AGENT_VERSION="$VERSION" /usr/share/venue-agent/install.sh --venv-only \
        --wheels /usr/share/venue-agent/wheels --python /usr/bin/python3
    systemd-tmpfiles --create /usr/lib/tmpfiles.d/venue-agent.conf
    if command -v sysctl >/dev/null 2>&1; then
        sysctl -q -p /usr/lib/sysctl.d/60-venue-agent-ping.conf ||
            echo "venue-agent: warning: sysctl -p /usr/lib/sysctl.d/60-venue-agent-ping.conf failed; it applies at next boot" >&2
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        if [ -n "$2" ]; then
            systemctl try-restart venue-agent.service # an upgrade: back on the new venv if it was running
        fi
    fi
    if [ -z "$2" ]; then
        echo "venue-agent: installed, not started. Edit /etc/venue-agent/venue.toml (and venue-agent.env), run"
        echo "  venue-agent config check --service -c /etc/venue-agent/venue.toml"
        echo "then: systemctl enable --now venue-agent"
    fi
    ;;
esac
exit 0
EOF

cat >"$PKG/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# venue-agent prerm: stop and disable the service when the package is removed (an upgrade keeps
# it running; postinst restarts it on the new venv).
set -e
case "$1" in
remove | deconfigure)
    if [ -d /run/systemd/system ]; then
        systemctl stop venue-agent.service || true
    fi
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --no-reload disable venue-agent.service >/dev/null 2>&1 || true
    fi
    ;;
esac
exit 0
EOF

cat >"$PKG/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# venue-agent postrm: remove removes the venvs postinst built; purge also the config directory
# (what dpkg does not own: credentials, TLS files, host keys) and the state. The user stays.
set -e
case "$1" in
remove | purge)
    rm -rf /opt/venue-agent/venv /opt/venue-agent/venv.previous /opt/venue-agent/venv-* /opt/venue-agent/venv.new
    rmdir /opt/venue-agent 2>/dev/null || true
    if [ "$1" = purge ]; then
        rm -rf /etc/venue-agent /var/lib/venue-agent
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
    fi
    ;;
esac
exit 0
EOF
chmod 0755 "$PKG/DEBIAN/preinst" "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/prerm" "$PKG/DEBIAN/postrm"
(cd "$PKG" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums) ||
    pkg_die "cannot write DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/conffiles" "$PKG/DEBIAN/md5sums"

DEB="$OUT/venue-agent_${VERSION}_$ARCH.deb"
# The wheels are zip files already: gzip is as small as xz here, and quick on a shared machine.
fake=()
command -v fakeroot >/dev/null && fake=(fakeroot)
"${fake[@]}" dpkg-deb --root-owner-group -Zgzip --build "$PKG" "$DEB.part" >/dev/null ||
    pkg_die "dpkg-deb --build failed"
mv -f "$DEB.part" "$DEB"
pkg_note "$(du -sh "$DEB" | cut -f1): install with dpkg -i $(basename "$DEB") (docs/install.md)"
echo "$DEB"
