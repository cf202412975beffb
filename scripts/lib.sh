# Shared helpers for scripts/test.sh and scripts/demo.sh (sourced, not run).
#
# Everything lives inside the clone: .venv (the project), .venv-meltano (Meltano, kept apart
# because its dependencies are not the tap's). A second run reuses both; a changed
# pyproject.toml reinstalls the project.

MELTANO_VERSION="4.4.1"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The repository root, whatever the current directory.
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# A Python >= 3.11: $PYTHON, else python3.11, else python3.
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)"
}

_pip() { "$1/bin/python" -m pip install --quiet --disable-pip-version-check "${@:2}"; }

# ensure_project_venv DIR TARGET: the project installed editable into DIR, TARGET being "."
# (runtime, the demo) or ".[test,...]" (scripts/test.sh: ".[test,orchestration,distributed]"),
# with the emulator (its own distribution, emulator/) beside it. Skipped when DIR already holds
# them for these two pyproject.toml files (a test install serves the runtime too).
ensure_project_venv() {
    local venv="$1" target="$2" python stamp want
    want="$(cat pyproject.toml emulator/pyproject.toml | sha256sum | cut -d' ' -f1) $target"
    stamp="$venv/.data365-installed"
    if [[ -x "$venv/bin/python" && -f "$stamp" ]] \
        && { grep -qxF "$want" "$stamp" || { [[ "$target" == "." ]] \
            && grep -qF "${want% *} .[test" "$stamp"; }; }; then
        say "reusing $venv ($target)"
        return 0
    fi
    python="$(find_python)"
    say "installing the project ($target) into $venv"
    [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
    _pip "$venv" --upgrade pip
    _pip "$venv" -e "$target" -e ./emulator
    echo "$want" >>"$stamp"
}

# ensure_meltano DIR: Meltano $MELTANO_VERSION in its own virtualenv, with its S3 state
# backend and a PostgreSQL driver for its system database (workers on several hosts:
# orchestration/README.md).
ensure_meltano() {
    local venv="$1"
    if [[ -x "$venv/bin/meltano" ]] \
        && [[ "$("$venv/bin/meltano" --version 2>/dev/null)" == *"version $MELTANO_VERSION" ]] \
        && "$venv/bin/python" -c "import boto3, psycopg" 2>/dev/null; then
        say "reusing $venv (meltano $MELTANO_VERSION)"
        return 0
    fi
    say "installing meltano $MELTANO_VERSION into $venv"
    [[ -x "$venv/bin/python" ]] || "$(find_python)" -m venv "$venv"
    _pip "$venv" --upgrade pip
    _pip "$venv" "meltano[s3,postgres]==$MELTANO_VERSION"
}
