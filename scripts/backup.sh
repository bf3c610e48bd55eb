#!/usr/bin/env bash
# `make backup` / `make restore`: python -m ops.backup in the app venv (built once, cached).
# Usage: scripts/backup.sh create [DIR] | restore DIR [--force]
source "$(dirname "$0")/lib.sh"
APP_VENV=$(ensure_venv app 3.11 "$ROOT/requirements/app.txt")
cd "$ROOT"
exec "$APP_VENV/bin/python" -m ops.backup "$@"
