#!/usr/bin/env bash
# `make run`: set up once, then start the whole stack in the foreground.
source "$(dirname "$0")/lib.sh"
setup=$("$ROOT/scripts/setup.sh" full)   # fails the script if set-up fails
read -r APP_PY RASA_PY E5_MODEL RASA_MODEL <<< "$setup"
exec "$APP_PY" "$ROOT/scripts/stack.py" --model "$RASA_MODEL" --e5-model "$E5_MODEL" \
  --app-python "$APP_PY" --rasa-python "$RASA_PY" --var "$VAR"
