"""Reading the store for the linked-data pages: triples with the graphs that state them, labels, bounded
descriptions, and the label search. User text only ever reaches SPARQL as a bound parameter.

``Graphs`` is one request's view of the release: it reads every named graph (a triple stated by several
sources appears once, with the set of graphs it came from) and caches labels for the request.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from graph.namespaces import ONTOLOGY_IRI, OWL, PREFIXES, PROV, RDF, RDFS, SG, SKOS, VOCAB, DataIRIs

Node = ox.NamedNode | ox.BlankNode
Term = ox.NamedNode | ox.BlankNode | ox.Literal
Key = tuple[Node, ox.NamedNode, Term]


def iri(value: object) -> ox.NamedNode:
    return ox.NamedNode(str(value))


def sg(name: str) -> ox.NamedNode:
    return iri(SG[name])  # SG["title"], never SG.title: str methods shadow attribute access


TYPE, LABEL, PREF_LABEL, ALT_LABEL = iri(RDF.type), iri(RDFS.label), iri(SKOS.prefLabel), iri(SKOS.altLabel)
DEFINITION, COMMENT = iri(SKOS.definition), iri(RDFS.comment)
SUBCLASS, SUBPROPERTY = iri(RDFS.subClassOf), iri(RDFS.subPropertyOf)
DOMAIN, RANGE, INVERSE = iri(RDFS.domain), iri(RDFS.range), iri(OWL.inverseOf)
UNION, INTERSECTION = iri(OWL.unionOf), iri(OWL.intersectionOf)
FIRST, REST, NIL = iri(RDF.first), iri(RDF.rest), iri(RDF.nil)
DERIVED_FROM, IN_SCHEME = iri(PROV.wasDerivedFrom), iri(SKOS.inScheme)
OWL_CLASS, RDFS_CLASS, CONCEPT_SCHEME = iri(OWL.Class), iri(RDFS.Class), iri(SKOS.ConceptScheme)
PROPERTY_TYPES = tuple(iri(t) for t in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property))
STATED_SUBJECT, STATED_PROPERTY, STATED_VALUE = sg("statedSubject"), sg("statedProperty"), sg("statedValue")
EVIDENCE, OBSERVATION_ABOUT, CONTRADICTS = sg("evidence"), sg("observationAbout"), sg("contradicts")
ASSERTION, QUOTE, OBSERVATION = sg("Assertion"), sg("Quote"), sg("Observation")
QUOTE_TEXT, FROM_DOCUMENT = sg("quoteText"), sg("fromDocument")
LABEL_PREDICATES = (PREF_LABEL, LABEL)
#: Names for the common vocabulary terms the data uses but does not label (English only).
COMMON_LABELS = {
    TYPE: "type",
    LABEL: "label",
    COMMENT: "comment",
    DEFINITION: "definition",
    SUBCLASS: "subclass of",
    SUBPROPERTY: "subproperty of",
    DOMAIN: "domain",
    RANGE: "range",
    INVERSE: "inverse of",
    IN_SCHEME: "in scheme",
    DERIVED_FROM: "derived from",
    **{
        iri(term): text
        for term, text in (
            (RDFS.isDefinedBy, "defined by"),
            (RDFS.seeAlso, "see also"),
            (SKOS.broader, "broader"),
            (SKOS.narrower, "narrower"),
            (SKOS.related, "related"),
            (SKOS.topConceptOf, "top concept of"),
            (SKOS.hasTopConcept, "top concept"),
            (SKOS.exactMatch, "exact match"),
            (SKOS.closeMatch, "close match"),
            (SKOS.broadMatch, "broad match"),
            (SKOS.narrowMatch, "narrow match"),
            (SKOS.relatedMatch, "related match"),
            (SKOS.scopeNote, "scope note"),
            (SKOS.example, "example"),
            (OWL.Class, "OWL class"),
            (OWL.ObjectProperty, "object property"),
            (OWL.DatatypeProperty, "datatype property"),
            (OWL.AnnotationProperty, "annotation property"),
            (OWL.SymmetricProperty, "symmetric property"),
            (OWL.TransitiveProperty, "transitive property"),
            (OWL.FunctionalProperty, "functional property"),
            (OWL.versionInfo, "version"),
            (SKOS.Concept, "concept"),
            (SKOS.ConceptScheme, "concept scheme"),
        )
    },
}

SEARCH = """
SELECT DISTINCT ?q ?entity ?matched WHERE {
  ?entity rdfs:label|skos:prefLabel|skos:altLabel ?matched .
  FILTER(isIRI(?entity))
  FILTER(CONTAINS(LCASE(STR(?matched)), LCASE(STR(?q))))
  FILTER NOT EXISTS { ?entity a sg:Observation }
  FILTER NOT EXISTS { ?entity a sg:Assertion }
  FILTER NOT EXISTS { ?entity a sg:Quote }
}
"""


class Graphs:
    """The release's graphs, as seen by one request."""

    def __init__(self, store: ox.Store, base: str) -> None:
        self.store = store
        self.iris = DataIRIs(base)
        self.prefixes = self.iris.prefixes()
        self.inferred_graph = iri(self.iris.inferred_graph)
        self.ontology_graph = iri(self.iris.ontology_graph)
        self.reference_graph = iri(self.iris.reference_graph)
        self.source_prefix = self.iris.source_graph("")
        self._labels: dict[Term, dict[str, str]] = {}

    # --- triples ------------------------------------------------------------------------------------------

    def triples(self, s: Node | None = None, p: ox.NamedNode | None = None, o: Term | None = None,
                graph: ox.NamedNode | None = None) -> dict[Key, set[ox.NamedNode]]:  # fmt: skip
        """Matching triples, each once, with the graphs that state it."""
        found: dict[Key, set[ox.NamedNode]] = {}
        for quad in self.store.quads_for_pattern(s, p, o, graph):
            found.setdefault((quad.subject, quad.predicate, quad.object), set()).add(quad.graph_name)
        return found

    def objects(self, s: Node, p: ox.NamedNode) -> list[Term]:
        return list(dict.fromkeys(q.object for q in self.store.quads_for_pattern(s, p, None, None)))

    def subjects(self, p: ox.NamedNode | None, o: Term) -> list[Node]:
        return list(dict.fromkeys(q.subject for q in self.store.quads_for_pattern(None, p, o, None)))

    def first(self, s: Node, p: ox.NamedNode) -> Term | None:
        return next((q.object for q in self.store.quads_for_pattern(s, p, None, None)), None)

    def has(self, s: Node | None, p: ox.NamedNode | None = None, o: Term | None = None,
            graph: ox.NamedNode | None = None) -> bool:  # fmt: skip
        return next(iter(self.store.quads_for_pattern(s, p, o, graph)), None) is not None

    def exists(self, node: ox.NamedNode) -> bool:
        """Known when something is said about it, or it is the value of something."""
        return self.has(node) or self.has(None, None, node)

    def is_a(self, node: Node, cls: ox.NamedNode) -> bool:
        return self.has(node, TYPE, cls)

    def inferred_only(self, graphs: Iterable[ox.NamedNode]) -> bool:
        return set(graphs) == {self.inferred_graph}

    def source_documents(self, graphs: Iterable[ox.NamedNode]) -> list[ox.NamedNode]:
        """The source documents whose named graphs state a triple."""
        prefix = self.source_prefix
        slugs = sorted(
            g.value[len(prefix) :] for g in graphs if isinstance(g, ox.NamedNode) and g.value.startswith(prefix)
        )
        return [iri(self.iris.document(slug)) for slug in slugs]

    def rdf_list(self, head: Term) -> list[Term]:
        items: list[Term] = []
        while isinstance(head, ox.BlankNode | ox.NamedNode) and head != NIL and len(items) < 1000:
            value = self.first(head, FIRST)
            if value is not None:
                items.append(value)
            head = self.first(head, REST)  # type: ignore[assignment]
        return items

    # --- labels -------------------------------------------------------------------------------------------

    def labels(self, node: Term) -> dict[str, str]:
        """Language tag (or "") → label; skos:prefLabel wins over rdfs:label."""
        if node not in self._labels:
            found: dict[str, str] = {}
            if not isinstance(node, ox.Literal):
                for predicate in LABEL_PREDICATES:
                    for value in self.objects(node, predicate):
                        if isinstance(value, ox.Literal):
                            found.setdefault(value.language or "", value.value)
            self._labels[node] = found
        return self._labels[node]

    def label(self, node: Term, lang: str = "en") -> str:
        labels = self.labels(node)
        for key in (lang, "en", "ru", ""):
            if key in labels:
                return labels[key]
        if labels:
            return next(iter(labels.values()))
        return self.fallback_label(node, lang)

    def fallback_label(self, node: Term, lang: str) -> str:
        """A readable name for things without labels: assertions, quotes, external terms."""
        if isinstance(node, ox.Literal):
            return node.value
        if isinstance(node, ox.BlankNode):
            return "(anonymous node)"
        if node in COMMON_LABELS:
            return COMMON_LABELS[node]
        subject = self.first(node, STATED_SUBJECT)
        if subject is not None:
            parts = [self.first(node, p) for p in (STATED_SUBJECT, STATED_PROPERTY, STATED_VALUE)]
            return " · ".join(self.label(p, lang) if p is not None else "?" for p in parts)
        text = self.first(node, QUOTE_TEXT)
        if isinstance(text, ox.Literal):
            short = text.value if len(text.value) <= 90 else text.value[:88].rstrip() + "…"
            return f"«{short}»"
        return self.compact(node.value)

    def compact(self, value: str) -> str:
        best = max(((p, ns) for p, ns in self.prefixes.items() if value.startswith(ns)), key=lambda x: len(x[1]),
                   default=None)  # fmt: skip
        return f"{best[0]}:{value[len(best[1]) :]}" if best else value

    def text_in(self, s: Node, p: ox.NamedNode, lang: str) -> ox.Literal | None:
        """Of a property's literal values, the one in ``lang``, else English, else untagged, else any."""
        values = [v for v in self.objects(s, p) if isinstance(v, ox.Literal)]
        for wanted in (lang, "en", ""):
            for value in values:
                if (value.language or "") == wanted:
                    return value
        return values[0] if values else None

    # --- descriptions (RDF) -------------------------------------------------------------------------------

    def describe(self, node: Node) -> list[ox.Triple]:
        """The entity's own triples (with the blank nodes they reach), the Assertions about it with their
        quotes, the Observations about it with theirs, its own evidence quotes, and labels of neighbours."""
        out: dict[Key, None] = {}
        described: set[Node] = set()

        def add(subject: Node, depth: int = 0) -> None:
            if subject in described or depth > 8:
                return
            described.add(subject)
            for key in self.triples(subject):
                out[key] = None
                if isinstance(key[2], ox.BlankNode):
                    add(key[2], depth + 1)

        add(node)
        related = [*self.subjects(STATED_SUBJECT, node), *self.subjects(OBSERVATION_ABOUT, node)]
        for thing in [node, *related]:
            add(thing)
            for quote in self.objects(thing, EVIDENCE):
                if isinstance(quote, ox.NamedNode | ox.BlankNode):
                    add(quote)
        neighbours = {o for (_s, _p, o) in out if isinstance(o, ox.NamedNode) and o not in described}
        for neighbour in sorted(neighbours, key=lambda n: n.value):
            for predicate in LABEL_PREDICATES:
                for key in self.triples(neighbour, predicate):
                    out[key] = None
        return [ox.Triple(*key) for key in out]

    def graph_triples(self, graph: ox.NamedNode) -> list[ox.Triple]:
        return [ox.Triple(*key) for key in self.triples(graph=graph)]

    # --- search -------------------------------------------------------------------------------------------

    def search(self, text: str) -> list[tuple[ox.NamedNode, list[str]]]:
        """Things whose label, preferred label or alternative label contains ``text`` (any case), best first:
        exact matches, then prefixes, then the rest; data entities before vocabulary terms."""
        needle = text.casefold()
        results = self.store.query(
            SEARCH,
            prefixes=PREFIXES,
            use_default_graph_as_union=True,
            substitutions={ox.Variable("q"): ox.Literal(text)},
        )
        matches: dict[ox.NamedNode, list[str]] = {}
        for solution in results:
            entity, matched = solution["entity"], solution["matched"]
            if isinstance(entity, ox.NamedNode) and isinstance(matched, ox.Literal):
                matches.setdefault(entity, []).append(matched.value)

        def rank(item: tuple[ox.NamedNode, list[str]]) -> tuple:
            entity, matched = item
            closeness = min(
                0 if m.casefold() == needle else 1 if m.casefold().startswith(needle) else 2 for m in matched
            )
            return (closeness, 0 if entity.value.startswith(str(self.iris.id)) else 1, self.label(entity).casefold())

        return [(entity, sorted(set(matched))) for entity, matched in sorted(matches.items(), key=rank)]

    def members(self, prefix: str) -> list[ox.NamedNode]:
        """Labelled things whose IRI starts with ``prefix`` (a listing of one kind of entity)."""
        found = {q.subject for q in self.store.quads_for_pattern(None, PREF_LABEL, None, None)}
        found |= {q.subject for q in self.store.quads_for_pattern(None, LABEL, None, None)}
        return sorted((n for n in found if isinstance(n, ox.NamedNode) and n.value.startswith(prefix)),
                      key=lambda n: n.value)  # fmt: skip


def local_path(value: str, iris: DataIRIs) -> str | None:
    """The path on this server that describes an IRI, or None when it lives elsewhere."""
    entity_base, term_base = str(iris.id), str(SG)
    if value.startswith(entity_base) and len(value) > len(entity_base):
        return "/id/" + value[len(entity_base) :]
    if value == ONTOLOGY_IRI:
        return "/ontology"
    if value.startswith(term_base) and len(value) > len(term_base):
        return "/ontology/" + value[len(term_base) :]
    if value.startswith(VOCAB) and len(value) > len(VOCAB):
        return "/vocab/" + value[len(VOCAB) :]
    return None
