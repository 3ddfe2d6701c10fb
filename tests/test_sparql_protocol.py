"""The SPARQL 1.1 Protocol at /sparql, through the Flask test client; answers are parsed back, not compared as text."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import RDF

from server import create_app

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
SRX = "{http://www.w3.org/2005/sparql-results#}"
COUNT_SITES = (
    "PREFIX sg: <https://w3id.org/sitegraph/ontology#> SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a sg:Site }"
)
SITES = (
    "PREFIX sg: <https://w3id.org/sitegraph/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?s ?label WHERE { ?s a sg:Site ; rdfs:label ?label FILTER(LANG(?label) = 'en') } ORDER BY ?s"
)
CONSTRUCT = (
    "PREFIX sg: <https://w3id.org/sitegraph/ontology#> CONSTRUCT { ?s a sg:Technopark } WHERE { ?s a sg:Technopark }"
)


def _count(response) -> int:
    return int(json.loads(response.data)["results"]["bindings"][0]["n"]["value"])


def test_get_post_form_and_post_direct_agree(client):
    by_get = client.get("/sparql?query=" + quote(COUNT_SITES))
    by_form = client.post("/sparql", data={"query": COUNT_SITES})
    by_body = client.post("/sparql", data=COUNT_SITES, content_type="application/sparql-query")
    assert by_get.status_code == by_form.status_code == by_body.status_code == 200
    assert _count(by_get) == _count(by_form) == _count(by_body) > 10


def test_default_graph_is_the_union_and_named_graphs_stay_addressable(client, built):
    _config, release = built
    union = _count(client.get("/sparql", query_string={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}))
    graphs = release.manifest["graphs"]
    assert sum(graphs.values()) >= union > max(graphs.values())
    reference = next(g for g in graphs if g.endswith("/graph/reference"))
    only = client.get(
        "/sparql", query_string={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "default-graph-uri": reference}
    )
    assert _count(only) == graphs[reference]
    named = client.get(
        "/sparql",
        query_string={"query": "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"},
    )
    assert _count(named) == len(graphs)
    restricted = client.get(
        "/sparql",
        query_string={
            "query": "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
            "named-graph-uri": reference,
        },
    )
    assert _count(restricted) == 1


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("text/csv;q=0.5, application/sparql-results+json;q=0.9", "application/sparql-results+json"),
        ("application/sparql-results+xml, */*;q=0.1", "application/sparql-results+xml"),
        ("*/*", "application/sparql-results+json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/sparql-results+xml"),
    ],
)
def test_select_results_are_negotiated(client, accept: str, media_type: str):
    response = client.get("/sparql", query_string={"query": SITES}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.mimetype_params.get("charset") == "utf-8"
    assert "Accept" in response.headers["Vary"]
    text = response.get_data(as_text=True)
    if "json" in media_type:
        rows = json.loads(text)["results"]["bindings"]
    elif "xml" in media_type:
        rows = ET.fromstring(text).findall(f"{SRX}results/{SRX}result")
    elif media_type == "text/csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = text.strip().splitlines()[1:]
    assert len(rows) >= 10


def test_format_parameter_overrides_accept(client):
    response = client.get(
        "/sparql", query_string={"query": SITES, "format": "csv"}, headers={"Accept": "application/json"}
    )
    assert response.mimetype == "text/csv"


def test_ask(client):
    response = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/json"})
    assert json.loads(response.data)["boolean"] is True


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
        ("application/n-quads", "nquads"),
        ("application/trig", "trig"),
    ],
)
def test_construct_results_are_negotiated_and_parse(client, accept: str, rdflib_format: str):
    response = client.get("/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": accept})
    assert response.status_code == 200, response.data
    assert response.mimetype == accept
    graph = Dataset() if rdflib_format in ("nquads", "trig") else Graph()
    graph.parse(data=response.get_data(as_text=True), format=rdflib_format)
    technopark = URIRef("https://w3id.org/sitegraph/ontology#Technopark")
    assert len(set(graph.subjects(RDF.type, technopark))) >= 5


def test_nothing_acceptable_is_406(client):
    response = client.get("/sparql", query_string={"query": SITES}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.get_data(as_text=True)


def test_malformed_query_is_400_with_position(client):
    response = client.get(
        "/sparql", query_string={"query": "SELECT ?s WHERE { ?s ?p }"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.data)
    assert set(problem) >= {"type", "title", "status", "detail"} and problem["status"] == 400
    assert "1:" in problem["detail"], "the parser's position is reported"
    text = client.get("/sparql", query_string={"query": "SELECT"}, headers={"Accept": "text/plain"})
    assert text.status_code == 400 and text.mimetype == "text/plain"
    assert text.get_data(as_text=True).startswith("400 ")


def test_client_mistakes_are_4xx_never_500(client):
    assert client.put("/sparql", data="x").status_code == 405
    assert "GET" in client.delete("/sparql").headers["Allow"]
    assert client.post("/sparql", data=SITES, content_type="text/plain").status_code == 415
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 1_100_000
    assert client.post("/sparql", data=big, content_type="application/sparql-query").status_code == 413
    assert client.post("/sparql", data={"update": "CLEAR ALL"}).status_code == 401  # writes need a bearer token
    assert client.post("/sparql", data={"nothing": "here"}).status_code == 400
    assert client.get("/sparql", query_string={"query": SITES, "default-graph-uri": "not an iri"}).status_code == 400


def test_deep_nesting_is_refused_before_the_parser(client):
    deep = "SELECT * WHERE " + "{" * 5000 + "}" * 5000
    response = client.get("/sparql", query_string={"query": deep})
    assert response.status_code == 400
    assert "nested" in response.get_data(as_text=True)


def test_service_is_refused(client):
    query = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert "SERVICE" in response.get_data(as_text=True)


def test_service_description(client, built):
    _config, release = built
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    service = next(graph.subjects(RDF.type, URIRef(SD + "Service")))
    assert str(graph.value(service, URIRef(SD + "endpoint"))) == "http://localhost/sparql"
    assert URIRef(SD + "SPARQL11Query") in set(graph.objects(service, URIRef(SD + "supportedLanguage")))
    assert URIRef(SD + "SPARQL11Update") in set(graph.objects(service, URIRef(SD + "supportedLanguage")))
    assert len(set(graph.objects(service, URIRef(SD + "resultFormat")))) >= 8
    assert URIRef(SD + "UnionDefaultGraph") in set(graph.objects(service, URIRef(SD + "feature")))
    names = set(graph.objects(None, URIRef(SD + "name")))
    assert {URIRef(g) for g in release.manifest["graphs"]} == names
    browser = client.get("/sparql", headers={"Accept": "text/html"})
    assert browser.status_code == 303 and browser.headers["Location"].endswith("/")


def test_void_is_true_to_the_data(client, built):
    _config, release = built
    response = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    dataset = next(d for d in graph.subjects(RDF.type, URIRef(VOID + "Dataset")) if str(d).endswith("/dataset"))
    assert int(graph.value(dataset, URIRef(VOID + "triples"))) == release.manifest["quads"]
    subsets = list(graph.objects(dataset, URIRef(VOID + "subset")))
    assert len(subsets) == len(release.manifest["graphs"])
    for subset in subsets:
        name = str(graph.value(subset, URIRef(SD + "name")))
        assert int(graph.value(subset, URIRef(VOID + "triples"))) == release.manifest["graphs"][name]
    assert graph.value(dataset, URIRef(VOID + "sparqlEndpoint")) is not None
    assert len(list(graph.objects(dataset, URIRef(VOID + "dataDump")))) == 2
    jsonld = client.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert len(Graph().parse(data=jsonld.get_data(as_text=True), format="json-ld")) == len(graph)


def test_dumps_are_served(client, built):
    _config, release = built
    response = client.get("/dumps/sitegraph.nq")
    assert response.status_code == 200 and response.mimetype == "application/n-quads"
    assert response.data == (release.path / "sitegraph.nq").read_bytes()
    response.close()
    assert client.get("/dumps/../manifest.json").status_code == 404
    assert client.get("/dumps/secret.txt").status_code == 404


def test_conditional_requests_get_304(client):
    first = client.get("/sparql", query_string={"query": SITES})
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get("/sparql", query_string={"query": SITES}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    since = client.get("/sparql", query_string={"query": SITES}, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other = client.get("/sparql", query_string={"query": COUNT_SITES}, headers={"If-None-Match": etag})
    assert other.status_code == 200, "an ETag belongs to one query"


def test_cors_for_reads(client, built):
    response = client.get("/sparql", query_string={"query": SITES}, headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = client.options(
        "/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204 and "POST" in preflight.headers["Access-Control-Allow-Methods"]
    config, _release = built
    closed = create_app(type(config)({**config.values, "cors_origins": ""})).test_client()
    response = closed.get("/sparql", query_string={"query": SITES}, headers={"Origin": "https://example.org"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_build_is_a_clear_503(tmp_path):
    from graph.config import load_config

    app = create_app(load_config(overrides={"build_dir": str(tmp_path / "none")}, environ={}))
    response = app.test_client().get("/sparql", query_string={"query": SITES}, headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert "sitegraph build" in json.loads(response.data)["detail"]
