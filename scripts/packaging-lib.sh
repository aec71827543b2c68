# shellcheck shell=bash
# Shared by scripts/bundle.sh and scripts/build-deb.sh (sourced, never run): the project's version,
# the Debian packages by role (scripts/apt-packages.txt), the systemd files, the project wheel and
# the wheels of its runtime dependencies for Debian 12 / CPython 3.11 on amd64 or arm64.
#
# The caller sets PKG_TOOL (its name, for messages) and PKG_ROOT (the checkout) before sourcing.

# Exit status when the dependency wheels cannot be had: no registry reachable and no cache holding
# them. tests/test_bundle.py and tests/test_deb.py skip on it (any other failure fails them).
PKG_EXIT_NO_WHEELS=3

pkg_die() {
    echo "$PKG_TOOL: error: $*" >&2
    exit 1
}

pkg_note() {
    echo "$PKG_TOOL: $*" >&2
}

# The project's version, from agent/__init__.py (pyproject.toml reads it from there too).
pkg_version() {
    local version
    version="$(sed -n 's/^__version__ = "\([^"]*\)"$/\1/p' "$PKG_ROOT/agent/__init__.py")"
    [[ -n $version ]] || pkg_die "no __version__ = \"…\" line in $PKG_ROOT/agent/__init__.py"
    echo "$version"
}

# The Debian packages of scripts/apt-packages.txt that have ROLE in their role column, one a line.
pkg_debian_packages() {
    local role="$1" list="$PKG_ROOT/scripts/apt-packages.txt"
    [[ -r $list ]] || pkg_die "cannot read $list"
    sed -e 's/#.*//' "$list" | awk -v role="$role" -v list="$list" '
        NF == 0 { next }
        NF < 2 { printf "%s: package %s has no role column (runtime, optional, test, demo)\n", list, $1 > "/dev/stderr"; bad = 1; next }
        { n = split($2, roles, ","); for (i = 1; i <= n; i++) if (roles[i] == role) print $1 }
        END { exit bad }' || pkg_die "scripts/apt-packages.txt: every line needs a role"
}

# The lines (with their comments) of scripts/apt-packages.txt whose roles include runtime or
# optional: what a venue PC needs, for the bundle's debian-packages.txt.
pkg_debian_package_lines() {
    awk '/^[[:space:]]*#/ || NF == 0 { next }
        { n = split($2, roles, ","); for (i = 1; i <= n; i++) if (roles[i] == "runtime" || roles[i] == "optional") { print; next } }' \
        "$PKG_ROOT/scripts/apt-packages.txt"
}

# The four systemd files every install carries (written with the unit, docs/service.md).
PKG_SYSTEMD_FILES=(venue-agent.service venue-agent.sysusers venue-agent.tmpfiles 60-venue-agent-ping.conf)

# The directory holding them: systemd/ of the checkout.
pkg_systemd_dir() {
    local dir="$PKG_ROOT/systemd" name missing=()
    for name in "${PKG_SYSTEMD_FILES[@]}"; do
        [[ -r $dir/$name ]] || missing+=("systemd/$name")
    done
    ((${#missing[@]} == 0)) || pkg_die "missing from the checkout: ${missing[*]} (the unit, sysusers.d, tmpfiles.d and sysctl.d files of docs/service.md)"
    echo "$dir"
}

# pip's machine name for a Debian architecture.
pkg_machine() {
    case "$1" in
    amd64) echo x86_64 ;;
    arm64) echo aarch64 ;;
    *) pkg_die "unsupported architecture '$1' (amd64 or arm64)" ;;
    esac
}

# A Python that has pip, to build and download with: $PYTHON, else the checkout's .venv, else python3.
pkg_python() {
    local python="${PYTHON:-}"
    if [[ -z $python ]]; then
        if [[ -x $PKG_ROOT/.venv/bin/python ]]; then python="$PKG_ROOT/.venv/bin/python"; else python=python3; fi
    fi
    "$python" -m pip --version >/dev/null 2>&1 || pkg_die "$python has no pip (set PYTHON= to a Python with pip, or run bash scripts/setup.sh)"
    echo "$python"
}

# Builds the project wheel into OUTDIR from a copy of the sources (so that setuptools' build/ and
# egg-info never land in the working tree other people use). Prints the wheel's path.
pkg_build_project_wheel() {
    local python="$1" outdir="$2" src
    src="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$src'" RETURN
    (cd "$PKG_ROOT" && cp -a pyproject.toml README.md agent collectors contract hub probes sim "$src/") ||
        pkg_die "cannot copy the sources from $PKG_ROOT"
    find "$src" -name __pycache__ -prune -exec rm -rf {} +
    mkdir -p "$outdir"
    if ! "$python" -m pip wheel -q --no-deps -w "$outdir" "$src" >"$src.log" 2>&1; then
        # Without a registry the isolated build cannot fetch setuptools; the local one will do.
        pkg_note "isolated wheel build failed; retrying with the installed setuptools (--no-build-isolation)"
        "$python" -m pip wheel -q --no-deps --no-build-isolation -w "$outdir" "$src" >>"$src.log" 2>&1 ||
            { cat "$src.log" >&2; rm -f "$src.log"; pkg_die "building the venue-agent wheel failed (pip wheel, log above)"; }
    fi
    rm -f "$src.log"
    local wheel
    wheel="$(ls "$outdir"/venue_agent-"$(pkg_version)"-*.whl 2>/dev/null | head -n1)"
    [[ -n $wheel ]] || pkg_die "pip wheel made no venue_agent-$(pkg_version)-*.whl in $outdir"
    echo "$wheel"
}

# pip download's target options for Debian 12 (glibc 2.36) and CPython 3.11 on ARCH. pip does not
# widen a manylinux_2_X tag to the older ones a system also runs, so every one is named.
pkg_pip_target() {
    local machine glibc
    machine="$(pkg_machine "$1")"
    for glibc in $(seq 36 -1 17); do
        printf -- '--platform\nmanylinux_2_%s_%s\n' "$glibc" "$machine"
    done
    printf -- '--platform\nmanylinux2014_%s\n' "$machine" # manylinux2014 also takes 2010 and 1
    printf -- '%s\n' --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none --only-binary=:all:
}

# pip with none of this machine's pip configuration (config files, PIP_* variables): what the
# offline steps use, so that only the directories named on the command line are read.
pkg_pip_isolated() {
    local python="$1"
    shift
    env $(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/-u \1/p') PIP_CONFIG_FILE=/dev/null \
        "$python" -m pip "$@"
}

# Puts into OUTDIR the project wheel and the wheels of every runtime dependency for ARCH.
# With CACHE, wheels come from there when it holds them all (no registry asked) and are otherwise
# downloaded into it first; without, they are downloaded straight into OUTDIR.
# Exits with PKG_EXIT_NO_WHEELS when no registry answers and the cache cannot serve.
pkg_fetch_wheels() {
    local python="$1" arch="$2" project_wheel="$3" outdir="$4" cache="${5:-}" offline="${6:-0}"
    local version projdir target
    version="$(pkg_version)"
    projdir="$(dirname "$project_wheel")"
    mapfile -t target < <(pkg_pip_target "$arch")
    mkdir -p "$outdir"
    if [[ -n $cache ]]; then
        mkdir -p "$cache" || pkg_die "cannot create the wheel cache $cache"
        # One filler at a time (two builds in parallel, e.g. the bundle's and the .deb's tests).
        local lock_fd
        exec {lock_fd}>"$cache/.lock" || pkg_die "cannot open $cache/.lock"
        flock "$lock_fd" || pkg_die "cannot lock $cache/.lock"
        if pkg_pip_isolated "$python" download -q --no-index --find-links "$projdir" --find-links "$cache" \
            "${target[@]}" -d "$outdir" "venue-agent==$version" >/dev/null 2>&1; then
            pkg_note "dependency wheels for $arch taken from the cache $cache (delete it to take newer releases)"
            return 0
        fi
        ((offline == 0)) || {
            pkg_note "the cache $cache does not hold every wheel venue-agent $version needs for $arch, and --offline forbids the registry"
            exit "$PKG_EXIT_NO_WHEELS"
        }
        pkg_note "filling the cache $cache from the registry for $arch"
        pkg_download "$python" "$projdir" "$cache" "${target[@]}"
        rm -f "$cache"/venue_agent-*.whl # the project wheel is built afresh each time, never cached
        pkg_pip_isolated "$python" download -q --no-index --find-links "$projdir" --find-links "$cache" \
            "${target[@]}" -d "$outdir" "venue-agent==$version" ||
            pkg_die "the cache $cache was filled, yet pip cannot resolve venue-agent $version from it"
    else
        ((offline == 0)) || { pkg_note "--offline needs --wheel-cache DIR"; exit "$PKG_EXIT_NO_WHEELS"; }
        pkg_download "$python" "$projdir" "$outdir" "${target[@]}"
    fi
}

# pip download from the registries this machine's pip is configured for (its pip.conf, PIP_*).
pkg_download() {
    local python="$1" projdir="$2" dest="$3"
    shift 3
    local log
    log="$(mktemp)"
    if ! "$python" -m pip download -q --find-links "$projdir" "$@" -d "$dest" "venue-agent==$(pkg_version)" >"$log" 2>&1; then
        grep -v "^WARNING: Location" "$log" >&2 || true
        rm -f "$log"
        local probe reachable=1
        probe="$(mktemp -d)"
        "$python" -m pip download -q --no-deps --timeout 15 --retries 1 -d "$probe" pip >/dev/null 2>&1 || reachable=0
        rm -rf "$probe"
        if ((reachable == 0)); then
            pkg_note "no package registry answers (pip download pip failed too), and no cache holds the wheels"
            exit "$PKG_EXIT_NO_WHEELS"
        fi
        pkg_die "pip download of venue-agent's runtime dependencies failed (output above): a dependency without a wheel for this target?"
    fi
    rm -f "$log"
}

# The environment file template (/etc/venue-agent/venue-agent.env): one commented line for every
# *_env variable the example config names, for the unit's EnvironmentFile=.
pkg_env_template() {
    local example="$1"
    echo "# venue-agent's environment file: secrets the config names with *_env = \"VAR\" (docs/config.md)."
    echo "# Read by the unit (EnvironmentFile=, docs/service.md). Mode 0640 root:venue-agent."
    echo "# One VAR=value a line; uncomment and fill in the ones your venue.toml uses."
    sed -n 's/^[[:space:]]*[a-z_]*_env[[:space:]]*=[[:space:]]*"\([A-Za-z_][A-Za-z0-9_]*\)".*/#\1=/p' "$example" | awk '!seen[$0]++'
}
