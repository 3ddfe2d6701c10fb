"""Every export format round-trips through real stores: ``oxigraph serve`` and Virtuoso parse the dump themselves.

For each store and each format of ``sitegraph export`` the dump file is handed to the store as that format, read
back with SPARQL CONSTRUCT (N-Triples), and compared with the dump as pyoxigraph parses it: sets of triples per
named graph, RDF 1.1 term equality (no normalisation was needed: both stores give back every literal with its
lexical form, datatype and language tag unchanged).

- Triple formats (Turtle, N-Triples, RDF/XML): GSP PUT into a fresh named graph of this module on the shared
  session servers (``tests/remote_servers.py``), deleted afterwards.
- Quad formats (N-Quads, TriG, JSON-LD) name the release's own graphs, which other tests push to the shared servers,
  so they go to private servers started here: oxigraph takes them by ``POST /store`` with the quad media type,
  Virtuoso by its own parser ``DB.DBA.TTLP`` through isql (flag 512 N-Quads, 256 TriG), reading the file itself.
- Virtuoso 7.2 has no JSON-LD parser: its graph store endpoint rejects ``application/ld+json`` ("unsupported
  type") and there is no ``DB.DBA.RDF_LOAD_JSON_LD``. The test asserts that refusal; JSON-LD round-trips through
  oxigraph only.

The JSON-LD dump names its context by URL (``<base>context.jsonld``); no test traffic leaves 127.0.0.1, so the
dump is handed over with that URL replaced by the ``context.jsonld`` shipped in the same export folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from graph.config import Config
from graph.export import FORMATS, export_release
from graph.remote_http import RemoteClient, RemoteConfig, RemoteError
from graph.store import Release
from tests.remote_servers import (
    VIRTUOSO_INI,
    RemoteStore,
    _isql,
    _stop,
    _wait_http,
    free_port,
    oxigraph_binary,
    virtuoso_binaries,
)

TRIPLE_FORMATS = [key for key, fmt in FORMATS.items() if not fmt.quads]
QUAD_FORMATS = [key for key, fmt in FORMATS.items() if fmt.quads]
PARSE = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
}
#: Flags of Virtuoso's DB.DBA.TTLP that switch its Turtle parser to the quad syntaxes.
VIRTUOSO_TTLP_FLAGS = {"nquads": 512, "trig": 256}
TEST_GRAPH = "urn:sitegraph-test:roundtrip:"

Graphs = dict[str | None, set[ox.Triple]]  # graph IRI (None: the triples of a triple format) -> its triples


# --- the export and what it holds ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(built: tuple[Config, Release], tmp_path_factory: pytest.TempPathFactory) -> Path:
    config, _release = built
    return export_release(config, tmp_path_factory.mktemp("export-remote") / "out").path


def dump_bytes(folder: Path, key: str) -> bytes:
    """The dump as handed to a store (JSON-LD: with the shipped context inlined, see the module docstring)."""
    data = (folder / FORMATS[key].filename).read_bytes()
    if key != "jsonld":
        return data
    document = json.loads(data)
    document["@context"] = json.loads((folder / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    return json.dumps(document).encode("utf-8")


def expected(folder: Path, key: str) -> Graphs:
    graphs: Graphs = {}
    for quad in ox.parse(dump_bytes(folder, key), format=PARSE[key]):
        name = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else None
        graphs.setdefault(name, set()).add(ox.Triple(quad.subject, quad.predicate, quad.object))
    return graphs


def read_back(client: RemoteClient, graph: str) -> set[ox.Triple]:
    answer = client.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert answer.content_type in ("application/n-triples", "text/plain"), answer.content_type
    return {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)}


def assert_same(got: set[ox.Triple], want: set[ox.Triple], where: str) -> None:
    missing, extra = want - got, got - want
    assert not missing and not extra, (
        f"{where}: {len(missing)} triples missing, {len(extra)} extra; "
        f"e.g. missing {sorted(map(str, missing))[:3]}, extra {sorted(map(str, extra))[:3]}"
    )


def test_every_dump_holds_the_same_data(folder: Path) -> None:
    """The reference the stores are compared with: every format carries the N-Quads data (triple formats: union)."""
    quads = expected(folder, "nquads")
    assert len(quads) > 3 and None not in quads
    union = set().union(*quads.values())
    for key in FORMATS:
        assert expected(folder, key) == (quads if FORMATS[key].quads else {None: union}), key


# --- triple formats: GSP PUT into our own graph on the shared servers ------------------------------------------


def client_for(store: RemoteStore) -> RemoteClient:
    return RemoteClient(
        RemoteConfig(
            store.query_url,
            update_url=store.update_url,
            gsp_url=store.gsp_url,
            auth=store.auth,  # type: ignore[arg-type]
            user=store.user,
            password=store.password,
            retries=0,
        )
    )


@pytest.fixture(params=["oxigraph", "virtuoso"])
def shared_store(request: pytest.FixtureRequest) -> RemoteStore:
    return request.getfixturevalue(f"{request.param}_server")


@pytest.mark.parametrize("key", TRIPLE_FORMATS)
def test_triple_format_round_trips(shared_store: RemoteStore, folder: Path, key: str) -> None:
    graph = f"{TEST_GRAPH}{shared_store.name}:{key}"
    want = expected(folder, key)[None]
    with client_for(shared_store) as client:
        try:
            client.gsp_put(graph, dump_bytes(folder, key), content_type=FORMATS[key].media_type)
            assert_same(read_back(client, graph), want, f"{FORMATS[key].label} through {shared_store.name}")
        finally:
            client.gsp_delete(graph, missing_ok=True)
        assert client.count_triples(graph) == 0


def test_virtuoso_refuses_jsonld(virtuoso_server: RemoteStore, folder: Path) -> None:
    """Virtuoso 7.2 cannot import JSON-LD at all (documented limitation, README "Releases")."""
    graph = f"{TEST_GRAPH}virtuoso:jsonld"
    with client_for(virtuoso_server) as client:
        try:
            with pytest.raises(RemoteError, match="unsupported type") as refused:
                client.gsp_put(graph, dump_bytes(folder, "jsonld"), content_type="application/ld+json")
            assert refused.value.status == 500
        finally:
            client.gsp_delete(graph, missing_ok=True)
        assert client.count_triples(graph) == 0


# --- quad formats: private servers, loaded as datasets ---------------------------------------------------------


@pytest.fixture(scope="module")
def private_oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second ``oxigraph serve`` of this module only (no union default graph); yields its base URL."""
    data = tmp_path_factory.mktemp("oxigraph-private")
    port = free_port()
    log = data / "oxigraph.log"
    command = [oxigraph_binary(), "serve", "--location", str(data / "data"), "--bind", f"127.0.0.1:{port}"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=data)
    try:
        _wait_http(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", process, log, "oxigraph serve (private)")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.mark.parametrize("key", QUAD_FORMATS)
def test_quad_format_round_trips_through_oxigraph(private_oxigraph: str, folder: Path, key: str) -> None:
    want = expected(folder, key)
    config = RemoteConfig(
        f"{private_oxigraph}/query", update_url=f"{private_oxigraph}/update", gsp_url=f"{private_oxigraph}/store"
    )
    with RemoteClient(config) as client:
        client.update("CLEAR ALL")
        # POST /store without ?graph / ?default takes a whole dataset (oxigraph's extension of the GSP).
        response = httpx.post(
            f"{private_oxigraph}/store",
            content=dump_bytes(folder, key),
            headers={"Content-Type": FORMATS[key].media_type},
            timeout=60,
        )
        assert response.status_code in (200, 201, 204), response.text[:500]
        graphs = {row["g"]["value"] for row in client.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
        assert graphs == set(want)
        assert client.count_triples(None) == 0  # nothing landed in the default graph
        for graph, triples in want.items():
            assert_same(read_back(client, graph or ""), triples, f"{FORMATS[key].label} graph {graph} via oxigraph")


@pytest.fixture(scope="module")
def private_virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    """A second Virtuoso of this module only; yields (base URL, isql port, its folder: files there are readable)."""
    server, _isql_binary = virtuoso_binaries()
    data = tmp_path_factory.mktemp("virtuoso-private")
    (data / "vsp").mkdir()
    isql_port, http_port = free_port(), free_port()
    while http_port == isql_port:
        http_port = free_port()
    ini = data / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(d=data, isql_port=isql_port, http_port=http_port), encoding="utf-8")
    with (data / "console.log").open("wb") as out:
        process = subprocess.Popen(
            [server, "+foreground", "+configfile", str(ini)], stdout=out, stderr=subprocess.STDOUT, cwd=data
        )
    try:
        base = f"http://127.0.0.1:{http_port}"
        _wait_http(f"{base}/sparql?query=ASK%7B%7D", process, data / "virtuoso.log", "virtuoso-t (private)")
        yield base, isql_port, data
    finally:
        _stop(process)


@pytest.mark.parametrize("key", VIRTUOSO_TTLP_FLAGS)
def test_quad_format_round_trips_through_virtuoso(
    private_virtuoso: tuple[str, int, Path], folder: Path, key: str
) -> None:
    base, isql_port, data = private_virtuoso
    want = expected(folder, key)
    _server, isql = virtuoso_binaries()
    log = data / "virtuoso.log"
    _isql(isql, isql_port, " ".join(f"SPARQL CLEAR GRAPH <{graph}>;" for graph in want), log)
    dump = data / FORMATS[key].filename  # inside the server's DirsAllowed, so Virtuoso reads the file itself
    shutil.copyfile(folder / FORMATS[key].filename, dump)
    # the graph argument is only the fallback for statements without a graph; the dumps have none
    _isql(
        isql,
        isql_port,
        f"DB.DBA.TTLP(file_to_string('{dump}'), '', '{TEST_GRAPH}unused', {VIRTUOSO_TTLP_FLAGS[key]});",
        log,
    )
    with RemoteClient(RemoteConfig(f"{base}/sparql")) as client:
        assert client.count_triples(f"{TEST_GRAPH}unused") == 0
        for graph, triples in want.items():
            assert_same(read_back(client, graph or ""), triples, f"{FORMATS[key].label} graph {graph} via Virtuoso")
