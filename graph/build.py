"""The build: sources → RDF dataset → SHACL gate → on-disk store and dumps.

``compile_dataset`` does everything but write; ``build`` adds the gate and the write. Both are plain
functions so tests and other tools can call them; ``sitegraph build`` is a thin shell over ``build``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD

from . import __version__, void
from .config import Config
from .editors.release_docs import release_files
from .errors import ValidationFailed
from .inference import infer, union
from .namespaces import PREFIXES, DataIRIs, bind_prefixes
from .ontology import Ontology, load_ontology
from .sources import Sources, read_sources
from .store import Release, canonical_quads, dataset_version, dump_nquads, stable_prefixes, write_release
from .validation import ValidationReport, load_shapes, validate_graph
from .writes import CHANGES, change_log_bytes, reapply_changes, write_lock

Progress = Callable[[str], None]


@dataclass
class Compiled:
    """A dataset ready to be written, with what it was made from."""

    iris: DataIRIs
    ontology: Ontology
    sources: Sources
    dataset: Dataset
    report: ValidationReport
    timings: dict[str, float] = field(default_factory=dict)

    def compact(self, term) -> str:
        """A short name for messages: ``site/x`` for entities, ``sg:x`` for ontology terms."""
        text = str(term)
        if isinstance(term, URIRef) and text.startswith(str(self.iris.id)):
            return text[len(str(self.iris.id)) :]
        for prefix, namespace in self.iris.prefixes().items():
            if isinstance(term, URIRef) and text.startswith(namespace) and prefix not in ("id", "graph"):
                return f"{prefix}:{text[len(namespace) :]}"
        return term.n3() if hasattr(term, "n3") else text


class _Steps:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    def run(self, name: str, fn, *args, **kwargs):
        started = time.perf_counter()
        if self.progress:
            self.progress(f"{name} …")
        result = fn(*args, **kwargs)
        self.timings[name] = time.perf_counter() - started
        if self.progress:
            self.progress(f"{name}: done in {self.timings[name]:.2f} s")
        return result


def compile_dataset(config: Config, progress: Progress | None = None) -> Compiled:
    """Read ontology and sources, infer, and validate. Raises SourceError (exit 2) on malformed sources."""
    project = config.project
    iris = DataIRIs(config.base_iri)
    steps = _Steps(progress)
    ontology = steps.run("reading the ontology", load_ontology, project / "ontology")
    shapes = steps.run("reading the shapes", load_shapes, project / "shapes")
    sources = steps.run("reading the sources", read_sources, project / "graph" / "sources", ontology, iris, project)

    dataset = Dataset()
    bind_prefixes(dataset, iris)
    onto_graph = dataset.graph(URIRef(iris.ontology_graph))
    for triple in ontology.graph:
        onto_graph.add(triple)
    data_graphs = []
    for graph in sources.dataset.graphs():
        if graph.identifier == sources.dataset.default_graph.identifier or len(graph) == 0:
            continue
        target = dataset.graph(graph.identifier)
        for triple in graph:
            target.add(triple)
        data_graphs.append(target)
    data_union = union(data_graphs)
    inferred_triples = steps.run("inferring", infer, ontology, union([data_union, ontology.graph]))
    inferred = dataset.graph(URIRef(iris.inferred_graph))
    for triple in sorted(inferred_triples):
        inferred.add(triple)

    compiled = Compiled(iris, ontology, sources, dataset, None, steps.timings)  # type: ignore[arg-type]
    everything: Graph = union([data_union, inferred, ontology.graph])
    compiled.report = steps.run(
        "validating (SHACL)",
        validate_graph,
        everything,
        shapes,
        sources.subject_origins,
        sources.fact_origins,
        compiled.compact,
    )
    return compiled


def to_quads(dataset: Dataset) -> list[ox.Quad]:
    """rdflib Dataset → canonical, sorted pyoxigraph quads."""
    quads = []
    for graph in dataset.graphs():
        name = ox.DefaultGraph() if graph.identifier == dataset.default_graph.identifier else _term(graph.identifier)
        quads.extend(ox.Quad(_term(s), _term(p), _term(o), name) for s, p, o in graph)
    return canonical_quads(quads)


def _term(term):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))
    raise TypeError(f"unexpected RDF term {term!r}")


def build(config: Config, progress: Progress | None = None, discard_writes: bool = False) -> tuple[Compiled, Release]:
    """Compile, refuse to write anything if the data does not conform, then write a new release.

    Writes committed to the current release (its ``changes.jsonl``) are applied again on top of the sources and
    validated (``graph.writes.reapply_changes``), unless ``discard_writes``."""
    compiled = compile_dataset(config, progress)
    if not compiled.report.conforms:
        raise ValidationFailed(compiled.report.violations, compiled.report.text)
    steps = _Steps(progress)
    quads = steps.run("serialising", to_quads, compiled.dataset)
    build_dir = config.path("build_dir")
    with write_lock(build_dir):  # no write may commit between reading its change log and switching releases
        quads, change_log = steps.run(
            "re-applying committed writes", reapply_writes, config, compiled, quads, discard_writes
        )
        manifest = make_manifest(compiled, quads, config.project)
        if change_log:
            manifest["changes"] = len(change_log)
        nquads = dump_nquads(quads)
        version = dataset_version(nquads)
        void_triples = steps.run("describing (VoID)", void.describe, quads, compiled.iris, version)
        void_ttl = stable_prefixes(
            ox.serialize(sorted(void_triples, key=str), format=ox.RdfFormat.TURTLE, prefixes=dump_prefixes())
        )
        documents = steps.run(
            "documenting", release_files, config.project, compiled.ontology.graph, quads, compiled.iris
        )
        if change_log:
            documents[CHANGES] = change_log_bytes(change_log)
        release = steps.run(
            "writing the store",
            write_release,
            build_dir,
            quads,
            dump_prefixes(),
            manifest,
            {"void.ttl": void_ttl, **documents},
            nquads,
        )
    compiled.timings.update(steps.timings)
    return compiled, release


def reapply_writes(
    config: Config, compiled: Compiled, quads: list[ox.Quad], discard: bool
) -> tuple[list[ox.Quad], list[dict]]:
    """The current release's committed writes on top of the compiled sources (see ``graph.writes``)."""
    shapes = load_shapes(config.project / "shapes")
    return reapply_changes(config.path("build_dir"), quads, compiled.iris, shapes, discard)


def dump_prefixes() -> dict[str, str]:
    """Prefixes for the TriG dump: vocabularies only, so data IRIs stay whole and readable."""
    return dict(sorted(PREFIXES.items()))


def make_manifest(compiled: Compiled, quads: list[ox.Quad], project: Path) -> dict:
    graphs: dict[str, int] = {}
    for quad in quads:
        key = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else "default"
        graphs[key] = graphs.get(key, 0) + 1
    files = [*compiled.sources.entity_files, *compiled.sources.document_files]
    return {
        "sitegraph": __version__,
        "base_iri": compiled.iris.base,
        "quads": len(quads),
        "graphs": dict(sorted(graphs.items())),
        "sources": {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)},
        "warnings": len(compiled.report.warnings),
    }
