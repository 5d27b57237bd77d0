#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (as root): installs what is missing, then
#   ./dev.sh run    start arspay in demo mode (private Redis, HTTP API, FastAGI, PG simulator)
#   ./dev.sh test   run the whole test suite
#   ./dev.sh setup  only install
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need_apt+=(sox)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts its own redis service on 6379; arspay runs a private one instead.
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"arspay needs Python >= 3.11, this is {sys.version.split()[0]}")
PY

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.arspay-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi

case "${1:-run}" in
  setup) ;;
  run) shift || true; exec .venv/bin/arspay demo "$@" ;;
  test) shift || true; exec .venv/bin/python -m pytest "$@" ;;
  *) echo "usage: ./dev.sh [run|test|setup]" >&2; exit 2 ;;
esac
