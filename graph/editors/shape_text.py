"""SHACL constraints in words, for the documentation: "sg:managedBy — at least 1 · each a sg:Organisation".

``constraints_of(shapes, class)`` lists the constraints of every node shape that targets the class; each names
its shape, its path, what it requires, its severity and the shape's own message (what to fix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDFS, SH

from .locate import curie

SEVERITY = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}
VALUE_WORDS = {
    SH["class"]: "each a {}",
    SH.datatype: "datatype {}",
    SH.nodeKind: "node kind {}",
    SH.hasValue: "includes {}",
    SH.pattern: "matches /{}/",
    SH.minLength: "at least {} characters",
    SH.maxLength: "at most {} characters",
    SH.minInclusive: "≥ {}",
    SH.maxInclusive: "≤ {}",
    SH.minExclusive: "> {}",
    SH.maxExclusive: "< {}",
    SH.node: "conforms to {}",
    SH.equals: "equals {}",
    SH.disjoint: "shares no value with {}",
    SH.lessThan: "less than {}",
}


@dataclass(frozen=True)
class Constraint:
    shape: str
    path: str  # "" for a constraint on the node itself
    text: str
    severity: str
    message: str


class Namer:
    """CURIEs from the project prefixes, else from the prefixes the shapes files declare (sgsh:)."""

    def __init__(self, shapes: Graph) -> None:
        self.extra = sorted(((str(ns), p) for p, ns in shapes.namespaces() if p), key=lambda x: -len(x[0]))

    def __call__(self, term: object) -> str:
        text = curie(term)
        if not text.startswith("<"):
            return text
        for namespace, prefix in self.extra:
            if str(term).startswith(namespace):
                return f"{prefix}:{str(term)[len(namespace) :]}"
        return text


def path_text(shapes: Graph, path: object, name: Callable[[object], str]) -> str:
    if isinstance(path, URIRef):
        return name(path)
    if not isinstance(path, BNode):
        return str(path)
    for predicate, template in ((SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"), (SH.oneOrMorePath, "{}+"),
                                (SH.zeroOrOnePath, "{}?")):  # fmt: skip
        inner = shapes.value(path, predicate)
        if inner is not None:
            return template.format(path_text(shapes, inner, name))
    alternatives = shapes.value(path, SH.alternativePath)
    if alternatives is not None:
        return " | ".join(path_text(shapes, p, name) for p in shapes.items(alternatives))
    return " / ".join(path_text(shapes, p, name) for p in shapes.items(path))


def _value(shapes: Graph, value: object, name: Callable[[object], str]) -> str:
    return str(value) if isinstance(value, Literal) else name(value)


def requirements(shapes: Graph, node: object, name: Callable[[object], str], depth: int = 0) -> list[str]:
    """What a shape (node or property shape) requires, as short phrases."""
    if depth > 4:
        return ["…"]
    g, out = shapes, []
    low, high = g.value(node, SH.minCount), g.value(node, SH.maxCount)
    if high is not None and int(high) == 0:
        out.append("must be absent")
    elif low is not None and high is not None:
        out.append(f"exactly {low}" if int(low) == int(high) else f"{low} to {high}")
    elif low is not None:
        out.append(f"at least {low}")
    elif high is not None:
        out.append(f"at most {high}")
    for predicate, template in VALUE_WORDS.items():
        for value in g.objects(node, predicate):
            out.append(template.format(_value(g, value, name)))
    values = g.value(node, SH["in"])
    if values is not None:
        out.append("one of " + ", ".join(_value(g, v, name) for v in g.items(values)))
    languages = g.value(node, SH.languageIn)
    if languages is not None:
        out.append("language " + " or ".join(str(v) for v in g.items(languages)))
    if str(g.value(node, SH.uniqueLang)).lower() == "true":
        out.append("one per language")
    for predicate, word in ((SH["or"], " or "), (SH["and"], " and "), (SH.xone, " or exactly one of ")):
        members = g.value(node, predicate)
        if members is not None:
            parts = ["(" + ", ".join(requirements(g, m, name, depth + 1)) + ")" for m in g.items(members)]
            out.append(word.strip() + ": " + word.join(parts) if word == " and " else "either " + word.join(parts))
    for inner in g.objects(node, SH["not"]):
        out.append("not (" + ", ".join(requirements(g, inner, name, depth + 1)) + ")")
    qualified = g.value(node, SH.qualifiedValueShape)
    if qualified is not None:
        what = ", ".join(requirements(g, qualified, name, depth + 1))
        low, high = g.value(node, SH.qualifiedMinCount), g.value(node, SH.qualifiedMaxCount)
        count = " and ".join(t for t in (f"at least {low}" if low else "", f"at most {high}" if high else "") if t)
        out.append(f"{count} value(s) that are ({what})")
    if any(True for _ in g.objects(node, SH.sparql)):
        out.append("SPARQL check")
    if str(g.value(node, SH.closed)).lower() == "true":
        out.append("no other properties (closed)")
    return out


def _constraint(shapes: Graph, shape: URIRef, node: object, name: Callable[[object], str]) -> Constraint | None:
    path = shapes.value(node, SH.path)
    needs = requirements(shapes, node, name)
    if not needs:
        return None
    severity = SEVERITY.get(shapes.value(node, SH.severity) or shapes.value(shape, SH.severity), "violation")
    message = shapes.value(node, SH.message)
    if message is None and node is not shape:
        messages = sorted(str(m) for q in shapes.objects(node, SH.sparql) for m in shapes.objects(q, SH.message))
        message = " ".join(messages) or None
    return Constraint(name(shape), path_text(shapes, path, name) if path is not None else "", " · ".join(needs),
                      severity, str(message) if message is not None and node is not shape else "")  # fmt: skip


def constraints_of(shapes: Graph, cls: URIRef, name: Callable[[object], str] | None = None) -> list[Constraint]:
    """The constraints of the node shapes that target ``cls`` (sh:targetClass), node-level first."""
    name = name or Namer(shapes)
    found: list[Constraint] = []
    for shape in sorted(s for s in shapes.subjects(SH.targetClass, cls) if isinstance(s, URIRef)):
        node_level = _constraint(shapes, shape, shape, name)
        if node_level is not None:
            message = shapes.value(shape, SH.message)
            found.append(Constraint(node_level.shape, "", node_level.text, node_level.severity,
                                    str(message) if message is not None else ""))  # fmt: skip
        props = sorted(
            shapes.objects(shape, SH.property), key=lambda p: path_text(shapes, shapes.value(p, SH.path), name)
        )
        for prop in props:
            constraint = _constraint(shapes, shape, prop, name)
            if constraint is not None:
                found.append(constraint)
    return found


def shape_comments(shapes: Graph, cls: URIRef) -> list[str]:
    """The rdfs:comment of each node shape that targets ``cls`` (what the shape checks, in a sentence)."""
    return sorted(str(c) for s in shapes.subjects(SH.targetClass, cls) for c in shapes.objects(s, RDFS.comment))
