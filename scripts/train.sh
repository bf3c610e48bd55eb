#!/usr/bin/env bash
# Trains the Rasa model unless one trained on exactly the same config, domain and data exists.
# Usage: scripts/train.sh RASA_PY full|test -> prints the model path.
# "test" trains fewer epochs: the same pipeline, quick enough for CI.
source "$(dirname "$0")/lib.sh"
RASA_PY="$1"; profile="${2:-full}"
cd "$ROOT"
config="nlu/config.yml"
if [ "$profile" = test ]; then
  config="$VAR/config.test.yml"
  sed 's/^\(    epochs:\) .*/\1 40/' nlu/config.yml > "$config"
fi
key=$(hash_files "$config" nlu/domain.yml requirements/rasa.txt $(find nlu/data nlu/dict -type f | sort))
models="$HALL_CACHE/rasa-models"
name="$profile-$key"
if [ ! -f "$models/$name.tar.gz" ]; then
  mkdir -p "$VAR/logs"
  trainlog="$VAR/logs/train-$profile.log"
  log "training the Rasa model ($profile; a few minutes; log: $trainlog)"
  started=$(date +%s)
  if ! "$RASA_PY" -m rasa train --config "$config" --domain nlu/domain.yml --data nlu/data \
      --out "$models" --fixed-model-name "$name" > "$trainlog" 2>&1; then
    tail -n 40 "$trainlog" >&2
    die "rasa train failed (full log: $trainlog)"
  fi
  log "trained in $(( $(date +%s) - started ))s"
fi
echo "$models/$name.tar.gz"
