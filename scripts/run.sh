#!/usr/bin/env bash
# The main job on a fresh machine: install, build the graph (SHACL-gated), and serve the SPARQL endpoint with
# its query page on the embedded store (gunicorn, server/gunicorn.conf.py). Ctrl-C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/sitegraph build
.venv/bin/sitegraph stats | head -20
host="${SITEGRAPH_HOST:-127.0.0.1}"
port="${SITEGRAPH_PORT:-8000}"
echo
echo "== serving http://$host:$port/ (query page), http://$host:$port/sparql (endpoint); Ctrl-C stops"
exec .venv/bin/gunicorn -c server/gunicorn.conf.py server.wsgi:app
