#!/usr/bin/env bash
# Set-up shared by run.sh and test.sh: a virtual environment in .venv with sitegraph installed (editable),
# the query editor's browser files (npm ci into node_modules/), and, with --test, the test extras, a Java runtime
# for the HermiT reasoner and Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "sitegraph needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
extras=""
if [ "${1:-}" = "--test" ]; then
  extras="[test]"
  if ! command -v java >/dev/null 2>&1; then
    echo "== installing a Java runtime for the HermiT reasoner (Debian package default-jre-headless)"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
    fi
  fi
  if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Chromium for the browser tests (Debian package chromium)"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
  fi
  if ! command -v virtuoso-t >/dev/null 2>&1; then
    # The push tests start their own virtuoso-t (own ini, temporary folder, loopback ports); the package's system
    # service is not used, so it is stopped and disabled if the package started it.
    echo "== installing Virtuoso for the push tests (Debian package virtuoso-opensource)"
    preseed="virtuoso-opensource-7 virtuoso-opensource-7/dba-password password dba
virtuoso-opensource-7 virtuoso-opensource-7/dba-password-again password dba"
    stop_service="if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now virtuoso-opensource-7 >/dev/null 2>&1 || true
      else service virtuoso-opensource-7 stop >/dev/null 2>&1 || true; fi"
    if [ "$(id -u)" = 0 ]; then
      echo "$preseed" | debconf-set-selections
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource >/dev/null
      sh -c "$stop_service"
    else
      echo "$preseed" | sudo debconf-set-selections
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource >/dev/null
      sudo sh -c "$stop_service"
    fi
  fi
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)${extras:+-test}"
if [ ! -f "$stamp" ]; then
  echo "== installing sitegraph${extras} into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install --quiet --editable ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import graph, rdflib, pyoxigraph, pyshacl, owlready2, flask, yaml" \
    || { echo "installation failed" >&2; exit 2; }
  touch "$stamp"
fi
# The query editor (YASGUI) for the page at /: npm packages from package-lock.json into node_modules/.
if [ ! -f node_modules/@zazuko/yasgui/build/yasgui.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "== installing the query editor (npm ci)"
    if ! npm ci --no-audit --no-fund --loglevel=error >/dev/null; then
      echo "npm ci failed: the query page at / falls back to a plain form" >&2
      if [ "${1:-}" = "--test" ]; then exit 2; fi
    fi
  else
    echo "== npm not found: the query page at / offers a plain form; install Node.js and npm, then run 'npm ci'"
  fi
fi
