#!/usr/bin/env bash
# Builds the offline install bundle of venue-agent for a Debian 12 venue PC, on a machine that
# reaches the package registries:
#
#   bash scripts/bundle.sh [--arch amd64|arm64] [--out DIR] [--wheel-cache DIR] [--offline] [--with-debs]
#
# writes DIR/venue-agent-<version>-debian12-<arch>.tar.gz (default DIR: dist/) and its .sha256.
# Unpacked, it holds install.sh (scripts/install-bundle.sh), wheels/ (the project and every runtime
# dependency, for CPython 3.11 on that architecture: pip download --only-binary=:all: --platform …,
# so an arm64 bundle builds on amd64 too), systemd/, config/ (the county example and an env file
# template), docs/install.md, debian-packages.txt (what the venue PC needs from Debian), BUNDLE
# and SHA256SUMS. docs/install.md says how to install it.
#
#   --wheel-cache DIR  reuse the dependency wheels in DIR when it holds them all (no registry asked),
#                      else download into DIR first (the tests keep one in ~/.cache)
#   --offline          never ask a registry: the cache must hold every wheel (exit 3 otherwise)
#   --with-debs        also put the runtime Debian packages and what they depend on into debs/,
#                      a flat apt repository the installer uses when the PC lacks them (apt-get
#                      download: needs this machine's apt sources, and --arch = this machine's)
set -euo pipefail

PKG_TOOL=bundle.sh
PKG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/packaging-lib.sh
source "$PKG_ROOT/scripts/packaging-lib.sh"

ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
OUT="$PKG_ROOT/dist"
CACHE=""
OFFLINE=0
WITH_DEBS=0
while (($#)); do
    case "$1" in
    --arch) ARCH="${2:?--arch needs amd64 or arm64}"; shift 2 ;;
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --wheel-cache) CACHE="${2:?--wheel-cache needs a directory}"; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    --with-debs) WITH_DEBS=1; shift ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) pkg_die "unknown argument: $1 (see --help)" ;;
    esac
done
pkg_machine "$ARCH" >/dev/null

VERSION="$(pkg_version)"
SYSTEMD_DIR="$(pkg_systemd_dir)"
PYTHON="$(pkg_python)"
NAME="venue-agent-$VERSION-debian12-$ARCH"
mkdir -p "$OUT" || pkg_die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/$NAME"
mkdir -p "$STAGE"/{wheels,systemd,config,docs}

pkg_note "building venue-agent $VERSION for Debian 12 $ARCH"
PROJECT_WHEEL="$(pkg_build_project_wheel "$PYTHON" "$WORK/project")"
pkg_fetch_wheels "$PYTHON" "$ARCH" "$PROJECT_WHEEL" "$STAGE/wheels" "$CACHE" "$OFFLINE"
[[ -e $STAGE/wheels/$(basename "$PROJECT_WHEEL") ]] || cp "$PROJECT_WHEEL" "$STAGE/wheels/"

install -m 0755 "$PKG_ROOT/scripts/install-bundle.sh" "$STAGE/install.sh"
for name in "${PKG_SYSTEMD_FILES[@]}"; do
    install -m 0644 "$SYSTEMD_DIR/$name" "$STAGE/systemd/$name"
done
install -m 0644 "$PKG_ROOT/config/county.example.toml" "$STAGE/config/county.example.toml"
pkg_env_template "$PKG_ROOT/config/county.example.toml" >"$STAGE/config/venue-agent.env.example"
install -m 0644 "$PKG_ROOT/docs/install.md" "$STAGE/docs/install.md"
[[ ! -r $PKG_ROOT/docs/service.md ]] || install -m 0644 "$PKG_ROOT/docs/service.md" "$STAGE/docs/service.md"
{
    echo "# Debian 12 packages venue-agent $VERSION needs on the venue PC (from scripts/apt-packages.txt)."
    echo "# runtime: required (install.sh stops without them); optional: a feature or a person uses it."
    pkg_debian_package_lines
} >"$STAGE/debian-packages.txt"

if ((WITH_DEBS)); then
    [[ $ARCH == "$(dpkg --print-architecture)" ]] ||
        pkg_die "--with-debs fetches this machine's architecture only ($(dpkg --print-architecture)), not $ARCH"
    command -v apt-get >/dev/null && command -v dpkg-scanpackages >/dev/null ||
        pkg_die "--with-debs needs apt-get and dpkg-scanpackages (Debian package dpkg-dev)"
    mapfile -t RUNTIME_DEBS < <(pkg_debian_packages runtime)
    # The packages and everything they depend on (not recommends): a minimal Debian 12 has most.
    mapfile -t CLOSURE < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "${RUNTIME_DEBS[@]}" | awk '/^[a-z0-9]/ { print }' | sort -u)
    mkdir -p "$STAGE/debs"
    pkg_note "apt-get download: ${#CLOSURE[@]} Debian packages (${RUNTIME_DEBS[*]} and their dependencies)"
    ! id _apt >/dev/null 2>&1 || chown _apt "$STAGE/debs" # apt's download sandbox user writes there
    (cd "$STAGE/debs" && apt-get download -qq "${CLOSURE[@]}") ||
        pkg_die "apt-get download of the runtime Debian packages failed (apt-get update first?)"
    chown -R 0:0 "$STAGE/debs"
    (cd "$STAGE/debs" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null) ||
        pkg_die "dpkg-scanpackages over debs/ failed"
fi

{
    echo "VERSION=$VERSION"
    echo "ARCH=$ARCH"
    echo "PYTHON=cpython-3.11"
    echo "DEBIAN=12"
    echo "COMMIT=$(git -C "$PKG_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "BUILT=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$STAGE/BUNDLE"
(cd "$STAGE" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum >SHA256SUMS) ||
    pkg_die "cannot write SHA256SUMS"

TARBALL="$OUT/$NAME.tar.gz"
tar -C "$WORK" --owner=0 --group=0 --numeric-owner -czf "$TARBALL.part" "$NAME" || pkg_die "tar of $NAME failed"
mv -f "$TARBALL.part" "$TARBALL"
(cd "$OUT" && sha256sum "$NAME.tar.gz" >"$NAME.tar.gz.sha256")
pkg_note "$(ls "$STAGE/wheels" | wc -l) wheels, $(du -sh "$TARBALL" | cut -f1) — unpack: tar xzf $NAME.tar.gz && cd $NAME && sudo ./install.sh"
echo "$TARBALL"
