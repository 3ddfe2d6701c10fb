"""Real SPARQL clients against a live server on loopback: SPARQLWrapper and rdflib's SPARQLStore."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper
from werkzeug.serving import make_server

from server import create_app

SG = "https://w3id.org/sitegraph/ontology#"
PREFIXES = f"PREFIX sg: <{SG}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
SITES = PREFIXES + "SELECT ?s ?l WHERE { ?s a sg:Site ; rdfs:label ?l FILTER(LANG(?l) = 'ru') } ORDER BY ?s"


@pytest.fixture(scope="module")
def endpoint(built) -> Iterator[str]:
    config, _release = built
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sparql"
    server.shutdown()
    thread.join(timeout=5)


def _wrapper(endpoint: str, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    client.setTimeout(20)
    return client


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_json_and_xml(endpoint: str, method: str):
    rows = _wrapper(endpoint, SITES, JSON, method).queryAndConvert()["results"]["bindings"]
    assert len(rows) >= 10
    assert any("Чирчик" in row["l"]["value"] for row in rows), "Russian labels survive the round trip"
    document = _wrapper(endpoint, SITES, XML, method).queryAndConvert()
    assert len(document.getElementsByTagName("result")) == len(rows)


def test_sparqlwrapper_csv_and_ask(endpoint: str):
    text = _wrapper(endpoint, SITES, CSV).queryAndConvert().decode("utf-8")
    assert text.splitlines()[0].strip() == "s,l"
    assert _wrapper(endpoint, "ASK { ?s ?p ?o }", JSON).queryAndConvert()["boolean"] is True


def test_sparqlwrapper_construct_as_turtle(endpoint: str):
    query = PREFIXES + "CONSTRUCT { ?s a sg:Technopark } WHERE { ?s a sg:Technopark }"
    graph = Graph().parse(data=_wrapper(endpoint, query, TURTLE).queryAndConvert(), format="turtle")
    assert len(set(graph.subjects(RDF.type, URIRef(SG + "Technopark")))) >= 5


def test_rdflib_sparqlstore(endpoint: str):
    graph = Graph(store=SPARQLStore(endpoint, returnFormat="json"))
    rows = list(graph.query(SITES))
    assert len(rows) >= 10
    assert all(isinstance(row.s, URIRef) for row in rows)
    assert graph.query("ASK { ?s ?p ?o }").askAnswer is True
    technoparks = list(graph.triples((None, RDF.type, URIRef(SG + "Technopark"))))
    assert len(technoparks) >= 5
