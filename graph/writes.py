"""Writes by trusted partners: a change to the current release, validated, committed as a new release.

A write is a SPARQL 1.1 Update or a Graph Store operation (PUT, POST or DELETE of one graph, or POST of a
dataset). ``apply_change`` does, under an exclusive lock on the build folder (``fcntl.flock``: it works across
processes and the kernel releases it when the holder dies, even by SIGKILL):

1. load the current release's quads (``sitegraph.nq``) into an in-memory pyoxigraph store and apply the change
   there (``LOAD`` and ``SERVICE`` are refused before anything runs: a write never reaches another server);
2. refuse it if it touches a graph the build makes (the ontology and the inferred graph);
3. give blank nodes the write created an IRI under ``<base>.well-known/genid/`` (RDF 1.1 skolemisation), so a
   later write, and the change log, can name them;
4. recompute the inferred graph exactly as the build does (``graph.inference.infer`` over the data and the
   ontology) and take the difference with the release: quads added and removed;
5. validate with SHACL over the union of data, inferred graph and ontology, as the build does, but only the
   nodes the change can affect (see ``focus_nodes``): about 0.3–1 s instead of the build's ~14 s. A violation
   raises ``WriteRejected`` carrying the report, and nothing is written;
6. write a new release with ``graph.store.write_release`` (temp folder, ``os.replace``, symlink switch: readers
   see the old release or the new one, never a mix), with a new ``void.ttl``, manifest counts, the previous
   release's documentation files, and ``changes.jsonl``: the previous release's change log plus one line (who,
   when, the diff as N-Quads), so the log is always exactly as current as the data.

``dry_run=True`` stops after step 5 and returns the diff and the report. ``sitegraph build`` calls
``reapply_changes``: the change log of the current release is applied again, in order, on top of the freshly
compiled sources, validated the same way, and carried into the new release, so a build never silently drops
what partners wrote (``--discard-writes`` drops it on purpose).

With ``store = remote``, ``apply_change_remote`` does steps 1–5 on the remote's quads and commits on the remote
instead: one SPARQL Update request with the data and inferred-graph diff and the change-log record (graph
``<base>graph/changes``), so the remote's log is exactly as current as its data.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH

from . import void
from .errors import Problem, SitegraphError, UsageError, ValidationFailed
from .inference import infer
from .namespaces import DataIRIs
from .ontology import Ontology, index_ontology, parse_turtle_folder
from .query import refuse_load_and_service
from .remote_http import RESULTS_ACCEPT, RemoteClient, RemoteError
from .store import Release, canonical_quads, current_release, dataset_version, dump_nquads, write_release

if TYPE_CHECKING:
    from .config import Config
    from .remote_store import RemoteStore

LOCK_FILE = ".write.lock"
CHANGES = "changes.jsonl"
#: Files a write makes itself; every other file of the previous release (documentation) is carried over.
OWN_FILES = {"sitegraph.nq", "sitegraph.trig", "manifest.json", "void.ttl", CHANGES}
#: Above this many focus nodes, validating them one shape at a time costs as much as validating everything.
FOCUS_LIMIT = 300
LOCK_TIMEOUT = 60.0
logger = logging.getLogger("sitegraph.writes")


class WriteError(UsageError):
    """A write that cannot be done as asked (syntax, LOAD/SERVICE, a build-managed graph, a missing graph)."""

    def __init__(self, message: str, kind: str = "bad-request") -> None:
        super().__init__(message)
        self.kind = kind  # bad-request | outbound | managed-graph | not-found


class WriteBusy(SitegraphError):
    """Another write or a build held the lock for too long."""


@dataclass(frozen=True)
class Result:
    """One SHACL validation result, as plain text."""

    focus_node: str
    path: str | None
    message: str
    severity: str
    source_shape: str | None
    value: str | None

    def as_dict(self) -> dict:
        return {
            "focusNode": self.focus_node,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
            "sourceShape": self.source_shape,
            "value": self.value,
        }

    def __str__(self) -> str:
        path = f" [{self.path}]" if self.path else ""
        value = f" (value: {self.value})" if self.value else ""
        return f"{self.focus_node}{path}: {self.message}{value} ({self.severity}, shape {self.source_shape})"


@dataclass
class Report:
    """The SHACL report of a write: violations block it, warnings do not."""

    results: list[Result]
    graph: Graph
    focus_nodes: int
    mode: str  # "focused" or "full"
    seconds: float

    @property
    def conforms(self) -> bool:
        return not self.violations

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]

    def as_dict(self) -> dict:
        return {
            "conforms": self.conforms,
            "focusNodes": self.focus_nodes,
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "results": [r.as_dict() for r in self.results],
        }


class WriteRejected(SitegraphError):
    """The write would make the data break the SHACL shapes (exit 1); nothing was written."""

    exit_code = 1

    def __init__(self, report: Report, diff: Diff) -> None:
        self.report = report
        self.diff = diff
        lines = [str(r) for r in report.violations]
        super().__init__(f"the write breaks {len(lines)} constraint(s); nothing was written:\n" + "\n".join(lines))


@dataclass
class Diff:
    """What a write changes: data quads added and removed (the inferred graph's changes are counted apart)."""

    added: list[ox.Quad]
    removed: list[ox.Quad]
    inferred_added: int = 0
    inferred_removed: int = 0

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed

    def as_dict(self) -> dict:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "inferredAdded": self.inferred_added,
            "inferredRemoved": self.inferred_removed,
            "addedNQuads": _nquads(self.added),
            "removedNQuads": _nquads(self.removed),
        }


@dataclass
class Change:
    """A write: a SPARQL Update, or a Graph Store operation on one graph (``graph`` None: the default graph)."""

    operation: str  # update | put | post | delete | post-dataset | diff (a change-log record applied again)
    update: str | None = None
    graph: ox.NamedNode | None = None
    quads: list[ox.Quad] = field(default_factory=list)
    removed: list[ox.Quad] = field(default_factory=list)  # for "diff": quads to remove before adding ``quads``

    @property
    def description(self) -> str:
        if self.operation == "update":
            return "SPARQL Update"
        if self.operation == "post-dataset":
            return "POST dataset"
        target = f"<{self.graph.value}>" if self.graph is not None else "default graph"
        return f"{self.operation.upper()} {target}"


@dataclass
class WriteResult:
    committed: bool
    version: str  # the dataset version after the write (unchanged when nothing was committed)
    previous: str
    diff: Diff
    report: Report
    created: bool  # a Graph Store write made a graph that did not exist
    seconds: dict[str, float]
    change: dict | None = None  # the change-log record of a committed write

    def as_dict(self) -> dict:
        return {
            "committed": self.committed,
            "version": self.version,
            "previousVersion": self.previous,
            "diff": self.diff.as_dict(),
            "validation": self.report.as_dict(),
        }


# ---------------------------------------------------------------- the lock


@contextmanager
def write_lock(build_dir: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Exclusive across threads and processes; released on exit or when the process dies."""
    build_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(build_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WriteBusy(
                        f"another write or build has held {build_dir / LOCK_FILE} for {timeout:.0f} s"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the change


def refuse_outbound_update(update: str) -> None:
    """Refuse ``LOAD`` and ``SERVICE`` (``graph.query.refuse_load_and_service``): pyoxigraph would fetch from any
    address or local file. Strings and comments are ignored. No SERVICE endpoint is allowed in a write."""
    try:
        refuse_load_and_service(update)
    except UsageError as exc:
        raise WriteError(str(exc), kind="outbound") from exc


def managed_graphs(iris: DataIRIs) -> dict[str, str]:
    return {
        iris.ontology_graph: "the ontology graph",
        iris.inferred_graph: "the inferred graph",
        changes_graph(iris): "the change log graph",
    }


def changes_graph(iris: DataIRIs) -> str:
    """The graph holding the change log on a remote store (``apply_change_remote``); sitegraph alone writes it."""
    return str(iris.graph["changes"])


def _refuse_managed(graph: ox.NamedNode | None, iris: DataIRIs) -> None:
    if graph is not None and graph.value in managed_graphs(iris):
        raise WriteError(_managed_message(graph.value, iris), kind="managed-graph")


def _managed_message(name: str, iris: DataIRIs) -> str:
    what = managed_graphs(iris)[name]
    if name == changes_graph(iris):
        return f"<{name}> is {what}, which sitegraph writes itself with every committed write: it cannot be written"
    return (
        f"<{name}> is {what}, which `sitegraph build` makes from the ontology files and the data: it cannot be "
        "written (change ontology/ and rebuild; inferred triples follow from the data)"
    )


def _apply(store: ox.Store, change: Change, prefixes: dict[str, str]) -> bool:
    """Apply ``change`` to ``store``; returns whether a Graph Store write created its graph."""
    if change.operation == "update":
        text = change.update or ""
        refuse_outbound_update(text)
        try:
            store.update(text, prefixes=prefixes)
        except SyntaxError as exc:
            raise WriteError(f"SPARQL Update syntax error: {exc}") from exc
        except OSError as exc:  # e.g. CREATE of a graph that exists (without SILENT)
            raise WriteError(f"SPARQL Update failed: {exc}") from exc
        return False
    if change.operation == "diff":
        for quad in change.removed:
            store.remove(quad)
        store.extend(change.quads)
        return False
    if change.operation == "post-dataset":
        store.extend(change.quads)
        return False
    name: ox.NamedNode | ox.DefaultGraph = change.graph if change.graph is not None else ox.DefaultGraph()
    exists = change.graph is None or next(iter(store.quads_for_pattern(None, None, None, name)), None) is not None
    if change.operation == "delete":
        if not exists:
            raise WriteError(f"there is no graph <{name.value}>", kind="not-found")
        if change.graph is None:
            store.clear_graph(name)
        else:
            store.remove_graph(name)
        return False
    if change.operation == "put":
        store.clear_graph(name)
    elif change.operation != "post":
        raise ValueError(f"unknown operation {change.operation}")
    store.extend(ox.Quad(q.subject, q.predicate, q.object, name) for q in change.quads)
    return not exists


def _skolemise(quads: set[ox.Quad], known: set[ox.BlankNode], base: str) -> set[ox.Quad]:
    """Blank nodes not seen before the write become IRIs under ``<base>.well-known/genid/``."""
    fresh: dict[ox.BlankNode, ox.NamedNode] = {}

    def term(t):
        if isinstance(t, ox.BlankNode) and t not in known:
            if t not in fresh:
                fresh[t] = ox.NamedNode(f"{base}.well-known/genid/{uuid.uuid4().hex}")
            return fresh[t]
        return t

    if not any(isinstance(t, ox.BlankNode) and t not in known for q in quads for t in (q.subject, q.object)):
        return quads
    return {ox.Quad(term(q.subject), q.predicate, term(q.object), q.graph_name) for q in quads}


# ---------------------------------------------------------------- rdflib bridges


def _to_rdflib(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unexpected RDF term {term!r}")


def _from_rdflib(term):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or "http://www.w3.org/2001/XMLSchema#string")))


def _graph(quads: Iterable[ox.Quad]) -> Graph:
    graph = Graph()
    for q in quads:
        graph.add((_to_rdflib(q.subject), _to_rdflib(q.predicate), _to_rdflib(q.object)))
    return graph


def _nquads(quads: list[ox.Quad]) -> str:
    return ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.N_QUADS).decode("utf-8")


# ---------------------------------------------------------------- shapes and focused validation

_shapes_cache: dict[str, Graph] = {}
_ontology_cache: dict[int, Ontology] = {}


def load_release_shapes(release: Release, fallback: Path | None = None) -> Graph:
    """The shapes that gated the release (its ``shapes.ttl``), or the project's ``shapes/`` when it has none."""
    path = release.path / "shapes.ttl"
    if path.is_file():
        text = path.read_bytes()
        key = hashlib.sha256(text).hexdigest()
        if key not in _shapes_cache:
            _shapes_cache.clear()
            _shapes_cache[key] = Graph().parse(data=text, format="turtle")
        return _shapes_cache[key]
    if fallback is None:
        raise UsageError(f"release {release.path} has no shapes.ttl: rebuild with `sitegraph build`")
    return parse_turtle_folder(fallback, "shapes")


def _ontology(quads: list[ox.Quad]) -> Ontology:
    """The ontology index of the release's ontology graph (kept while the ontology stays the same)."""
    key = hash(frozenset(quads))
    if key not in _ontology_cache:
        _ontology_cache.clear()
        _ontology_cache[key] = index_ontology(_graph(quads))
    return _ontology_cache[key]


def focus_nodes(everything: Graph, changed: Iterable[ox.Quad]) -> set:
    """The nodes whose SHACL results a change can alter: subjects and IRI/blank objects of the changed quads
    (data and inferred), and every node with an edge into a changed subject (its ``sh:class`` and SPARQL
    constraints may look at the subject's types and properties)."""
    nodes: set = set()
    subjects: set = set()
    for quad in changed:
        subject = _to_rdflib(quad.subject)
        nodes.add(subject)
        subjects.add(subject)
        if isinstance(quad.object, ox.NamedNode | ox.BlankNode):
            nodes.add(_to_rdflib(quad.object))
    for subject in subjects:
        nodes.update(everything.subjects(None, subject))
    return nodes


def validate_focus(everything: Graph, shapes: Graph, nodes: set | None) -> Report:
    """SHACL-validate ``nodes`` (all targets when None) of ``everything`` against ``shapes``.

    pyshacl's own ``focus_nodes=`` option also filters the value nodes of nested shapes (``sh:not``,
    ``sh:qualifiedValueShape``), which turns them into false violations (seen with pyshacl 0.40.1), so each
    shape is run here on its own targets that are among ``nodes``, with no filter below the top level."""
    from pyshacl import Validator
    from pyshacl.graph_abstraction import DataGraph

    started = time.perf_counter()
    mode = "focused"
    if nodes is not None and len(nodes) > FOCUS_LIMIT:
        nodes, mode = None, "full"
    if nodes is None:
        mode = "full"
    options = {"inference": "none", "advanced": True, "allow_warnings": True, "inplace": True}
    validator = Validator(DataGraph.from_rdflib(everything), shacl_graph=shapes, options=options)
    executor = validator.make_executor()
    data = validator.data_graph
    reports: list = []
    for shape in validator.shacl_graph.shapes:
        targets = list(shape.focus_nodes(data))
        chosen = targets if nodes is None else [n for n in targets if n in nodes]
        if chosen:
            _ok, found = shape.validate(executor, data, focus=chosen)
            reports.extend(found)
    graph, _text = Validator.create_validation_report(validator.shacl_graph, not reports, reports)
    results = []
    for result in graph.subjects(SH.resultSeverity, None):
        severity = graph.value(result, SH.resultSeverity)
        results.append(
            Result(
                focus_node=_show(graph.value(result, SH.focusNode)),
                path=path_text(graph, graph.value(result, SH.resultPath)),
                message="; ".join(sorted(str(m) for m in graph.objects(result, SH.resultMessage)))
                or "constraint violated",
                severity=str(severity).rsplit("#", 1)[-1],
                source_shape=_show(graph.value(result, SH.sourceShape)),
                value=_show(graph.value(result, SH.value)),
            )
        )
    results.sort(key=lambda r: (r.severity != "Violation", r.focus_node, r.path or "", r.message))
    count = len(nodes) if nodes is not None else len({n for r in results for n in [r.focus_node]})
    return Report(results, graph, count, mode, time.perf_counter() - started)


def path_text(graph: Graph, node, top: bool = True) -> str | None:
    """A SHACL property path as SPARQL path text (``^<p>``, ``(<a>|<b>)``, ``<a>/<b>``); a plain IRI as itself."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return str(node) if top else f"<{node}>"
    inverse = graph.value(node, SH.inversePath)
    if inverse is not None:
        return "^" + str(path_text(graph, inverse, False))
    alternatives = graph.value(node, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(str(path_text(graph, n, False)) for n in Collection(graph, alternatives)) + ")"
    for predicate, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = graph.value(node, predicate)
        if inner is not None:
            return str(path_text(graph, inner, False)) + suffix
    if graph.value(node, RDF.first) is not None:
        return "/".join(str(path_text(graph, n, False)) for n in Collection(graph, node))
    return _show(node)


def _show(term) -> str | None:
    if term is None:
        return None
    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, BNode):
        return "_:" + str(term)
    return term.n3()


# ---------------------------------------------------------------- evaluation (shared by writes and the build)


@dataclass
class Evaluated:
    quads: list[ox.Quad]  # the whole new dataset, canonical and sorted
    diff: Diff
    report: Report
    created: bool


def evaluate(
    before: list[ox.Quad],
    changes: list[Change],
    iris: DataIRIs,
    shapes: Graph,
    full: bool = False,
) -> Evaluated:
    """Apply ``changes`` in order to the dataset ``before``, recompute the inferred graph, diff and validate."""
    managed = {ox.NamedNode(n) for n in managed_graphs(iris)}
    ontology_name, inferred_name = ox.NamedNode(iris.ontology_graph), ox.NamedNode(iris.inferred_graph)
    store = ox.Store()
    store.extend(before)
    created = False
    for change in changes:
        _refuse_managed(change.graph, iris)
        created = _apply(store, change, iris.prefixes()) or created
    after = set(store)
    before_set = set(before)
    for name in sorted(managed, key=str):
        now, then = {q for q in after if q.graph_name == name}, {q for q in before_set if q.graph_name == name}
        if now != then:
            touched = (
                f"; this write would add {len(now - then)} and remove {len(then - now)} of its quads "
                f"(with GRAPH ?g, leave it out: FILTER(?g != <{name.value}>))"
            )
            raise WriteError(_managed_message(name.value, iris) + touched, kind="managed-graph")
    before_data = {q for q in before_set if q.graph_name not in managed}
    known = {t for q in before_data for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)}
    after_data = _skolemise({q for q in after if q.graph_name not in managed}, known, iris.base)

    ontology_quads = [q for q in before if q.graph_name == ontology_name]
    ontology = _ontology(ontology_quads)
    # exactly as graph/build.py: infer over the union of data and ontology, keep what neither already says
    everything = _graph([*after_data, *ontology_quads])
    inferred_triples = infer(ontology, everything)
    inferred = {
        ox.Quad(_from_rdflib(s), _from_rdflib(p), _from_rdflib(o), inferred_name) for s, p, o in inferred_triples
    }
    before_inferred = {q for q in before_set if q.graph_name == inferred_name}
    diff = Diff(
        added=sorted(after_data - before_data, key=str),
        removed=sorted(before_data - after_data, key=str),
        inferred_added=len(inferred - before_inferred),
        inferred_removed=len(before_inferred - inferred),
    )
    for triple in inferred_triples:
        everything.add(triple)
    changed = [*diff.added, *diff.removed, *(inferred ^ before_inferred)]
    nodes = None if full else focus_nodes(everything, changed)
    if nodes is not None and not nodes:
        report = Report([], Graph(), 0, "focused", 0.0)
    else:
        report = validate_focus(everything, shapes, nodes)
    quads = canonical_quads([*after_data, *ontology_quads, *inferred])
    return Evaluated(quads, diff, report, created)


# ---------------------------------------------------------------- the write


def _gate(before: list[ox.Quad], change: Change, iris: DataIRIs, shapes: Graph, timings: dict) -> Evaluated:
    """``evaluate`` one change, timed; WriteRejected when the result does not conform (nothing is written)."""
    mark = time.perf_counter()
    evaluated = evaluate(before, [change], iris, shapes)
    timings["evaluate"] = time.perf_counter() - mark
    timings["validate"] = evaluated.report.seconds
    if not evaluated.report.conforms:
        raise WriteRejected(evaluated.report, evaluated.diff)
    return evaluated


def clean_interrupted(build_dir: Path) -> list[str]:
    """Remove what a writer killed mid-release left (``.tmp-*`` folders, ``.current-*`` links). Call it only
    under ``write_lock``: every release is written under it, so nothing else can be writing these now."""
    removed = []
    for entry in build_dir.iterdir():
        if entry.name.startswith(".tmp-") and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".current-") and entry.is_symlink():
            entry.unlink(missing_ok=True)
        else:
            continue
        removed.append(entry.name)
    return removed


def read_quads(release: Release) -> list[ox.Quad]:
    return list(ox.parse(path=str(release.path / "sitegraph.nq"), format=ox.RdfFormat.N_QUADS))


def read_changes(release: Release) -> list[dict]:
    """The release's change log (oldest first); empty for a release no write has touched."""
    path = release.path / CHANGES
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def apply_change(
    build_dir: Path,
    change: Change,
    token: str,
    *,
    dry_run: bool = False,
    shapes_dir: Path | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> WriteResult:
    """Validate ``change`` against the current release and, unless ``dry_run``, commit it as a new release.

    Raises WriteError (refused as asked), WriteRejected (SHACL violations; nothing written), WriteBusy."""
    if change.operation == "update":
        refuse_outbound_update(change.update or "")  # before taking the lock or reading anything
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with write_lock(build_dir, lock_timeout):
        timings["lock"] = time.perf_counter() - started
        clean_interrupted(build_dir)
        release = current_release(build_dir)
        iris = DataIRIs(release.manifest.get("base_iri") or DataIRIs().base)
        shapes = load_release_shapes(release, shapes_dir)
        before = read_quads(release)
        evaluated = _gate(before, change, iris, shapes, timings)
        result = WriteResult(
            False, release.version, release.version, evaluated.diff, evaluated.report, evaluated.created, timings
        )
        if dry_run or evaluated.diff.empty:
            return result
        mark = time.perf_counter()
        record = {
            "token": token,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "operation": change.description,
            "added": len(evaluated.diff.added),
            "removed": len(evaluated.diff.removed),
            "inferredAdded": evaluated.diff.inferred_added,
            "inferredRemoved": evaluated.diff.inferred_removed,
            "previousVersion": release.version,
        }
        log = read_changes(release)
        record = {"seq": len(log) + 1, **record}
        committed = commit(build_dir, release, evaluated.quads, iris, [*log, record], evaluated.diff)
        timings["commit"] = time.perf_counter() - mark
        result.committed, result.version, result.change = True, committed.version, record
        return result


def commit(
    build_dir: Path, release: Release, quads: list[ox.Quad], iris: DataIRIs, log: list[dict], diff: Diff | None
) -> Release:
    """Write ``quads`` as a new release carrying ``log`` (its last record gets the diff and the new version)."""
    from .build import dump_prefixes

    nquads = dump_nquads(quads)
    version = dataset_version(nquads)
    if diff is not None:
        log[-1] = {
            **log[-1],
            "version": version,
            "addedNQuads": _nquads(diff.added),
            "removedNQuads": _nquads(diff.removed),
        }
    manifest = {key: value for key, value in release.manifest.items() if key != "version"}
    manifest.update(manifest_counts(quads))
    manifest["changes"] = len(log)
    extra = {name: path.read_bytes() for name, path in _documents(release)}
    extra["void.ttl"] = void_ttl(quads, iris, version)
    if log:
        extra[CHANGES] = change_log_bytes(log)
    return write_release(build_dir, quads, dump_prefixes(), manifest, extra, nquads)


def _documents(release: Release) -> list[tuple[str, Path]]:
    return sorted((p.name, p) for p in release.path.iterdir() if p.is_file() and p.name not in OWN_FILES)


def manifest_counts(quads: list[ox.Quad]) -> dict:
    graphs: dict[str, int] = {}
    for quad in quads:
        key = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else "default"
        graphs[key] = graphs.get(key, 0) + 1
    return {"quads": len(quads), "graphs": dict(sorted(graphs.items()))}


def void_ttl(quads: list[ox.Quad], iris: DataIRIs, version: str) -> bytes:
    """The release's VoID description, as graph/build.py writes it."""
    from .build import dump_prefixes
    from .store import stable_prefixes

    triples = void.describe(quads, iris, version)
    return stable_prefixes(ox.serialize(sorted(triples, key=str), format=ox.RdfFormat.TURTLE, prefixes=dump_prefixes()))


# ---------------------------------------------------------------- the build keeps committed writes


def change_from_record(record: dict) -> Change:
    """The diff of a change-log record, as a change that can be applied again."""
    fmt = ox.RdfFormat.N_QUADS
    added = list(ox.parse(record.get("addedNQuads", "").encode("utf-8"), format=fmt))
    removed = list(ox.parse(record.get("removedNQuads", "").encode("utf-8"), format=fmt))
    return Change("diff", quads=added, removed=removed)


def reapply_changes(
    build_dir: Path, quads: list[ox.Quad], iris: DataIRIs, shapes: Graph, discard: bool = False
) -> tuple[list[ox.Quad], list[dict]]:
    """For ``sitegraph build``: the current release's committed writes applied again, in order, on top of
    ``quads`` (the compiled sources, already validated), then the inferred graph recomputed and the affected
    nodes validated. Returns the quads to write and the change log to carry on (empty when ``discard``).
    Call it under ``write_lock``. Raises ValidationFailed when the writes no longer fit the sources."""
    clean_interrupted(build_dir)
    try:
        release = current_release(build_dir)
    except UsageError:
        return quads, []
    log = read_changes(release)
    if not log or discard:
        return quads, []
    evaluated = evaluate(quads, [change_from_record(record) for record in log], iris, shapes)
    if not evaluated.report.conforms:
        where = str(release.path / CHANGES)
        problems = [
            Problem(
                where,
                None,
                None,
                None,
                f"the {len(log)} committed write(s) of the current release no longer fit the sources: change the "
                "sources (or the data, with another write), or run `sitegraph build --discard-writes` to drop them",
            ),
            *(Problem(where, None, r.focus_node, r.path, r.message) for r in evaluated.report.violations),
        ]
        raise ValidationFailed(problems)
    return evaluated.quads, log


def change_log_bytes(log: list[dict]) -> bytes:
    """``changes.jsonl``: one JSON object per committed write, oldest first."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in log).encode("utf-8")


# ---------------------------------------------------------------- writes on a remote store (store = remote)

#: Terms of the change log graph on a remote store.
CHANGE_NS = "https://w3id.org/sitegraph/changes#"
_INT_FIELDS = ("seq", "added", "removed", "inferredAdded", "inferredRemoved")
_XSD = "http://www.w3.org/2001/XMLSchema#"
#: Fields of a change-log record, in the order ``changes.jsonl`` readers see them.
_FIELD_ORDER = (
    "seq", "token", "time", "operation", "added", "removed", "inferredAdded", "inferredRemoved", "previousVersion",
    "addedNQuads", "removedNQuads",
)  # fmt: skip


class RemoteWriteFailed(SitegraphError):
    """The remote store could not be read or did not take the update (exit 2); the message says which."""

    exit_code = 2


def _remote_client(config: Config) -> RemoteClient:
    from .remote_store import RemoteSettings

    return RemoteClient(RemoteSettings.from_config(config).client_config())


def read_remote_quads(client: RemoteClient, iris: DataIRIs) -> list[ox.Quad]:
    """Every quad of the remote's graphs under ``<base>graph/``, as the remote holds them: skolem IRIs stay IRIs."""
    namespace = str(ox.Literal(str(iris.graph)))
    query = f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), {namespace})) }}"
    answer = client.query(query, accept=RESULTS_ACCEPT)
    fmt = ox.QueryResultsFormat.XML if answer.content_type.endswith("xml") else ox.QueryResultsFormat.JSON
    solutions = ox.parse_query_results(answer.body, fmt)
    assert isinstance(solutions, ox.QuerySolutions)
    return [ox.Quad(r["s"], r["p"], r["o"], r["g"]) for r in solutions]


def _deskolemised(quads: Iterable[ox.Quad], genid: str) -> list[ox.Quad]:
    """Skolem IRIs as the blank nodes they stand for (labels: the IRI's last segment), as in the release."""

    def term(t):
        if isinstance(t, ox.NamedNode) and t.value.startswith(genid):
            return ox.BlankNode(t.value[len(genid) :])
        return t

    return [ox.Quad(term(q.subject), q.predicate, term(q.object), q.graph_name) for q in quads]


def _skolemised(quads: Iterable[ox.Quad], genid: str) -> list[ox.Quad]:
    def term(t):
        return ox.NamedNode(genid + t.value) if isinstance(t, ox.BlankNode) else t

    return [ox.Quad(term(q.subject), q.predicate, term(q.object), q.graph_name) for q in quads]


def _data_block(quads: list[ox.Quad]) -> str:
    """``GRAPH <g> { s p o . … }`` blocks, terms in N-Triples syntax (escaped by pyoxigraph)."""
    by_graph: dict[str, list[str]] = {}
    for quad in quads:
        by_graph.setdefault(quad.graph_name.value, []).append(f"{quad.triple} .")
    return "\n".join(f"GRAPH <{g}> {{\n" + "\n".join(sorted(lines)) + "\n}" for g, lines in sorted(by_graph.items()))


def remote_update_text(removed: list[ox.Quad], added: list[ox.Quad]) -> str:
    """One SPARQL Update request: ``DELETE DATA { … } ; INSERT DATA { … }`` (either part left out when empty)."""
    parts = []
    if removed:
        parts.append("DELETE DATA {\n" + _data_block(removed) + "\n}")
    if added:
        parts.append("INSERT DATA {\n" + _data_block(added) + "\n}")
    return " ;\n".join(parts)


def change_quads(record: dict, iris: DataIRIs) -> list[ox.Quad]:
    """A change-log record as quads in the change log graph: one node, one statement per field."""
    graph = ox.NamedNode(changes_graph(iris))
    node = ox.NamedNode(f"{changes_graph(iris)}/{record['seq']}-{uuid.uuid4().hex[:12]}")
    quads = [ox.Quad(node, ox.NamedNode(str(RDF.type)), ox.NamedNode(CHANGE_NS + "Change"), graph)]
    for key, value in record.items():
        if key in _INT_FIELDS:
            literal = ox.Literal(str(int(value)), datatype=ox.NamedNode(_XSD + "integer"))
        else:
            literal = ox.Literal(str(value))
        quads.append(ox.Quad(node, ox.NamedNode(CHANGE_NS + key), literal, graph))
    return quads


def changes_from_quads(quads: Iterable[ox.Quad]) -> list[dict]:
    """The change log records held by change-log quads (oldest first)."""
    records: dict[str, dict] = {}
    for quad in quads:
        if not quad.predicate.value.startswith(CHANGE_NS):
            continue
        key = quad.predicate.value[len(CHANGE_NS) :]
        value = quad.object.value
        records.setdefault(str(quad.subject), {})[key] = int(value) if key in _INT_FIELDS else value
    order = {key: i for i, key in enumerate(_FIELD_ORDER)}
    ordered = [
        dict(sorted(r.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))) for r in records.values()
    ]
    return sorted(ordered, key=lambda r: (r.get("seq", 0), r.get("time", "")))


def read_remote_changes(store: RemoteStore) -> list[dict]:
    """The change log kept in the remote's change log graph (oldest first); empty before the first write."""
    name = changes_graph(DataIRIs(store.base_iri))
    solutions = store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", default_graph=ox.NamedNode(name))
    assert isinstance(solutions, ox.QuerySolutions)
    return changes_from_quads(ox.Quad(r["s"], r["p"], r["o"], ox.NamedNode(name)) for r in solutions)


def apply_change_remote(
    config: Config,
    change: Change,
    token: str,
    *,
    dry_run: bool = False,
    version: Callable[[], str] | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> WriteResult:
    """``apply_change`` for ``store = remote``: validated here, committed on the remote in one SPARQL Update.

    Under the local ``write_lock`` (it serialises this deployment's writers): read the remote's quads (graphs
    under ``<base>graph/``), evaluate the change as ``apply_change`` does (shapes of the local release), and unless
    it is refused or a dry run, send one update request: ``DELETE DATA`` with the data and inferred quads that go,
    ``INSERT DATA`` with those that come and the change-log record (graph ``<base>graph/changes``), so the log
    is exactly as current as the data. ``version`` (optional) returns the remote's dataset version; it is called
    before and after the update. If the call after a committed update fails, the write still succeeds, with
    ``version`` "" (unknown; logged as a warning). Raises WriteError, WriteRejected, WriteBusy and RemoteWriteFailed."""
    if change.operation == "update":
        refuse_outbound_update(change.update or "")
    build_dir = config.path("build_dir")
    iris = DataIRIs(config.base_iri)
    genid = iris.base + ".well-known/genid/"
    ontology_name, inferred_name = ox.NamedNode(iris.ontology_graph), ox.NamedNode(iris.inferred_graph)
    log_name = ox.NamedNode(changes_graph(iris))
    timings: dict[str, float] = {}
    started = time.perf_counter()
    client = _remote_client(config)
    with client, write_lock(build_dir, lock_timeout):
        timings["lock"] = time.perf_counter() - started
        shapes = load_release_shapes(current_release(build_dir), config.project / "shapes")
        previous = version() if version is not None else ""
        mark = time.perf_counter()
        try:
            remote = read_remote_quads(client, iris)
        except RemoteError as exc:
            raise RemoteWriteFailed(f"cannot read the remote store before writing: {exc}") from exc
        timings["read"] = time.perf_counter() - mark
        if not any(q.graph_name == ontology_name for q in remote):
            raise RemoteWriteFailed(
                f"the remote store holds no ontology graph <{ontology_name.value}>: push a release to it first "
                "(`sitegraph push`)"
            )
        log = changes_from_quads(q for q in remote if q.graph_name == log_name)
        # the ontology as the build has it (blank nodes, not skolem IRIs): the ontology index and inference
        # then work exactly as in the build; data and inferred quads stay as the remote holds them
        before = [
            *_deskolemised((q for q in remote if q.graph_name == ontology_name), genid),
            *(q for q in remote if q.graph_name not in (ontology_name, log_name)),
        ]
        evaluated = _gate(before, change, iris, shapes, timings)
        outside = sorted(
            {str(q.graph_name) for q in evaluated.diff.added if not str(q.graph_name).startswith(f"<{iris.graph}")}
        )
        if outside:
            raise WriteError(
                f"on the remote store, writes go to named graphs under <{iris.graph}>; this one writes to "
                + ", ".join(g if g != "DEFAULT" else "the default graph" for g in outside)
            )
        inferred_before = {q for q in remote if q.graph_name == inferred_name}
        inferred_after = set(_skolemised((q for q in evaluated.quads if q.graph_name == inferred_name), genid))
        removed = [*evaluated.diff.removed, *sorted(inferred_before - inferred_after, key=str)]
        added = [*evaluated.diff.added, *sorted(inferred_after - inferred_before, key=str)]
        if any(isinstance(t, ox.BlankNode) for q in removed for t in (q.subject, q.object)):
            raise WriteError(
                "the write would remove statements about blank nodes the remote store holds (data not loaded by "
                "`sitegraph push`): SPARQL DELETE DATA cannot name them; push the release again"
            )
        result = WriteResult(False, previous, previous, evaluated.diff, evaluated.report, evaluated.created, timings)
        if dry_run or evaluated.diff.empty:
            return result
        record = {
            "seq": len(log) + 1,
            "token": token,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "operation": change.description,
            "added": len(evaluated.diff.added),
            "removed": len(evaluated.diff.removed),
            "inferredAdded": evaluated.diff.inferred_added,
            "inferredRemoved": evaluated.diff.inferred_removed,
            "previousVersion": previous,
            "addedNQuads": _nquads(evaluated.diff.added),
            "removedNQuads": _nquads(evaluated.diff.removed),
        }
        mark = time.perf_counter()
        try:
            client.update(remote_update_text(removed, [*added, *change_quads(record, iris)]), idempotent=True)
        except RemoteError as exc:
            raise RemoteWriteFailed(f"the remote store did not take the write: {exc}") from exc
        timings["commit"] = time.perf_counter() - mark
        result.committed, result.change = True, record
        # the write is committed: failing to read the new version back must not report it as failed
        try:
            result.version = version() if version is not None else ""
        except Exception as exc:  # any failure of the read-back: the write stands
            logger.warning(
                "write %s committed on the remote store; its new version could not be read: %s", record["seq"], exc
            )
            result.version = ""
        return result
