#!/usr/bin/env bash
# `make test`: set up what the tests need, then run the whole suite. The end-to-end tests
# start their own stack (scripts/stack.py) on separate ports with the quick-trained model.
source "$(dirname "$0")/lib.sh"
setup=$("$ROOT/scripts/setup.sh" test)   # fails the script if set-up fails
read -r APP_PY RASA_PY E5_MODEL RASA_MODEL <<< "$setup"
export HALL_APP_PYTHON="$APP_PY" HALL_RASA_PYTHON="$RASA_PY" HALL_E5_MODEL="$E5_MODEL" HALL_RASA_MODEL="$RASA_MODEL"
cd "$ROOT"
exec "$APP_PY" -m pytest "$@"
