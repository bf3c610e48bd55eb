#!/usr/bin/env bash
# `make eval`: retrieval accuracy of each retriever variant on knowledge/eval/retrieval.yml.
source "$(dirname "$0")/lib.sh"
APP_VENV=$(ensure_venv app 3.11 "$ROOT/requirements/app.txt")
E5_MODEL=$(cd "$ROOT" && "$APP_VENV/bin/python" -m knowledge.embedding_model "$HALL_CACHE/models")
cd "$ROOT" && exec "$APP_VENV/bin/python" -m knowledge.evaluate "$E5_MODEL" "$HALL_CACHE/passage-vectors"
