# Shared shell helpers for the setup, run and test scripts. Source it; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Machine-wide cache for what is slow to build and safe to share between clones:
# virtualenvs and the trained Rasa model, each keyed by a hash of its inputs.
HALL_CACHE="${HALL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hall-assistant}"
VAR="${HALL_VAR:-$ROOT/var}"
mkdir -p "$HALL_CACHE" "$VAR"
export RASA_TELEMETRY_ENABLED=false
# Rasa's training cache would otherwise land in ./.rasa of whatever folder trains.
export RASA_CACHE_DIRECTORY="$HALL_CACHE/rasa-train-cache"
export TF_CPP_MIN_LOG_LEVEL=2
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

log() { printf '\033[1;34m[hall]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[hall] %s\033[0m\n' "$*" >&2; exit 1; }

hash_files() { cat "$@" | sha256sum | cut -c1-16; }

# python_for VERSION -> path of a pyenv interpreter of that minor version
python_for() {
  local want="$1" root
  root="${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"
  local p
  p=$(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V | tail -n1)
  [ -n "$p" ] && [ -x "$p/bin/python" ] || die "Python $want not found under $root/versions (pyenv install $want)"
  echo "$p/bin/python"
}

# ensure_venv NAME PYVER REQFILE -> prints the venv path; builds it once per requirements hash
ensure_venv() {
  local name="$1" pyver="$2" req="$3"
  local dir="$HALL_CACHE/venv-$name-$(hash_files "$req")"
  if [ ! -f "$dir/.complete" ]; then
    log "building $name venv (Python $pyver) in $dir"
    rm -rf "$dir"
    "$(python_for "$pyver")" -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade "pip<25" setuptools wheel >&2
    "$dir/bin/pip" install -q -r "$req" >&2
    touch "$dir/.complete"
  fi
  echo "$dir"
}
