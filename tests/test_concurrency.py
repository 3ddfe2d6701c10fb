"""A bounded load on loopback against the production launch (granian, two workers, query worker pools).

For a fixed number of seconds several clients mix small queries, runaway queries with a one-second limit and
authenticated writes. Afterwards: no 5xx other than the intended 503s (runaway queries stopped at their limit,
or a write that found the write lock busy), every small query answered, every acknowledged write present in the
data and in the change log.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator

import pytest

from graph.config import Config
from graph.store import Release
from graph.tokens import add_token
from server.bench import GRANIAN, Server
from tests.conftest import copy_release
from tests.remote_servers import free_port

DURATION = 10.0  # seconds of load
ID = "https://w3id.org/sitegraph/id/"
SITE = ID + "site/chirchiq-technopark"
GRAPH = "https://w3id.org/sitegraph/graph/partner/loadtest"
ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
SMALL = (
    "PREFIX sg: <https://w3id.org/sitegraph/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?s ?l WHERE {{ ?s a sg:Site ; rdfs:label ?l }} ORDER BY ?s LIMIT {limit}"
)
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def server(built: tuple[Config, Release], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    config, release = built
    work = tmp_path_factory.mktemp("load")
    build_dir = copy_release(release, work / "build")
    token = add_token(work / "tokens.toml", "loadtest")
    port = free_port()
    env = {
        **os.environ,
        "SITEGRAPH_BUILD_DIR": str(build_dir),
        "SITEGRAPH_PROJECT_DIR": str(config.project),
        "SITEGRAPH_TOKENS_FILE": str(work / "tokens.toml"),
        "SITEGRAPH_QUERY_WORKERS": "2",
        "SITEGRAPH_ACCESS_LOG": "off",
    }
    argv = [*GRANIAN, "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--blocking-threads", "2"]
    process = Server("sitegraph (granian)", [*argv, "server.wsgi:app"], port, "/sparql", work / "server.log", env)
    try:
        process.start("ASK {}")
        yield port, token
    finally:
        process.stop()
        print(process.log_tail(5), file=sys.stderr)


def _request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _query_path(query: str, **params: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query, **params})


def test_mixed_load_has_no_unintended_5xx_and_loses_no_write(server: tuple[int, str]) -> None:
    port, token = server
    deadline = time.monotonic() + DURATION
    statuses: dict[str, Counter] = {"small": Counter(), "runaway": Counter(), "write": Counter()}
    latencies: list[float] = []
    acknowledged: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def small(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            # half repeat a few queries (caches and replay), half are new to the server (the worker pool)
            limit = rng.choice([3, 5, 8]) if rng.random() < 0.5 else rng.randrange(10, 10_000)
            started = time.monotonic()
            status, body = _request(port, "GET", _query_path(SMALL.format(limit=limit)), None, {"Accept": "text/csv"})
            with lock:
                statuses["small"][status] += 1
                latencies.append(time.monotonic() - started)
                if status != 200:
                    errors.append(f"small query: {status} {body[:200]!r}")

    def runaway() -> None:
        while time.monotonic() < deadline:
            status, body = _request(port, "GET", _query_path(RUNAWAY, timeout="1"))
            with lock:
                statuses["runaway"][status] += 1
                if status != 503:
                    errors.append(f"runaway query: {status} {body[:200]!r}")

    def writer() -> None:
        n = 0
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/sparql-update"}
        while time.monotonic() < deadline:
            n += 1
            label = f"load test {n}"
            update = f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <{SITE}> <{ALT}> "{label}"@en }} }}'
            status, body = _request(port, "POST", "/sparql", update.encode(), auth)
            with lock:
                statuses["write"][status] += 1
                if status in (200, 204):
                    acknowledged.append(label)
                elif status != 503:
                    errors.append(f"write: {status} {body[:300]!r}")

    threads = [threading.Thread(target=small, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=runaway), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION + 60)
    assert not any(t.is_alive() for t in threads), "a client is still waiting 60 s after the load ended"

    print(f"statuses: {statuses}; acknowledged writes: {len(acknowledged)}", file=sys.stderr)
    assert errors == [], errors[:5]
    assert statuses["small"][200] > 50, statuses
    assert statuses["runaway"][503] >= 3, statuses  # each stopped at its one-second limit
    assert len(acknowledged) >= 2, statuses
    latencies.sort()
    assert latencies[len(latencies) // 2] < 0.5, f"median small-query latency {latencies[len(latencies) // 2]:.2f} s"

    # every acknowledged write is in the data and in the change log, once
    ask = f"SELECT ?l WHERE {{ GRAPH <{GRAPH}> {{ <{SITE}> <{ALT}> ?l }} }}"
    status, body = _request(port, "GET", _query_path(ask), None, {"Accept": "application/sparql-results+json"})
    assert status == 200
    labels = [b["l"]["value"] for b in json.loads(body)["results"]["bindings"]]
    assert sorted(labels) == sorted(acknowledged)
    status, body = _request(port, "GET", "/changes", None, {"Accept": "application/json"})
    assert status == 200
    assert len(json.loads(body)["changes"]) == len(acknowledged)


def test_the_server_is_ready_after_the_load(server: tuple[int, str]) -> None:
    """After the load the server still answers its readiness probe (runaway workers replaced, store open)."""
    port, _token = server
    status, body = _request(port, "GET", "/ready")
    assert status == 200, body
