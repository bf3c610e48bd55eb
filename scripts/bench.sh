#!/usr/bin/env bash
# `make bench`: starts a stack on its own ports (base 28080) with the full model, runs
# scripts/bench.py against it, prints the figures and stops the stack.
source "$(dirname "$0")/lib.sh"
setup=$("$ROOT/scripts/setup.sh" full)
read -r APP_PY RASA_PY E5_MODEL RASA_MODEL <<< "$setup"
base=${BENCH_PORT_BASE:-28080}
bench_var="$VAR/bench"
rm -rf "$bench_var"; mkdir -p "$bench_var"
"$APP_PY" "$ROOT/scripts/stack.py" --model "$RASA_MODEL" --e5-model "$E5_MODEL" --app-python "$APP_PY" \
  --rasa-python "$RASA_PY" --var "$bench_var" --port-base "$base" > "$bench_var/stack.out" 2>&1 &
stack_pid=$!
trap 'kill -TERM $stack_pid 2>/dev/null; wait $stack_pid 2>/dev/null' EXIT
until grep -q "\[stack\] ready" "$bench_var/stack.out"; do
  kill -0 $stack_pid 2>/dev/null || { cat "$bench_var/stack.out"; die "stack did not start"; }
  sleep 1
done
"$APP_PY" "$ROOT/scripts/bench.py" --gateway "http://127.0.0.1:$base" --rasa "http://127.0.0.1:$((base + 1))" \
  --stack-pid $stack_pid "$@"
