"""Descriptions of the service and the data: SPARQL Service Description, VoID, and the dumps.

The service description is made per request (its endpoint is the address the client used); the VoID
description was computed by the build from the release's quads and is served as it is, in any RDF format.
"""

from __future__ import annotations

import hashlib

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request, send_file

from graph.build import dump_prefixes

from . import conditional
from .errors import NotFound
from .negotiation import GRAPHS, RESULTS, negotiate
from .store import get_store

bp = Blueprint("service", __name__)

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
FORMATS = "http://www.w3.org/ns/formats/"
FORMAT_IRIS = {
    "json": "SPARQL_Results_JSON",
    "xml": "SPARQL_Results_XML",
    "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV",
    "turtle": "Turtle",
    "ntriples": "N-Triples",
    "nquads": "N-Quads",
    "trig": "TriG",
    "jsonld": "JSON-LD",
    "rdfxml": "RDF_XML",
}
DUMPS = {"sitegraph.nq": "application/n-quads", "sitegraph.trig": "application/trig", "void.ttl": "text/turtle"}


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n("http://www.w3.org/2001/XMLSchema#integer"))


def service_triples(root: str) -> list[ox.Triple]:
    opened = get_store()
    config = current_app.config["SITEGRAPH"]
    service = _n(root + "sparql#service")
    dataset, default_graph = ox.BlankNode("dataset"), ox.BlankNode("default")
    out = [
        ox.Triple(service, RDF_TYPE, _n(SD + "Service")),
        ox.Triple(service, _n(SD + "endpoint"), _n(root + "sparql")),
        ox.Triple(service, _n(SD + "supportedLanguage"), _n(SD + "SPARQL11Query")),
        # updates are accepted with a write token (server/writes.py); so is the Graph Store Protocol at /graphs
        ox.Triple(service, _n(SD + "supportedLanguage"), _n(SD + "SPARQL11Update")),
        ox.Triple(service, _n(SD + "defaultEntailmentRegime"), _n("http://www.w3.org/ns/entailment/Simple")),
        ox.Triple(service, _n(SD + "defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, _n(SD + "Dataset")),
        ox.Triple(dataset, _n(SD + "defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, _n(SD + "Graph")),
        ox.Triple(dataset, _n("http://www.w3.org/2000/01/rdf-schema#seeAlso"), _n(root + ".well-known/void")),
        ox.Triple(dataset, _n("http://purl.org/dc/terms/hasVersion"), ox.Literal(opened.version)),
    ]
    for fmt in [*RESULTS, *GRAPHS]:
        out.append(ox.Triple(service, _n(SD + "resultFormat"), _n(FORMATS + FORMAT_IRIS[fmt.key])))
    if config.default_graph == "union":
        out.append(ox.Triple(service, _n(SD + "feature"), _n(SD + "UnionDefaultGraph")))
    total = opened.release.manifest["quads"]
    out.append(ox.Triple(default_graph, _n(VOID + "triples"), _int(total)))
    for index, (graph, count) in enumerate(sorted(opened.release.manifest["graphs"].items())):
        named, described = ox.BlankNode(f"ng{index}"), ox.BlankNode(f"g{index}")
        out += [
            ox.Triple(dataset, _n(SD + "namedGraph"), named),
            ox.Triple(named, RDF_TYPE, _n(SD + "NamedGraph")),
            ox.Triple(named, _n(SD + "name"), _n(graph)),
            ox.Triple(named, _n(SD + "graph"), described),
            ox.Triple(described, RDF_TYPE, _n(SD + "Graph")),
            ox.Triple(described, _n(VOID + "triples"), _int(count)),
        ]
    return out


def service_description(fmt) -> Response:
    opened = get_store()
    root_digest = hashlib.sha256(request.url_root.encode()).hexdigest()[:12]
    etag = f"{opened.version}-sd-{fmt.key}-{root_digest}"
    not_modified = conditional.not_modified(etag, opened.last_modified)
    if not_modified is not None:
        return not_modified
    body = _serialize(service_triples(request.url_root), fmt)
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return conditional.tag(response, etag, opened.last_modified)


def _serialize(triples: list[ox.Triple], fmt) -> bytes:
    kwargs = {"prefixes": dump_prefixes()} if fmt.key in ("turtle", "trig", "rdfxml") else {}
    if fmt.key in ("nquads", "trig"):
        triples = [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
    return ox.serialize(triples, format=fmt.kind, **kwargs)


@bp.get("/.well-known/void")
def void() -> Response:
    opened = get_store()
    fmt = negotiate(request.headers.get("Accept"), GRAPHS, request.args.get("format"))
    etag = f"{opened.version}-void-{fmt.key}"
    not_modified = conditional.not_modified(etag, opened.last_modified)
    if not_modified is not None:
        return not_modified
    path = opened.release.path / "void.ttl"
    if not path.is_file():
        raise NotFound("this release has no VoID description: rebuild with `sitegraph build`")
    if fmt.key == "turtle":
        body = path.read_bytes()
    else:
        body = _serialize(list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)), fmt)
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return conditional.tag(response, etag, opened.last_modified)


@bp.get("/dumps/<name>")
def dump(name: str) -> Response:
    if name not in DUMPS:
        raise NotFound(f"no dump named {name}; available: {', '.join(DUMPS)}")
    opened = get_store()
    etag = f"{opened.version}-dump-{name}"
    not_modified = conditional.not_modified(etag, opened.last_modified)
    if not_modified is not None:
        return not_modified
    response = send_file(opened.release.path / name, mimetype=DUMPS[name], conditional=False)
    response.headers["Content-Type"] = DUMPS[name] + "; charset=utf-8"
    return conditional.tag(response, etag, opened.last_modified)
