"""``sitegraph diff OLD NEW``: what changed in the ontology, term by term, with breaking changes flagged.

Every declared term of the sg: namespace and the vocabularies (classes, properties, concepts, schemes) and the
ontology header are compared property by property: labels, definitions, domains, ranges, superclasses and any
other axiom on the term (blank-node class expressions compared as Manchester syntax). What belongs to no such
term (declarations of external terms, anonymous axioms) is compared as triples under "Other axioms".

Breaking (data or queries that worked may stop working): a removed term; a changed kind (class ↔ property);
a removed superclass or superproperty that is no longer an ancestor; a domain or range narrowed (the new one does
not contain the old one) or added; a new disjointness or property characteristic (restricts the models).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ..namespaces import ONTOLOGY_IRI, SG, VOCAB
from .locate import curie
from .manchester import render

KINDS = {
    OWL.Class: "class",
    OWL.ObjectProperty: "object property",
    OWL.DatatypeProperty: "datatype property",
    OWL.AnnotationProperty: "annotation property",
    SKOS.ConceptScheme: "concept scheme",
    SKOS.Concept: "concept",
    OWL.Ontology: "ontology",
}
SECTION_ORDER = [
    "ontology", "class", "object property", "datatype property", "annotation property", "concept scheme", "concept"
]  # fmt: skip
RESTRICTING = {OWL.disjointWith, OWL.propertyDisjointWith}
CHARACTERISTICS = {OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.AsymmetricProperty,
                   OWL.IrreflexiveProperty, OWL.ReflexiveProperty}  # fmt: skip


@dataclass
class Term:
    iri: URIRef
    kind: str
    values: dict[URIRef, set[str]] = field(default_factory=dict)  # predicate → rendered objects


@dataclass
class Change:
    iri: URIRef
    kind: str
    what: str  # "added", "removed", "changed"
    details: list[str] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)


@dataclass
class Diff:
    old_label: str
    new_label: str
    old_version: str | None
    new_version: str | None
    changes: list[Change]
    other_added: list[str]
    other_removed: list[str]

    @property
    def breaking(self) -> list[str]:
        restricting = [f"new axiom {t} (data may become inconsistent)" for t in self.other_added if "Disjoint" in t]
        return [reason for c in self.changes for reason in c.breaking] + restricting

    @property
    def empty(self) -> bool:
        return not (self.changes or self.other_added or self.other_removed)


def _ours(term: object) -> bool:
    return isinstance(term, URIRef) and (str(term).startswith(str(SG)) or str(term).startswith(VOCAB)
                                         or str(term) == ONTOLOGY_IRI)  # fmt: skip


def _show(graph: Graph, value: object, name: Callable[[object], str]) -> str:
    if isinstance(value, Literal):
        return value.n3() if not value.datatype else f'"{value}"^^{name(value.datatype)}'
    return render(graph, value, name)


def snapshot(graph: Graph) -> tuple[dict[URIRef, Term], set[str]]:
    """Declared terms of ours with their rendered property values, and every other triple rendered."""
    terms: dict[URIRef, Term] = {}
    for s, o in graph.subject_objects(RDF.type):
        if _ours(s) and o in KINDS and s not in terms:
            kinds = [KINDS[k] for k in graph.objects(s, RDF.type) if k in KINDS]
            terms[s] = Term(s, sorted(kinds, key=SECTION_ORDER.index)[0])
    covered: set[tuple] = set()
    for iri, term in terms.items():
        for p, o in graph.predicate_objects(iri):
            term.values.setdefault(p, set()).add(_show(graph, o, curie))
            covered.add((iri, p, o))
    other = set()
    for s, p, o in graph:
        if (s, p, o) in covered or isinstance(s, BNode):
            continue
        other.add(f"{_show(graph, s, curie)} {curie(p)} {_show(graph, o, curie)}")
    for node in graph.subjects(RDF.type, None):  # anonymous axioms (owl:AllDisjointClasses …)
        if isinstance(node, BNode) and not any(True for _ in graph.subjects(None, node)):
            other.add(f"{_show(graph, graph.value(node, RDF.type), curie)}: {_members(graph, node)}")
    return terms, other


def _members(graph: Graph, node: BNode) -> str:
    listed = graph.value(node, OWL.members) or graph.value(node, OWL.distinctMembers)
    return " ".join(curie(m) for m in graph.items(listed)) if listed is not None else render(graph, node, curie)


def _ancestors(graph: Graph, term: URIRef, prop: URIRef) -> set[str]:
    seen, stack = set(), [term]
    while stack:
        for parent in graph.objects(stack.pop(), prop):
            if isinstance(parent, URIRef) and curie(parent) not in seen:
                seen.add(curie(parent))
                stack.append(parent)
    return seen


def _members_of(graph: Graph, value: str) -> set[str]:
    return set(value.split(" or ")) if " or " in value and " and " not in value else {value}


def _contains(graph: Graph, wide: set[str], narrow: set[str]) -> bool:
    """Every class in ``narrow`` is one of ``wide`` or below one of them (in ``graph``'s hierarchy)."""
    if not wide:
        return True
    by_name = {curie(c): c for c in graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
    for cls in narrow:
        ancestors = _ancestors(graph, by_name[cls], RDFS.subClassOf) if cls in by_name else set()
        if cls not in wide and not ancestors & wide and "rdfs:Literal" not in wide and "rdfs:Resource" not in wide:
            return False
    return True


def _breaking(new_graph: Graph, term: Term, p: URIRef, removed: set[str], added: set[str]) -> list[str]:
    name = curie(term.iri)
    reasons = []
    if p in (RDFS.subClassOf, RDFS.subPropertyOf):
        still = _ancestors(new_graph, term.iri, p)
        for parent in sorted(removed - still):
            reasons.append(f"{name} is no longer a {'subclass' if p == RDFS.subClassOf else 'subproperty'} of {parent}")
    elif p in (RDFS.domain, RDFS.range) and added:
        old = set().union(*(_members_of(new_graph, v) for v in removed)) if removed else set()
        new = set().union(*(_members_of(new_graph, v) for v in added))
        which = "domain" if p == RDFS.domain else "range"
        if not removed:
            reasons.append(f"{name} gained a {which} ({', '.join(sorted(added))}) where it had none")
        elif not _contains(new_graph, new, old):
            reasons.append(f"{name}'s {which} narrowed or changed: {', '.join(sorted(removed))} → "
                           f"{', '.join(sorted(added))}")  # fmt: skip
    elif p in RESTRICTING and added:
        reasons += [f"{name} is now {curie(p)} {value} (data may become inconsistent)" for value in sorted(added)]
    elif p == RDF.type:
        new_traits = sorted(v for v in added if v in {curie(c) for c in CHARACTERISTICS})
        reasons += [f"{name} is now {v} (restricts the data)" for v in new_traits]
    return reasons


def compare(old: Graph, new: Graph, old_label: str, new_label: str) -> Diff:
    old_terms, old_other = snapshot(old)
    new_terms, new_other = snapshot(new)
    changes = []
    for iri in sorted(set(old_terms) | set(new_terms)):
        before, after = old_terms.get(iri), new_terms.get(iri)
        if before is None:
            changes.append(Change(iri, after.kind, "added", _describe(after)))  # type: ignore[union-attr]
        elif after is None:
            changes.append(Change(iri, before.kind, "removed", [], [f"{curie(iri)} ({before.kind}) was removed"]))
        else:
            change = Change(iri, after.kind, "changed")
            if before.kind != after.kind:
                change.breaking.append(f"{curie(iri)} changed from {before.kind} to {after.kind}")
            for p in sorted(set(before.values) | set(after.values)):
                gone = before.values.get(p, set()) - after.values.get(p, set())
                came = after.values.get(p, set()) - before.values.get(p, set())
                if gone or came:
                    change.details += _detail(p, gone, came)
                    change.breaking += _breaking(new, after, p, gone, came)
            if change.details:
                changes.append(change)
    return Diff(old_label, new_label, _version(old), _version(new), changes,
                sorted(new_other - old_other), sorted(old_other - new_other))  # fmt: skip


def _version(graph: Graph) -> str | None:
    value = graph.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)
    return str(value) if value is not None else None


LABELS = {RDFS.label: "label", SKOS.prefLabel: "preferred label", SKOS.altLabel: "alternative label",
          SKOS.definition: "definition", RDFS.comment: "comment", RDFS.domain: "domain", RDFS.range: "range",
          RDFS.subClassOf: "superclass", RDFS.subPropertyOf: "superproperty", RDF.type: "type",
          OWL.inverseOf: "inverse", OWL.disjointWith: "disjoint with", OWL.deprecated: "deprecated"}  # fmt: skip


def _detail(p: URIRef, gone: set[str], came: set[str]) -> list[str]:
    label = LABELS.get(p, curie(p))
    if len(gone) == 1 and len(came) == 1:
        return [f"{label}: {next(iter(gone))} → {next(iter(came))}"]
    return [f"{label} removed: {v}" for v in sorted(gone)] + [f"{label} added: {v}" for v in sorted(came)]


def _describe(term: Term) -> list[str]:
    keys = (RDFS.label, SKOS.prefLabel, SKOS.definition, RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range,
            OWL.inverseOf, OWL.disjointWith)  # fmt: skip
    return [f"{LABELS[k]}: {', '.join(sorted(term.values[k]))}" for k in keys if k in term.values]
