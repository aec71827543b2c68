#!/usr/bin/env bash
# venue-agent's offline installer: install.sh at the top of the bundle scripts/bundle.sh makes, and
# /opt/venue-agent/share/install.sh (or /usr/share/venue-agent/install.sh from the .deb) once
# installed, for rolling back. Needs no network: Python packages come from the bundle's wheels/.
#
#   ./install.sh [--root DIR] [--python PATH] [--start]   install, or upgrade what is installed
#   ./install.sh --rollback [--root DIR]                    back to the venv before the last upgrade
#   ./install.sh --uninstall [--purge] [--root DIR]         remove (--purge: config and state too)
#   ./install.sh --check                                    only list missing Debian packages
#
# Installs (docs/install.md): the service user venue-agent (systemd-sysusers with the shipped
# sysusers.d file, useradd where there is none), the venv /opt/venue-agent/venv-<version>-<time>
# behind the symlink /opt/venue-agent/venv (the previous one stays as venv.previous, for
# --rollback), /etc/venue-agent/venue.toml from the example (never overwriting one), the optional
# env file, the state directory, the unit in /etc/systemd/system, the tmpfiles.d, sysusers.d and
# sysctl.d files; then applies them (systemd-tmpfiles --create, sysctl --system, daemon-reload).
# The service is started only with --start.
#
# --root DIR installs into a throwaway root instead of / (tests): nothing is applied to the running
# system (no sysctl, no systemctl), and the Debian packages are checked on this machine, not in DIR.
set -euo pipefail

TOOL=install.sh
die() {
    echo "$TOOL: error: $*" >&2
    exit 1
}
say() { echo "$TOOL: $*"; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT=""
PYTHON_BIN="${VENUE_AGENT_PYTHON:-/usr/bin/python3}"
MODE=install
START=0
PURGE=0
NO_SYSUSERS=0
SKIP_DEBIAN_CHECK=0
WHEELS=""
VENV_ONLY=0

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --root DIR           install under DIR instead of / (no sysctl, no systemctl)
  --python PATH        the Python 3.11 the venv is made with (default /usr/bin/python3,
                       or $VENUE_AGENT_PYTHON)
  --start              enable and start venue-agent.service afterwards
  --skip-debian-check  do not stop when a runtime Debian package is missing
  --no-sysusers        create the user with useradd even where systemd-sysusers exists
  --wheels DIR         take the wheels from DIR (default: wheels/ beside this script)
  --venv-only          only build and switch the venv (the .deb's postinst)
EOF
}

while (($#)); do
    case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --root=*) ROOT="${1#--root=}"; shift ;;
    --python) PYTHON_BIN="${2:?--python needs a path}"; shift 2 ;;
    --python=*) PYTHON_BIN="${1#--python=}"; shift ;;
    --wheels) WHEELS="${2:?--wheels needs a directory}"; shift 2 ;;
    --start) START=1; shift ;;
    --rollback) MODE=rollback; shift ;;
    --uninstall) MODE=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    --check) MODE=check; shift ;;
    --venv-only) VENV_ONLY=1; shift ;;
    --no-sysusers) NO_SYSUSERS=1; shift ;;
    --skip-debian-check) SKIP_DEBIAN_CHECK=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

if [[ -n $ROOT ]]; then
    mkdir -p "$ROOT" || die "cannot create the root $ROOT"
    ROOT="$(cd "$ROOT" && pwd)"
    [[ $ROOT != / ]] || ROOT=""
fi
APPLY=1 # apply to the running system (sysctl, systemctl); never inside a throwaway root
[[ -z $ROOT ]] || APPLY=0
if [[ $(id -u) -ne 0 && $MODE != check ]]; then
    [[ -n $ROOT ]] || die "run as root (sudo ./install.sh), or give --root DIR for a throwaway root"
fi
IS_ROOT=0
[[ $(id -u) -ne 0 ]] || IS_ROOT=1

OPT=/opt/venue-agent
VENV_LINK="$ROOT$OPT/venv"
PREVIOUS_LINK="$ROOT$OPT/venv.previous"
ETC=/etc/venue-agent
STATE=/var/lib/venue-agent
USER_NAME=venue-agent

systemd_running() { ((APPLY)) && [[ -d /run/systemd/system ]]; }

# The bundle's own facts (BUNDLE, written by scripts/bundle.sh): VERSION, ARCH.
bundle_var() {
    local file="$HERE/BUNDLE"
    [[ -r $file ]] || die "no BUNDLE file beside $0: run the install.sh at the top of an unpacked bundle"
    sed -n "s/^$1=//p" "$file"
}

# ---------------------------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------------------------

# The runtime packages this bundle was built for (debian-packages.txt, role runtime) not installed.
missing_debian_packages() {
    local list="$HERE/debian-packages.txt" pkg
    [[ -r $list ]] || die "no debian-packages.txt beside $0"
    while read -r pkg; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
    done < <(sed -e 's/#.*//' "$list" | awk '$2 ~ /(^|,)runtime(,|$)/ { print $1 }')
}

# Installs PACKAGES from the bundle's debs/ (a flat apt repository) with apt, no network.
install_debs_from_bundle() {
    local repo="$HERE/debs" lists
    lists="$(mktemp -d)"
    echo "deb [trusted=yes] file:$repo ./" >"$lists/bundle.list"
    say "installing Debian packages from the bundle's debs/: $*"
    local apt_opts=(-o "Dir::Etc::SourceList=$lists/bundle.list" -o "Dir::Etc::SourceParts=-"
        -o "Dir::State::Lists=$lists" -o "APT::Get::List-Cleanup=0")
    mkdir -p "$lists/partial"
    DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq ||
        die "apt-get update from $repo failed"
    DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "$@" ||
        die "apt-get install $* from $repo failed"
    rm -rf "$lists"
}

check_debian_packages() {
    local missing
    mapfile -t missing < <(missing_debian_packages)
    ((${#missing[@]})) || { say "runtime Debian packages present"; return 0; }
    if [[ $MODE == check ]]; then
        echo "missing: ${missing[*]}"
        exit 1
    fi
    if ((APPLY && IS_ROOT)) && [[ -r $HERE/debs/Packages ]]; then
        install_debs_from_bundle "${missing[@]}"
        return 0
    fi
    local message="missing Debian packages: ${missing[*]}. Install them from the office's Debian 12 mirror
  (apt-get install --no-install-recommends ${missing[*]}; docs/install.md, 'Debian packages'), or use a
  bundle made with scripts/bundle.sh --with-debs, then run this again"
    if ((SKIP_DEBIAN_CHECK || !APPLY)); then
        echo "$TOOL: warning: $message" >&2
    else
        die "$message"
    fi
}

# ---------------------------------------------------------------------------------------------
# The user, the files
# ---------------------------------------------------------------------------------------------

# A group's or user's number from the root's own files (DIR/etc/group, DIR/etc/passwd).
id_in_root() {
    local file="$1" name="$2"
    awk -F: -v n="$name" '$1 == n { print $3; exit }' "$ROOT/etc/$file" 2>/dev/null
}

create_user() {
    if [[ -n "$(id_in_root passwd "$USER_NAME")" ]]; then
        say "user $USER_NAME exists"
        return 0
    fi
    mkdir -p "$ROOT/etc"
    local sysusers_conf="$ROOT/usr/lib/sysusers.d/venue-agent.conf"
    if ((!NO_SYSUSERS)) && command -v systemd-sysusers >/dev/null; then
        say "creating user $USER_NAME with systemd-sysusers"
        if [[ -n $ROOT ]]; then
            systemd-sysusers --root="$ROOT" "$sysusers_conf" || die "systemd-sysusers --root=$ROOT $sysusers_conf failed"
        else
            systemd-sysusers "$sysusers_conf" || die "systemd-sysusers $sysusers_conf failed"
        fi
    else
        command -v useradd >/dev/null || die "neither systemd-sysusers nor useradd found to create user $USER_NAME"
        say "creating user $USER_NAME with useradd"
        local root_opt=() groups=() group
        [[ -z $ROOT ]] || root_opt=(--root "$ROOT")
        for group in audio video; do
            [[ -z "$(id_in_root group "$group")" ]] || groups+=("$group")
        done
        [[ -n "$(id_in_root group "$USER_NAME")" ]] || groupadd "${root_opt[@]}" --system "$USER_NAME" ||
            die "groupadd $USER_NAME failed"
        useradd "${root_opt[@]}" --system --gid "$USER_NAME" ${groups:+--groups "$(
            IFS=,
            echo "${groups[*]}"
        )"} \
            --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin \
            --comment "venue-agent monitoring agent" "$USER_NAME" || die "useradd $USER_NAME failed"
    fi
    [[ -n "$(id_in_root passwd "$USER_NAME")" ]] || die "user $USER_NAME still missing from $ROOT/etc/passwd"
}

# chown that tolerates a non-root run into a throwaway root (ownership then stays the caller's).
own() {
    local owner="$1" path="$2" user group uid gid
    user="${owner%%:*}" group="${owner##*:}"
    uid="$(id_in_root passwd "$user")" gid="$(id_in_root group "$group")"
    [[ $user != root ]] || uid=0
    [[ $group != root ]] || gid=0
    [[ -n $uid && -n $gid ]] || die "no $owner in $ROOT/etc/passwd or group"
    if ((IS_ROOT)); then
        chown "$uid:$gid" "$path" || die "chown $owner $path failed"
    fi
}

install_file() { # MODE SOURCE DEST
    install -D -m "$1" "$2" "$ROOT$3" || die "cannot install $2 as $ROOT$3"
}

install_system_files() {
    local sd="$HERE/systemd"
    install_file 0644 "$sd/venue-agent.sysusers" /usr/lib/sysusers.d/venue-agent.conf
    install_file 0644 "$sd/venue-agent.tmpfiles" /usr/lib/tmpfiles.d/venue-agent.conf
    install_file 0644 "$sd/60-venue-agent-ping.conf" /usr/lib/sysctl.d/60-venue-agent-ping.conf
    install_file 0644 "$sd/venue-agent.service" /etc/systemd/system/venue-agent.service
}

install_config() {
    install -d -m 0750 "$ROOT$ETC" && own root:$USER_NAME "$ROOT$ETC"
    chmod 0750 "$ROOT$ETC"
    install -d -m 0700 "$ROOT$ETC/credentials" && own root:root "$ROOT$ETC/credentials"
    local conf="$ROOT$ETC/venue.toml" envfile="$ROOT$ETC/venue-agent.env"
    if [[ -e $conf ]]; then
        say "keeping the existing $ETC/venue.toml"
        local group
        group="$(stat -c %G "$conf" 2>/dev/null || true)"
        [[ $group == "$USER_NAME" || -n $ROOT ]] ||
            echo "$TOOL: warning: $ETC/venue.toml is not group $USER_NAME; the service cannot read it: chgrp $USER_NAME $ETC/venue.toml && chmod 0640 $ETC/venue.toml" >&2
    else
        install -m 0640 "$HERE/config/county.example.toml" "$conf" || die "cannot write $conf"
        own root:$USER_NAME "$conf"
        say "wrote $ETC/venue.toml from the county example: edit it (docs/config.md)"
    fi
    if [[ ! -e $envfile ]]; then
        install -m 0640 "$HERE/config/venue-agent.env.example" "$envfile" || die "cannot write $envfile"
        own root:$USER_NAME "$envfile"
        say "wrote $ETC/venue-agent.env (the *_env secrets the config names, commented out)"
    fi
}

install_state_dir() {
    install -d -m 0700 "$ROOT$STATE" && own $USER_NAME:$USER_NAME "$ROOT$STATE"
}

install_share() { # copies kept under /opt/venue-agent/share, so that --rollback needs no bundle
    local share="$ROOT$OPT/share"
    mkdir -p "$share/systemd" "$share/config" || die "cannot create $share"
    install -m 0755 "$HERE/install.sh" "$share/install.sh"
    install -m 0644 "$HERE/BUNDLE" "$HERE/debian-packages.txt" "$share/"
    install -m 0644 "$HERE"/systemd/* "$share/systemd/"
    install -m 0644 "$HERE"/config/* "$share/config/"
    # The unit's Documentation= points at /usr/share/doc/venue-agent/service.md.
    [[ ! -d $HERE/docs ]] || install -D -m 0644 "$HERE"/docs/*.md -t "$ROOT/usr/share/doc/venue-agent/"
}

install_command_link() {
    local link="$ROOT/usr/local/bin/venue-agent"
    mkdir -p "$(dirname "$link")"
    if [[ -e $link && ! -L $link ]]; then
        echo "$TOOL: warning: $link exists and is not our symlink; left alone" >&2
        return 0
    fi
    ln -sfn "$OPT/venv/bin/venue-agent" "$link"
}

# ---------------------------------------------------------------------------------------------
# The venv
# ---------------------------------------------------------------------------------------------

check_python() {
    [[ -x $PYTHON_BIN ]] || command -v "$PYTHON_BIN" >/dev/null || die "no Python at $PYTHON_BIN (--python PATH; Debian package python3)"
    "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
        die "$PYTHON_BIN is $("$PYTHON_BIN" --version 2>&1); the wheels are for CPython 3.11 (Debian 12's python3)"
    "$PYTHON_BIN" -c 'import ensurepip, venv' 2>/dev/null ||
        die "$PYTHON_BIN has no venv/ensurepip (Debian package python3-venv)"
}

check_machine() {
    local arch want have
    arch="$(bundle_var ARCH)"
    case "$arch" in amd64) want=x86_64 ;; arm64) want=aarch64 ;; *) die "BUNDLE names an unknown ARCH '$arch'" ;; esac
    have="$(uname -m)"
    [[ $have == "$want" ]] || die "this bundle is for $arch ($want); this machine is $have: use the $have bundle"
}

# Builds a fresh venv from the wheels, then points /opt/venue-agent/venv at it; the one it pointed
# at becomes venv.previous; venvs older than that are removed.
build_venv() {
    local version="$1" wheels="$2" stamp new
    [[ -d $wheels ]] || die "no wheels directory at $wheels"
    stamp="$(date +%Y%m%d%H%M%S)"
    new="venv-$version-$stamp"
    mkdir -p "$ROOT$OPT"
    if [[ -e $VENV_LINK && ! -L $VENV_LINK ]]; then
        die "$VENV_LINK is a directory, not this installer's symlink: move it away first"
    fi
    say "creating $OPT/$new with $PYTHON_BIN"
    # Made at its final path (a venv's scripts name their interpreter by absolute path).
    "$PYTHON_BIN" -m venv "$ROOT$OPT/$new" || die "$PYTHON_BIN -m venv $ROOT$OPT/$new failed"
    say "installing venue-agent $version from $wheels (pip --no-index: no registry is asked)"
    # None of this machine's pip settings: only the wheels named here are read.
    if ! env $(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/-u \1/p') PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 \
        "$ROOT$OPT/$new/bin/python" -m pip install -q --no-index --no-cache-dir --disable-pip-version-check \
        --find-links "$wheels" "venue-agent==$version"; then
        rm -rf "$ROOT$OPT/$new"
        die "pip install --no-index of venue-agent $version from $wheels failed (output above); nothing changed"
    fi
    "$ROOT$OPT/$new/bin/venue-agent" --version >/dev/null ||
        { rm -rf "$ROOT$OPT/$new"; die "the new venv's venue-agent --version failed; nothing changed"; }
    local old=""
    [[ ! -L $VENV_LINK ]] || old="$(readlink "$VENV_LINK")"
    ln -sfn "$new" "$ROOT$OPT/venv.new" && mv -Tf "$ROOT$OPT/venv.new" "$VENV_LINK" || die "cannot switch $VENV_LINK to $new"
    if [[ -n $old && $old != "$new" ]]; then
        ln -sfn "$old" "$ROOT$OPT/venv.previous.new" && mv -Tf "$ROOT$OPT/venv.previous.new" "$PREVIOUS_LINK"
        say "previous venv kept for --rollback: $OPT/$old"
    fi
    prune_venvs
    say "venv ready: $OPT/venv -> $new ($(du -sh "$ROOT$OPT/$new" | cut -f1))"
}

prune_venvs() {
    local keep_current keep_previous dir name
    keep_current="$(readlink "$VENV_LINK" 2>/dev/null || true)"
    keep_previous="$(readlink "$PREVIOUS_LINK" 2>/dev/null || true)"
    for dir in "$ROOT$OPT"/venv-*; do
        [[ -d $dir ]] || continue
        name="$(basename "$dir")"
        [[ $name == "$keep_current" || $name == "$keep_previous" ]] || rm -rf "$dir"
    done
}

# ---------------------------------------------------------------------------------------------
# Applying, the modes
# ---------------------------------------------------------------------------------------------

apply_system() {
    if [[ -n $ROOT ]]; then
        systemd-tmpfiles --root="$ROOT" --create "$ROOT/usr/lib/tmpfiles.d/venue-agent.conf" ||
            die "systemd-tmpfiles --root=$ROOT --create failed"
        return 0
    fi
    if command -v systemd-tmpfiles >/dev/null; then
        systemd-tmpfiles --create /usr/lib/tmpfiles.d/venue-agent.conf || die "systemd-tmpfiles --create venue-agent.conf failed"
    fi
    sysctl --system >/dev/null || die "sysctl --system failed (it loads /usr/lib/sysctl.d/60-venue-agent-ping.conf)"
    if systemd_running; then
        systemctl daemon-reload || die "systemctl daemon-reload failed"
    else
        say "systemd is not running here: the unit is installed but not loaded"
    fi
}

restart_if_running() {
    systemd_running || return 0
    systemctl try-restart venue-agent.service || die "systemctl try-restart venue-agent failed (journalctl -u venue-agent)"
}

refuse_if_deb() {
    [[ -z $ROOT ]] || return 0
    if dpkg-query -W -f='${Status}' venue-agent 2>/dev/null | grep -q "install ok installed"; then
        die "venue-agent is installed as a Debian package here: upgrade with dpkg -i, remove with apt remove (docs/install.md)"
    fi
}

do_install() {
    refuse_if_deb
    local version upgrade=0
    version="$(bundle_var VERSION)"
    check_machine
    check_python
    check_debian_packages
    [[ ! -L $VENV_LINK ]] || upgrade=1
    install_system_files
    create_user
    install_config
    install_state_dir
    build_venv "$version" "${WHEELS:-$HERE/wheels}"
    install_share
    install_command_link
    apply_system
    if ((upgrade)); then
        restart_if_running
        say "upgraded to venue-agent $version (config and state kept); back with: $OPT/share/install.sh --rollback"
    else
        say "installed venue-agent $version"
    fi
    if ((START)); then
        systemd_running || die "--start: systemd is not running here"
        systemctl enable --now venue-agent.service || die "systemctl enable --now venue-agent failed (journalctl -u venue-agent)"
        say "venue-agent.service enabled and started"
    elif ((!upgrade)); then
        say "next: edit $ETC/venue.toml and $ETC/venue-agent.env, run venue-agent config check --service -c $ETC/venue.toml, then systemctl enable --now venue-agent"
    fi
}

do_rollback() {
    [[ -L $PREVIOUS_LINK ]] || die "no previous venv to roll back to ($PREVIOUS_LINK missing: nothing was upgraded)"
    local current previous
    current="$(readlink "$VENV_LINK")" previous="$(readlink "$PREVIOUS_LINK")"
    [[ -d $ROOT$OPT/$previous ]] || die "$OPT/$previous is gone; cannot roll back"
    ln -sfn "$previous" "$ROOT$OPT/venv.new" && mv -Tf "$ROOT$OPT/venv.new" "$VENV_LINK"
    ln -sfn "$current" "$ROOT$OPT/venv.previous.new" && mv -Tf "$ROOT$OPT/venv.previous.new" "$PREVIOUS_LINK"
    restart_if_running
    say "rolled back: $OPT/venv -> $previous ($("$VENV_LINK/bin/venue-agent" --version 2>/dev/null || echo '?')); $current kept as venv.previous (run --rollback again to return)"
}

do_uninstall() {
    refuse_if_deb
    if systemd_running; then
        systemctl disable --now venue-agent.service 2>/dev/null || true
    fi
    rm -f "$ROOT/etc/systemd/system/venue-agent.service" "$ROOT/usr/lib/tmpfiles.d/venue-agent.conf" \
        "$ROOT/usr/lib/sysctl.d/60-venue-agent-ping.conf" "$ROOT/usr/lib/sysusers.d/venue-agent.conf"
    [[ ! -L $ROOT/usr/local/bin/venue-agent ]] || rm -f "$ROOT/usr/local/bin/venue-agent"
    rm -rf "$ROOT$OPT" "$ROOT/usr/share/doc/venue-agent"
    if systemd_running; then systemctl daemon-reload; fi
    if ((PURGE)); then
        rm -rf "$ROOT$ETC" "$ROOT$STATE"
        say "removed venue-agent, its config ($ETC) and its state ($STATE); the user $USER_NAME is kept (userdel $USER_NAME)"
    else
        say "removed venue-agent; kept $ETC and $STATE (--purge removes them) and the user $USER_NAME"
    fi
}

case "$MODE" in
check) check_debian_packages ;;
rollback) do_rollback ;;
uninstall) do_uninstall ;;
install)
    if ((VENV_ONLY)); then
        check_python
        build_venv "${VENUE_AGENT_VERSION:?--venv-only needs VENUE_AGENT_VERSION}" "${WHEELS:?--venv-only needs --wheels DIR}"
    else
        do_install
    fi
    ;;
esac
