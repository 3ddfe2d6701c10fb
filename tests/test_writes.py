"""SPARQL Update by trusted partners: validated by SHACL, committed as a new release, logged, kept by the build."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import SH

from graph.build import build
from graph.config import Config
from graph.errors import ValidationFailed
from graph.store import current_release
from graph.tokens import add_token
from graph.writes import CHANGES, Change, WriteRejected, apply_change, read_changes, reapply_changes
from server import create_app

ID = "https://w3id.org/sitegraph/id/"
G = "https://w3id.org/sitegraph/graph/partner/acme"
SITE = ID + "site/chirchiq-technopark"
ALT = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> skos:altLabel "Chirchiq technology park"@en }} }}'
BAD = f"INSERT DATA {{ GRAPH <{G}> {{ <{ID}site/new-park> a sg:Technopark }} }}"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"


@pytest.fixture
def writer(release_copy: Config):
    """(config, test client, headers with a write token) on a private copy of the build."""
    token = add_token(release_copy.path("tokens_file"), "acme")
    return release_copy, create_app(release_copy).test_client(), {"Authorization": f"Bearer {token}"}


def _state(config: Config) -> tuple[str, bytes, str]:
    """What must not move when a write is refused: the current link, the dump, the version."""
    build_dir = config.path("build_dir")
    release = current_release(build_dir)
    return str((build_dir / "current").readlink()), (release.path / "sitegraph.nq").read_bytes(), release.version


def _void_triples(client) -> int:
    text = client.get("/.well-known/void", headers={"Accept": "application/n-triples"}).get_data(as_text=True)
    dataset = "<https://w3id.org/sitegraph/dataset> <http://rdfs.org/ns/void#triples> "
    line = next(line for line in text.splitlines() if line.startswith(dataset))
    return int(line[len(dataset) :].split('"')[1])


def test_a_conforming_update_is_committed_and_seen_by_the_next_query(writer) -> None:
    config, client, auth = writer
    ask = {"query": f'ASK {{ <{SITE}> <{SKOS_ALT}> "Chirchiq technology park"@en }}'}
    first = client.get("/sparql", query_string=ask, headers={"Accept": "application/sparql-results+json"})
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["boolean"] is False
    etag, void_before, before = first.headers["ETag"], _void_triples(client), _state(config)

    answer = client.post(
        "/sparql", data=ALT.encode("utf-8"), headers={**auth, "Content-Type": "application/sparql-update"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["committed"] is True and body["diff"]["added"] == 1 and body["diff"]["removed"] == 0
    assert body["validation"]["conforms"] is True and body["validation"]["mode"] == "focused"
    release = current_release(config.path("build_dir"))
    assert answer.headers["Sitegraph-Version"] == body["version"] == release.version != before[2]
    assert release.version == hashlib.sha256((release.path / "sitegraph.nq").read_bytes()).hexdigest()[:16]

    again = client.get("/sparql", query_string=ask, headers={"Accept": "application/sparql-results+json"})
    assert again.get_json()["boolean"] is True
    assert again.headers["ETag"] != etag
    assert _void_triples(client) == void_before + 1
    assert release.manifest["graphs"][G] == 1 and release.manifest["changes"] == 1
    # the documentation files of the previous release come along
    assert (release.path / "ontology.html").is_file() and (release.path / "shapes.ttl").is_file()

    log = client.get("/changes").get_json()
    assert log["version"] == release.version
    [change] = log["changes"]
    assert change["token"] == "acme" and change["added"] == 1 and change["time"].endswith("Z")
    assert change["version"] == release.version and change["previousVersion"] == before[2]
    full = client.get("/changes/1").get_json()
    assert '"Chirchiq technology park"@en' in full["addedNQuads"] and full["removedNQuads"] == ""
    assert client.get("/changes/2").status_code == 404


def test_a_violating_update_is_refused_with_the_report_and_changes_nothing(writer) -> None:
    config, client, auth = writer
    before = _state(config)
    answer = client.post("/sparql", data={"update": BAD}, headers={**auth, "Accept": "application/problem+json"})
    assert answer.status_code == 422
    problem = answer.get_json()
    assert problem["status"] == 422 and "nothing was written" in problem["detail"]
    violations = [r for r in problem["results"] if r["severity"] == "Violation"]
    assert {r["focusNode"] for r in violations} == {ID + "site/new-park"}
    assert "http://www.w3.org/2000/01/rdf-schema#label" in {r["path"] for r in violations}
    assert all(r["message"] and r["sourceShape"] for r in violations)
    assert _state(config) == before

    turtle = client.post("/update", data={"update": BAD}, headers={**auth, "Accept": "text/turtle"})
    assert turtle.status_code == 422 and turtle.mimetype == "text/turtle"
    report = Graph().parse(data=turtle.get_data(as_text=True), format="turtle")
    assert (None, SH.conforms, None) in report
    assert len(set(report.subjects(SH.resultSeverity, SH.Violation))) == len(violations)
    assert _state(config) == before
    assert client.get("/changes").get_json()["changes"] == []


def test_a_violation_on_a_node_other_than_the_one_written_is_caught(release_copy: Config) -> None:
    """Removing the site's types breaks the assertions that state facts about it (other nodes)."""
    build_dir = release_copy.path("build_dir")
    before = _state(release_copy)
    update = f"""DELETE {{ GRAPH ?g {{ <{SITE}> a ?type }} }}
                 WHERE {{ GRAPH ?g {{ <{SITE}> a ?type }} FILTER(?g != graph:inferred) }}"""
    with pytest.raises(WriteRejected) as caught:
        apply_change(build_dir, Change("update", update=update), "test")
    written = {q.subject.value for q in caught.value.diff.removed}
    assert written == {SITE}
    others = {r.focus_node for r in caught.value.report.violations} - written
    assert any(node.startswith(ID + "assertion/") for node in others)
    assert caught.value.report.seconds < 10
    assert _state(release_copy) == before


def test_dry_run_answers_with_the_diff_and_commits_nothing(writer) -> None:
    config, client, auth = writer
    before = _state(config)
    answer = client.post("/sparql?dry_run=true", data={"update": ALT}, headers=auth)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["committed"] is False and body["version"] == before[2]
    assert body["diff"]["added"] == 1
    added = list(ox.parse(body["diff"]["addedNQuads"].encode(), format=ox.RdfFormat.N_QUADS))
    assert [(q.subject.value, q.graph_name.value) for q in added] == [(SITE, G)]
    assert body["validation"]["conforms"] is True
    assert _state(config) == before
    refused = client.post("/sparql", data={"update": BAD, "dry_run": "true"}, headers=auth)
    assert refused.status_code == 422
    assert _state(config) == before


class _Listener:
    """A TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_load_and_service_are_refused_and_nothing_is_contacted(writer) -> None:
    config, client, auth = writer
    listener = _Listener()
    try:
        url = f"http://127.0.0.1:{listener.port}/data.ttl"
        before = _state(config)
        for update in (
            f"LOAD <{url}>",
            f"LOAD SILENT <{url}> INTO GRAPH <{G}>",
            f"INSERT {{ GRAPH <{G}> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
            f"# a comment first\n  load <{url}>",
        ):
            answer = client.post("/sparql", data={"update": update}, headers=auth)
            assert answer.status_code == 400, update
            assert "not allowed" in answer.get_data(as_text=True)
        # the words inside strings and IRIs are data, not operations
        text = f'INSERT DATA {{ GRAPH <{G}> {{ <https://example.org/load> dcterms:description "LOAD SERVICE" }} }}'
        assert client.post("/sparql", data={"update": text}, headers=auth).status_code == 200
        assert listener.connections == 0
        assert _state(config)[2] != before[2]
    finally:
        listener.close()


def test_the_graphs_the_build_makes_cannot_be_written(writer) -> None:
    config, client, auth = writer
    before = _state(config)
    for update in (
        f"INSERT DATA {{ GRAPH <https://w3id.org/sitegraph/graph/inferred> {{ <{SITE}> a sg:Country }} }}",
        "DROP GRAPH <https://w3id.org/sitegraph/graph/ontology>",
        "CLEAR ALL",
        f"DELETE WHERE {{ GRAPH ?g {{ <{SITE}> a ?t }} }}",
    ):
        answer = client.post("/sparql", data={"update": update}, headers={**auth, "Accept": "application/json"})
        assert answer.status_code == 403, update
        assert "cannot be written" in answer.get_json()["detail"]
    answer = client.post("/sparql", data={"update": "INSERT DATA { oops"}, headers=auth)
    assert answer.status_code == 400 and "syntax error" in answer.get_data(as_text=True)
    assert client.post("/sparql", data={"update": ALT, "query": "ASK {}"}, headers=auth).status_code == 400
    assert _state(config) == before


def test_a_build_applies_committed_writes_again(writer, cli) -> None:
    config, client, auth = writer
    assert client.post("/sparql", data={"update": ALT}, headers=auth).status_code == 200
    committed = current_release(config.path("build_dir"))
    _compiled, rebuilt = build(config)
    assert rebuilt.version == committed.version  # same sources + the same write = the same data
    assert rebuilt.manifest["changes"] == 1
    assert read_changes(rebuilt) == read_changes(committed)
    ask = {"query": f'ASK {{ <{SITE}> <{SKOS_ALT}> "Chirchiq technology park"@en }}', "format": "json"}
    assert client.get("/sparql", query_string=ask).get_json()["boolean"] is True

    # --discard-writes: the sources alone, and an empty log
    code, out, _err = cli("--build-dir", str(config.path("build_dir")), "build", "-q", "--discard-writes")
    assert code == 0 and "applied again" not in out
    plain = current_release(config.path("build_dir"))
    assert plain.version != committed.version and G not in plain.manifest["graphs"]
    assert read_changes(plain) == [] and "changes" not in plain.manifest
    assert client.get("/sparql", query_string=ask).get_json()["boolean"] is False
    assert client.get("/changes").get_json()["changes"] == []


def test_writes_that_no_longer_fit_the_sources_stop_the_build(release_copy: Config) -> None:
    build_dir = release_copy.path("build_dir")
    apply_change(build_dir, Change("update", update=ALT), "acme")
    release = current_release(build_dir)
    # make the logged write one that breaks the shapes, as if the sources had changed under it
    [record] = read_changes(release)
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    record["addedNQuads"] += (
        f"<{ID}site/new-park> <{rdf_type}> <https://w3id.org/sitegraph/ontology#Technopark> <{G}> .\n"
    )
    (release.path / CHANGES).write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        reapply_changes(build_dir, _sources_only(release), _iris(release_copy), _shapes(release_copy))
    first = str(caught.value.problems[0])
    assert "no longer fit the sources" in first and "--discard-writes" in first
    assert any(p.entity == ID + "site/new-park" for p in caught.value.problems[1:])


def _sources_only(release) -> list[ox.Quad]:
    """The release's quads without the partner graph (what the sources alone compile to here)."""
    quads = ox.parse(path=str(release.path / "sitegraph.nq"), format=ox.RdfFormat.N_QUADS)
    return [q for q in quads if q.graph_name != ox.NamedNode(G)]


def _iris(config: Config):
    from graph.namespaces import DataIRIs

    return DataIRIs(config.base_iri)


def _shapes(config: Config) -> Graph:
    from graph.validation import load_shapes

    return load_shapes(Path(config.project) / "shapes")
