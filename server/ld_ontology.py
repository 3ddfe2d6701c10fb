"""The /ontology page: the ontology's header, its classes and properties, and the SKOS concept schemes,
each with labels in English and Russian, its definition, and an anchor (``id="Technopark"``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from graph.namespaces import DCTERMS, ONTOLOGY_IRI, OWL, SG

from .ld_graph import (
    CONCEPT_SCHEME,
    DEFINITION,
    DOMAIN,
    IN_SCHEME,
    LABEL_PREDICATES,
    OWL_CLASS,
    RANGE,
    SUBCLASS,
    TYPE,
    iri,
)
from .ld_views import Value, Viewer

SECTIONS = (
    ("classes", "Classes", OWL_CLASS),
    ("object-properties", "Object properties", iri(OWL.ObjectProperty)),
    ("datatype-properties", "Datatype properties", iri(OWL.DatatypeProperty)),
    ("annotation-properties", "Annotation properties", iri(OWL.AnnotationProperty)),
)


@dataclass
class Row:
    anchor: str
    link: Value
    labels: dict[str, str]
    definition: Value | None
    parents: list[Value] = field(default_factory=list)  # superclasses
    domain: list[Value] = field(default_factory=list)
    range: list[Value] = field(default_factory=list)
    members: list[Value] = field(default_factory=list)  # concepts of a scheme


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row]


@dataclass
class OntologyIndex:
    iri: str
    title: str
    description: Value | None
    version: str | None
    license: Value | None
    sections: list[Section]
    formats: list[tuple[str, str, str]]


def _labels(viewer: Viewer, node: ox.NamedNode) -> dict[str, str]:
    found: dict[str, str] = {}
    for predicate in LABEL_PREDICATES:
        for value in viewer.g.objects(node, predicate):
            if isinstance(value, ox.Literal) and value.language in ("en", "ru"):
                found.setdefault(value.language, value.value)
    return found


def _values(viewer: Viewer, terms: list) -> list[Value]:
    return sorted((viewer.value(t) for t in terms), key=lambda v: v.text.casefold())


def _row(viewer: Viewer, node: ox.NamedNode, anchor: str) -> Row:
    definition = viewer.g.text_in(node, DEFINITION, viewer.lang)
    return Row(
        anchor=anchor,
        link=viewer.value(node),
        labels=_labels(viewer, node),
        definition=viewer.value(definition) if definition is not None else None,
    )


def ontology_index(viewer: Viewer, formats: list[tuple[str, str, str]]) -> OntologyIndex:
    g = viewer.g
    graph = g.ontology_graph
    term_base = str(SG)
    sections = []
    for key, title, kind in SECTIONS:
        terms = sorted(
            (q.subject for q in g.store.quads_for_pattern(None, TYPE, kind, graph)
             if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(term_base)),
            key=lambda n: n.value.casefold(),
        )  # fmt: skip
        rows = []
        for term in dict.fromkeys(terms):
            row = _row(viewer, term, term.value[len(term_base) :])
            if kind == OWL_CLASS:
                row.parents = _values(viewer, g.objects(term, SUBCLASS))
            else:
                row.domain = _values(viewer, g.objects(term, DOMAIN))
                row.range = _values(viewer, g.objects(term, RANGE))
            rows.append(row)
        sections.append(Section(key, title, rows))
    schemes = sorted(
        {
            q.subject
            for q in g.store.quads_for_pattern(None, TYPE, CONCEPT_SCHEME, graph)
            if isinstance(q.subject, ox.NamedNode)
        },
        key=lambda n: n.value,
    )
    scheme_rows = []
    for scheme in schemes:
        row = _row(viewer, scheme, "vocab-" + scheme.value.rstrip("/").rsplit("/", 1)[-1])
        row.members = _values(viewer, g.subjects(IN_SCHEME, scheme))
        scheme_rows.append(row)
    sections.append(Section("concept-schemes", "Concept schemes", scheme_rows))

    ontology = ox.NamedNode(ONTOLOGY_IRI)
    title = g.text_in(ontology, iri(DCTERMS.title), viewer.lang)
    description = g.text_in(ontology, iri(DCTERMS.description), viewer.lang)
    version = g.first(ontology, iri(OWL.versionInfo))
    licence = g.first(ontology, iri(DCTERMS.license))
    return OntologyIndex(
        iri=ONTOLOGY_IRI,
        title=title.value if title is not None else "Ontology",
        description=viewer.value(description) if description is not None else None,
        version=version.value if isinstance(version, ox.Literal) else None,
        license=viewer.value(licence) if licence is not None else None,
        sections=sections,
        formats=formats,
    )
