"""``sitegraph push`` against real stores: ``oxigraph serve`` and Virtuoso (fixtures in tests/remote_servers.py).

What a partner would check: every graph of the release arrives with the release's triple count, pushing again
changes nothing, blank nodes stay one node each, bad credentials and unreachable stores fail with exit 2 and a
message naming the URL, a store that loses data makes the push exit 1 naming the graph, and transient 503s are
retried. All traffic stays on 127.0.0.1; a small forwarding stub plays the unreliable store.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from graph.config import Config
from graph.remote_http import RemoteAuthError, RemoteClient, RemoteConfig, RemoteError, RemoteUnavailable, query_form
from graph.store import Release
from tests.remote_servers import RemoteStore, free_port

Cli = Callable[..., tuple[int, str, str]]
SKOLEM = ".well-known/genid/"


# --- helpers: read the remote directly, not through the code under test -------------------------------------


def _select(store: RemoteStore, query: str) -> list[dict]:
    url = store.query_url + "?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response)["results"]["bindings"]


def _count(store: RemoteStore, graph: str) -> int:
    rows = _select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(rows[0]["n"]["value"])


def _remote_counts(store: RemoteStore, base: str) -> dict[str, int]:
    rows = _select(
        store,
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
        f'FILTER(STRSTARTS(STR(?g), "{base}graph/")) }} GROUP BY ?g',
    )
    return {row["g"]["value"]: int(row["n"]["value"]) for row in rows}


def _skolem_iris(store: RemoteStore, base: str) -> int:
    rows = _select(
        store,
        "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { GRAPH ?g { { ?x ?p ?o } UNION { ?s ?p ?x } } "
        f'FILTER(ISIRI(?x) && STRSTARTS(STR(?x), "{base}{SKOLEM}")) }}',
    )
    return int(rows[0]["n"]["value"])


def _auth(store: RemoteStore) -> httpx.Auth | None:
    return httpx.DigestAuth(store.user or "", store.password or "") if store.auth == "digest" else None


def _push_args(store: RemoteStore, *extra: str) -> list[str]:
    args = ["push", "--to", store.query_url, "--update", store.update_url, "--gsp", store.gsp_url]
    if store.auth:
        args += ["--auth", store.auth, "--user", store.user or "", "--password-env", "PUSH_TEST_PASSWORD"]
    return [*args, *extra]


def _build_args(built: tuple[Config, Release]) -> list[str]:
    config, _release = built
    return ["--build-dir", str(config.path("build_dir"))]


@pytest.fixture
def push_env(monkeypatch: pytest.MonkeyPatch, virtuoso_server: RemoteStore) -> None:
    monkeypatch.setenv("PUSH_TEST_PASSWORD", virtuoso_server.password or "")


# --- the fixtures themselves ---------------------------------------------------------------------------------


def _smoke(store: RemoteStore) -> None:
    graph = f"http://example.org/smoke/{store.name}"
    auth = _auth(store)
    put = httpx.put(
        store.gsp_url,
        params={"graph": graph},
        content=b'<http://example.org/s> <http://example.org/p> "o" .\n',
        headers={"Content-Type": "application/n-triples"},
        auth=auth,
        timeout=10,
    )
    assert put.status_code in (200, 201, 204), put.text
    assert _count(store, graph) == 1
    update = httpx.post(
        store.update_url,
        data={"update": f"INSERT DATA {{ GRAPH <{graph}> {{ <http://example.org/s> <http://example.org/p> 2 }} }}"},
        auth=auth,
        timeout=10,
    )
    assert update.status_code in (200, 204), update.text
    assert _count(store, graph) == 2


def test_oxigraph_server_takes_writes_and_answers_queries(oxigraph_server: RemoteStore) -> None:
    _smoke(oxigraph_server)


def test_virtuoso_server_takes_authenticated_writes_and_answers_queries(virtuoso_server: RemoteStore) -> None:
    _smoke(virtuoso_server)
    anonymous = httpx.post(virtuoso_server.update_url, data={"update": "CLEAR ALL"}, timeout=10)
    assert anonymous.status_code == 401


# --- pushing the release -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["gsp", "update"])
@pytest.mark.parametrize("server", ["oxigraph_server", "virtuoso_server"])
def test_push_delivers_every_graph_and_pushing_again_changes_nothing(
    server: str, method: str, request: pytest.FixtureRequest, built: tuple[Config, Release], cli: Cli, push_env: None
) -> None:
    store: RemoteStore = request.getfixturevalue(server)
    _config, release = built
    base = release.manifest["base_iri"]
    expected = release.manifest["graphs"]
    blank_nodes = len(set(re.findall(rb"_:\w+", (release.path / "sitegraph.nq").read_bytes())))
    args = [*_build_args(built), *_push_args(store, "--method", method, "--chunk-triples", "400")]

    for attempt in ("first", "again"):
        code, out, err = cli(*args)
        assert code == 0, f"{attempt} push: {out}\n{err}\n{store.log_tail()}"
        assert f"by {method}" in out
        assert "all remote counts match" in out
        for graph, count in expected.items():
            assert re.search(rf"^{re.escape(graph)}\s+{count}\s+{count}\s+yes$", out, re.MULTILINE), out
        assert _remote_counts(store, base) == expected, f"after the {attempt} push"
        # each blank node arrived as one skolem IRI, although its triples were cut into several requests
        assert _skolem_iris(store, base) == blank_nodes


def test_push_reads_a_gzipped_export_folder(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, cli: Cli, tmp_path: Path
) -> None:
    _config, release = built
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "sitegraph.nq.gz").write_bytes(gzip.compress((release.path / "sitegraph.nq").read_bytes()))
    shutil.copy(release.path / "manifest.json", folder / "manifest.json")
    code, out, err = cli(*_push_args(oxigraph_server, "--from", str(folder)))
    assert code == 0, out + err
    assert "sitegraph.nq.gz" in err
    assert _remote_counts(oxigraph_server, release.manifest["base_iri"]) == release.manifest["graphs"]


def test_auto_falls_back_to_update_where_there_is_no_graph_store(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, cli: Cli
) -> None:
    _config, release = built
    args = ["push", "--to", oxigraph_server.query_url, "--update", oxigraph_server.update_url]
    code, out, err = cli(*_build_args(built), *args, "--gsp", oxigraph_server.base_url + "/no-graph-store-here")
    assert code == 0, out + err
    assert "by update" in out
    assert _remote_counts(oxigraph_server, release.manifest["base_iri"]) == release.manifest["graphs"]


# --- failures ------------------------------------------------------------------------------------------------


def test_wrong_credentials_exit_2_naming_the_store(
    built: tuple[Config, Release], virtuoso_server: RemoteStore, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUSH_TEST_PASSWORD", "not-the-password")
    code, out, err = cli(*_build_args(built), *_push_args(virtuoso_server))
    assert code == 2, out + err
    assert "credentials refused" in err
    assert "HTTP 401" in err
    assert virtuoso_server.gsp_url in err
    assert "not-the-password" not in out + err


def test_secrets_come_only_from_the_environment(built: tuple[Config, Release], cli: Cli) -> None:
    base = [*_build_args(built), "push", "--to", "http://127.0.0.1:9/sparql"]
    code, _out, err = cli(*base, "--auth", "digest", "--user", "u", "--password-env", "PUSH_TEST_UNSET_VARIABLE")
    assert code == 2
    assert "PUSH_TEST_UNSET_VARIABLE" in err
    assert "not set" in err
    code, _out, err = cli(*base, "--auth", "bearer")
    assert code == 2
    assert "--token-env" in err
    code, _out, err = cli(*base, "--password", "secret")
    assert code == 2
    assert "No such option" in err


def test_unreachable_store_exits_2_naming_the_url(built: tuple[Config, Release], cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}/sparql"
    code, out, err = cli(*_build_args(built), "push", "--to", url, "--retries", "1", "--timeout", "5")
    assert code == 2, out + err
    assert url in err
    assert "cannot connect" in err
    assert "retry 1/1" in err


class Stub:
    """A tiny HTTP front on 127.0.0.1 for a real store: fails the first ``fail_first`` requests with 503, and
    swallows (answers 204 without forwarding) GSP POSTs to graph ``lose_posts_to``."""

    def __init__(self, target: str, *, fail_first: int = 0, lose_posts_to: str | None = None) -> None:
        self.target = target.rstrip("/")
        self.fail_first = fail_first
        self.lose_posts_to = lose_posts_to
        self.seen: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stub.lock:
                    failing = len(stub.seen) < stub.fail_first
                    graph = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("graph", [None])[0]
                    losing = self.command == "POST" and graph is not None and graph == stub.lose_posts_to
                    stub.seen.append((self.command, 503 if failing else 204 if losing else 0))
                if failing or losing:
                    self.send_response(503 if failing else 204)
                    if failing:
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
                answer = httpx.request(self.command, stub.target + self.path, content=body, headers=headers, timeout=30)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Stub:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def stub_for(oxigraph_server: RemoteStore) -> Iterator[Callable[..., Stub]]:
    stubs: list[Stub] = []

    def make(**behaviour: object) -> Stub:
        stub = Stub(oxigraph_server.base_url, **behaviour)  # type: ignore[arg-type]
        stubs.append(stub.__enter__())
        return stub

    yield make
    for stub in stubs:
        stub.__exit__()


def _stub_args(stub: Stub, *extra: str) -> list[str]:
    return ["push", "--to", stub.url + "/query", "--update", stub.url + "/update", "--gsp", stub.url + "/store", *extra]


def test_a_store_that_loses_triples_makes_the_push_exit_1_naming_the_graph(
    built: tuple[Config, Release], cli: Cli, stub_for: Callable[..., Stub]
) -> None:
    _config, release = built
    lost = f"{release.manifest['base_iri']}graph/ontology"
    stub = stub_for(lose_posts_to=lost)
    code, out, err = cli(*_build_args(built), *_stub_args(stub, "--method", "gsp", "--chunk-triples", "1000"))
    assert code == 1, out + err
    expected = release.manifest["graphs"][lost]
    row = re.search(rf"^{re.escape(lost)}\s+(\d+)\s+(\d+)\s+(\w+)$", out, re.MULTILINE)
    assert row, out
    assert (int(row[1]), int(row[2]), row[3]) == (expected, 1000, "NO")  # only the PUT of the first chunk arrived
    assert "remote counts DIFFER" in out
    assert f"differ for 1 graph(s): {lost}" in err
    others = [g for g in release.manifest["graphs"] if g != lost]
    assert all(re.search(rf"^{re.escape(g)}\s+\d+\s+\d+\s+yes$", out, re.MULTILINE) for g in others), out


def test_transient_503s_are_retried_and_the_push_succeeds(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, cli: Cli, stub_for: Callable[..., Stub]
) -> None:
    _config, release = built
    stub = stub_for(fail_first=2)
    code, out, err = cli(*_build_args(built), *_stub_args(stub, "--method", "gsp"))
    assert code == 0, out + err
    retries = [line for line in err.splitlines() if line.startswith("retry: ")]
    assert len(retries) == 2, err
    assert "HTTP 503" in retries[0]
    assert "retry 1/4" in retries[0]
    assert "retry 2/4" in retries[1]
    assert [status for _method, status in stub.seen[:3]] == [503, 503, 0]
    assert _remote_counts(oxigraph_server, release.manifest["base_iri"]) == release.manifest["graphs"]


# --- the client on its own -----------------------------------------------------------------------------------


def test_client_honours_retry_after_and_names_url_and_status() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(500, html="<html><p>disk\n full</p></html>")]
    )
    slept: list[float] = []
    transport = httpx.MockTransport(lambda request: next(answers))
    config = RemoteConfig("http://user:pw@127.0.0.1:1/sparql", retries=2, backoff_s=0.1)
    client = RemoteClient(config, transport=transport, sleep=slept.append, on_retry=lambda e: None)
    with client, pytest.raises(RemoteError) as caught:
        client.update("CLEAR ALL")
    assert slept == [3.0]
    assert str(caught.value) == "POST http://127.0.0.1:1/sparql: HTTP 500: disk full"


def test_client_errors_are_typed() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(401, text="Unauthorized"))
    client = RemoteClient(RemoteConfig("http://127.0.0.1:1/q"), transport=transport)
    with client, pytest.raises(RemoteAuthError, match="credentials refused"):
        client.ask("ASK {}")
    always = httpx.MockTransport(lambda request: httpx.Response(503))
    config = RemoteConfig("http://127.0.0.1:1/q", retries=1, backoff_s=0)
    client = RemoteClient(config, transport=always, on_retry=lambda e: None)
    with client, pytest.raises(RemoteUnavailable, match="gave up after 1 retries") as caught:
        client.ask("ASK {}")
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("query", "form"),
    [
        ("PREFIX x: <http://e/#SELECT> # ASK\nCONSTRUCT { ?s ?p 'SELECT' } WHERE { ?s ?p ?o }", "CONSTRUCT"),
        ('BASE <http://e/> SELECT * WHERE { ?s ?p """ASK""" }', "SELECT"),
        ("ask {}", "ASK"),
    ],
)
def test_query_form_decides_the_accept_header(query: str, form: str) -> None:
    assert query_form(query) == form


def test_a_flat_dump_goes_to_the_default_graph_and_is_counted_there(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, cli: Cli, tmp_path: Path
) -> None:
    _config, release = built
    lines = (release.path / "sitegraph.nq").read_text(encoding="utf-8").splitlines()
    plain = [line.rsplit(" ", 2)[0] + " ." for line in lines if "_:" not in line][:120]
    dump = tmp_path / "flat.nq"
    dump.write_text("\n".join(plain) + "\n", encoding="utf-8")
    for method in ("gsp", "update"):
        code, out, err = cli(*_push_args(oxigraph_server, "--from", str(dump), "--method", method))
        assert code == 0, out + err
        assert re.search(rf"^\(default graph\)\s+{len(set(plain))}\s+{len(set(plain))}\s+yes$", out, re.MULTILINE)


def test_a_dump_that_disagrees_with_its_manifest_is_not_pushed(
    built: tuple[Config, Release], oxigraph_server: RemoteStore, cli: Cli, tmp_path: Path
) -> None:
    _config, release = built
    folder = tmp_path / "truncated"
    folder.mkdir()
    lines = (release.path / "sitegraph.nq").read_bytes().splitlines(keepends=True)
    (folder / "sitegraph.nq").write_bytes(b"".join(lines[:-1]))  # the last quad lost
    shutil.copy(release.path / "manifest.json", folder / "manifest.json")
    before = _remote_counts(oxigraph_server, release.manifest["base_iri"])
    code, out, err = cli(*_push_args(oxigraph_server, "--from", str(folder)))
    assert code == 2, out + err
    last_graph = lines[-1].decode().rsplit(" ", 2)[1].strip("<>")
    assert f"does not match its manifest.json (triples per graph differ for: {last_graph})" in err
    assert _remote_counts(oxigraph_server, release.manifest["base_iri"]) == before


def test_client_does_not_repeat_an_update_a_gateway_may_have_passed_on() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(504, text="upstream timed out")

    config = RemoteConfig("http://127.0.0.1:1/q", retries=3, backoff_s=0)
    client = RemoteClient(config, transport=httpx.MockTransport(answer), on_retry=lambda e: None)
    with client:
        with pytest.raises(RemoteUnavailable, match="not retried"):
            client.update("INSERT { ?s ?p 1 } WHERE { ?s ?p 0 }")
        assert seen == ["POST"]
        with pytest.raises(RemoteUnavailable, match="gave up after 3 retries"):
            client.update("DROP SILENT GRAPH <http://example.org/g>", idempotent=True)
        assert seen == ["POST"] * 5
