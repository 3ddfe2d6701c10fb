"""The bytes of each dump: stable blank-node IRIs, sorted statements, sorted prefixes, compacted JSON-LD.

Everything here is a pure function of the quads, so two exports of the same data are byte-identical:
blank nodes become IRIs under ``<base>.well-known/genid/`` (``skolemise``), statements are sorted, prefix
lines are sorted, JSON-LD arrays and keys are sorted and gzip headers carry no time and no file name.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Dataset, Graph

from ..namespaces import PREFIXES, DataIRIs
from ..store import canonical_quads, stable_prefixes

GENID = ".well-known/genid/"
CONTEXT_FILE = "context.jsonld"
#: How far the blank-node digest follows chains of blank nodes (long RDF lists): bounds time and recursion.
MAX_DEPTH = 48


@dataclass(frozen=True)
class Format:
    """One dump format: its CLI name, file name, media type and whether it keeps named graphs."""

    key: str
    filename: str
    media_type: str
    label: str
    quads: bool


FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("turtle", "sitegraph.ttl", "text/turtle", "Turtle", False),
        Format("ntriples", "sitegraph.nt", "application/n-triples", "N-Triples", False),
        Format("nquads", "sitegraph.nq", "application/n-quads", "N-Quads", True),
        Format("trig", "sitegraph.trig", "application/trig", "TriG", True),
        Format("jsonld", "sitegraph.jsonld", "application/ld+json", "JSON-LD", True),
        Format("rdfxml", "sitegraph.rdf", "application/rdf+xml", "RDF/XML", False),
    )
}

OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


def sort_key(quad: ox.Quad) -> tuple[str, str, str, str]:
    return (str(quad.graph_name), str(quad.subject), str(quad.predicate), str(quad.object))


def vocabulary_prefixes() -> dict[str, str]:
    """Prefixes written in Turtle, TriG and RDF/XML: vocabularies only, as in the build's TriG dump."""
    return dict(sorted(PREFIXES.items()))


def jsonld_context(iris: DataIRIs) -> dict:
    """The published JSON-LD context: every project prefix, plus ``id:`` and ``graph:`` for the data IRIs."""
    return {"@context": dict(sorted(iris.prefixes().items()))}


def context_url(iris: DataIRIs) -> str:
    return iris.base + CONTEXT_FILE


# --- blank nodes ---------------------------------------------------------------------------------------------


def skolemise(quads: list[ox.Quad], base: str) -> list[ox.Quad]:
    """Replace every blank node by an IRI ``<base>.well-known/genid/<digest>``, sorted like the release.

    The digest hashes what the node says (its outgoing statements, nested blank nodes expanded) and where it
    hangs (the path of incoming statements up to a named node), so an unchanged node keeps its IRI when other
    parts of the data change. Nodes that are indistinguishable that way are told apart by the order of their
    canonical (RDFC-1.0) labels.
    """
    quads = canonical_quads(quads)
    out_edges: dict[ox.BlankNode, list[ox.Quad]] = defaultdict(list)
    in_edges: dict[ox.BlankNode, list[ox.Quad]] = defaultdict(list)
    blanks: set[ox.BlankNode] = set()
    for quad in quads:
        if isinstance(quad.subject, ox.BlankNode):
            out_edges[quad.subject].append(quad)
            blanks.add(quad.subject)
        if isinstance(quad.object, ox.BlankNode):
            in_edges[quad.object].append(quad)
            blanks.add(quad.object)
    if not blanks:
        return quads

    def content(node: ox.BlankNode, seen: frozenset) -> str:
        if node in seen or len(seen) >= MAX_DEPTH:
            return "_:cycle" if node in seen else "_:deep"
        lines = []
        for q in out_edges.get(node, ()):
            obj = "[" + content(q.object, seen | {node}) + "]" if isinstance(q.object, ox.BlankNode) else str(q.object)
            lines.append(f"{q.graph_name} {q.predicate} {obj}")
        return "\n".join(sorted(lines))

    def context(node: ox.BlankNode, seen: frozenset) -> str:
        if node in seen or len(seen) >= MAX_DEPTH:
            return "_:cycle" if node in seen else "_:deep"
        lines = []
        for q in in_edges.get(node, ()):
            subj = (
                "[" + context(q.subject, seen | {node}) + "]" if isinstance(q.subject, ox.BlankNode) else str(q.subject)
            )
            lines.append(f"{q.graph_name} {subj} {q.predicate}")
        return "\n".join(sorted(lines))

    keys = {
        node: hashlib.sha256(f"{content(node, frozenset())}\n--\n{context(node, frozenset())}".encode()).hexdigest()
        for node in blanks
    }
    by_key: dict[str, list[ox.BlankNode]] = defaultdict(list)
    for node in sorted(blanks, key=lambda b: b.value):  # canonical labels: the tie-breaker
        by_key[keys[node]].append(node)
    prefix = base + GENID
    mapping: dict[ox.BlankNode, ox.NamedNode] = {}
    for key, nodes in by_key.items():
        for index, node in enumerate(nodes):
            digest = hashlib.sha256(f"{key}#{index}".encode()).hexdigest()[:20] if index else key[:20]
            mapping[node] = ox.NamedNode(prefix + digest)

    def term(t):
        return mapping.get(t, t) if isinstance(t, ox.BlankNode) else t

    return sorted({ox.Quad(term(q.subject), q.predicate, term(q.object), q.graph_name) for q in quads}, key=sort_key)


def deskolemise(quads: list[ox.Quad], base: str) -> list[ox.Quad]:
    """Turn ``<base>.well-known/genid/…`` IRIs back into blank nodes (to compare with the original release)."""
    prefix = base + GENID

    def term(t):
        if isinstance(t, ox.NamedNode) and t.value.startswith(prefix):
            return ox.BlankNode("g" + t.value[len(prefix) :])
        return t

    return [ox.Quad(term(q.subject), q.predicate, term(q.object), q.graph_name) for q in quads]


def union(quads: list[ox.Quad]) -> list[ox.Quad]:
    """All graphs merged into the default graph, duplicates removed, sorted."""
    return sorted({ox.Quad(q.subject, q.predicate, q.object) for q in quads}, key=sort_key)


# --- serialisation -------------------------------------------------------------------------------------------


def serialize(quads: list[ox.Quad], fmt: Format, iris: DataIRIs) -> bytes:
    """The dump of ``quads`` (already skolemised and sorted) in ``fmt``; triple formats get the union."""
    data = quads if fmt.quads else union(quads)
    if fmt.key == "jsonld":
        return _jsonld(data, iris)
    if fmt.key in ("ntriples", "turtle", "rdfxml"):
        statements: list = [ox.Triple(q.subject, q.predicate, q.object) for q in data]
    else:
        statements = data
    kwargs = {"prefixes": vocabulary_prefixes()} if fmt.key in ("turtle", "trig", "rdfxml") else {}
    body = ox.serialize(statements, format=OX_FORMATS[fmt.key], **kwargs)
    return stable_prefixes(body) if fmt.key in ("turtle", "trig") else body


def _jsonld(quads: list[ox.Quad], iris: DataIRIs) -> bytes:
    """Compacted JSON-LD (rdflib's serializer with the project context), then sorted for stable bytes.

    The ``@context`` of the file is the URL of the published context; the same context ships in the folder."""
    nquads = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    named = any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads)
    graph = Dataset(default_union=False) if named else Graph()
    graph.parse(data=nquads.decode("utf-8"), format="nquads" if named else "nt")
    context = jsonld_context(iris)["@context"]
    text = graph.serialize(format="json-ld", context=context, auto_compact=True)
    document = json.loads(text)
    if isinstance(document, list):
        document = {"@graph": document}
    document["@context"] = context_url(iris)
    document = _sorted_json(document)
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _sorted_json(value, key: str | None = None):
    """Sort every array except ``@list`` (order matters there) by its members' JSON text."""
    if isinstance(value, dict):
        return {k: _sorted_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_json(v) for v in value]
        if key == "@list":
            return items
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no time stamp and no file name in the header: equal input, equal bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)
