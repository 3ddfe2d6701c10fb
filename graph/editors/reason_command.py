"""``sitegraph reason``: HermiT over the ontology (ontology/*.ttl as it is now) and the data, with explanations.

Reports consistency, unsatisfiable classes, and the subsumptions and types HermiT infers that nobody asserted
(the build's materialised graph counts as asserted). When the whole is inconsistent it says why: individuals
whose types clash with a disjointness axiom or an unsatisfiable class, each confirmed by HermiT, else a minimal
inconsistent set of individuals and axioms found by HermiT runs (``graph.explain``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL

from ..config import Config
from ..errors import Problem, SitegraphError
from ..namespaces import DataIRIs
from .explain import Clash, Unit, minimal_conflict, split_units, type_clashes
from .inputs import load_data, read_ontology_files
from .locate import Locator, curie
from .reasoning import ReasonerResult, is_consistent, prepare, run_hermit

MAX_SHOWN = 25


class ReasoningFailed(SitegraphError):
    """The ontology with the data is inconsistent, or has unsatisfiable classes (exit 1)."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class ReasonReport:
    inputs: list[str]
    result: ReasonerResult
    clashes: list[Clash] = field(default_factory=list)
    conflict: list[Unit] = field(default_factory=list)  # a minimal inconsistent set
    conflict_complete: bool = True
    runs: int = 1
    problems: list[Problem] = field(default_factory=list)
    iris: DataIRIs = field(default_factory=DataIRIs)


def _problem(located: str, entity: str | None, message: str) -> Problem:
    path, _, line = located.rpartition(":")
    if path and line.isdigit():
        return Problem(path, int(line), entity, None, message)
    return Problem(located, None, entity, None, message)


def _graph(triples) -> Graph:
    out = Graph()
    for triple in triples:
        out.add(triple)
    return out


def reason(
    config: Config, compile_sources: bool = False, ontology_only: bool = False, budget: int = 40
) -> ReasonReport:
    iris = DataIRIs(config.base_iri)
    locate = Locator(config.project, iris)
    ontology, files = read_ontology_files(config.project / "ontology")
    inputs = [f"ontology/: {len(files)} files, {len(ontology)} triples"]
    graph = _graph(ontology)
    data = None
    if not ontology_only:
        data = load_data(config, compile_sources)
        count = f"{data.triples} triples in {len(data.graphs)} named graphs"
        inputs.append(f"data: {data.origin}: {count}, merged into one (OWL has no named graphs)")
        for triple in data.union(iris=iris):
            graph.add(triple)
        if data.release_ontology is not None and not _same(data.release_ontology, ontology):
            inputs.append("note: the release was built from another version of ontology/ (run `sitegraph build`)")
    result = run_hermit(graph)
    report = ReasonReport(inputs, result, iris=iris)
    if not result.consistent:
        asserted = _graph(ontology)
        for triple in data.union(include_inferred=False, iris=iris) if data is not None else ():
            asserted.add(triple)
        _explain(report, ontology, asserted, budget)
    name = lambda term: curie(term, iris)  # noqa: E731
    for cls in result.unsatisfiable:
        report.problems.append(_problem(locate.term(URIRef(cls)), name(URIRef(cls)),
                                        "unsatisfiable: no individual can belong to it; check its superclasses "
                                        "and the disjointness axioms that involve them"))  # fmt: skip
    for clash in report.clashes:
        (a, why_a), (b, why_b) = clash.first, clash.second
        if b == OWL.Nothing:
            message = f"is {name(a)} ({why_a}), an unsatisfiable class"
        else:
            axiom = clash.axiom + f" ({locate.axiom(clash.axiom)})"
            message = f"is {name(a)} ({why_a}) and {name(b)} ({why_b}), but {axiom}"
        report.problems.append(_problem(locate.entity(clash.individual), name(clash.individual), message))
    if not result.consistent and report.conflict:
        scope = "in a minimal inconsistent set" if report.conflict_complete else "in a set that contains the conflict"
        for unit in report.conflict[:MAX_SHOWN]:
            where = locate.entity(unit.subject) if unit.kind == "individual" else locate.axiom(unit.label)
            report.problems.append(_problem(where, unit.label, f"{unit.kind} {scope}"))
    if not result.consistent and not report.problems:
        report.problems.append(Problem("ontology/ + data", None, None, None, "inconsistent; no explanation found"))
    return report


def _same(a: Graph, b: Graph) -> bool:
    def plain(graph: Graph) -> set:
        return {t for t in graph if not any(isinstance(x, BNode) for x in t)}

    return len(a) == len(b) and plain(a) == plain(b)


def _explain(report: ReasonReport, ontology: Graph, asserted: Graph, budget: int) -> None:
    """Unsatisfiable classes from the ontology alone; type clashes, confirmed by HermiT; else a minimal conflict.

    ``asserted`` is the ontology with the data as stated (the build's inferred graph left out, so that each
    type in an explanation is traced to a statement, a domain or a range)."""
    tbox = run_hermit(ontology, ("-c",))
    report.runs += 1
    report.result.unsatisfiable = tbox.unsatisfiable if tbox.consistent else []
    name = lambda term: curie(term, report.iris)  # noqa: E731
    consistent = lambda triples: is_consistent(prepare(_graph(triples)).graph)  # noqa: E731
    clashes = type_clashes(asserted, report.result.unsatisfiable, name)
    remaining = asserted
    if clashes:
        clashing = {c.individual for c in clashes}
        involved = [t for t in asserted if t[0] in clashing or t[2] in clashing]
        others = [t for t in asserted if t[0] not in clashing and t[2] not in clashing]
        _background, axioms, _individuals = split_units(asserted, name)
        axiom_triples = [t for u in axioms for t in u.triples]
        report.runs += 2
        if consistent(axiom_triples + involved):
            clashes = []  # the clashes are not what HermiT objects to (should not happen): search instead
        else:
            report.clashes = clashes
            if consistent(others):
                return
            remaining = _graph(others)  # another conflict among the rest
    units, search = minimal_conflict(remaining, consistent, name, max(budget - report.runs, 0))
    report.runs += search.runs
    report.conflict_complete = search.complete
    report.conflict = units


def format_text(report: ReasonReport) -> str:
    r = report.result
    lines = [f"sitegraph reason (HermiT via owlready2, {report.runs} run{'s' if report.runs != 1 else ''})"]
    lines += [f"  {line}" for line in report.inputs]
    lines += [f"  converted: {note}" for note in r.notes if "did not read" not in note]
    lines += [f"  left out: {note}" for note in r.notes if "did not read" in note] or ["  left out: nothing"]
    lines.append(f"consistent: {'yes' if r.consistent else 'NO'}")
    c = curie
    sections = [
        ("unsatisfiable classes", [c(URIRef(x)) for x in r.unsatisfiable]),
        ("inferred subsumptions not asserted", [f"{c(URIRef(a))} ⊑ {c(URIRef(b))}" for a, b in r.inferred_subclasses]),
        ("inferred equivalences not asserted", [" ≡ ".join(c(URIRef(x)) for x in e) for e in r.inferred_equivalences]),
        ("inferred types not asserted", [f"{c(URIRef(i))} a {c(URIRef(x))}" for i, x in r.inferred_types]),
    ]
    if not r.consistent:
        sections = sections[:1]  # HermiT classifies nothing in an inconsistent ontology
        clashes = [str(p) for p in report.problems if p.entity and p.message.startswith("is ")]
        sections.append(("type clashes (confirmed by HermiT)", clashes))
        if report.conflict:
            kind = "minimal inconsistent set" if report.conflict_complete else "set containing the conflict"
            shown = [f"{u.kind} {u.label}" for u in report.conflict[:MAX_SHOWN]]
            shown += [f"… and {len(report.conflict) - MAX_SHOWN} more"] if len(report.conflict) > MAX_SHOWN else []
            shown += [] if report.conflict_complete else ["(--max-runs used up before the set was minimal)"]
            sections.append((kind, shown))
    for title, items in sections:
        lines.append(f"{title}: {len(items) if items else 'none'}")
        lines += [f"  {item}" for item in items]
    return "\n".join(lines)


def to_json(report: ReasonReport) -> dict:
    r = report.result
    return {
        "consistent": r.consistent,
        "inputs": report.inputs,
        "conversions": [n for n in r.notes if "did not read" not in n],
        "left_out": [n for n in r.notes if "did not read" in n],
        "unsatisfiable": r.unsatisfiable,
        "inferred_subclasses": [list(p) for p in r.inferred_subclasses],
        "inferred_equivalences": [list(e) for e in r.inferred_equivalences],
        "inferred_types": [list(p) for p in r.inferred_types],
        "problems": [str(p) for p in report.problems],
        "conflict": [{"kind": u.kind, "label": u.label} for u in report.conflict],
        "conflict_minimal": report.conflict_complete,
        "reasoner_runs": report.runs,
    }
