"""What the editors' tools (reason, lint, docs) read: the ontology files as they are now, and the data — the built
release's N-Quads, or the sources compiled in memory (no store written)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdflib import Dataset, Graph, URIRef

from ..config import Config
from ..errors import Problem, SourceError, UsageError
from ..namespaces import DataIRIs, bind_prefixes
from ..store import current_release


@dataclass
class DataInput:
    """The data graphs by name (the ontology graph left out: it is read from ontology/ instead)."""

    graphs: dict[URIRef, Graph]
    origin: str
    release_ontology: Graph | None  # the ontology the data was built with

    def union(self, include_inferred: bool = True, iris: DataIRIs | None = None) -> Graph:
        inferred = URIRef((iris or DataIRIs()).inferred_graph)
        out = Graph()
        bind_prefixes(out)
        for name, graph in self.graphs.items():
            if include_inferred or name != inferred:
                for triple in graph:
                    out.add(triple)
        return out

    @property
    def triples(self) -> int:
        return sum(len(g) for g in self.graphs.values())


def read_ontology_files(folder: Path) -> tuple[Graph, dict[Path, Graph]]:
    """Every ``*.ttl`` of ``folder``: the union and each file's own graph (so messages can name the file)."""
    union = Graph()
    bind_prefixes(union)
    files: dict[Path, Graph] = {}
    for path in sorted(folder.glob("*.ttl")):
        graph = Graph()
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several parser exception types
            raise SourceError([Problem(str(path), None, None, None, f"cannot parse Turtle: {exc}")]) from exc
        files[path] = graph
        for triple in graph:
            union.add(triple)
    if not files:
        raise SourceError([Problem(str(folder), None, None, None, "no ontology files (*.ttl) found")])
    return union, files


def load_data(config: Config, compile_sources: bool = False) -> DataInput:
    """The data of the current release (``build/current/sitegraph.nq``), or compiled from the sources."""
    iris = DataIRIs(config.base_iri)
    ontology_name = URIRef(iris.ontology_graph)
    if compile_sources:
        from ..build import compile_dataset

        compiled = compile_dataset(config)
        dataset: Dataset = compiled.dataset
        origin = "the sources compiled in memory (graph/sources/)"
    else:
        try:
            release = current_release(config.path("build_dir"))
        except UsageError as exc:
            hint = "or compile the sources in memory (reason --compile, lint --data compile)"
            raise UsageError(f"{exc}, {hint}") from exc
        dataset = Dataset()
        dataset.parse(release.path / "sitegraph.nq", format="nquads")
        origin = f"release {release.version} ({release.path / 'sitegraph.nq'})"
    graphs: dict[URIRef, Graph] = {}
    release_ontology = None
    for graph in dataset.graphs():
        if len(graph) == 0:
            continue
        copy = Graph()
        for triple in graph:
            copy.add(triple)
        if graph.identifier == ontology_name:
            release_ontology = copy
        else:
            graphs[URIRef(str(graph.identifier))] = copy
    return DataInput(dict(sorted(graphs.items())), origin, release_ontology)
