"""DL reasoning with HermiT (through owlready2) over the ontology and the data.

owlready2 reads RDF/XML, not Turtle, and HermiT rejects the XML Schema datatypes outside the OWL 2 datatype map
(xsd:date, xsd:gYear, xsd:gYearMonth, xsd:gMonthDay, xsd:gMonth …). So the graph is converted first: such
literals become xsd:string (their lexical form kept), such datatypes named in axioms become xsd:string, and
every conversion is counted and reported, never hidden. The converted graph goes through owlready2 (RDF/XML in,
N-Triples out, exactly what ``owlready2.sync_reasoner_hermit`` hands to Java), and what owlready2 did not read
back is reported too. HermiT then runs with owlready2's Java settings and jar; its output is parsed here, so
the caller gets consistency, unsatisfiable classes, and every inferred subsumption and type.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from ..errors import UsageError

_XSD_NAMES = (
    "decimal integer nonNegativeInteger nonPositiveInteger positiveInteger negativeInteger long int short byte "
    "unsignedLong unsignedInt unsignedShort unsignedByte double float string normalizedString token language Name "
    "NCName NMTOKEN boolean hexBinary base64Binary anyURI dateTime dateTimeStamp"
)
#: The OWL 2 datatype map (OWL 2 Structural Specification §4), plus rdf:langString, which HermiT accepts.
OWL2_DATATYPES = frozenset(
    {RDF.PlainLiteral, RDF.XMLLiteral, RDF.langString, RDFS.Literal, OWL.real, OWL.rational}
    | {XSD[name] for name in _XSD_NAMES.split()}
)
#: Faster JVM start-up for short runs: HermiT spends most of a small run in the JIT otherwise.
JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
_RESULT = re.compile(r"^([A-Za-z]+)\( ((?:<[^>]+>\s*)+)\)$")
NOTHING, THING = str(OWL.Nothing), str(OWL.Thing)


@dataclass
class Prepared:
    """The graph HermiT will see, and what was changed to get it there."""

    graph: Graph
    conversions: Counter[str] = field(default_factory=Counter)

    @property
    def converted_literals(self) -> int:
        return sum(n for what, n in self.conversions.items() if what.endswith("literals"))


@dataclass
class ReasonerResult:
    consistent: bool
    unsatisfiable: list[str] = field(default_factory=list)
    converted_literals: int = 0
    message: str = ""
    inferred_subclasses: list[tuple[str, str]] = field(default_factory=list)
    inferred_equivalences: list[tuple[str, ...]] = field(default_factory=list)
    inferred_types: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    triples: int = 0
    seconds: float = 0.0


def _short(iri: URIRef) -> str:
    return "xsd:" + iri[len(str(XSD)) :] if iri.startswith(str(XSD)) else iri.n3()


def prepare(graph: Graph) -> Prepared:
    """A copy of ``graph`` without datatypes HermiT rejects: literals and datatype references become xsd:string."""
    out = Graph()
    counts: Counter[str] = Counter()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype is not None and o.datatype not in OWL2_DATATYPES:
            counts[f"{_short(o.datatype)} literals"] += 1
            o = Literal(str(o), datatype=XSD.string)
        elif isinstance(o, URIRef) and o.startswith(str(XSD)) and o not in OWL2_DATATYPES and p != RDF.type:
            counts[f"{_short(o)} named as a datatype ({p.n3()})"] += 1
            o = XSD.string
        out.add((s, p, o))
    return Prepared(out, counts)


def prepare_for_hermit(graph: Graph) -> tuple[Graph, int]:
    """A copy of ``graph`` with date-typed (and other non-OWL 2) literals turned into xsd:string, and the count."""
    prepared = prepare(graph)
    return prepared.graph, prepared.converted_literals


def _normal(term):
    """A triple term as owlready2 writes it back: plain literals typed xsd:string, numbers by value."""
    if isinstance(term, Literal):
        if term.language:
            return ("lang", str(term), term.language)
        datatype = term.datatype or XSD.string
        numeric = datatype in (XSD.decimal, XSD.integer, XSD.double, XSD.float)
        return ("lit", repr(float(term.toPython())) if numeric else str(term), str(datatype))
    return None if isinstance(term, BNode) else str(term)


def through_owlready(graph: Graph, folder: Path) -> tuple[Path, list[str]]:
    """Write ``graph`` as RDF/XML, load it with owlready2, save it as N-Triples for HermiT; notes on losses."""
    import owlready2

    xml = folder / "input.owl"
    graph.serialize(xml, format="xml")
    world = owlready2.World()
    try:
        world.get_ontology(xml.as_uri()).load()
        out = folder / "owlready.nt"
        world.save(str(out), format="ntriples")
    except Exception as exc:  # owlready2 raises plain exceptions of several kinds on input it cannot read
        raise UsageError(f"owlready2 cannot read the ontology and data (as RDF/XML): {exc}") from exc
    finally:
        world.close()
    back = Graph().parse(out, format="nt")
    seen = {tuple(_normal(t) for t in triple) for triple in back}
    lost = [t for t in graph if None not in (key := tuple(_normal(x) for x in t)) and key not in seen]
    notes = []
    if lost:
        annotations = set(graph.subjects(RDF.type, OWL.AnnotationProperty))
        harmless = sum(1 for t in lost if t[1] in annotations)
        shown = "; ".join(" ".join(x.n3() for x in t) for t in sorted(lost)[:5])
        kind = f"{harmless} of them annotations, which do not affect reasoning" if harmless else "not reasoned over"
        notes.append(f"owlready2 did not read {len(lost)} of {len(graph)} triples ({kind}): {shown}")
    return out, notes


def hermit(path: Path, tasks: tuple[str, ...] = ("-c", "-I")) -> tuple[bool, list[tuple[str, list[str]]]]:
    """Run HermiT (owlready2's jar and Java) on an N-Triples file: (consistent, parsed result lines)."""
    import owlready2
    from owlready2 import reasoning

    command = [owlready2.JAVA_EXE, f"-Xmx{reasoning.JAVA_MEMORY}M", *JVM_FLAGS, "-cp", reasoning._HERMIT_CLASSPATH]
    command += ["org.semanticweb.HermiT.cli.CommandLine", *tasks, path.as_uri()]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise UsageError(f"Java ({owlready2.JAVA_EXE}) is needed for HermiT: install a JRE (scripts/setup.sh)") from exc
    if done.returncode != 0:
        if "InconsistentOntologyException" in done.stderr or "Inconsistent ontology" in done.stderr:
            return False, []
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(f"HermiT failed (exit {done.returncode}): {last}")
    lines = []
    for line in done.stdout.splitlines():
        match = _RESULT.match(line.strip())
        if match:
            lines.append((match.group(1), match.group(2)[1:-1].strip().rstrip(">").split("> <")))
    return True, lines


def is_consistent(graph: Graph) -> bool:
    """One HermiT consistency check of ``graph`` (already prepared). The searches for an explanation make many
    such checks, so these go to HermiT as N-Triples directly: the full run has already shown what owlready2
    reads of the same triples."""
    with tempfile.TemporaryDirectory(prefix="sitegraph-reason-") as tmp:
        path = Path(tmp) / "check.nt"
        graph.serialize(path, format="nt", encoding="utf-8")
        consistent, _lines = hermit(path, ("-k",))
    return consistent


def _closure(pairs: dict[str, set[str]], start: set[str]) -> set[str]:
    seen, stack = set(start), list(start)
    while stack:
        for parent in pairs.get(stack.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def asserted_hierarchy(graph: Graph) -> dict[str, set[str]]:
    """Named class → its asserted named superclasses (rdfs:subClassOf, owl:equivalentClass both ways)."""
    parents: dict[str, set[str]] = {}
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            parents.setdefault(str(sub), set()).add(str(sup))
    for a, b in graph.subject_objects(OWL.equivalentClass):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            parents.setdefault(str(a), set()).add(str(b))
            parents.setdefault(str(b), set()).add(str(a))
    return parents


def run_hermit(graph: Graph, tasks: tuple[str, ...] = ("-c", "-I")) -> ReasonerResult:
    """Prepare ``graph``, pass it through owlready2 and run HermiT: consistency, classification, realisation."""
    started = time.perf_counter()
    prepared = prepare(graph)
    notes = [f"{n} {what} → xsd:string (lexical form kept)" for what, n in sorted(prepared.conversions.items())]
    with tempfile.TemporaryDirectory(prefix="sitegraph-reason-") as tmp:
        path, lost = through_owlready(prepared.graph, Path(tmp))
        consistent, lines = hermit(path, tasks)
    result = ReasonerResult(consistent, [], prepared.converted_literals, notes=notes + lost, triples=len(graph))
    result.seconds = time.perf_counter() - started
    if not consistent:
        result.message = "inconsistent: HermiT found no model of the ontology and data together"
        return result
    parents = asserted_hierarchy(prepared.graph)
    types: dict[str, set[str]] = {}
    for s, o in prepared.graph.subject_objects(RDF.type):
        if isinstance(o, URIRef):
            types.setdefault(str(s), set()).add(str(o))
    unsatisfiable: set[str] = set()
    for relation, iris in lines:
        if relation == "EquivalentClasses" and NOTHING in iris:
            unsatisfiable |= {i for i in iris if i != NOTHING}
        elif relation == "EquivalentClasses":
            named = tuple(sorted(i for i in iris if i != THING))
            if any(b not in _closure(parents, {a}) for a in named for b in named if a != b):
                result.inferred_equivalences.append(named)
        elif relation == "SubClassOf" and THING not in iris[1:] and iris[1] not in _closure(parents, {iris[0]}):
            result.inferred_subclasses.append((iris[0], iris[1]))
        elif relation in ("Type", "ClassAssertion") and iris[1] != THING:
            individual, cls = (iris[1], iris[0]) if relation == "ClassAssertion" else (iris[0], iris[1])
            if cls not in _closure(parents, types.get(individual, set())):
                result.inferred_types.append((individual, cls))
    result.unsatisfiable = sorted(unsatisfiable)
    result.inferred_subclasses.sort()
    result.inferred_equivalences.sort()
    result.inferred_types.sort()
    result.message = "consistent" + (f", {len(unsatisfiable)} unsatisfiable classes" if unsatisfiable else "")
    return result
