"""DL reasoning with HermiT (through owlready2) over the ontology and the data.

owlready2 reads RDF/XML, not Turtle, and HermiT rejects the XML Schema date types outside the OWL 2 datatype
map (xsd:date, xsd:gYear, xsd:gYearMonth, xsd:gMonthDay, xsd:gMonth). So the graph is converted: date literals
become plain strings (their lexical form kept), and the conversion is reported, never hidden.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import XSD

from .ontology import DATE_DATATYPES


@dataclass
class ReasonerResult:
    consistent: bool
    unsatisfiable: list[str] = field(default_factory=list)
    converted_literals: int = 0
    message: str = ""


def prepare_for_hermit(graph: Graph) -> tuple[Graph, int]:
    """A copy of ``graph`` with date-typed literals turned into xsd:string; returns the copy and the count."""
    out = Graph()
    converted = 0
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in DATE_DATATYPES:
            o = Literal(str(o), datatype=XSD.string)
            converted += 1
        out.add((s, p, o))
    return out, converted


def run_hermit(graph: Graph) -> ReasonerResult:
    """Load ``graph`` into a fresh owlready2 world and run HermiT; report consistency and unsatisfiable classes."""
    import owlready2

    prepared, converted = prepare_for_hermit(graph)
    with tempfile.TemporaryDirectory(prefix="sitegraph-reason-") as tmp:
        path = Path(tmp) / "input.owl"
        prepared.serialize(path, format="xml")
        world = owlready2.World()
        onto = world.get_ontology(path.as_uri()).load()
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            return ReasonerResult(False, [], converted, f"inconsistent: {exc}")
        unsatisfiable = sorted(str(c.iri) for c in world.inconsistent_classes() if c is not owlready2.Nothing)
        world.close()
    return ReasonerResult(True, unsatisfiable, converted, "consistent")
