#!/usr/bin/env bash
# The demo: the whole pipeline on this machine, no account needed.
#
#   local emulator -> `meltano invoke tap-data365:setup` (declare + wait for 3 collection tasks)
#   -> `meltano run tap-data365 target-duckdb` -> output/demo.duckdb -> row counts + samples
#
# The Meltano project is this clone's meltano.yml as it is (the tap installs from the clone,
# `pip_url: -e .`); Meltano's own folder (installed plugins, sync state, logs) is .demo/meltano
# (MELTANO_SYS_DIR_ROOT), so the demo leaves .meltano/ to your own runs. Run it again: Meltano
# keeps the sync state there, so the second run loads only what is new. Start over with
# `bash scripts/demo.sh --reset` (removes .demo/ and output/demo.duckdb: state, installed
# plugins, logs, the run counter).
#
# Needs Python 3.11, pip and network access to PyPI (first run only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
started=$SECONDS

if [[ "${1:-}" == "--reset" ]]; then
    rm -rf .demo output/demo.duckdb
    say "demo reset: .demo/ and output/demo.duckdb removed"
    exit 0
fi
[[ $# -eq 0 ]] || die "usage: bash scripts/demo.sh [--reset]"

mkdir -p .demo output
# pip's own notices (e.g. about an index this machine's pip.conf names) go to .demo/pip.log,
# not the screen; a failed install prints the whole log. A child bash, so that `set -e` holds
# inside the install functions (a function called in an `if` runs without it).
if ! bash -euo pipefail -c 'source scripts/lib.sh; ensure_project_venv .venv "."
        ensure_meltano .venv-meltano' 2> >(tee .demo/pip.log | grep --line-buffered '^==> ' >&2)
then
    cat .demo/pip.log >&2
    die "installing the project or Meltano failed (log: .demo/pip.log)"
fi
export PATH="$PWD/.venv-meltano/bin:$PATH"
export MELTANO_ENVIRONMENT=emulator
export MELTANO_SYS_DIR_ROOT="$PWD/.demo/meltano"

# --- the emulator: a local Datastreamer API on a free port, stopped on exit
emulator_pid=""
stop_emulator() {
    if [[ -n "$emulator_pid" ]]; then
        kill -TERM "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
        emulator_pid=""
    fi
}
trap stop_emulator EXIT
coproc EMULATOR {
    exec .venv/bin/python -m data365_emulator --port 0 --api-key emulator-key \
        --scale "${DEMO_SCALE:-0.1}" --polls-to-finish 3 --posts-per-task 200 \
        2>.demo/emulator.log
}
emulator_pid=$EMULATOR_PID
# The emulator prints one line once it is ready: wait for that line, not for a clock.
if ! IFS= read -r -t 120 line <&"${EMULATOR[0]}" || [[ "$line" != "emulator listening on "* ]]; then
    cat .demo/emulator.log >&2
    die "the emulator did not start"
fi
export DATA365_EMULATOR_URL="${line#emulator listening on }"
say "emulator at $DATA365_EMULATOR_URL"

say "meltano install"
meltano install >.demo/meltano-install.log 2>&1 \
    || { cat .demo/meltano-install.log >&2; die "meltano install failed"; }

duckdb_python="$MELTANO_SYS_DIR_ROOT/loaders/target-duckdb/venv/bin/python"
report() { "$duckdb_python" scripts/demo_report.py "$@"; }
report snapshot output/demo.duckdb >.demo/before.json

say "meltano invoke tap-data365:setup --wait   (the tasks declared in meltano.yml, environment 'emulator')"
meltano invoke tap-data365:setup --wait --timeout 300 2>.demo/setup.log \
    || { cat .demo/setup.log >&2; die "setup failed"; }

# A re-run against a fresh emulator would find exactly the same posts. Stand in for "time
# passed": from the second run on, one more task finishes first, bringing posts dated December
# 2024, i.e. older than the bookmark: late posts, which the incremental run must still load.
runs=$(( $(cat .demo/runs 2>/dev/null || echo 0) + 1 ))
if (( runs > 1 )); then
    say "run $runs: the emulator starts empty every run, so setup created and started the same 3 tasks again; the sync state is Meltano's (.demo/meltano) and was kept"
    say "run $runs: the emulator finishes one more task (new posts since the last run)"
    .venv/bin/python - "$DATA365_EMULATOR_URL" "$runs" <<'PY'
import json, sys, urllib.request
url, run = sys.argv[1], sys.argv[2]
def post(path, body):
    request = urllib.request.Request(url + "/_emulator/" + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)
post("tasks", {"source": "twitter_keywords", "value": f"demo rerun {run}", "status": "running",
               "from_date": "2024-12-01", "to_date": "2024-12-31"})
post("finish-running-tasks", {})
PY
fi

say "meltano run tap-data365 target-duckdb"
meltano run tap-data365 target-duckdb >.demo/run.log 2>&1 \
    || { tail -40 .demo/run.log >&2; die "meltano run failed (full log: .demo/run.log)"; }

echo "$runs" >.demo/runs
stop_emulator
report report output/demo.duckdb .demo/before.json
say "demo finished in $((SECONDS - started)) s; run it again to see an incremental load"
