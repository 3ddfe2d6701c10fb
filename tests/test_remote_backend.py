"""The remote-store backend (``store = remote``): chosen by a setting, versioned by the remote's content, clear
503 answers when the remote is down, credentials sent, canned queries answering as on the embedded store.

The endpoint suites run on the remote backends too: ``pytest --store-backend oxigraph|virtuoso`` (see
``tests/conftest.py``); ``scripts/test.sh`` runs them that way.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pyoxigraph as ox
import pytest

from graph.config import Config, load_config
from graph.errors import UsageError
from graph.queries import load_queries
from graph.store import Release
from server import create_app
from server.store import RemoteHolder, StoreHolder, invalidate
from tests.remote_backend import remote_config_for
from tests.remote_servers import RemoteStore, _stop, _wait_http, free_port, oxigraph_binary

from .conftest import ROOT
from .regenerate_golden import GOLDEN, answer, concatenated, normalised

QUERIES = load_queries(ROOT / "queries")
SPARQL_JSON = {"Accept": "application/sparql-results+json"}
PROBLEM = {"Accept": "application/json, */*;q=0.1"}  # answers negotiate; errors come as problem JSON
# Canned queries whose answer on a remote store differs, with the reason. Each one is an xfail(strict=True):
# it fails the suite when the difference goes away. None at present.
KNOWN_REMOTE_DEVIATIONS: dict[tuple[str, str], str] = {}
_TERM = re.compile(r"(.*?)(@[A-Za-z-]+|\^\^\S+)?", re.DOTALL)


def values_only(rows: list[list[str | None]]) -> list[tuple[str, ...]]:
    """Rows as sorted tuples of plain values: no language tag or datatype, numbers as numbers, empty as ''."""
    out = []
    for row in rows:
        cells = []
        for cell in row:
            text = _TERM.fullmatch(cell).group(1) if cell else ""  # type: ignore[union-attr]
            with contextlib.suppress(ValueError):
                text = repr(float(text))
            cells.append(text)
        out.append(tuple(cells))
    return sorted(out)


def _settings(built: tuple[Config, Release], **values: object) -> Config:
    config, _release = built
    base = {"project_dir": config.project_dir, "build_dir": str(config.path("build_dir"))}
    return load_config(overrides={**base, **values}, environ={})


def _count(response) -> int:
    assert response.status_code == 200, response.get_data(as_text=True)
    return int(response.json["results"]["bindings"][0]["n"]["value"])


COUNT = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}


# ---------------------------------------------------------------- choosing the backend


def test_the_store_setting_chooses_the_backend(built: tuple[Config, Release]) -> None:
    assert isinstance(create_app(_settings(built)).extensions["sitegraph.store"], StoreHolder)
    remote = create_app(_settings(built, store="remote", remote_query_url="http://127.0.0.1:9/query"))
    holder = remote.extensions["sitegraph.store"]
    assert isinstance(holder, RemoteHolder)
    holder.close()
    with pytest.raises(UsageError, match="remote_query_url"):
        create_app(_settings(built, store="remote"))
    with pytest.raises(UsageError, match="remote_auth = digest needs remote_user"):
        create_app(_settings(built, store="remote", remote_query_url="http://x/q", remote_auth="digest"))
    with pytest.raises(ValueError, match="choose embedded or remote"):
        create_app(_settings(built, store="rocksdb"))


def test_served_from_oxigraph_the_version_is_the_release_version(
    built: tuple[Config, Release], oxigraph_server: RemoteStore
) -> None:
    """The remote holds exactly the pushed release, so its version (digest of canonical N-Quads, skolem IRIs
    turned back into blank nodes) is the release's, and the service description counts what the remote holds."""
    config, release = built
    app = create_app(remote_config_for(config, oxigraph_server))
    try:
        client = app.test_client()
        response = client.get("/sparql", query_string=COUNT, headers=SPARQL_JSON)
        assert response.headers["ETag"].strip('"').startswith(release.version + "-")
        assert _count(response) == _embedded_count(release)
        opened = app.extensions["sitegraph.store"].get()
        assert opened.release.manifest["graphs"] == release.manifest["graphs"]
        assert opened.release.path == release.path  # VoID, dumps and documents come from the local build
        assert client.get("/.well-known/void").status_code == 200
        assert client.get("/id/site/chirchiq-technopark", headers={"Accept": "text/turtle"}).status_code == 200
    finally:
        app.extensions["sitegraph.store"].close()


def _embedded_count(release: Release) -> int:
    store = ox.Store.read_only(str(release.store_path))
    results = store.query(COUNT["query"], use_default_graph_as_union=True)
    return int(next(iter(results))["n"].value)


# ---------------------------------------------------------------- the version follows the remote


@pytest.fixture
def own_graphs(oxigraph_server: RemoteStore) -> Iterator[str]:
    """A base IRI of its own on the shared oxigraph server: one graph ``<base>graph/a`` with two triples."""
    base = f"http://test.example/{uuid.uuid4().hex}/"
    _put(oxigraph_server, base, '<http://e/s> <http://e/p> "one" .\n<http://e/s> <http://e/p> "two" .\n')
    yield base
    httpx.delete(oxigraph_server.gsp_url, params={"graph": base + "graph/a"}, timeout=10)


def _put(server: RemoteStore, base: str, ntriples: str) -> None:
    response = httpx.put(
        server.gsp_url,
        params={"graph": base + "graph/a"},
        content=ntriples.encode(),
        headers={"Content-Type": "application/n-triples"},
        timeout=10,
    )
    assert response.status_code in (200, 201, 204), response.text


def test_the_version_follows_the_remote_and_a_write_shows_at_once(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, own_graphs: str
) -> None:
    config = _settings(
        built,
        store="remote",
        base_iri=own_graphs,
        remote_query_url=oxigraph_server.query_url,
        remote_refresh_seconds=3600,
    )
    app = create_app(config)
    try:
        client = app.test_client()
        first = client.get("/sparql", query_string=COUNT, headers=SPARQL_JSON)
        assert _count(first) == 2
        # a change with the same number of triples: still the cached version until told...
        _put(oxigraph_server, own_graphs, '<http://e/s> <http://e/p> "one" .\n<http://e/s> <http://e/p> "three" .\n')
        assert client.get("/sparql", query_string=COUNT, headers=SPARQL_JSON).headers["ETag"] == first.headers["ETag"]
        invalidate(app)  # what a write through sitegraph does
        second = client.get("/sparql", query_string=COUNT, headers=SPARQL_JSON)
        assert second.headers["ETag"] != first.headers["ETag"], "same count, other content: a new version"
        values = client.get("/sparql", query_string={"query": "SELECT ?o WHERE { ?s ?p ?o }"}, headers=SPARQL_JSON)
        assert {b["o"]["value"] for b in values.json["results"]["bindings"]} == {"one", "three"}
        conditional = client.get(
            "/sparql", query_string=COUNT, headers={**SPARQL_JSON, "If-None-Match": first.headers["ETag"]}
        )
        assert conditional.status_code == 200, "an ETag of the old version must not get a 304"
    finally:
        app.extensions["sitegraph.store"].close()


def test_without_a_write_the_change_shows_after_the_refresh_interval(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, own_graphs: str
) -> None:
    config = _settings(
        built, store="remote", base_iri=own_graphs, remote_query_url=oxigraph_server.query_url, remote_refresh_seconds=0
    )
    app = create_app(config)
    try:
        client = app.test_client()
        before = client.get("/sparql", query_string=COUNT, headers=SPARQL_JSON)
        _put(oxigraph_server, own_graphs, '<http://e/s> <http://e/p> "only" .\n')
        after = client.get("/sparql", query_string=COUNT, headers=SPARQL_JSON)
        assert (_count(before), _count(after)) == (2, 1)
        assert after.headers["ETag"] != before.headers["ETag"]
    finally:
        app.extensions["sitegraph.store"].close()


# ---------------------------------------------------------------- errors


def _problem(response, url: str) -> dict:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert url in body["detail"] and "Traceback" not in body["detail"], body
    return body


def test_a_remote_that_is_not_there_is_a_503_naming_it(built: tuple[Config, Release]) -> None:
    url = f"http://127.0.0.1:{free_port()}/query"
    app = create_app(_settings(built, store="remote", remote_query_url=url, remote_timeout=5))
    try:
        client = app.test_client()
        body = _problem(client.get("/sparql", query_string=COUNT, headers=PROBLEM), url)
        assert "cannot connect" in body["detail"]
        _problem(client.get("/id/site/chirchiq-technopark", headers=PROBLEM), url)
        _problem(client.get("/api/queries/sites-by-country", headers=PROBLEM), url)
    finally:
        app.extensions["sitegraph.store"].close()


@pytest.fixture
def own_oxigraph(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """An ``oxigraph serve`` of this test's own, which the test may stop."""
    port = free_port()
    log = tmp_path / "oxigraph.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(tmp_path / "data"), "--bind", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/query?query=ASK%7B%7D", process, log, "oxigraph serve")
        yield base, process
    finally:
        _stop(process)


def test_a_remote_that_goes_away_is_a_503_not_a_traceback(
    built: tuple[Config, Release], own_oxigraph: tuple[str, subprocess.Popen[bytes]]
) -> None:
    base, process = own_oxigraph
    graph = "https://w3id.org/sitegraph/graph/reference"
    put = httpx.put(
        base + "/store",
        params={"graph": graph},
        content=b'<http://e/s> <http://e/p> "x" .\n',
        headers={"Content-Type": "application/n-triples"},
        timeout=10,
    )
    assert put.status_code in (201, 204)
    app = create_app(_settings(built, store="remote", remote_query_url=base + "/query", remote_refresh_seconds=3600))
    try:
        client = app.test_client()
        assert _count(client.get("/sparql", query_string=COUNT, headers=SPARQL_JSON)) == 1
        _stop(process)
        other = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?s ?p ?o }"}  # not answered from a cache
        _problem(client.get("/sparql", query_string=other, headers=PROBLEM), base + "/query")
        text = client.get("/sparql", query_string=other, headers={"Accept": "text/plain"})
        assert text.status_code == 503 and text.get_data(as_text=True).startswith("503 Service unavailable: the remote")
    finally:
        app.extensions["sitegraph.store"].close()


def test_an_empty_remote_says_to_push_first(
    built: tuple[Config, Release], own_oxigraph: tuple[str, subprocess.Popen[bytes]]
) -> None:
    base, _process = own_oxigraph
    app = create_app(_settings(built, store="remote", remote_query_url=base + "/query"))
    try:
        body = _problem(app.test_client().get("/sparql", query_string=COUNT, headers=PROBLEM), base + "/query")
        assert "sitegraph push" in body["detail"]
    finally:
        app.extensions["sitegraph.store"].close()


# ---------------------------------------------------------------- credentials


class _Recorder(BaseHTTPRequestHandler):
    """Answers 401 to everything and remembers the Authorization headers it was sent."""

    seen: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Recorder.seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"denied")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/query"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({"remote_auth": "basic", "remote_user": "ana", "remote_password": "s3cret"},
         "Basic " + base64.b64encode(b"ana:s3cret").decode()),
        ({"remote_auth": "bearer", "remote_token": "tok-123"}, "Bearer tok-123"),
    ],
)  # fmt: skip
def test_basic_and_bearer_credentials_are_sent_and_a_refusal_is_named(
    built: tuple[Config, Release], recorder: str, auth: dict, expected: str
) -> None:
    app = create_app(_settings(built, store="remote", remote_query_url=recorder, **auth))
    try:
        body = _problem(app.test_client().get("/sparql", query_string=COUNT, headers=PROBLEM), recorder)
        assert "refused the credentials (HTTP 401)" in body["detail"] and auth["remote_auth"] in body["detail"]
        assert _Recorder.seen and set(_Recorder.seen) == {expected}
        assert "s3cret" not in body["detail"] and "tok-123" not in body["detail"]
    finally:
        app.extensions["sitegraph.store"].close()


def test_digest_credentials_on_virtuoso(built: tuple[Config, Release], virtuoso_server: RemoteStore) -> None:
    """Virtuoso's /sparql-auth takes digest authentication; the right password answers, a wrong one is a 503."""
    config, release = built
    remote_config_for(config, virtuoso_server)  # the build is on the server
    auth_url = virtuoso_server.base_url + "/sparql-auth"
    good = {"remote_query_url": auth_url, "remote_auth": "digest", "remote_user": virtuoso_server.user}
    app = create_app(_settings(built, store="remote", remote_password=virtuoso_server.password, **good))
    try:
        response = app.test_client().get("/sparql", query_string=COUNT, headers=SPARQL_JSON)
        assert _count(response) > 0
        assert response.headers["ETag"].strip('"').startswith(release.version + "-")
    finally:
        app.extensions["sitegraph.store"].close()
    app = create_app(_settings(built, store="remote", remote_password="wrong", **good))
    try:
        _problem(app.test_client().get("/sparql", query_string=COUNT, headers=PROBLEM), auth_url)
    finally:
        app.extensions["sitegraph.store"].close()


# ---------------------------------------------------------------- the command line


def test_query_and_stats_commands_use_the_remote(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, own_graphs: str, cli, monkeypatch
) -> None:
    config, _release = built
    monkeypatch.setenv("SITEGRAPH_STORE", "remote")
    monkeypatch.setenv("SITEGRAPH_REMOTE_QUERY_URL", oxigraph_server.query_url)
    common = ["--build-dir", str(config.path("build_dir")), "--base", own_graphs]
    code, out, err = cli(*common, "query", "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o", "-f", "csv")
    assert code == 0, err
    assert out.splitlines() == ["o", "one", "two"]
    code, out, err = cli(*common, "stats", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["graphs"] == {own_graphs + "graph/a": 2}
    monkeypatch.setenv("SITEGRAPH_REMOTE_QUERY_URL", f"http://127.0.0.1:{free_port()}/query")
    code, out, err = cli(*common, "query", "ASK {}")
    assert code == 2 and "cannot connect" in err and "Traceback" not in err


# ---------------------------------------------------------------- canned queries


@pytest.mark.parametrize("backend", ["oxigraph", "virtuoso"])
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_canned_query_gives_the_golden_answer_on_the_remote(
    name: str, backend: str, built: tuple[Config, Release], request: pytest.FixtureRequest
) -> None:
    """Every query of queries/ (its default parameters bound by the remote backend) answers as its golden file:
    term for term on oxigraph, value for value on Virtuoso (see ``values_only``)."""
    if (backend, name) in KNOWN_REMOTE_DEVIATIONS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_REMOTE_DEVIATIONS[backend, name], strict=True))
    config, _release = built
    store = _remote_store(request, config, backend)
    query = QUERIES[name]
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    separators = concatenated(query)
    actual = normalised(answer(store, query), separators)
    wanted = normalised(expected, separators)
    if backend == "virtuoso":  # values only: Virtuoso's answers lose language tags, retype numbers, reorder ties
        actual, wanted = values_only(actual), values_only(wanted)
    assert actual == wanted


def _remote_store(request: pytest.FixtureRequest, config: Config, backend: str):
    from graph.remote_store import RemoteStore as Remote

    cache = request.session.__dict__.setdefault("_sitegraph_remote_stores", {})
    if backend not in cache:
        served = remote_config_for(config, request.getfixturevalue(f"{backend}_server"))
        store = Remote.from_config(served)
        store.dataset_state()
        request.session.config.add_cleanup(store.close)
        cache[backend] = store
    return cache[backend]
