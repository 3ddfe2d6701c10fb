"""Materialise what the ontology implies, into its own named graph.

Three kinds of triples, nothing more (so the inferred graph stays explainable):
- class membership up the hierarchy (``rdfs:subClassOf``, named classes only);
- transitive location containment: ``sg:withinPlace`` is the closure of ``sg:locatedIn``, and a site, project,
  organisation, event or instrument located within a country gets ``sg:inCountry`` that country;
- inverse relations (``owl:inverseOf``) and symmetric ones (``owl:SymmetricProperty``).
Triples already asserted in any graph are not repeated.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from .namespaces import SG
from .ontology import Ontology, closure

Triple = tuple

#: Classes whose members may carry sg:inCountry (the property's domain).
IN_COUNTRY_DOMAIN = (SG.Site, SG.Organisation, SG.Project, SG.Event, SG.LegalInstrument)


def infer(ontology: Ontology, data: Graph) -> set[Triple]:
    """The triples implied by ``data`` (the union of the data graphs) that it does not already contain."""
    out: set[Triple] = set()
    types: dict[URIRef, set[URIRef]] = {}
    for s, o in data.subject_objects(RDF.type):
        types.setdefault(s, set()).add(o)
    all_types: dict[URIRef, set[URIRef]] = {}
    for s, classes in types.items():
        full = set(classes)
        for cls in classes:
            full |= ontology.ancestors(cls)
        all_types[s] = full
        out.update((s, RDF.type, cls) for cls in full - classes)

    located: dict[URIRef, set[URIRef]] = {}
    for s, o in data.subject_objects(SG.locatedIn):
        located.setdefault(s, set()).add(o)
    for start in located:
        for place in closure(located, start):
            out.add((start, SG.withinPlace, place))
            if SG.Country in all_types.get(place, ()) and any(c in all_types.get(start, ()) for c in IN_COUNTRY_DOMAIN):
                out.add((start, SG.inCountry, place))

    for prop in sorted(ontology.inverses):
        inverse = ontology.inverses[prop]
        for s, o in data.subject_objects(prop):
            if isinstance(o, URIRef):
                out.add((o, inverse, s))
    for prop in sorted(ontology.symmetric):
        for s, o in data.subject_objects(prop):
            out.add((o, prop, s))
    return {t for t in out if t not in data}


def union(graphs: Iterable[Graph]) -> Graph:
    merged = Graph()
    for graph in graphs:
        for triple in graph:
            merged.add(triple)
    return merged
