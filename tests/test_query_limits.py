"""Queries that cannot hurt the service: killable workers with real timeouts, capped answers, no outbound reads."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask

from graph.config import load_config
from graph.errors import UsageError
from graph.query import dataset_clauses, refuse_load_and_service, refuse_outbound
from server import create_app, query_pool

# 6,285 quads to the fourth power: far beyond any time limit (see test_the_runaway_query_really_runs_long)
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SMALL = "SELECT ?label WHERE { <https://w3id.org/sitegraph/graph/reference> ?p ?label } LIMIT 1"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
JSON = {"Accept": "application/json"}
SPARQL_NS = "{http://www.w3.org/2005/sparql-results#}"


def _app(built, **overrides) -> Flask:
    config, _release = built
    values = {"project_dir": config.project_dir, "build_dir": config.build_dir, **overrides}
    return create_app(load_config(overrides=values, environ={}))


@pytest.fixture(scope="module")
def limited(built) -> Iterator[Flask]:
    """No answer cache (every request reaches a worker), 5 s at most, answers of at most 25 rows."""
    app = _app(built, cache_entries=0, query_timeout=4.0, max_query_timeout=5.0, max_result_rows=25)
    yield app
    query_pool.close_all()


def _wait_for_full_pool(pool: query_pool.QueryPool, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stats = pool.stats()
        if stats["alive"] == pool.size and stats["starting"] == 0 and stats["idle"] == pool.size:
            return stats
        time.sleep(0.05)
    pytest.fail(f"the pool did not get back to {pool.size} ready workers: {pool.stats()}")


def _get(client, query: str, **params):
    return client.get("/sparql", query_string={"query": query, **params}, headers=JSON)


# ---------------------------------------------------------------- time limits


def test_a_runaway_query_is_stopped_while_small_queries_keep_answering(limited):
    client = limited.test_client()
    assert _get(client, SMALL).status_code == 200  # starts the pool
    pool = query_pool.get_pool(limited.config["SITEGRAPH"].query_workers)
    before = _wait_for_full_pool(pool)
    assert _get(client, SMALL).status_code == 200

    latencies: list[float] = []
    statuses: list[int] = []
    stop = threading.Event()

    def small_queries() -> None:
        other = limited.test_client()
        while not stop.is_set():
            started = time.monotonic()
            statuses.append(_get(other, SMALL).status_code)
            latencies.append(time.monotonic() - started)

    thread = threading.Thread(target=small_queries)
    thread.start()
    started = time.monotonic()
    response = _get(client, RUNAWAY, timeout="1")
    elapsed = time.monotonic() - started
    stop.set()
    thread.join(timeout=10)

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 503 and problem["type"].endswith("/query-timeout")
    assert "stopped after 1 s" in problem["detail"]
    assert response.headers["Retry-After"] == "1"
    assert 1.0 <= elapsed < 3.0, elapsed
    # the other worker answered small queries all along, quickly
    assert len(latencies) >= 5 and set(statuses) == {200}
    assert statistics.median(latencies) < 0.2 and max(latencies) < 1.0, (statistics.median(latencies), max(latencies))
    after = _wait_for_full_pool(pool)
    killed = set(before["pids"]) - set(after["pids"])
    assert len(killed) == 1, (before, after)  # one worker was killed and replaced
    assert _get(client, COUNT).status_code == 200
    # operators see it in /metrics
    metrics = client.get("/metrics").get_data(as_text=True)
    timeouts = re.search(r"^sitegraph_query_timeouts_total ([0-9.]+)$", metrics, re.M)
    assert timeouts is not None and float(timeouts.group(1)) >= 1, metrics[:500]


def test_the_runaway_query_really_runs_long(limited):
    """The control: given the longest allowed time, the query is still running when it is stopped."""
    client = limited.test_client()
    started = time.monotonic()
    response = _get(client, RUNAWAY, timeout="3")
    assert response.status_code == 503 and "stopped after 3 s" in response.get_json()["detail"]
    assert time.monotonic() - started >= 3.0


def test_timeout_is_checked_and_capped(limited):
    client = limited.test_client()
    for bad, says in [("abc", "not a number"), ("6", "maximum of 5 s"), ("0", "positive"), ("-1", "positive")]:
        response = _get(client, COUNT, timeout=bad)
        assert response.status_code == 400, bad
        assert "timeout=" in response.get_json()["detail"] and says in response.get_json()["detail"]
    form = client.post("/sparql", data={"query": COUNT, "timeout": "nan"}, headers=JSON)
    assert form.status_code == 400 and "timeout=" in form.get_json()["detail"]
    assert _get(client, COUNT, timeout="5").status_code == 200
    assert client.post("/sparql", data={"query": COUNT, "timeout": "2.5"}, headers=JSON).status_code == 200


def test_every_worker_busy_is_a_503_not_a_hang(built):
    app = _app(built, cache_entries=0, query_workers=1, max_query_timeout=5.0)
    client = app.test_client()
    assert _get(client, SMALL).status_code == 200
    pool = query_pool.get_pool(1)
    _wait_for_full_pool(pool)
    runaway: list[int] = []
    thread = threading.Thread(target=lambda: runaway.append(_get(app.test_client(), RUNAWAY, timeout="3").status_code))
    thread.start()
    time.sleep(0.3)  # the runaway query holds the only worker
    started = time.monotonic()
    response = _get(client, SMALL, timeout="1")
    elapsed = time.monotonic() - started
    thread.join(timeout=10)
    assert response.status_code == 503 and "busy" in response.get_json()["detail"]
    assert "Retry-After" in response.headers
    assert elapsed < 2.5, elapsed
    assert runaway == [503]
    _wait_for_full_pool(pool)
    assert _get(client, SMALL).status_code == 200
    pool.close()


def test_the_pool_ends_with_close_all(limited):
    client = limited.test_client()
    assert _get(client, SMALL).status_code == 200
    pool = query_pool.get_pool(limited.config["SITEGRAPH"].query_workers)
    pids = _wait_for_full_pool(pool)["pids"]
    query_pool.close_all()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            _signal_zero(pid)
    assert _get(client, SMALL).status_code == 200  # a new pool starts on the next query


def _signal_zero(pid: int) -> None:
    os.kill(pid, 0)


# ---------------------------------------------------------------- caps on answers


def _rows(body: bytes, fmt: str) -> int:
    if fmt == "json":
        return len(json.loads(body)["results"]["bindings"])
    if fmt == "xml":
        return len(ET.fromstring(body).findall(f"{SPARQL_NS}results/{SPARQL_NS}result"))
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
        assert rows[0] == ["s", "p", "o"] and all(len(r) == 3 for r in rows)
        return len(rows) - 1
    return len(list(ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV)))


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_long_answers_are_cut_at_the_row_cap_and_say_so(limited, fmt):
    response = _get(limited.test_client(), ALL, format=fmt)
    assert response.status_code == 200
    assert response.headers["Sitegraph-Results-Truncated"] == "rows=25"
    assert _rows(response.data, fmt) == 25


def test_short_answers_carry_no_truncation_header(limited):
    response = _get(limited.test_client(), ALL + " LIMIT 25")
    assert response.status_code == 200 and "Sitegraph-Results-Truncated" not in response.headers
    assert _rows(response.data, "json") == 25


def test_graph_answers_are_cut_too(limited):
    response = limited.test_client().get(
        "/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }"}, headers={"Accept": "application/n-triples"}
    )
    assert response.status_code == 200
    assert response.headers["Sitegraph-Results-Truncated"] == "rows=25"
    assert len(list(ox.parse(response.data, format=ox.RdfFormat.N_TRIPLES))) == 25


def test_the_byte_cap_cuts_answers_and_the_header_is_replayed(built):
    app = _app(built, max_result_bytes=5000)
    client = app.test_client()
    for fmt in ("json", "xml", "csv", "tsv"):
        first = _get(client, ALL, format=fmt)
        again = _get(client, ALL, format=fmt)  # answered from the replay, in front of Flask
        for response in (first, again):
            assert response.status_code == 200
            assert response.headers["Sitegraph-Results-Truncated"] == "bytes=5000"
            assert len(response.data) <= 5000
            assert 10 < _rows(response.data, fmt) < 200
        assert again.data == first.data


def test_request_bodies_over_the_limit_are_413(built):
    app = _app(built, max_body_bytes=2000)
    client = app.test_client()
    big = COUNT + " #" + "x" * 3000
    assert client.post("/sparql", data=big, content_type="application/sparql-query").status_code == 413
    assert client.post("/sparql", data={"query": big}).status_code == 413
    assert client.post("/sparql", data=COUNT, content_type="application/sparql-query").status_code == 200


# ---------------------------------------------------------------- nothing leaves the machine


def test_from_service_and_graph_parameters_never_reach_out(client, built, listener, tmp_path: Path):
    address, accepted = listener
    _config, release = built
    secret = tmp_path / "secret.ttl"
    secret.write_text("<urn:secret> <urn:p> 'leaked' .\n", encoding="utf-8")
    refused = [
        ({"query": f"SELECT * WHERE {{ SERVICE <{address}sparql> {{ ?s ?p ?o }} }}"}, "SERVICE"),
        ({"query": "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }"}, "SERVICE ?endpoint"),
        ({"query": f"SELECT * FROM <{address}x> WHERE {{ ?s ?p ?o }}"}, f"FROM <{address}x>"),
        ({"query": f"SELECT * FROM NAMED <{address}x> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"}, f"<{address}x>"),
        ({"query": f"SELECT * FROM <{secret.as_uri()}> WHERE {{ ?s ?p ?o }}"}, f"FROM <{secret.as_uri()}>"),
        ({"query": f"PREFIX f: <{tmp_path.as_uri()}/> SELECT * FROM f:secret.ttl {{ ?s ?p ?o }}"}, secret.as_uri()),
        ({"query": COUNT, "default-graph-uri": f"{address}x"}, f"default-graph-uri={address}x"),
        ({"query": COUNT, "named-graph-uri": secret.as_uri()}, f"named-graph-uri={secret.as_uri()}"),
    ]
    for params, named in refused:
        response = client.get("/sparql", query_string=params, headers=JSON)
        assert response.status_code == 400, params
        assert named in response.get_json()["detail"], (named, response.get_json())
        assert b"leaked" not in response.data
    time.sleep(0.3)
    assert accepted == [], "no connection may reach the listener"
    # a graph of the release is a fine FROM
    reference = next(g for g in release.manifest["graphs"] if g.endswith("/graph/reference"))
    response = _get(client, f"SELECT (COUNT(*) AS ?n) FROM <{reference}> WHERE {{ ?s ?p ?o }}")
    assert response.status_code == 200
    assert int(response.get_json()["results"]["bindings"][0]["n"]["value"]) == release.manifest["graphs"][reference]


def test_service_allow_opens_exactly_the_listed_endpoints(built, listener):
    address, accepted = listener
    app = _app(built, service_allow=f"{address}sparql", cache_entries=0)
    client = app.test_client()
    other = _get(client, f"SELECT * WHERE {{ SERVICE <{address}other> {{ ?s ?p ?o }} }}")
    assert other.status_code == 400 and "service_allow" in other.get_json()["detail"]
    assert _get(client, "SELECT * WHERE { SERVICE ?x { ?s ?p ?o } }").status_code == 400
    time.sleep(0.3)
    assert accepted == []
    allowed = _get(client, f"SELECT * WHERE {{ SERVICE <{address}sparql> {{ ?s ?p ?o }} }}", timeout="5")
    assert allowed.status_code == 502  # the listener is no SPARQL endpoint, but it was asked
    deadline = time.monotonic() + 3
    while not accepted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(accepted) == 1 and accepted[0].startswith(("GET /sparql", "POST /sparql")), accepted


def test_service_allow_setting_reads_a_comma_separated_list():
    config = load_config(environ={"SITEGRAPH_SERVICE_ALLOW": "http://a.example/sparql, http://b.example/sparql"})
    assert config.service_allow == ("http://a.example/sparql", "http://b.example/sparql")
    assert load_config(environ={}).service_allow == ()
    assert load_config(environ={"SITEGRAPH_QUERY_TIMEOUT": "2.5"}).query_timeout == 2.5
    with pytest.raises(UsageError, match="SITEGRAPH_MAX_QUERY_TIMEOUT"):
        load_config(environ={"SITEGRAPH_MAX_QUERY_TIMEOUT": "soon"})


def test_the_checks_read_sparql_not_strings_or_comments():
    allow = ["http://ok.example/sparql"]
    refuse_outbound("SELECT ?service WHERE { BIND('SERVICE <http://x/>' AS ?service) } # SERVICE <http://y/>")
    refuse_outbound("PREFIX ok: <http://ok.example/> SELECT * WHERE { SERVICE ok:sparql { ?s ?p ?o } }", allow)
    with pytest.raises(UsageError, match=r"SERVICE <http://ok\.example/other>"):
        refuse_outbound("BASE <http://ok.example/> SELECT * WHERE { SERVICE SILENT <other> { ?s ?p ?o } }", allow)
    assert dataset_clauses("SELECT * WHERE { ?s ?p 'FROM <http://x/>' } # FROM <http://y/>") == ((), ())
    assert dataset_clauses("BASE <http://b/> SELECT * FROM <g> FROM NAMED <http://n/> { }") == (
        ("http://b/g",),
        ("http://n/",),
    )
    with pytest.raises(UsageError, match="FROM nope:g"):
        dataset_clauses("SELECT * FROM nope:g { }")


def test_updates_may_not_load_or_call_services():
    for update in ("LOAD <file:///etc/passwd>", "load silent <http://127.0.0.1:9/x> INTO GRAPH <urn:g>"):
        with pytest.raises(UsageError, match="LOAD"):
            refuse_load_and_service(update)
    with pytest.raises(UsageError, match="SERVICE"):
        refuse_load_and_service("INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    refuse_load_and_service(
        "INSERT { ?s ?p ?o } WHERE { SERVICE <http://ok.example/sparql> { ?s ?p ?o } }", ["http://ok.example/sparql"]
    )
    refuse_load_and_service("INSERT DATA { <urn:a> <urn:p> 'LOAD <file:///etc/passwd>' }")


def test_canned_queries_run_in_the_pool_with_the_same_caps(built):
    app = _app(built, max_result_rows=2, cache_entries=0)
    client = app.test_client()
    records = client.get("/api/queries/entities-per-class")
    assert records.status_code == 200
    assert records.headers["Sitegraph-Results-Truncated"] == "rows=2"
    assert records.get_json()["count"] == 2
    sparql_json = client.get("/api/queries/entities-per-class", query_string={"format": "json"})
    assert len(sparql_json.get_json()["results"]["bindings"]) == 2
    assert query_pool.get_pool(app.config["SITEGRAPH"].query_workers).stats()["alive"] >= 1


def test_workers_die_with_the_server_process(built, tmp_path: Path):
    """A server process killed outright (no atexit) takes its workers with it: they see their pipe close."""
    _config, release = built
    script = tmp_path / "server_process.py"
    script.write_text(
        "import sys, time\n"
        "from server import query_pool\n"
        "pool = query_pool.get_pool(2)\n"
        f"job = query_pool.Job({str(release.path)!r}, {release.version!r}, 'ASK {{}}', results_format='json')\n"
        "pool.run(job, 20)\n"
        "while pool.stats()['alive'] < 2 or pool.stats()['starting']:\n"
        "    time.sleep(0.05)\n"
        "print(*pool.stats()['pids'], flush=True)\n"
        "time.sleep(60)\n",
        encoding="utf-8",
    )
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(pid) for pid in server.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(pids) == 2
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 5
        alive = pids
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pid for pid in pids if _running(pid)]
        assert alive == [], f"workers {alive} outlived the server process"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()  # type: ignore[union-attr]


def _running(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie whose parent died is reaped by init, not counted)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
