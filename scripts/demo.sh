#!/usr/bin/env bash
# Command 1: set everything up, then run the agent on a simulated venue with its own broker and
# show live what the provincial hub receives. Extra arguments go to `python -m sim.demo`
# (e.g. --seconds 60, --no-outage).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec .venv/bin/python -m sim.demo "$@"
