"""Why is the ontology with the data inconsistent? owlready2 and HermiT say only *that* it is; this module says why.

Two ways, cheapest first:

1. **Type clashes** (no reasoner): each individual's types under RDFS entailment — stated types, the domains and
   ranges of the properties it is used with, superclasses — checked against owl:disjointWith and
   owl:AllDisjointClasses and the unsatisfiable classes. A clash names the individual, both types with the
   reason for each, and the disjointness axiom.
2. **A minimal subset** (HermiT): the graph is cut into units — one per individual (all its triples) and one per
   logical axiom of the ontology (declarations and annotations stay, they cannot clash). First the individuals
   are halved while one half alone stays inconsistent, then QuickXplain (Junker 2004) finds a minimal set of
   them; then the same over the axioms, with those individuals kept. Each step is one HermiT run, so the search
   has a budget; when it runs out, what is left is still a set that contains the conflict, and is reported so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from .manchester import render

Triple = tuple
DECLARATION_TYPES = {
    *(OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.Ontology),
    *(OWL.NamedIndividual, RDFS.Datatype, RDFS.Class, RDF.Property),
}
AXIOM_PREDICATES = {
    *(RDFS.subClassOf, OWL.equivalentClass, OWL.disjointWith, RDFS.domain, RDFS.range, RDFS.subPropertyOf),
    *(OWL.inverseOf, OWL.equivalentProperty, OWL.propertyDisjointWith, OWL.propertyChainAxiom, OWL.hasKey),
    *(OWL.disjointUnionOf, OWL.complementOf),
}
CHARACTERISTICS = {
    *(OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.TransitiveProperty, OWL.SymmetricProperty),
    *(OWL.AsymmetricProperty, OWL.ReflexiveProperty, OWL.IrreflexiveProperty),
}
ANNOTATIONS = {RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.versionInfo, OWL.deprecated}
GROUP_AXIOMS = {OWL.AllDisjointClasses, OWL.AllDifferent, OWL.AllDisjointProperties}


@dataclass(eq=False)
class Unit:
    label: str
    kind: str  # "individual" or "axiom"
    triples: list[Triple]
    subject: object = None


@dataclass
class Clash:
    individual: URIRef
    first: tuple[URIRef, str]  # (class, why)
    second: tuple[URIRef, str]
    axiom: str


class BudgetExhausted(Exception):
    pass


@dataclass
class Search:
    """The minimisation's state: reasoner runs used, and whether the result is minimal."""

    consistent: Callable[[list[Triple]], bool]
    budget: int
    runs: int = 0
    complete: bool = True

    def check(self, units: list[Unit], background: list[Triple]) -> bool:
        if self.runs >= self.budget:
            raise BudgetExhausted
        self.runs += 1
        return self.consistent(background + [t for u in units for t in u.triples])


def _closure(graph: Graph, node) -> list[Triple]:
    """The triples of the blank nodes reachable from ``node``."""
    out, stack, seen = [], [node], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for triple in graph.triples((current, None, None)):
            out.append(triple)
            if isinstance(triple[2], BNode):
                stack.append(triple[2])
    return out


def split_units(graph: Graph, name: Callable[[object], str]) -> tuple[list[Triple], list[Unit], list[Unit]]:
    """(background, axiom units, individual units) of ``graph``."""
    declared = {s for s, o in graph.subject_objects(RDF.type) if o in DECLARATION_TYPES}
    annotation = set(graph.subjects(RDF.type, OWL.AnnotationProperty)) | ANNOTATIONS
    background: list[Triple] = []
    axioms: list[Unit] = []
    individuals: dict[URIRef, list[Triple]] = {}
    for s, p, o in sorted(graph):
        if isinstance(s, BNode):
            if p == RDF.type and o in GROUP_AXIOMS:
                listed = graph.value(s, OWL.members) or graph.value(s, OWL.distinctMembers)
                members = " ".join(name(m) for m in graph.items(listed))
                axioms.append(Unit(f"{name(o)}({members})", "axiom", _closure(graph, s), s))
            continue  # blank nodes travel with the axiom or individual that reaches them
        if p in annotation or (p == RDF.type and o in DECLARATION_TYPES):
            background.append((s, p, o))
        elif s in declared and (p in AXIOM_PREDICATES or (p == RDF.type and o in CHARACTERISTICS)):
            triples = [(s, p, o), *(_closure(graph, o) if isinstance(o, BNode) else [])]
            axioms.append(Unit(f"{name(s)} {name(p)} {render(graph, o, name)}", "axiom", triples, s))
        elif s in declared:
            background.append((s, p, o))
        else:
            individuals.setdefault(s, []).append((s, p, o))
            if isinstance(o, BNode):
                individuals[s].extend(_closure(graph, o))
    units = [Unit(name(s), "individual", triples, s) for s, triples in sorted(individuals.items())]
    return background, axioms, units


def type_clashes(graph: Graph, unsatisfiable: Iterable[str] = (), name: Callable[[object], str] = str) -> list[Clash]:
    """Individuals whose types (stated, from domains and ranges, and their superclasses) are disjoint, or
    include an unsatisfiable class (reported only when no disjointness explains the individual already)."""
    parents: dict[URIRef, set[URIRef]] = {}
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            parents.setdefault(sub, set()).add(sup)
    disjoint: dict[frozenset, str] = {}
    for a, b in graph.subject_objects(OWL.disjointWith):
        disjoint[frozenset((a, b))] = f"{name(a)} owl:disjointWith {name(b)}"
    for node in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = list(graph.items(graph.value(node, OWL.members)))
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                disjoint[frozenset((a, b))] = "owl:AllDisjointClasses(" + " ".join(name(m) for m in members) + ")"
    domains = {p: set(graph.objects(p, RDFS.domain)) for p in set(graph.subjects(RDFS.domain))}
    ranges = {p: set(graph.objects(p, RDFS.range)) for p in set(graph.subjects(RDFS.range))}
    annotations = set(graph.subjects(RDF.type, OWL.AnnotationProperty))
    domains = {p: c for p, c in domains.items() if p not in annotations}
    ranges = {p: c for p, c in ranges.items() if p not in annotations}
    declared = {s for s, o in graph.subject_objects(RDF.type) if o in DECLARATION_TYPES}
    unsat = {URIRef(u) for u in unsatisfiable}
    typed: dict[URIRef, dict[URIRef, str]] = {}

    def add(individual, cls, why: str) -> None:
        if not isinstance(individual, URIRef) or not isinstance(cls, URIRef) or individual in declared:
            return
        found = typed.setdefault(individual, {})
        stack = [(cls, why)]
        while stack:
            current, reason = stack.pop()
            if current in found:
                continue
            found[current] = reason
            stack.extend((sup, f"{reason} ⊑ {name(sup)}") for sup in parents.get(current, ()))

    for s, o in graph.subject_objects(RDF.type):
        add(s, o, f"stated {name(o)}")
    for s, p, o in graph:
        for cls in domains.get(p, ()):
            add(s, cls, f"subject of {name(p)}, whose domain is {name(cls)}")
        for cls in ranges.get(p, ()):
            add(o, cls, f"value of {name(p)}, whose range is {name(cls)}")
    clashes = []
    for individual, types in sorted(typed.items()):
        found = []
        for pair, axiom in sorted(disjoint.items(), key=lambda kv: kv[1]):
            a, b = sorted(pair)
            if a in types and b in types:
                found.append(Clash(individual, (a, types[a]), (b, types[b]), axiom))
        for cls in sorted(unsat & set(types)) if not found else ():
            found.append(Clash(individual, (cls, types[cls]), (OWL.Nothing, "unsatisfiable"), f"{name(cls)} ≡ ⊥"))
        clashes += found
    return clashes


def _halve(search: Search, background: list[Triple], units: list[Unit]) -> list[Unit]:
    """While one half of ``units`` alone is inconsistent (with ``background``), keep that half."""
    while len(units) > 1:
        middle = len(units) // 2
        for half in (units[:middle], units[middle:]):
            if not search.check(half, background):
                units = half
                break
        else:
            return units
    return units


def _quickxplain(search: Search, background: list[Triple], delta: list[Unit], units: list[Unit]) -> list[Unit]:
    if delta and not search.check([], background):
        return []
    if len(units) == 1:
        return units
    middle = len(units) // 2
    first, second = units[:middle], units[middle:]
    with_first = background + [t for u in first for t in u.triples]
    found_second = _quickxplain(search, with_first, first, second)
    with_second = background + [t for u in found_second for t in u.triples]
    found_first = _quickxplain(search, with_second, found_second, first)
    return found_first + found_second


def minimise(search: Search, background: list[Triple], units: list[Unit]) -> list[Unit]:
    """A minimal subset of ``units`` that is inconsistent with ``background`` (or the smallest found in budget)."""
    try:
        units = _halve(search, background, units)
    except BudgetExhausted:
        search.complete = False
        return units
    try:
        return _quickxplain(search, background, [], units) if len(units) > 1 else units
    except BudgetExhausted:
        search.complete = False
        return units


def _signature(triples: Iterable[Triple]) -> set[URIRef]:
    return {x for t in triples for x in t if isinstance(x, URIRef)}


def _relevant(search: Search, background: list[Triple], axioms: list[Unit], start: set[URIRef]) -> list[Unit]:
    """The axioms within the fewest signature steps of ``start`` that already give the inconsistency."""
    signature, chosen = set(start), []
    while True:
        layer = [u for u in axioms if u not in chosen and _signature(u.triples) & signature]
        if not layer:
            return axioms
        chosen += layer
        signature |= _signature(t for u in layer for t in u.triples)
        if not search.check(chosen, background):
            return chosen


def minimal_conflict(
    graph: Graph, consistent: Callable[[list[Triple]], bool], name: Callable[[object], str], budget: int
) -> tuple[list[Unit], Search]:
    """Individuals first (with every axiom), then axioms (with those individuals): a minimal conflict."""
    background, axioms, individuals = split_units(graph, name)
    search = Search(consistent, budget)
    all_axioms = [t for u in axioms for t in u.triples]
    try:
        axioms_alone = search.check([], background + all_axioms)
    except BudgetExhausted:
        search.complete = False
        return individuals + axioms, search
    culprits = minimise(search, background + all_axioms, individuals) if axioms_alone else []
    kept = background + [t for u in culprits for t in u.triples]
    if culprits and search.complete:
        try:
            axioms = _relevant(search, kept, axioms, _signature(t for u in culprits for t in u.triples))
        except BudgetExhausted:
            search.complete = False
            return culprits + axioms, search
    return culprits + minimise(search, kept, axioms), search
