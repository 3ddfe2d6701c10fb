"""The /ontology page: the ontology's header, a diagram of its main classes, its classes and properties, and the
SKOS concept schemes, each with labels in English and Russian, its definition, and an anchor (``id="Technopark"``).
Each class also shows its subclasses, the SHACL constraints that apply to it (from the release's ``shapes.ttl``,
the shapes that gated that release) and a real instance from the data; this comes from ``graph.editors.docs``, the same
model as the release's ``ontology.html``, computed once per release."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from flask import current_app
from markupsafe import Markup
from rdflib import Graph

from graph.editors.diagram import diagram_svg
from graph.editors.docs import OntologyDoc, TermDoc, collect, find_examples
from graph.namespaces import DCTERMS, ONTOLOGY_IRI, OWL, SG
from graph.validation import load_shapes

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
from .store import get_store

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
    doc: TermDoc | None = None  # classes: subclasses, constraints (graph.editors.docs)
    example: Value | None = None  # classes: a real instance


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
    diagram: Markup | None = None
    tree: list[tuple[int, str]] = field(default_factory=list)


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


_DOCS: dict[str, tuple[OntologyDoc, str]] = {}
_DOCS_LOCK = threading.Lock()


def documentation(viewer: Viewer, release: Path, version: str, shapes_dir: Path) -> tuple[OntologyDoc, str]:
    """The documentation model and diagram of a release, made on first use and kept (two releases at most)."""
    key = f"{release}\x00{version}"
    with _DOCS_LOCK:
        if key not in _DOCS:
            triples = viewer.g.graph_triples(viewer.g.ontology_graph)
            ontology = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
            shapes_file = release / "shapes.ttl"
            shapes = Graph().parse(shapes_file, format="turtle") if shapes_file.is_file() else load_shapes(shapes_dir)
            doc = collect(ontology, shapes, find_examples(viewer.g.store, viewer.g.iris))
            for old in list(_DOCS)[:-1]:
                del _DOCS[old]
            _DOCS[key] = (doc, diagram_svg(ontology, link_prefix="#"))
        return _DOCS[key]


def ontology_index(
    viewer: Viewer, formats: list[tuple[str, str, str]], docs: tuple[OntologyDoc, str] | None = None
) -> OntologyIndex:
    if docs is None:
        opened = get_store()
        docs = documentation(
            viewer, opened.release.path, opened.version, current_app.config["SITEGRAPH"].project / "shapes"
        )
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
                row.doc = docs[0].term(term.value) if docs else None
                if row.doc is not None and row.doc.example is not None:
                    row.example = viewer.value(ox.NamedNode(row.doc.example.iri))
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
        diagram=Markup(docs[1]) if docs else None,
        tree=docs[0].tree if docs else [],
    )
