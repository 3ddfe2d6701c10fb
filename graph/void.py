"""The VoID description of a release, computed at build time from the quads themselves, so it is always true.

Dataset-level and per named graph (``void:subset``): triples, entities (IRIs under ``<base>id/``), distinct
subjects and objects, class partitions (entities per class) and property partitions (triples per property),
plus the SPARQL endpoint, the data dumps, the licence and the dataset version.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict

import pyoxigraph as ox

from .namespaces import DCTERMS, PREFIXES, RDF, VOID, XSD, DataIRIs

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
DUMPS = {"sitegraph.nq": "application/n-quads", "sitegraph.trig": "application/trig"}


def _slug(iri: str) -> str:
    """A readable, stable path segment for a class or property: ``sg-Technopark``, ``rdf-type``."""
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        if iri.startswith(namespace):
            return re.sub(r"[^A-Za-z0-9_-]+", "-", f"{prefix}-{iri[len(namespace) :]}")
    return "h" + hashlib.sha1(iri.encode()).hexdigest()[:12]


def _n(iri) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n(XSD.integer))


class _Stats:
    def __init__(self) -> None:
        self.triples = 0
        self.subjects: set = set()
        self.objects: set = set()
        self.entities: set = set()
        self.classes: dict[str, set] = defaultdict(set)
        self.properties: Counter[str] = Counter()

    def add(self, quad: ox.Quad, entity_prefix: str) -> None:
        self.triples += 1
        self.subjects.add(quad.subject)
        self.objects.add(quad.object)
        if isinstance(quad.subject, ox.NamedNode) and quad.subject.value.startswith(entity_prefix):
            self.entities.add(quad.subject)
        self.properties[quad.predicate.value] += 1
        if quad.predicate.value == str(RDF.type) and isinstance(quad.object, ox.NamedNode):
            self.classes[quad.object.value].add(quad.subject)


def describe(quads: list[ox.Quad], iris: DataIRIs, version: str, title: str = "sitegraph") -> list[ox.Triple]:
    """VoID triples for the dataset made of ``quads`` (its union and each named graph)."""
    entity_prefix = str(iris.id)
    total = _Stats()
    per_graph: dict[str, _Stats] = defaultdict(_Stats)
    for quad in quads:
        total.add(quad, entity_prefix)
        if isinstance(quad.graph_name, ox.NamedNode):
            per_graph[quad.graph_name.value].add(quad, entity_prefix)
    dataset = _n(iris.base + "dataset")
    out: list[ox.Triple] = [
        ox.Triple(dataset, _n(RDF.type), _n(VOID.Dataset)),
        ox.Triple(dataset, _n(DCTERMS.title), ox.Literal(title, language="en")),
        ox.Triple(dataset, _n(DCTERMS.license), _n(LICENSE)),
        ox.Triple(dataset, _n(DCTERMS.hasVersion), ox.Literal(version)),
        ox.Triple(dataset, _n(VOID.sparqlEndpoint), _n(iris.base + "sparql")),
        ox.Triple(dataset, _n(VOID.uriSpace), ox.Literal(entity_prefix)),
        ox.Triple(dataset, _n(VOID.vocabulary), _n("https://w3id.org/sitegraph/ontology#")),
    ]
    for name in DUMPS:
        out.append(ox.Triple(dataset, _n(VOID.dataDump), _n(iris.base + "dumps/" + name)))
    out += _stats_triples(dataset, total, iris.base + "void/")
    for graph, stats in sorted(per_graph.items()):
        local = graph[len(str(iris.graph)) :] if graph.startswith(str(iris.graph)) else graph
        subset = _n(iris.base + "void/graph/" + local)
        out.append(ox.Triple(dataset, _n(VOID.subset), subset))
        out.append(ox.Triple(subset, _n(RDF.type), _n(VOID.Dataset)))
        out.append(ox.Triple(subset, _n(DCTERMS.source), _n(graph)))
        out.append(ox.Triple(subset, _n("http://www.w3.org/ns/sparql-service-description#name"), _n(graph)))
        out += _stats_triples(subset, stats, iris.base + "void/graph/" + local + "/")
    return out


def _stats_triples(node: ox.NamedNode, stats: _Stats, partition_base: str) -> list[ox.Triple]:
    out = [
        ox.Triple(node, _n(VOID.triples), _int(stats.triples)),
        ox.Triple(node, _n(VOID.entities), _int(len(stats.entities))),
        ox.Triple(node, _n(VOID.distinctSubjects), _int(len(stats.subjects))),
        ox.Triple(node, _n(VOID.distinctObjects), _int(len(stats.objects))),
        ox.Triple(node, _n(VOID.classes), _int(len(stats.classes))),
        ox.Triple(node, _n(VOID.properties), _int(len(stats.properties))),
    ]
    for cls, members in sorted(stats.classes.items()):
        part = _n(f"{partition_base}class/{_slug(cls)}")
        out += [
            ox.Triple(node, _n(VOID.classPartition), part),
            ox.Triple(part, _n(VOID["class"]), _n(cls)),
            ox.Triple(part, _n(VOID.entities), _int(len(members))),
        ]
    for prop, count in sorted(stats.properties.items()):
        part = _n(f"{partition_base}property/{_slug(prop)}")
        out += [
            ox.Triple(node, _n(VOID.propertyPartition), part),
            ox.Triple(part, _n(VOID.property), _n(prop)),
            ox.Triple(part, _n(VOID.triples), _int(count)),
        ]
    return out
