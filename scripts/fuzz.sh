#!/usr/bin/env bash
# The longer fuzz run (docs/fuzzing.md): each atheris harness in fuzz/ for --minutes N (default 2),
# coverage-guided, one after the other, then the suite's hypothesis fuzz tests with --scale times
# their examples (default 10). Bounded: every target stops after its minutes (and is killed three
# minutes later if not: imports and corpus loading come first); the hypothesis part is killed after 30 min.
#
#   scripts/fuzz.sh [--minutes N] [--targets config_file,ics,...] [--scale N] [--work DIR] [--no-hypothesis]
#
# Corpora are kept in --work (default /tmp/venue-agent-fuzz/<target>) so a later run goes on from
# them; an input that breaks a target is saved as <work>/<target>-crash-* and the run exits 1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MINUTES=2
TARGETS="commands,config_file,ics,snmp_values,xapi_codec,gear_output,status_leaves"
WORK="${TMPDIR:-/tmp}/venue-agent-fuzz"
HYPOTHESIS=1
SCALE=10
while (($#)); do
    case "$1" in
        --minutes) MINUTES="$2"; shift 2 ;;
        --targets) TARGETS="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        --scale) SCALE="$2"; shift 2 ;;
        --no-hypothesis) HYPOTHESIS=0; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "fuzz: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "fuzz: --minutes takes a number" >&2; exit 2; }
[[ "$SCALE" =~ ^[0-9]+$ ]] || { echo "fuzz: --scale takes a whole number" >&2; exit 2; }

if ! .venv/bin/python -c 'import atheris' 2>/dev/null; then
    echo "fuzz: installing atheris (the project's [fuzz] extra)"
    .venv/bin/python -m pip install -q -e ".[fuzz]" 2>&1 | grep -v '^WARNING: Location' || true
fi

SECONDS_PER_TARGET=$(.venv/bin/python -c "print(max(1, round(float('$MINUTES') * 60)))")
mkdir -p "$WORK"
failed=()
IFS=',' read -ra NAMES <<< "$TARGETS"
for name in "${NAMES[@]}"; do
    [[ -f "fuzz/$name.py" ]] || { echo "fuzz: no harness fuzz/$name.py" >&2; exit 2; }
    echo "fuzz: $name for ${SECONDS_PER_TARGET} s (corpus $WORK/$name)"
    log="$WORK/$name.log"
    set +e
    timeout --kill-after=10 $((SECONDS_PER_TARGET + 180)) .venv/bin/python -m "fuzz.$name" "$WORK/$name" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=3000 -print_final_stats=1 \
        -artifact_prefix="$WORK/$name-" >"$log" 2>&1
    code=$?
    set -e
    runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
    coverage=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 || true)
    if ((code == 0)); then
        echo "fuzz: $name ok: $runs inputs, ${coverage:-cov ?}"
    else
        echo "fuzz: $name FAILED (exit $code); the input is in $WORK/$name-*; log $log" >&2
        grep -E -A25 'Traceback|ERROR: libFuzzer' "$log" | head -40 >&2 || true
        failed+=("$name")
    fi
done

if ((HYPOTHESIS)); then
    echo "fuzz: the suite's hypothesis fuzz tests, $SCALE times their examples"
    set +e
    FUZZ_EXAMPLES_SCALE="$SCALE" timeout --kill-after=10 1800 \
        .venv/bin/python -m pytest -q -p no:cacheprovider -o addopts="" --timeout=0 \
        tests/test_fuzz_*.py
    code=$?
    set -e
    ((code == 0)) || failed+=("hypothesis")
fi

if ((${#failed[@]})); then
    echo "fuzz: failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: every target ran its time without a finding"
