#!/usr/bin/env bash
# `make nlu-report`: Rasa's data validator and 5-fold cross-validated NLU evaluation.
# The reports are kept in nlu/reports/ (commit them with the data they describe).
source "$(dirname "$0")/lib.sh"
RASA_VENV=$(ensure_venv rasa 3.10 "$ROOT/requirements/rasa.txt")
APP_VENV=$(ensure_venv app 3.11 "$ROOT/requirements/app.txt")
cd "$ROOT"
"$APP_VENV/bin/python" -m knowledge.export_lookups
out="nlu/reports"
mkdir -p "$out"
"$RASA_VENV/bin/python" -m rasa data validate --config nlu/config.yml --domain nlu/domain.yml --data nlu/data \
  2>&1 | grep -v -e "pypi-more" -e "Warning: " | tee "$out/validate.txt"
"$RASA_VENV/bin/python" -m rasa test nlu --config nlu/config.yml --nlu nlu/data --cross-validation --folds 5 \
  --out "$out" 2>&1 | grep -E "INFO +rasa.(nlu.test|model_testing)" | tee "$out/cross_validation.txt"
