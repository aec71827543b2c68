#!/usr/bin/env bash
# Sets up a checkout: Debian packages (when root), the virtual environment at .venv/, the project
# installed editable with its test extras. Sourced by scripts/demo.sh and scripts/test.sh; safe to
# run again (it skips what is already done).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Debian packages the agent, its demo and its tests use: every line of scripts/apt-packages.txt,
# whatever its role column says (runtime, optional, test, demo); comments allowed.
mapfile -t APT_PACKAGES < <(sed -e 's/#.*//' scripts/apt-packages.txt | awk 'NF { print $1 }')

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: these Debian packages are missing: ${missing[*]}" >&2
        echo "setup: run as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi

if [[ ! -x .venv/bin/python ]]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi

# Reinstall only when the dependency list changed.
stamp=.venv/.venue-agent-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    echo "setup: installing venue-agent and its test tools into .venv"
    .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -c 'import agent, paho.mqtt, pydantic, rich, click' # fail loudly if the install did not take
    echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
