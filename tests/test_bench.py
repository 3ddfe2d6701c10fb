"""The benchmark command runs end to end (a functional check, nothing is timed) and its HTTP reader is right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.bench import oxigraph_binary, parse_response, query_mix, with_defaults

ROOT = Path(__file__).resolve().parent.parent


def test_parse_response_knows_the_framings():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    assert parse_response(head + b"Content-Length: 5\r\n\r\nhel") is None
    assert parse_response(head + b"Content-Length: 5\r\n\r\nhelloHTTP/1.1") == (200, len(head) + 26, False)
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    assert parse_response(chunked) == (200, len(chunked), False)
    assert parse_response(chunked[:-2]) is None
    closing = b'HTTP/1.1 304 Not Modified\r\nConnection: close\r\nETag: "x"\r\n\r\n'
    assert parse_response(closing) == (304, len(closing), True)


def test_the_mix_binds_parameters_of_query_files():
    mix = query_mix(ROOT)
    assert {"label-of-entity", "sites-of-country", "count-observations", "ask-is-site"} <= set(mix)
    from graph.queries import parse_query_file

    bound = with_defaults(parse_query_file(ROOT / "queries" / "companies-with-foreign-capital.rq"))
    assert "VALUES ?origin { <https://w3id.org/sitegraph/id/place/russia> }" in bound


def test_the_benchmark_runs_and_prints_its_table(built):
    try:
        oxigraph_binary(None)
    except SystemExit:
        pytest.fail("no oxigraph server binary: the test extras install it (pip install -e '.[test]')")
    config, _release = built
    run = subprocess.run(
        [sys.executable, "-m", "server.bench", "--duration", "1", "--build-dir", str(config.path("build_dir"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "WARNING" not in out, out
    header = next(line for line in out.splitlines() if line.startswith("scenario"))
    for column in ("requests", "errors", "req/s", "p50 ms", "p99 ms", "vs oxigraph"):
        assert column in header
    rows = [line.split() for line in out.splitlines() if line.startswith(("small queries", "If-None", "result"))]
    assert len(rows) == 9, out  # three scenarios × oxigraph, sitegraph under gunicorn, sitegraph under granian
    assert all(row[-6] == "0" for row in rows), "no request failed"
    assert "machine:" in out and "oxigraph 0." in out and "gunicorn" in out and "granian" in out
