#!/usr/bin/env bash
# Command 2: set everything up, then lint and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
echo "test: ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { .venv/bin/ruff format --diff . | head -50; exit 1; }
echo "test: pytest"
# Two workers (pytest-xdist): most tests wait on real peers (brokers, agents, PostgreSQL), so two
# run side by side on two cores in about two thirds of the time. VENUE_TEST_WORKERS=0 runs serially.
# The suite starts hundreds of agent, hub and CLI processes from this checkout; with
# PYTHONDONTWRITEBYTECODE set (some machines set it globally) each compiles the project's modules
# again (~0.1 s a start, measured). Let them keep their bytecode (__pycache__ is git-ignored).
unset PYTHONDONTWRITEBYTECODE
# loadgroup: tests marked with one xdist_group share a worker, so a module fixture that builds a
# bundle or polls a simulator through every state runs once, not once per worker.
exec .venv/bin/python -m pytest -n "${VENUE_TEST_WORKERS:-2}" --dist loadgroup "$@"
