#!/usr/bin/env bash
# Set up Integration Lab on a fresh machine: a virtualenv in .venv with the lab installed.
# Idempotent: re-running only reinstalls when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${LAB_VENV:-.venv}
PYTHON=${PYTHON:-python3}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup: $PYTHON not found; install Python 3.10+ (or set PYTHON=/path/to/python3)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup: Integration Lab needs Python 3.10 or newer; $PYTHON is $("$PYTHON" -V 2>&1)." >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV" >&2
  if ! "$PYTHON" -m venv "$VENV"; then
    echo "setup: could not create a virtualenv; on Debian/Ubuntu run: apt-get install python3-venv" >&2
    exit 1
  fi
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || ! "$VENV/bin/python" -c 'import labkit' 2>/dev/null; then
  echo "setup: installing Integration Lab and its dependencies into $VENV (first time: a minute or two)" >&2
  # pip's output goes to a log, shown only if the install fails: setuptools prints a boxed warning
  # about editable installs on every success, which reads like an error on a first start.
  log="$VENV/install.log"
  if ! { "$VENV/bin/python" -m pip install --quiet --upgrade pip &&
         "$VENV/bin/python" -m pip install --quiet --progress-bar off -e '.[dev]'; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: the install failed (above; also in $log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
echo "setup: ready ($("$VENV/bin/python" -V), $VENV)" >&2
