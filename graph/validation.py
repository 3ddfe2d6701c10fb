"""The SHACL gate: validate the union of all graphs against the shapes in ``shapes/``.

pyshacl validates each named graph of a Dataset separately, which would break constraints that cross
documents (a site in one article, its region in the reference graph), so the union is validated as one graph.
Results are turned into :class:`Problem` records that point at the source line of the offending fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from .errors import Problem
from .ontology import parse_turtle_folder
from .sources import Origin


@dataclass
class ValidationReport:
    conforms: bool
    violations: list[Problem]
    warnings: list[Problem]
    graph: Graph
    text: str


def load_shapes(folder: Path) -> Graph:
    return parse_turtle_folder(folder, "shapes")


def validate_graph(
    data: Graph,
    shapes: Graph,
    subject_origins: dict[URIRef, Origin] | None = None,
    fact_origins: dict[tuple[URIRef, URIRef], Origin] | None = None,
    compact=None,
) -> ValidationReport:
    """Run pyshacl (no inference: the build has materialised what it needs) and locate each result."""
    _conforms, results, text = shacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True, meta_shacl=False
    )
    subject_origins = subject_origins or {}
    fact_origins = fact_origins or {}
    compact = compact or (lambda term: term.n3())
    violations: list[Problem] = []
    warnings: list[Problem] = []
    for result in sorted(results.subjects(SH.resultSeverity, None), key=str):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        message = "; ".join(sorted(str(m) for m in results.objects(result, SH.resultMessage))) or "constraint violated"
        value = results.value(result, SH.value)
        shape = results.value(result, SH.sourceShape)
        origin = (fact_origins.get((focus, path)) if isinstance(path, URIRef) else None) or subject_origins.get(focus)
        field = compact(path) if isinstance(path, URIRef) else None
        detail = message
        if value is not None:
            detail += f" (value: {compact(value)})"
        if isinstance(shape, URIRef):
            detail += f" [shape {compact(shape)}]"
        problem = Problem(
            file=origin.file if origin else "(derived data)",
            line=origin.line if origin else None,
            entity=compact(focus) if focus is not None else None,
            field=field,
            message=detail,
        )
        severity = results.value(result, SH.resultSeverity)
        (violations if severity == SH.Violation else warnings).append(problem)
    key = lambda p: (p.file, p.line or 0, p.entity or "", p.field or "", p.message)  # noqa: E731
    return ValidationReport(
        not violations, sorted(set(violations), key=key), sorted(set(warnings), key=key), results, text
    )
