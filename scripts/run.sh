#!/usr/bin/env bash
# The main job on a fresh machine: install, build the graph (SHACL-gated), and serve the SPARQL endpoint with
# its query page on the embedded store (granian running the WSGI app: the fastest launch measured by
# `python -m server.bench`; gunicorn with server/gunicorn.conf.py is the alternative). Ctrl-C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/sitegraph build
.venv/bin/sitegraph stats
host="${SITEGRAPH_HOST:-127.0.0.1}"
port="${SITEGRAPH_PORT:-8000}"
echo
echo "== serving http://$host:$port/ (query page), http://$host:$port/sparql (endpoint); Ctrl-C stops"
workers="${SITEGRAPH_WORKERS:-$(nproc)}"
threads="${SITEGRAPH_THREADS:-2}"
# On SIGTERM (or Ctrl-C) granian stops accepting, lets requests in flight finish and exits; a worker still busy
# after SITEGRAPH_GRACEFUL_TIMEOUT seconds is killed.
graceful="${SITEGRAPH_GRACEFUL_TIMEOUT:-20}"
# The workers' counts for /metrics (server/ops.py), added up at each scrape: a fresh folder for every start.
PROMETHEUS_MULTIPROC_DIR="$(mktemp -d "${TMPDIR:-/tmp}/sitegraph-metrics.XXXXXX")"
export PROMETHEUS_MULTIPROC_DIR
exec .venv/bin/granian --interface wsgi --no-ws --host "$host" --port "$port" \
  --workers "$workers" --blocking-threads "$threads" --workers-kill-timeout "$graceful" server.wsgi:app
