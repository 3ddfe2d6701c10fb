"""Hardening of the query path: the pool survives any failure, workers have a memory limit, one HTTP client per
remote store whatever the time limits, 412 for a POST with a matching If-None-Match, bad graph IRIs are 400s."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import pytest
from flask import Flask

from graph.config import Config, load_config
from graph.errors import UsageError
from graph.remote_http import RESULTS_ACCEPT
from graph.remote_store import RemoteSettings, RemoteStore, RemoteStoreUnavailable
from graph.store import Release
from server import create_app, query_pool
from tests.remote_servers import RemoteStore as RemoteServer
from tests.remote_servers import free_port

JSON = {"Accept": "application/json"}
SMALL = "SELECT ?label WHERE { <https://w3id.org/sitegraph/graph/reference> ?p ?label } LIMIT 1"
# sorting the data's cartesian product with itself (6,285² rows) materialises gigabytes within about a second
MEMORY_HOG = "SELECT ?o WHERE { ?a ?b ?c . ?s ?p ?o } ORDER BY ?c ?o LIMIT 1"


def _app(built: tuple[Config, Release], **overrides: object) -> Flask:
    config, _release = built
    values = {"project_dir": config.project_dir, "build_dir": config.build_dir, **overrides}
    return create_app(load_config(overrides=values, environ={}))


def _wait_for_full_pool(pool: query_pool.QueryPool, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stats = pool.stats()
        if stats["alive"] == pool.size and stats["starting"] == 0 and stats["idle"] == pool.size:
            return stats
        time.sleep(0.05)
    pytest.fail(f"the pool did not get back to {pool.size} ready workers: {pool.stats()}")


# ---------------------------------------------------------------- the pool after an unexpected failure


class Boom(Exception):
    """Stands for anything but OSError/EOFError between taking a worker and its reply (pickling, MemoryError)."""


def test_a_failure_while_sending_a_job_gives_the_worker_back(built, monkeypatch):
    _config, release = built
    pool = query_pool.QueryPool(1)
    try:
        job = query_pool.Job(str(release.path), release.version, "ASK {}", results_format="json")
        assert pool.run(job, 20).body == b'{"head":{},"boolean":true}'
        _wait_for_full_pool(pool)

        real_send = Connection.send
        failures = []

        def send_once(self: Connection, obj: object) -> None:
            if not failures:
                failures.append(obj)
                raise Boom("cannot pickle this job")
            real_send(self, obj)

        monkeypatch.setattr(Connection, "send", send_once)
        with pytest.raises(Boom):
            pool.run(job, 2)
        stats = _wait_for_full_pool(pool)
        assert stats["alive"] == 1
        assert pool.run(job, 2).body == b'{"head":{},"boolean":true}'  # before the fix: PoolBusy after 2 s
    finally:
        pool.close()


# ---------------------------------------------------------------- memory limit


def test_query_memory_mb_has_a_floor(built):
    with pytest.raises(UsageError, match=r"query_memory_mb .* the least allowed is 1024"):
        _app(built, query_memory_mb=100)


def test_a_query_over_the_memory_limit_gets_a_503_and_the_pool_recovers(built):
    app = _app(built, cache_entries=0, query_memory_mb=1024, query_timeout=30.0, max_query_timeout=30.0)
    client = app.test_client()
    try:
        assert client.get("/sparql", query_string={"query": SMALL}, headers=JSON).status_code == 200
        pool = query_pool.get_pool(app.config["SITEGRAPH"].query_workers, 1024)
        _wait_for_full_pool(pool)
        for pid in pool.stats()["pids"]:  # the limit is really set in the worker
            limits = Path(f"/proc/{pid}/limits").read_text(encoding="utf-8")
            assert re.search(r"Max address space\s+1073741824\s", limits), limits

        started = time.monotonic()
        response = client.get("/sparql", query_string={"query": MEMORY_HOG}, headers=JSON)
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert "memory limit of 1024 MB" in response.json["detail"]
        assert "query_memory_mb" in response.json["detail"]
        assert int(response.headers["Retry-After"]) >= 1
        assert elapsed < 25, f"the worker should end at its memory limit, not at the time limit ({elapsed:.1f} s)"

        _wait_for_full_pool(pool)
        assert client.get("/sparql", query_string={"query": SMALL}, headers=JSON).status_code == 200
        metrics = client.get("/metrics").get_data(as_text=True)
        assert re.search(r"^sitegraph_queries_cancelled_total [1-9]", metrics, re.MULTILINE), metrics
    finally:
        query_pool.close_all()


# ---------------------------------------------------------------- remote store: one client, an overall deadline


def test_many_distinct_timeouts_share_one_http_client(oxigraph_server: RemoteServer, monkeypatch):
    made: list[httpx.Client] = []
    real_client = httpx.Client

    class Counted(real_client):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(httpx, "Client", Counted)
    store = RemoteStore(RemoteSettings(query_url=oxigraph_server.query_url, timeout=10), "https://example.org/")
    try:
        for i in range(20):
            answer = store.request("ASK {}", RESULTS_ACCEPT, timeout=1.0 + i / 10_000)
            assert answer.json()["boolean"] is True
        assert len(made) == 1, f"{len(made)} HTTP clients for 20 time limits"
    finally:
        store.close()


class _Trickle(BaseHTTPRequestHandler):
    """Answers a SPARQL result byte by byte, one every 0.2 s: each read is quick, the whole answer slow."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"head":{},"boolean":true}' + b" " * 40
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trickling() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/query"
    server.shutdown()
    server.server_close()


def test_the_time_limit_covers_the_whole_answer(trickling: str):
    store = RemoteStore(RemoteSettings(query_url=trickling, timeout=30), "https://example.org/")
    try:
        started = time.monotonic()
        with pytest.raises(RemoteStoreUnavailable, match=r"no answer within 1 s"):
            store.request("ASK {}", RESULTS_ACCEPT, timeout=1.0)
        assert time.monotonic() - started < 3  # the answer would take 13 s; each read only 0.2 s
    finally:
        store.close()


# ---------------------------------------------------------------- conditional POST


def test_a_post_with_a_matching_if_none_match_is_412_a_get_304(client):
    first = client.get("/sparql", query_string={"query": SMALL}, headers=JSON)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = client.get("/sparql", query_string={"query": SMALL}, headers={**JSON, "If-None-Match": etag})
    assert again.status_code == 304
    posted = client.post("/sparql", data={"query": SMALL}, headers={**JSON, "If-None-Match": etag})
    assert posted.status_code == 412, posted.get_data(as_text=True)
    assert posted.mimetype == "application/problem+json"
    assert "If-None-Match" in posted.json["detail"]
    other = client.post("/sparql", data={"query": SMALL}, headers={**JSON, "If-None-Match": '"something-else"'})
    assert other.status_code == 200


# ---------------------------------------------------------------- graph parameters that are not IRIs


@pytest.mark.parametrize(
    ("name", "value"),
    [("default-graph-uri", "http://a/%zz"), ("named-graph-uri", "http://a/b#c#d"), ("default-graph-uri", "a:b[")],
)
def test_graph_parameters_that_pyoxigraph_refuses_are_400(client, name: str, value: str):
    response = client.get("/sparql", query_string={"query": SMALL, name: value}, headers=JSON)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert f"{name}={value!r} is not a valid IRI" in response.json["detail"]
