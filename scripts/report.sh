#!/usr/bin/env bash
# `make report`: the analytics report of the running stack (`make run`) as PNG charts, CSV tables
# and JSON under var/reports/. PERIOD=week|month|year (default week), DATE=YYYY-MM-DD (a day in
# the period, default today), OUT=folder.
source "$(dirname "$0")/lib.sh"
APP_VENV=$(ensure_venv app 3.11 "$ROOT/requirements/app.txt")
cd "$ROOT"
exec "$APP_VENV/bin/python" -m staff.analytics_report --period "${PERIOD:-week}" --out "${OUT:-$VAR/reports}" \
  ${DATE:+--date "$DATE"}
