"""Documentation of the ontology, generated from it: every class and property with its labels in English and
Russian, definition, place in the hierarchy, domain and range; for each class the SHACL constraints that apply
(its own shapes and those of its superclasses) and a real instance from the data.

``collect`` builds the model once; ``graph.docs_html`` writes it as the release's ``ontology.html`` and the server
shows it at /ontology (``server/ld_ontology.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from ..namespaces import ONTOLOGY_IRI, SG, DataIRIs
from .locate import curie
from .manchester import render
from .shape_text import Constraint, Namer, constraints_of, shape_comments

KINDS = (
    ("classes", "Classes", OWL.Class),
    ("object-properties", "Object properties", OWL.ObjectProperty),
    ("datatype-properties", "Datatype properties", OWL.DatatypeProperty),
    ("annotation-properties", "Annotation properties", OWL.AnnotationProperty),
)
CHARACTERISTICS = (OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.FunctionalProperty,
                   OWL.InverseFunctionalProperty, OWL.AsymmetricProperty, OWL.ReflexiveProperty,
                   OWL.IrreflexiveProperty)  # fmt: skip


@dataclass(frozen=True)
class Example:
    iri: str
    label: str


@dataclass
class TermDoc:
    iri: str
    curie: str
    anchor: str
    kind: str
    labels: dict[str, str]
    alt: dict[str, list[str]]
    definition: str | None
    comments: list[str]
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    domain: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    inverse: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    disjoint: list[str] = field(default_factory=list)
    shape_notes: list[str] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    inherited: list[tuple[str, int]] = field(default_factory=list)  # (superclass, how many constraints it has)
    example: Example | None = None
    deprecated: bool = False


@dataclass
class SchemeDoc:
    iri: str
    curie: str
    anchor: str
    labels: dict[str, str]
    definition: str | None
    concepts: list[tuple[str, dict[str, str]]]  # (IRI, labels)


@dataclass
class OntologyDoc:
    iri: str
    title: str
    description: str
    version: str
    version_iri: str
    license: str
    created: str
    modified: str
    sections: list[tuple[str, str, list[TermDoc]]]  # (anchor, title, terms)
    schemes: list[SchemeDoc]
    tree: list[tuple[int, str]]  # the class hierarchy, depth first: (depth, anchor)

    def term(self, iri: str) -> TermDoc | None:
        return next((t for _k, _t, terms in self.sections for t in terms if t.iri == iri), None)


def _text(graph: Graph, node: object, prop: URIRef, lang: str = "en") -> str | None:
    values = [o for o in graph.objects(node, prop) if isinstance(o, Literal)]
    for wanted in (lang, "en", ""):
        for value in sorted(values):
            if (value.language or "") == wanted:
                return str(value)
    return str(values[0]) if values else None


def labels_of(graph: Graph, node: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in (SKOS.prefLabel, RDFS.label):
        for value in sorted(graph.objects(node, prop)):
            if isinstance(value, Literal) and value.language:
                found.setdefault(value.language, str(value))
    return found


def _names(graph: Graph, values) -> list[str]:
    return sorted(render(graph, v, curie) for v in values)


def _local(iri: URIRef) -> str:
    return str(iri)[len(str(SG)) :]


def _ancestors(graph: Graph, cls: URIRef) -> list[URIRef]:
    """Named superclasses, nearest first (breadth first), each once."""
    order, queue = [], [cls]
    while queue:
        for parent in sorted(p for p in graph.objects(queue.pop(0), RDFS.subClassOf) if isinstance(p, URIRef)):
            if parent not in order and parent != cls:
                order.append(parent)
                queue.append(parent)
    return order


def _term(graph: Graph, shapes: Graph, iri: URIRef, kind: str, examples: dict[str, Example]) -> TermDoc:
    alt: dict[str, list[str]] = {}
    for value in sorted(graph.objects(iri, SKOS.altLabel)):
        if isinstance(value, Literal):
            alt.setdefault(value.language or "", []).append(str(value))
    comments = sorted(str(c) for c in graph.objects(iri, RDFS.comment))
    doc = TermDoc(
        iri=str(iri), curie=curie(iri), anchor=_local(iri), kind=kind, labels=labels_of(graph, iri), alt=alt,
        definition=_text(graph, iri, SKOS.definition), comments=comments,
        deprecated=str(graph.value(iri, OWL.deprecated)).lower() in ("true", "1"),
    )  # fmt: skip
    if kind == "classes":
        doc.parents = _names(graph, graph.objects(iri, RDFS.subClassOf))
        doc.children = _names(graph, (c for c in graph.subjects(RDFS.subClassOf, iri) if isinstance(c, URIRef)))
        disjoint = set(graph.objects(iri, OWL.disjointWith)) | set(graph.subjects(OWL.disjointWith, iri))
        doc.disjoint = _names(graph, disjoint)
        name = Namer(shapes)
        doc.shape_notes = shape_comments(shapes, iri)
        doc.constraints = constraints_of(shapes, iri, name)
        for ancestor in _ancestors(graph, iri):
            inherited = constraints_of(shapes, ancestor, name)
            if inherited:
                doc.inherited.append((curie(ancestor), len(inherited)))
        doc.example = examples.get(str(iri))
    else:
        doc.parents = _names(graph, graph.objects(iri, RDFS.subPropertyOf))
        doc.domain = _names(graph, graph.objects(iri, RDFS.domain))
        doc.range = _names(graph, graph.objects(iri, RDFS.range))
        doc.inverse = _names(graph, set(graph.objects(iri, OWL.inverseOf)) | set(graph.subjects(OWL.inverseOf, iri)))
        doc.characteristics = sorted(curie(t) for t in graph.objects(iri, RDF.type) if t in CHARACTERISTICS)
    return doc


def collect(graph: Graph, shapes: Graph, examples: dict[str, Example] | None = None) -> OntologyDoc:
    """The documentation model of the ontology ``graph`` (sg: terms only), with ``shapes`` and ``examples``."""
    examples = examples or {}
    sections = []
    for anchor, title, kind in KINDS:
        ours = {t for t in graph.subjects(RDF.type, kind) if isinstance(t, URIRef) and str(t).startswith(str(SG))}
        terms = sorted(ours)
        sections.append((anchor, title, [_term(graph, shapes, t, anchor, examples) for t in terms]))
    schemes = []
    for scheme in sorted(s for s in graph.subjects(RDF.type, SKOS.ConceptScheme) if isinstance(s, URIRef)):
        concepts = sorted((str(c), labels_of(graph, c)) for c in graph.subjects(SKOS.inScheme, scheme))
        anchor = "vocab-" + str(scheme).rstrip("/").rsplit("/", 1)[-1]
        schemes.append(SchemeDoc(str(scheme), curie(scheme), anchor, labels_of(graph, scheme),
                                 _text(graph, scheme, SKOS.definition), concepts))  # fmt: skip
    onto = URIRef(ONTOLOGY_IRI)
    header = {p: _text(graph, onto, p) or str(graph.value(onto, p) or "") for p in
              (DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.created, DCTERMS.modified)}  # fmt: skip
    return OntologyDoc(
        iri=ONTOLOGY_IRI, title=header[DCTERMS.title] or "Ontology", description=header[DCTERMS.description],
        version=str(graph.value(onto, OWL.versionInfo) or ""), version_iri=str(graph.value(onto, OWL.versionIRI) or ""),
        license=header[DCTERMS.license], created=header[DCTERMS.created], modified=header[DCTERMS.modified],
        sections=sections, schemes=schemes, tree=class_tree(graph),
    )  # fmt: skip


def class_tree(graph: Graph) -> list[tuple[int, str]]:
    """The sg: class hierarchy, depth first from the classes without an sg: superclass (a class with two sg:
    superclasses appears under each)."""
    classes = {c for c in graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef) and str(c).startswith(str(SG))}
    children: dict[URIRef, list[URIRef]] = {}
    roots = []
    for cls in sorted(classes):
        parents = [p for p in graph.objects(cls, RDFS.subClassOf) if p in classes]
        for parent in parents:
            children.setdefault(parent, []).append(cls)
        if not parents:
            roots.append(cls)
    out: list[tuple[int, str]] = []

    def walk(cls: URIRef, depth: int) -> None:
        out.append((depth, _local(cls)))
        for child in sorted(children.get(cls, [])):
            if depth < 12:
                walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return out


def find_examples(store: ox.Store, iris: DataIRIs) -> dict[str, Example]:
    """For each class, one real instance: stated in a source (not only inferred) where there is one, preferring
    instances with an English label, then the smallest IRI — so the choice is stable from build to build."""
    inferred = ox.NamedNode(iris.inferred_graph)
    label = ox.NamedNode(str(RDFS.label))
    best: dict[str, tuple[tuple[int, int, str], Example]] = {}
    for quad in store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), None, None):
        if not isinstance(quad.subject, ox.NamedNode) or not isinstance(quad.object, ox.NamedNode):
            continue
        if not quad.object.value.startswith(str(SG)):
            continue
        english = next((q.object.value for q in store.quads_for_pattern(quad.subject, label, None, None)
                        if isinstance(q.object, ox.Literal) and q.object.language == "en"), None)  # fmt: skip
        key = (1 if quad.graph_name == inferred else 0, 0 if english else 1, quad.subject.value)
        current = best.get(quad.object.value)
        if current is None or key < current[0]:
            best[quad.object.value] = (key, Example(quad.subject.value, english or curie(URIRef(quad.subject.value))))
    return {cls: example for cls, (_key, example) in best.items()}
