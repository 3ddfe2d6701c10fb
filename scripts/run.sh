#!/usr/bin/env bash
# The main job on a fresh machine: install, build the graph (SHACL-gated), and show what it answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/sitegraph build
.venv/bin/sitegraph stats
for q in queries/sites-by-country.rq queries/figures-with-qualifiers.rq; do
  echo
  echo "== sitegraph query $q"
  .venv/bin/sitegraph query "$q"
done
