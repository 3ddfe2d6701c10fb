"""Where terms are used: in the data (a release's graphs), in the shapes, and in the query files.

Each use keeps its place (``queries/sites-by-country.rq:14``, ``graph/sources/documents/….yaml``), so lint can say
where an undeclared or deprecated term has to be fixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import SH

from ..namespaces import PREFIXES
from .inputs import DataInput
from .locate import Locator

_TOKEN = re.compile(
    r"""(?P<iri><[^<>"{}|^`\\\s]*>)"""
    r"""|(?P<string>"{3}.*?"{3}|'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
    r"""|(?P<comment>\#[^\n]*)"""
    r"""|(?P<pname>(?<![\w?$])(?P<prefix>[A-Za-z][\w.-]*)?:(?P<local>[\w-]+(?:\.[\w-]+)*))""",
    re.S,
)
_PREFIX = re.compile(r"PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.I)


@dataclass(frozen=True)
class Use:
    term: URIRef
    where: str  # file (and line) of the use
    context: str  # "data", "shapes", "queries" or "ontology"


def query_terms(path: Path, project: Path) -> Iterator[Use]:
    """Every IRI a SPARQL file names, written whole or with a prefix (declared in it, or a project prefix)."""
    text = path.read_text(encoding="utf-8")
    rel = str(path.relative_to(project)) if path.is_relative_to(project) else str(path)
    prefixes = dict(PREFIXES)
    code = _TOKEN.sub(lambda m: m.group(0) if m.group("iri") or m.group("pname") else _blank(m.group(0)), text)
    prefixes.update({p or "": ns for p, ns in _PREFIX.findall(code)})
    for match in _TOKEN.finditer(code):
        line = code.count("\n", 0, match.start()) + 1
        if match.group("iri"):
            value = match.group("iri")[1:-1]
            if value and not _is_prefix_target(code, match.start()):
                yield Use(URIRef(value), f"{rel}:{line}", "queries")
        elif match.group("pname"):
            namespace = prefixes.get(match.group("prefix") or "")
            if namespace is not None:
                yield Use(URIRef(namespace + match.group("local")), f"{rel}:{line}", "queries")


def _blank(text: str) -> str:
    """Strings and comments blanked out, their line breaks kept (so line numbers stay right)."""
    return re.sub(r"[^\n]", " ", text)


def _is_prefix_target(code: str, start: int) -> bool:
    """True for the namespace IRI of a PREFIX declaration (``PREFIX sg: <…#>``), which names no term."""
    return bool(re.search(r"PREFIX\s+[\w.-]*:\s*$", code[max(0, start - 80) : start], re.I))


def data_terms(data: DataInput, locate: Locator) -> Iterator[Use]:
    """Every IRI in the data graphs (subjects, predicates, objects, datatypes), placed by source file."""
    for name, graph in data.graphs.items():
        where = locate.graph_file(name)
        seen: set[URIRef] = set()
        for triple in graph:
            for term in triple:
                iri = term.datatype if isinstance(term, Literal) else term
                if isinstance(iri, URIRef) and iri not in seen:
                    seen.add(iri)
                    yield Use(iri, where, "data")


def shape_owners(shapes: Graph) -> dict[object, URIRef]:
    """Each node of the shapes graph → the named shape it belongs to (property shapes are blank nodes)."""
    owner: dict[object, URIRef] = {}
    for shape in sorted({s for s in shapes.subjects() if isinstance(s, URIRef)}):
        for node in _reach(shapes, shape):
            owner.setdefault(node, shape)
    return owner


def shape_terms(shapes: Graph, locate: Locator) -> Iterator[Use]:
    """Every IRI in the shapes, placed at the shape that uses it."""
    owner = shape_owners(shapes)
    for s, p, o in shapes:
        shape = owner.get(s, s)
        for term in (p, o.datatype if isinstance(o, Literal) else o):
            if isinstance(term, URIRef):
                yield Use(term, locate.shape(shape), "shapes")


def _reach(graph: Graph, start: object) -> set[object]:
    seen, stack = {start}, [start]
    while stack:
        for o in graph.objects(stack.pop()):
            if isinstance(o, BNode) and o not in seen:
                seen.add(o)
                stack.append(o)
    return seen


def path_properties(shapes: Graph, path: object) -> Iterator[URIRef]:
    """The properties a SHACL property path is made of (sequences, alternatives, inverses, repetitions)."""
    if isinstance(path, URIRef):
        yield path
        return
    if not isinstance(path, BNode):
        return
    for predicate in (SH.inversePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
        inner = shapes.value(path, predicate)
        if inner is not None:
            yield from path_properties(shapes, inner)
    alternatives = shapes.value(path, SH.alternativePath)
    members = list(shapes.items(alternatives)) if alternatives is not None else list(shapes.items(path))
    for member in members:
        yield from path_properties(shapes, member)
