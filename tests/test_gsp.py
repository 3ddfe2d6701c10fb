"""The SPARQL 1.1 Graph Store HTTP Protocol at /graphs: reads open, writes with a token, every RDF format."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from graph.config import Config
from graph.store import current_release
from graph.tokens import add_token
from server import create_app

ID = "https://w3id.org/sitegraph/id/"
G = "https://w3id.org/sitegraph/graph/partner/acme"
DESC = "http://purl.org/dc/terms/description"
SITE = ID + "site/chirchiq-technopark"

TURTLE = f"""@prefix dcterms: <http://purl.org/dc/terms/> .
<{SITE}> dcterms:description "A technopark near Tashkent."@en ;
    dcterms:description "Технопарк под Ташкентом."@ru .
"""
JSONLD = json.dumps({"@id": "https://example.org/note/2", DESC: [{"@value": "from JSON-LD"}]})
RDFXML = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/terms/">
  <rdf:Description rdf:about="https://example.org/note/3">
    <dc:description>from RDF/XML</dc:description>
  </rdf:Description>
</rdf:RDF>"""
NTRIPLES = f'<https://example.org/note/4> <{DESC}> "from N-Triples" .\n'
N3 = f'<https://example.org/note/5> <{DESC}> "from N3" .\n'


@pytest.fixture
def gsp(release_copy: Config):
    token = add_token(release_copy.path("tokens_file"), "acme")
    return release_copy, create_app(release_copy).test_client(), {"Authorization": f"Bearer {token}"}


def _triples(text: bytes, fmt: ox.RdfFormat) -> set[tuple]:
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in ox.parse(text, format=fmt)}


def test_put_get_post_delete_round_trip_in_several_formats(gsp) -> None:
    config, client, auth = gsp
    url = f"/graphs?graph={G}"
    assert client.get(url).status_code == 404

    created = client.put(url, data=TURTLE, headers={**auth, "Content-Type": "text/turtle"})
    assert created.status_code == 201, created.get_data(as_text=True)
    version = created.headers["Sitegraph-Version"]
    assert version == current_release(config.path("build_dir")).version
    expected = _triples(TURTLE.encode(), ox.RdfFormat.TURTLE)
    for media_type, fmt in (
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/n-quads", ox.RdfFormat.N_QUADS),
    ):
        got = client.get(url, headers={"Accept": media_type})
        assert got.status_code == 200 and got.mimetype == media_type
        assert _triples(got.data, fmt) == expected, media_type
    nquads = client.get(url, headers={"Accept": "application/n-quads"}).data
    assert {q.graph_name.value for q in ox.parse(nquads, format=ox.RdfFormat.N_QUADS)} == {G}
    head = client.head(url, headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"]

    # POST adds (204: the graph exists); each format the server reads (N3 in a dry run: read, not committed)
    for body, media_type in ((JSONLD, "application/ld+json"), (RDFXML, "application/rdf+xml")):
        added = client.post(url, data=body, headers={**auth, "Content-Type": media_type})
        assert added.status_code == 204, (media_type, added.get_data(as_text=True))
    dry = client.post(url + "&dry_run=1", data=N3, headers={**auth, "Content-Type": "text/n3"})
    assert dry.status_code == 200 and '"from N3"' in dry.get_json()["diff"]["addedNQuads"]
    got = _triples(client.get(url, headers={"Accept": "application/n-triples"}).data, ox.RdfFormat.N_TRIPLES)
    assert len(got) == len(expected) + 2
    assert ("<https://example.org/note/2>", f"<{DESC}>", '"from JSON-LD"') in got
    assert ("<https://example.org/note/3>", f"<{DESC}>", '"from RDF/XML"') in got

    # PUT replaces (204), DELETE removes, then 404
    replaced = client.put(url, data=NTRIPLES, headers={**auth, "Content-Type": "application/n-triples"})
    assert replaced.status_code == 204
    got = client.get(url, headers={"Accept": "application/n-triples"}).data
    assert _triples(got, ox.RdfFormat.N_TRIPLES) == _triples(NTRIPLES.encode(), ox.RdfFormat.N_TRIPLES)
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404
    log = client.get("/changes").get_json()["changes"]
    assert [c["operation"] for c in log][:2] == [f"PUT <{G}>", f"POST <{G}>"]
    assert log[-1]["operation"] == f"DELETE <{G}>" and log[-1]["removed"] == 1


def test_the_default_graph_and_datasets(gsp) -> None:
    _config, client, auth = gsp
    assert client.get("/graphs?default", headers={"Accept": "application/n-triples"}).status_code == 200
    put = client.put("/graphs?default", data=NTRIPLES, headers={**auth, "Content-Type": "application/n-triples"})
    assert put.status_code == 204  # the default graph always exists
    got = client.get("/graphs?default", headers={"Accept": "application/n-triples"}).data
    assert _triples(got, ox.RdfFormat.N_TRIPLES) == _triples(NTRIPLES.encode(), ox.RdfFormat.N_TRIPLES)
    trig = f'<{G}> {{ <https://example.org/note/6> <{DESC}> "from TriG" . }}'
    posted = client.post("/graphs", data=trig, headers={**auth, "Content-Type": "application/trig"})
    assert posted.status_code == 204
    got = client.get(f"/graphs?graph={G}", headers={"Accept": "application/n-triples"}).get_data(as_text=True)
    assert '"from TriG"' in got
    # a dataset body sent to one graph is refused rather than flattened
    refused = client.put(f"/graphs?graph={G}", data=trig, headers={**auth, "Content-Type": "application/trig"})
    assert refused.status_code == 400 and "names graphs of its own" in refused.get_data(as_text=True)


def test_refusals(gsp) -> None:
    config, client, auth = gsp
    before = current_release(config.path("build_dir")).version
    url = f"/graphs?graph={G}"
    assert client.put(url, data=TURTLE, headers={"Content-Type": "text/turtle"}).status_code == 401
    broken = "<https://example.org/a> <https://example.org/b> <https://example.org/c> .\n<https://example.org/a> <b"
    bad = client.put(url, data=broken, headers={**auth, "Content-Type": "text/turtle"})
    assert bad.status_code == 400 and "line 2" in bad.get_data(as_text=True)
    assert client.put(url, data=TURTLE, headers={**auth, "Content-Type": "text/csv"}).status_code == 415
    ontology = "/graphs?graph=https://w3id.org/sitegraph/graph/ontology"
    assert client.get(ontology, headers={"Accept": "text/turtle"}).status_code == 200
    managed = client.put(ontology, data=TURTLE, headers={**auth, "Content-Type": "text/turtle"})
    assert managed.status_code == 403 and "cannot be written" in managed.get_data(as_text=True)
    assert client.delete("/graphs?graph=https://w3id.org/sitegraph/graph/inferred", headers=auth).status_code == 403
    assert client.get("/graphs?graph=not an iri").status_code == 400
    assert client.put("/graphs", data=TURTLE, headers={**auth, "Content-Type": "text/turtle"}).status_code == 400
    violating = f"<{ID}site/new-park> a <https://w3id.org/sitegraph/ontology#Technopark> ."
    rejected = client.put(url, data=violating, headers={**auth, "Content-Type": "text/turtle"})
    assert rejected.status_code == 422 and rejected.get_json()["results"]
    assert current_release(config.path("build_dir")).version == before

    dry = client.put(url + "&dry_run=true", data=TURTLE, headers={**auth, "Content-Type": "text/turtle"})
    assert dry.status_code == 200 and dry.get_json()["diff"]["added"] == 2 and not dry.get_json()["committed"]
    assert client.get(url).status_code == 404
    assert current_release(config.path("build_dir")).version == before
