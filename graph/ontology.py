"""The ontology as the build sees it: which classes, properties and concepts exist, and how they relate.

The source reader asks this index whether a key in a YAML file is a declared property and whether its value is
an entity, a concept or a literal; the inference step asks it for superclasses, inverses and transitivity. So
the ontology files are the single definition of what the data may say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

from .errors import Problem, SourceError
from .namespaces import SG, bind_prefixes

#: Datatype-property ranges that mean "a date of any precision" (the datatype carries the precision).
DATE_RANGE = RDFS.Literal
DATE_DATATYPES = (XSD.date, XSD.gYearMonth, XSD.gYear, XSD.gMonthDay, XSD.gMonth)


@dataclass
class Ontology:
    graph: Graph
    classes: set[URIRef] = field(default_factory=set)
    object_properties: set[URIRef] = field(default_factory=set)
    datatype_properties: set[URIRef] = field(default_factory=set)
    annotation_properties: set[URIRef] = field(default_factory=set)
    concepts: set[URIRef] = field(default_factory=set)
    ranges: dict[URIRef, URIRef] = field(default_factory=dict)
    inverses: dict[URIRef, URIRef] = field(default_factory=dict)
    symmetric: set[URIRef] = field(default_factory=set)
    superclasses: dict[URIRef, set[URIRef]] = field(default_factory=dict)

    def term(self, local: str) -> URIRef:
        return SG[local]

    def is_class(self, iri: URIRef) -> bool:
        return iri in self.classes

    def kind_of_property(self, iri: URIRef) -> str | None:
        """'object', 'datatype', 'annotation' or None when the property is not declared."""
        if iri in self.object_properties:
            return "object"
        if iri in self.datatype_properties:
            return "datatype"
        if iri in self.annotation_properties:
            return "annotation"
        return None

    def ancestors(self, cls: URIRef) -> set[URIRef]:
        """All named superclasses of ``cls`` (not including itself or owl:Thing)."""
        return self.superclasses.get(cls, set())

    def label(self, iri: URIRef, lang: str = "en") -> str:
        for value in self.graph.objects(iri, SKOS.prefLabel):
            if getattr(value, "language", None) == lang:
                return str(value)
        return str(iri).rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def parse_turtle_folder(folder: Path, what: str) -> Graph:
    """Every ``*.ttl`` in ``folder`` (sorted) in one graph; a missing or unparsable file is a SourceError."""
    graph = Graph()
    bind_prefixes(graph)
    files = sorted(folder.glob("*.ttl"))
    if not files:
        raise SourceError([Problem(str(folder), None, None, None, f"no {what} files (*.ttl) found")])
    for path in files:
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several parser exception types
            raise SourceError([Problem(str(path), None, None, None, f"cannot parse Turtle: {exc}")]) from exc
    return graph


def load_ontology(folder: Path) -> Ontology:
    """Parse every ``*.ttl`` in ``folder`` (sorted) and index it."""
    return index_ontology(parse_turtle_folder(folder, "ontology"))


def closure(direct: dict[URIRef, set[URIRef]], start: URIRef) -> set[URIRef]:
    """Everything reachable from ``start`` through ``direct`` links (not ``start`` itself)."""
    seen: set[URIRef] = set()
    stack = list(direct.get(start, ()))
    while stack:
        node = stack.pop()
        if node in seen or node == start:
            continue
        seen.add(node)
        stack.extend(direct.get(node, ()))
    return seen


def index_ontology(graph: Graph) -> Ontology:
    onto = Ontology(graph=graph)
    onto.classes = {c for c in graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
    onto.object_properties = set(graph.subjects(RDF.type, OWL.ObjectProperty))
    onto.datatype_properties = set(graph.subjects(RDF.type, OWL.DatatypeProperty))
    onto.annotation_properties = set(graph.subjects(RDF.type, OWL.AnnotationProperty))
    onto.concepts = {c for c in graph.subjects(RDF.type, SKOS.Concept) if isinstance(c, URIRef)}
    for prop, rng in graph.subject_objects(RDFS.range):
        if isinstance(prop, URIRef) and isinstance(rng, URIRef):
            onto.ranges[prop] = rng
    for a, b in graph.subject_objects(OWL.inverseOf):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            onto.inverses[a] = b
            onto.inverses[b] = a
    onto.symmetric = {p for p in graph.subjects(RDF.type, OWL.SymmetricProperty) if isinstance(p, URIRef)}
    direct: dict[URIRef, set[URIRef]] = {}
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef) and sup != OWL.Thing:
            direct.setdefault(sub, set()).add(sup)
    onto.superclasses = {cls: closure(direct, cls) for cls in direct}
    return onto
