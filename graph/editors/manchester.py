"""OWL class expressions (blank-node structures) written the way Protégé shows them (Manchester syntax):
``sg:managedBy max 0``, ``sg:Site or sg:Project``. Used in messages, in the diff and in the documentation."""

from __future__ import annotations

from collections.abc import Callable

from rdflib import BNode, Graph, Literal
from rdflib.namespace import OWL, RDF

CARDINALITIES = {
    OWL.minCardinality: "min",
    OWL.maxCardinality: "max",
    OWL.cardinality: "exactly",
    OWL.minQualifiedCardinality: "min",
    OWL.maxQualifiedCardinality: "max",
    OWL.qualifiedCardinality: "exactly",
}


def render(graph: Graph, node: object, name: Callable[[object], str], depth: int = 0) -> str:
    """``node`` as Manchester syntax; named terms through ``name``."""
    if not isinstance(node, BNode):
        return str(node) if isinstance(node, Literal) else name(node)
    if depth > 6:
        return "…"

    def sub(value: object) -> str:
        text = render(graph, value, name, depth + 1)
        return f"({text})" if " " in text and isinstance(value, BNode) else text

    for predicate, word in ((OWL.unionOf, " or "), (OWL.intersectionOf, " and ")):
        members = graph.value(node, predicate)
        if members is not None:
            return word.join(sub(m) for m in graph.items(members))
    members = graph.value(node, OWL.oneOf)
    if members is not None:
        return "{" + ", ".join(sub(m) for m in graph.items(members)) + "}"
    complement = graph.value(node, OWL.complementOf)
    if complement is not None:
        return "not " + sub(complement)
    prop = graph.value(node, OWL.onProperty)
    if prop is not None:
        on = sub(prop)
        for predicate, word in ((OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only"), (OWL.hasValue, "value")):
            value = graph.value(node, predicate)
            if value is not None:
                return f"{on} {word} {sub(value)}"
        for predicate, word in CARDINALITIES.items():
            value = graph.value(node, predicate)
            if value is not None:
                qualifier = graph.value(node, OWL.onClass) or graph.value(node, OWL.onDataRange)
                return f"{on} {word} {value}" + (f" {sub(qualifier)}" if qualifier is not None else "")
        if graph.value(node, OWL.hasSelf) is not None:
            return f"{on} Self"
    inverse = graph.value(node, OWL.inverseOf)
    if inverse is not None:
        return f"inverse {sub(inverse)}"
    if graph.value(node, RDF.first) is not None:
        return "(" + " ".join(sub(m) for m in graph.items(node)) + ")"
    kinds = [name(t) for t in graph.objects(node, RDF.type)]
    return "[" + ", ".join(kinds) + "]" if kinds else "[]"
