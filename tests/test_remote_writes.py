"""Validation-gated writes on the remote backend (``store = remote``): SPARQL Update and the Graph Store Protocol
committed on a real oxigraph and Virtuoso server in one update request, refused with 422 leaving the remote's
quads exactly as they were, dry runs that send nothing, and the change log kept in the remote itself. Also the
remote backend's query limits: the request's time limit and the result caps, as on the embedded store.

Each backend gets a private copy of the session's build pushed to its server; at the end the session's build is
pushed again and the graphs the tests made are dropped, so other tests see the remote as the build left it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import httpx
import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from graph.config import Config, load_config
from graph.namespaces import DataIRIs
from graph.remote_http import RemoteClient, RemoteConfig
from graph.store import Release
from graph.tokens import add_token
from graph.writes import read_remote_quads
from server import create_app
from tests.remote_backend import push_build, remote_config_for, remote_settings
from tests.remote_servers import RemoteStore

from .conftest import copy_release

ID = "https://w3id.org/sitegraph/id/"
GRAPH = "https://w3id.org/sitegraph/graph/"
G = GRAPH + "partner/acme"
SITE = ID + "site/chirchiq-technopark"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
DESC = "http://purl.org/dc/terms/description"
BAD = f"INSERT DATA {{ GRAPH <{G}> {{ <{ID}site/new-park> a sg:Technopark }} }}"
JSON = {"Accept": "application/sparql-results+json"}
UPDATE = {"Content-Type": "application/sparql-update"}
PROBLEM = {"Accept": "application/problem+json"}


@dataclass
class Remote:
    server: RemoteStore
    config: Config
    client: FlaskClient
    auth: dict[str, str]
    reader: dict[str, str]
    raw: RemoteClient  # straight to the remote, with the write account

    def quads(self) -> set[ox.Quad]:
        return set(read_remote_quads(self.raw, DataIRIs(self.config.base_iri)))


def _raw_client(server: RemoteStore) -> RemoteClient:
    return RemoteClient(
        RemoteConfig(
            server.query_url,
            update_url=server.update_url,
            gsp_url=server.gsp_url,
            auth=server.auth,  # type: ignore[arg-type]
            user=server.user,
            password=server.password,
            timeout_s=30,
            retries=1,
        )
    )


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def remote(
    request: pytest.FixtureRequest, built: tuple[Config, Release], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Remote]:
    config, release = built
    server: RemoteStore = request.getfixturevalue(f"{request.param}_server")
    folder: Path = tmp_path_factory.mktemp(f"remote-writes-{request.param}")
    build_dir = copy_release(release, folder / "build")
    writes = {
        "remote_update_url": server.update_url,
        "remote_gsp_url": server.gsp_url,
        "remote_auth": server.auth or "none",
        "remote_user": server.user or "",
        "remote_password": server.password or "",
        "remote_refresh_seconds": 60,  # only a write through sitegraph moves the version here
    }
    overrides = {"build_dir": str(build_dir), "tokens_file": str(folder / "tokens.toml")}
    local = load_config(overrides={**config.values, **overrides}, environ={})
    push_build(local, server)
    served = load_config(overrides={**config.values, **overrides, **remote_settings(server, **writes)}, environ={})
    token = add_token(served.path("tokens_file"), "acme")
    reader = add_token(served.path("tokens_file"), "reader", rights="read")
    app = create_app(served)
    raw = _raw_client(server)
    try:
        yield Remote(
            server,
            served,
            app.test_client(),
            {"Authorization": f"Bearer {token}"},
            {"Authorization": f"Bearer {reader}"},
            raw,
        )
    finally:
        app.extensions["sitegraph.store"].close()
        keep = set(release.manifest["graphs"])
        for graph in {q.graph_name.value for q in read_remote_quads(raw, DataIRIs(config.base_iri))} - keep:
            raw.update(f"DROP SILENT GRAPH <{graph}>")
        raw.close()
        push_build(config, server)


def _ask(client: FlaskClient, pattern: str) -> tuple[bool, str]:
    answer = client.get("/sparql", query_string={"query": f"ASK {{ {pattern} }}"}, headers=JSON)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["boolean"], answer.headers["ETag"]


def test_a_conforming_update_is_committed_on_the_remote(
    remote: Remote, cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    label = f"alt label on {remote.server.name}"
    pattern = f'<{SITE}> <{SKOS_ALT}> "{label}"@en'
    found, etag = _ask(remote.client, pattern)
    assert found is False
    update = f"INSERT DATA {{ GRAPH <{G}> {{ {pattern} }} }}"
    answer = remote.client.post("/update", data=update.encode(), headers={**remote.auth, **UPDATE})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["committed"] is True and body["diff"]["added"] == 1 and body["validation"]["conforms"] is True
    assert body["version"] == answer.headers["Sitegraph-Version"] != body["previousVersion"]
    # on the remote itself, asked directly
    assert remote.raw.ask(f"ASK {{ GRAPH <{G}> {{ {pattern} }} }}")
    # the next request sees it, with a new version in the ETag
    found, new_etag = _ask(remote.client, pattern)
    assert found is True and new_etag != etag
    assert new_etag.strip('"').startswith(body["version"])
    # the change log lives in the remote, in the same request as the data
    log = remote.client.get("/changes").get_json()
    assert log["version"] == body["version"]
    last = log["changes"][-1]
    assert last["token"] == "acme" and last["added"] == 1 and last["operation"] == "SPARQL Update"
    assert last["previousVersion"] == body["previousVersion"] and "addedNQuads" not in last
    full = remote.client.get(f"/changes/{last['seq']}").get_json()
    assert f'"{label}"@en' in full["addedNQuads"]
    # `sitegraph changes` with store = remote reads the same log
    monkeypatch.setenv("SITEGRAPH_STORE", "remote")
    monkeypatch.setenv("SITEGRAPH_REMOTE_QUERY_URL", remote.server.query_url)
    code, out, err = cli("--build-dir", str(remote.config.path("build_dir")), "changes", "--format", "json")
    assert code == 0, err
    assert json.loads(out)[-1] == full


def test_a_violating_update_is_refused_and_the_remote_is_unchanged(remote: Remote) -> None:
    before = remote.quads()
    answer = remote.client.post("/update", data={"update": BAD}, headers={**remote.auth, "Accept": "application/json"})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    violations = [r for r in answer.get_json()["results"] if r["severity"] == "Violation"]
    assert {r["focusNode"] for r in violations} == {ID + "site/new-park"}
    assert remote.quads() == before


def test_a_dry_run_sends_nothing(remote: Remote) -> None:
    before = remote.quads()
    update = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{SKOS_ALT}> "dry"@en }} }}'
    answer = remote.client.post("/update?dry_run=true", data=update.encode(), headers={**remote.auth, **UPDATE})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["committed"] is False and '"dry"@en' in body["diff"]["addedNQuads"]
    assert remote.quads() == before


def test_graph_store_put_get_delete_round_trip(remote: Remote) -> None:
    graph = GRAPH + f"partner/gsp-{remote.server.name}"
    url = f"/graphs?graph={graph}"
    assert remote.client.get(url).status_code == 404
    turtle = f'<{SITE}> <{DESC}> "Технопарк под Ташкентом."@ru, "A technopark near Tashkent."@en .\n'
    put = remote.client.put(url, data=turtle.encode(), headers={**remote.auth, "Content-Type": "text/turtle"})
    assert put.status_code == 201, put.get_data(as_text=True)
    got = remote.client.get(url, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200
    expected = {str(t) for t in ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE)}
    assert {str(t) for t in ox.parse(got.data, format=ox.RdfFormat.N_TRIPLES)} == expected
    assert remote.raw.count_triples(graph) == 2
    assert remote.client.delete(url, headers=remote.auth).status_code == 204
    assert remote.client.get(url).status_code == 404 and remote.raw.count_triples(graph) == 0
    operations = [c["operation"] for c in remote.client.get("/changes").get_json()["changes"]]
    assert operations[-2:] == [f"PUT <{graph}>", f"DELETE <{graph}>"]


def test_tokens_and_managed_graphs(remote: Remote) -> None:
    before = remote.quads()
    update = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{SKOS_ALT}> "no token"@en }} }}'
    assert remote.client.post("/update", data=update.encode(), headers=UPDATE).status_code == 401
    wrong = {"Authorization": "Bearer not-a-token", **UPDATE}
    assert remote.client.post("/update", data=update.encode(), headers=wrong).status_code == 401
    assert remote.client.post("/update", data=update.encode(), headers={**remote.reader, **UPDATE}).status_code == 403
    log = GRAPH + "changes"
    forged = f'INSERT DATA {{ GRAPH <{log}> {{ <{log}/x> <{DESC}> "forged" }} }}'
    refused = remote.client.post("/update", data=forged.encode(), headers={**remote.auth, **UPDATE, **PROBLEM})
    assert refused.status_code == 403 and "change log" in refused.get_json()["detail"]
    assert remote.quads() == before


def test_a_remote_that_refuses_the_update_gives_503_and_nothing_changes(remote: Remote) -> None:
    before = remote.quads()
    app = create_app(
        load_config(
            overrides={**remote.config.values, "remote_update_url": remote.server.base_url + "/nowhere"}, environ={}
        )
    )
    try:
        client = app.test_client()
        update = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{SKOS_ALT}> "lost"@en }} }}'
        answer = client.post("/update", data=update.encode(), headers={**remote.auth, **UPDATE, **PROBLEM})
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert "did not take the write" in answer.get_json()["detail"]
    finally:
        app.extensions["sitegraph.store"].close()
    assert remote.quads() == before
    assert httpx.get(remote.server.query_url, params={"query": "ASK {}"}, timeout=10).status_code == 200


# ---------------------------------------------------------------- query limits on the remote backend


def test_result_caps_apply_on_the_remote(built: tuple[Config, Release], oxigraph_server: RemoteStore) -> None:
    config, _release = built
    app = create_app(remote_config_for(config, oxigraph_server, max_result_rows=5))
    try:
        client = app.test_client()
        answer = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"}, headers=JSON)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert len(answer.get_json()["results"]["bindings"]) == 5
        assert answer.headers["Sitegraph-Results-Truncated"] == "rows=5"
        graph = client.get(
            "/sparql",
            query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
            headers={"Accept": "application/n-triples"},
        )
        assert len(graph.get_data(as_text=True).splitlines()) == 5
        assert graph.headers["Sitegraph-Results-Truncated"] == "rows=5"
    finally:
        app.extensions["sitegraph.store"].close()


class _Slow(BaseHTTPRequestHandler):
    """A SPARQL endpoint that answers the dataset checks at once and every other query after ``delay`` s."""

    delay: ClassVar[float] = 3.0
    graph = "https://w3id.org/sitegraph/graph/a"

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        query = form.get("query", [""])[0]
        if "COUNT(*) AS ?n" in query:
            rows = [{"g": {"type": "uri", "value": self.graph}, "n": {"type": "literal", "value": "1"}}]
        else:
            if "GRAPH ?g { ?s ?p ?o } }" not in query:
                time.sleep(self.delay)
            rows = [
                {k: {"type": "uri", "value": "http://e/" + k} for k in "spo"}
                | {"g": {"type": "uri", "value": self.graph}}
            ]
        body = json.dumps({"head": {"vars": sorted(rows[0])}, "results": {"bindings": rows}}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (that is the point)

    def log_message(self, *args: object) -> None:
        pass


def test_the_request_time_limit_bounds_a_remote_query(built: tuple[Config, Release]) -> None:
    config, _release = built
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/query"
    settings = {"store": "remote", "remote_query_url": url, "remote_timeout": 30}
    app = create_app(load_config(overrides={**config.values, **settings}, environ={}))
    try:
        client = app.test_client()
        started = time.monotonic()
        query = {"query": "SELECT * WHERE { ?s ?p ?o }", "timeout": "0.5"}
        answer = client.get("/sparql", query_string=query, headers={**JSON, **PROBLEM})
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert "stopped after 0.5 s" in answer.get_json()["detail"] and answer.headers["Retry-After"] == "1"
        assert time.monotonic() - started < 2.5  # not the server's 3 s, nor remote_timeout's 30
    finally:
        app.extensions["sitegraph.store"].close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------- sitegraph push on the configured remote


def test_push_without_options_uses_the_remote_settings(
    built: tuple[Config, Release],
    virtuoso_server: RemoteStore,
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, _release = built
    for name, value in {
        "REMOTE_QUERY_URL": virtuoso_server.query_url,
        "REMOTE_UPDATE_URL": virtuoso_server.update_url,
        "REMOTE_GSP_URL": virtuoso_server.gsp_url,
        "REMOTE_AUTH": "digest",
        "REMOTE_USER": virtuoso_server.user or "",
        "REMOTE_PASSWORD": virtuoso_server.password or "",
    }.items():
        monkeypatch.setenv("SITEGRAPH_" + name, value)
    code, out, err = cli("--build-dir", str(config.path("build_dir")), "push", "--retries", "1")
    assert code == 0, err
    assert "all remote counts match" in out and "by gsp" in out
    assert virtuoso_server.password not in out + err
    monkeypatch.setenv("SITEGRAPH_REMOTE_PASSWORD", "not-the-password")
    code, _out, err = cli("--build-dir", str(config.path("build_dir")), "push", "--retries", "0")
    assert code == 2 and "credentials refused" in err
