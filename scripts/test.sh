#!/usr/bin/env bash
# All checks on a fresh machine: install (with test extras and Java), lint, build, verify quotes, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== sitegraph build"
.venv/bin/sitegraph build --quiet
echo "== sitegraph reason (HermiT over ontology/ and the release)"
.venv/bin/sitegraph reason
echo "== sitegraph lint (errors fail)"
.venv/bin/sitegraph lint
echo "== sitegraph diff --check-release (a changed ontology needs a new version, versionIRI and CHANGELOG line)"
.venv/bin/sitegraph diff --check-release
corpus="${SITEGRAPH_CORPUS_DIR:-../shared/corpus}"
if [ -d "$corpus" ]; then
  echo "== sitegraph verify --corpus $corpus"
  .venv/bin/sitegraph verify --corpus "$corpus"
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs the corpus at $corpus to verify the evidence quotes" >&2
  exit 1
else
  echo "== (no corpus at $corpus: evidence quotes not verified; set SITEGRAPH_CORPUS_DIR)"
fi
echo "== pytest"
.venv/bin/python -m pytest "$@"
echo "== endpoint tests served from remote stores (store = remote): oxigraph serve, then Virtuoso"
endpoint_tests=(tests/test_sparql_protocol.py tests/test_linked_data.py tests/test_api.py)
.venv/bin/python -m pytest -q "${endpoint_tests[@]}" --store-backend oxigraph
# Virtuoso 7.2 fails queries/figures-at-least.rq when the threshold has a fraction (e.g. 1000000.5): "22003 Error
# SR128: Numeric value out of range for <temporary space column>" (a fractional xsd:decimal GROUP BY key together
# with GROUP_CONCAT and an ORDER BY); the API test that sends such a threshold is left out here.
.venv/bin/python -m pytest -q "${endpoint_tests[@]}" --store-backend virtuoso \
  --deselect tests/test_api.py::test_typed_parameters_integer_decimal_and_language_tagged
