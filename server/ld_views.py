"""What the linked-data HTML pages show, as plain data for the templates (which only lay it out).

``Viewer`` turns RDF terms into ``Value``s (label in the page's language, local link, language tag or
datatype, inferred or stated, and the source documents stating it) and assembles an entity page: labels,
kinds, properties, incoming links, figures (observations), sources (assertions with their quotes), and the
ontology details of a class or property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

import pyoxigraph as ox

from .ld_graph import (
    ALT_LABEL,
    DEFINITION,
    DOMAIN,
    INTERSECTION,
    INVERSE,
    LABEL_PREDICATES,
    OBSERVATION_ABOUT,
    OWL_CLASS,
    PROPERTY_TYPES,
    RANGE,
    RDFS_CLASS,
    STATED_SUBJECT,
    STATED_VALUE,
    SUBCLASS,
    SUBPROPERTY,
    TYPE,
    UNION,
    Graphs,
    Term,
    local_path,
)

PLAIN_DATATYPES = {"http://www.w3.org/2001/XMLSchema#string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}
NUMERIC = ("decimal", "integer", "double", "float", "nonNegativeInteger", "positiveInteger")
SAFE = "/%-._~:@!$&'()*+,;="  # kept as they are when a path is quoted
INCOMING_SHOWN = 60  # values per property in "incoming links" before "and N more"
INSTANCES_SHOWN = 100
RAW_FORMATS = (
    ("Turtle", ".ttl", "text/turtle"),
    ("JSON-LD", ".jsonld", "application/ld+json"),
    ("N-Triples", ".nt", "application/n-triples"),
    ("RDF/XML", ".rdf", "application/rdf+xml"),
)


@dataclass
class Value:
    text: str
    href: str | None = None
    iri: str | None = None
    lang: str | None = None
    datatype: str | None = None
    inferred: bool = False
    reference: bool = False  # stated only by the curated reference data (names, geography)
    sources: list[Value] = field(default_factory=list)
    members: list[Value] = field(default_factory=list)
    combinator: str | None = None  # "any of" / "all of" for OWL class expressions


@dataclass
class Group:
    property: Value
    values: list[Value]
    more: int = 0


@dataclass
class TermInfo:
    kind: str  # "class" or "property"
    groups: list[Group]
    instance_count: int = 0
    instances: list[Value] = field(default_factory=list)
    usage_count: int | None = None


@dataclass
class Page:
    iri: str
    path: str
    title: str
    lang: str
    labels: dict[str, list[str]]
    alt_labels: list[Value]
    definitions: list[Value]
    kinds: list[Value]
    properties: list[Group]
    incoming: list[Group]
    figures: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    term: TermInfo | None = None
    formats: list[tuple[str, str, str]] = field(default_factory=list)  # (name, href, media type)


def format_number(text: str) -> str:
    """30000000 → 30 000 000 (thin spaces); other text unchanged."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = digits.partition(".")
    if not whole.isdigit():
        return text
    grouped = f"{int(whole):,}".replace(",", "\u2009")
    fraction = fraction.rstrip("0")
    return sign + grouped + ("." + fraction if fraction else "")


class Viewer:
    """Builds page data for one request: the graphs, the page language and the server's root path."""

    def __init__(self, graphs: Graphs, lang: str, root: str = "") -> None:
        self.g = graphs
        self.lang = lang
        self.root = root

    def href(self, value: str) -> str | None:
        path = local_path(value, self.g.iris)
        return self.root + quote(path, safe=SAFE) if path is not None else None

    def value(self, term: Term, graphs: set | None = None, depth: int = 0) -> Value:
        """One RDF term as the page shows it."""
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value if term.datatype else None
            shown = self.g.compact(datatype) if datatype and datatype not in PLAIN_DATATYPES else None
            text = format_number(term.value) if shown and shown.split(":")[-1] in NUMERIC else term.value
            out = Value(text=text, lang=term.language, datatype=shown)
        elif isinstance(term, ox.BlankNode):
            out = self._anonymous(term, depth)
        else:
            href = self.href(term.value)
            out = Value(text=self.g.label(term, self.lang), href=href or term.value, iri=term.value)
        if graphs:
            out.inferred = self.g.inferred_only(graphs)
            out.sources = [self.link(doc) for doc in self.g.source_documents(graphs)]
            out.reference = not out.sources and self.g.reference_graph in graphs
        return out

    def _anonymous(self, node: ox.BlankNode, depth: int) -> Value:
        for predicate, combinator in ((UNION, "any of"), (INTERSECTION, "all of")):
            head = self.g.first(node, predicate)
            if head is not None and depth < 4:
                members = [self.value(m, depth=depth + 1) for m in self.g.rdf_list(head)]
                return Value(text=combinator, members=members, combinator=combinator)
        return Value(text="(anonymous node)")

    def link(self, node: Term) -> Value:
        return self.value(node)

    def sorted_values(self, items: dict[Term, set]) -> list[Value]:
        values = [self.value(term, graphs) for term, graphs in items.items()]
        return sorted(values, key=lambda v: (v.inferred, v.text.casefold()))

    # --- the page -----------------------------------------------------------------------------------------

    def page(self, node: ox.NamedNode, path: str) -> Page:
        """Everything but the evidence side (figures and sources: ``server.ld_sources``)."""
        g = self.g
        own = g.triples(node)
        labels: dict[str, list[str]] = {}
        for (_s, p, o), _graphs in own.items():
            if p in LABEL_PREDICATES and isinstance(o, ox.Literal):
                bucket = labels.setdefault(o.language or "", [])
                if o.value not in bucket:
                    bucket.append(o.value)
        alt = [self.value(o) for (_s, p, o) in own if p == ALT_LABEL]
        kinds = self.sorted_values({o: gs for (_s, p, o), gs in own.items() if p == TYPE})
        definitions = [d for d in (g.text_in(node, DEFINITION, self.lang),) if d is not None]
        term = self.term_info(node, {o for (_s, p, o) in own if p == TYPE})
        hidden = {TYPE, *LABEL_PREDICATES, ALT_LABEL, DEFINITION}
        if term is not None:
            hidden |= {SUBCLASS, SUBPROPERTY, DOMAIN, RANGE, INVERSE}
        return Page(
            iri=node.value,
            path=path,
            title=g.label(node, self.lang),
            lang=self.lang,
            labels={lang: labels[lang] for lang in sorted(labels, key=lambda x: (x not in ("en", "ru"), x))},
            alt_labels=sorted(alt, key=lambda v: (v.lang or "", v.text.casefold())),
            definitions=[self.value(d) for d in definitions],
            kinds=kinds,
            properties=self.groups(own, lambda key: key[1] not in hidden, lambda key: key[2]),
            incoming=self.incoming(node, hidden - {TYPE, *LABEL_PREDICATES, ALT_LABEL, DEFINITION}),
            term=term,
            formats=[(name, self.root + quote(path, safe=SAFE) + suffix, media) for name, suffix, media in RAW_FORMATS],
        )

    def groups(self, triples: dict, keep, pick, limit: int | None = None) -> list[Group]:
        """Triples grouped by predicate (sorted by the predicate's label), values sorted, stated before inferred."""
        by_predicate: dict[ox.NamedNode, dict[Term, set]] = {}
        for key, graphs in triples.items():
            if keep(key):
                by_predicate.setdefault(key[1], {}).setdefault(pick(key), set()).update(graphs)
        out = []
        for predicate, items in by_predicate.items():
            values = self.sorted_values(items)
            shown = values if limit is None else values[:limit]
            out.append(Group(self.value(predicate), shown, len(values) - len(shown)))
        return sorted(out, key=lambda grp: grp.property.text.casefold())

    def incoming(self, node: ox.NamedNode, also_skip: set | None = None) -> list[Group]:
        """Who points here, by which property. Assertions and figures have their own sections; instances,
        subclasses, domains … of an ontology term are listed with the term."""
        skip = {TYPE, STATED_SUBJECT, STATED_VALUE, OBSERVATION_ABOUT, *(also_skip or ())}
        triples = self.g.triples(None, None, node)
        return self.groups(triples, lambda key: key[1] not in skip, lambda key: key[0], INCOMING_SHOWN)

    def term_info(self, node: ox.NamedNode, kinds: set) -> TermInfo | None:
        """Superclasses, subclasses, domain, range … of an ontology class or property."""
        g = self.g
        is_class = bool(kinds & {OWL_CLASS, RDFS_CLASS})
        is_property = bool(kinds & set(PROPERTY_TYPES))
        if not (is_class or is_property):
            return None

        def group(text: str, terms: list) -> Group:
            return Group(Value(text=text), sorted((self.value(t) for t in terms), key=lambda v: v.text.casefold()))

        if is_class:
            groups = [
                group("superclasses", g.objects(node, SUBCLASS)),
                group("subclasses", g.subjects(SUBCLASS, node)),
                group("properties with this domain", g.subjects(DOMAIN, node)),
                group("properties with this range", g.subjects(RANGE, node)),
            ]
            instances = [s for s in g.subjects(TYPE, node) if isinstance(s, ox.NamedNode)]
            shown = sorted((self.value(s) for s in instances), key=lambda v: v.text.casefold())[:INSTANCES_SHOWN]
            return TermInfo("class", [grp for grp in groups if grp.values], len(instances), shown)
        groups = [
            group("domain", g.objects(node, DOMAIN)),
            group("range", g.objects(node, RANGE)),
            group("inverse", [*g.objects(node, INVERSE), *g.subjects(INVERSE, node)]),
            group("superproperties", g.objects(node, SUBPROPERTY)),
            group("subproperties", g.subjects(SUBPROPERTY, node)),
        ]
        usage = len(g.triples(None, node, None))
        return TermInfo("property", [grp for grp in groups if grp.values], usage_count=usage)
