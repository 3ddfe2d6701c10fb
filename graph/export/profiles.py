"""Export profiles: which statements of the release go into the dumps.

- ``full``: every named graph with its provenance, as built (quad formats keep the graphs).
- ``flat``: the union of all graphs as plain triples, duplicates removed.
- ``schema.org``: only schema.org statements. A triple is kept when its predicate is a schema.org property or it
  is an ``rdf:type`` to a schema.org class. Project terms are mapped to schema.org through the ontology graph of
  the release: an ``sg:`` property with ``rdfs:subPropertyOf`` or ``owl:equivalentProperty`` (followed
  transitively) to a ``schema:`` property gives a triple with that schema.org property; an ``rdf:type`` to a
  class with ``rdfs:subClassOf`` or ``owl:equivalentClass`` (transitively) to a ``schema:`` class gives the
  schema.org types. Other links (``skos:closeMatch`` and the like) are not used.
"""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox

from ..namespaces import OWL, RDF, RDFS, SCHEMA
from .formats import sort_key, union

PROFILES = ("full", "flat", "schema.org")

RDF_TYPE = ox.NamedNode(str(RDF.type))
CLASS_LINKS = (str(RDFS.subClassOf), str(OWL.equivalentClass))
PROPERTY_LINKS = (str(RDFS.subPropertyOf), str(OWL.equivalentProperty))


def _closure(links: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        for nxt in links.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def schema_mappings(quads: list[ox.Quad]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(class -> schema.org classes, property -> schema.org properties) from the ontology statements in ``quads``.

    Equivalence links count in both directions; schema.org terms map to themselves."""
    classes: dict[str, set[str]] = defaultdict(set)
    properties: dict[str, set[str]] = defaultdict(set)
    for q in quads:
        if not (isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.NamedNode)):
            continue
        for links, kinds in ((classes, CLASS_LINKS), (properties, PROPERTY_LINKS)):
            if q.predicate.value in kinds:
                links[q.subject.value].add(q.object.value)
                if q.predicate.value == kinds[1]:
                    links[q.object.value].add(q.subject.value)

    def to_schema(links: dict[str, set[str]]) -> dict[str, list[str]]:
        out = {}
        for term in links:
            targets = sorted(t for t in _closure(links, term) | {term} if t.startswith(str(SCHEMA)))
            if targets and not term.startswith(str(SCHEMA)):
                out[term] = targets
        return dict(sorted(out.items()))

    return to_schema(classes), to_schema(properties)


def apply_profile(quads: list[ox.Quad], profile: str) -> list[ox.Quad]:
    """The statements of ``quads`` (skolemised, sorted) that the profile exports, sorted."""
    if profile == "full":
        return quads
    if profile == "flat":
        return union(quads)
    if profile != "schema.org":
        raise ValueError(f"unknown profile {profile!r}")
    class_map, property_map = schema_mappings(quads)
    schema = str(SCHEMA)
    out: set[ox.Quad] = set()
    for q in union(quads):
        if q.predicate == RDF_TYPE:
            if isinstance(q.object, ox.NamedNode):
                targets = [q.object.value] if q.object.value.startswith(schema) else class_map.get(q.object.value, [])
                out.update(ox.Quad(q.subject, RDF_TYPE, ox.NamedNode(t)) for t in targets)
            continue
        targets = (
            [q.predicate.value] if q.predicate.value.startswith(schema) else property_map.get(q.predicate.value, [])
        )
        out.update(ox.Quad(q.subject, ox.NamedNode(t), q.object) for t in targets)
    return sorted(out, key=sort_key)
