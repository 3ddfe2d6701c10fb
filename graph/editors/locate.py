"""Short names and file locations for messages: ``sg:Site`` at ``ontology/sitegraph.ttl:420``, ``org/brics`` at
``graph/sources/entities/organisations.yaml:126``. Used by lint, reason and diff so that every message names the
file and the term an editor has to open."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from rdflib import BNode, Literal, URIRef

from ..namespaces import PREFIXES, DataIRIs


def curie(term: object, iris: DataIRIs | None = None) -> str:
    """``sg:Site``, ``sector:textiles``, ``org/brics`` (an entity), or the term in N3."""
    if isinstance(term, Literal):
        return term.n3()
    if isinstance(term, BNode):
        return "[]"
    text = str(term)
    ids = str((iris or DataIRIs()).id)
    if text.startswith(ids):
        return text[len(ids) :]
    best = max(((p, ns) for p, ns in PREFIXES.items() if text.startswith(ns)), key=lambda x: len(x[1]), default=None)
    if best and re.fullmatch(r"[\w.-]*", text[len(best[1]) :]):
        return f"{best[0]}:{text[len(best[1]) :]}"
    return f"<{text}>"


class Locator:
    """Finds the line that declares a term, a shape, an entity or a query token in the project's files."""

    def __init__(self, project: Path, iris: DataIRIs | None = None) -> None:
        self.project = project
        self.iris = iris or DataIRIs()

    def _index(self, folder: str, pattern: str) -> dict[str, str]:
        """The first word of each line (indentation ignored) → where it first starts a line."""
        index: dict[str, str] = {}
        for path in sorted((self.project / folder).glob(pattern)):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                words = line.split()
                if words:
                    key = " ".join(words[:3]) if words[0] == "-" else words[0]
                    index.setdefault(key, f"{self.rel(path)}:{number}")
                    if ":" in key and not line[0].isspace():  # a prefixed name: findable by its local name too
                        index.setdefault("local " + key.split(":", 1)[1], f"{self.rel(path)}:{number}")
        return index

    @cached_property
    def _ontology_lines(self) -> list[tuple[Path, list[str]]]:
        paths = sorted((self.project / "ontology").glob("*.ttl"))
        return [(p, p.read_text(encoding="utf-8").splitlines()) for p in paths]

    @cached_property
    def _ontology(self) -> dict[str, str]:
        return self._index("ontology", "*.ttl")

    @cached_property
    def _shapes(self) -> dict[str, str]:
        return self._index("shapes", "*.ttl")

    @cached_property
    def _entities(self) -> dict[str, str]:
        return self._index("graph/sources/entities", "*.yaml")

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project))
        except ValueError:
            return str(path)

    @staticmethod
    def _find(index: dict[str, str], names: list[str]) -> str | None:
        return next((index[n] for n in names if n in index), None)

    def _names(self, iri: URIRef) -> list[str]:
        short = curie(iri, self.iris)
        local = re.split(r"[#/]", str(iri))[-1]
        return [*([short] if not short.startswith("<") else []), f"<{iri}>", "local " + local]

    def term(self, iri: object) -> str:
        """Where the ontology declares ``iri`` (its subject block), else the ontology folder."""
        found = self._find(self._ontology, self._names(URIRef(str(iri)))) if isinstance(iri, URIRef) else None
        return found or "ontology/"

    def shape(self, iri: object) -> str:
        found = self._find(self._shapes, self._names(URIRef(str(iri)))) if isinstance(iri, URIRef) else None
        return found or "shapes/"

    def entity(self, iri: object, graph: object = None) -> str:
        """The entity file that declares ``iri``, else the document of the named graph that states it."""
        short = curie(iri, self.iris)
        found = self._find(self._entities, [f"- id: {short}"])
        if found:
            return found
        return self.graph_file(graph) if graph is not None else "graph/sources/"

    def graph_file(self, graph: object) -> str:
        """The source file behind a named graph of the release."""
        name = str(graph)
        prefix = self.iris.source_graph("")
        if name.startswith(prefix):
            slug = name[len(prefix) :]
            for path in sorted((self.project / "graph/sources/documents").glob("*.yaml")):
                if re.search(rf"^\s*slug:\s*{re.escape(slug)}\s*$", path.read_text(encoding="utf-8"), re.M):
                    return self.rel(path)
            return f"graph/sources/documents/ (slug {slug})"
        if name == self.iris.reference_graph:
            return "graph/sources/entities/"
        if name == self.iris.inferred_graph:
            return "(the build's inferred graph)"
        if name == self.iris.ontology_graph:
            return "ontology/"
        return name

    def axiom(self, text: str) -> str:
        """Where an axiom written ``subject predicate object`` (CURIEs) is stated: the line of the subject's block
        that names the object (else the predicate, else the block's first line)."""
        tokens = text.replace("(", " ").replace(")", " ").split()
        if not tokens:
            return "ontology/"
        if tokens[0].startswith("owl:All"):
            return self._find_in_blocks(["["], tokens[:1]) or self.term(tokens[0])
        return self._find_in_blocks([tokens[0]], [tokens[-1], *tokens[1:2]]) or "ontology/"

    def _find_in_blocks(self, starts: list[str], wanted: list[str]) -> str | None:
        first = None
        for path, lines in self._ontology_lines:
            for number, line in enumerate(lines, 1):
                if not any(line.startswith(s) and (len(line) == len(s) or not line[len(s)].isalnum()) for s in starts):
                    continue
                first = first or f"{self.rel(path)}:{number}"
                for offset, inner in enumerate(lines[number - 1 :]):
                    if offset and (not inner.strip() or not inner[0].isspace()):
                        break
                    for token in wanted:
                        if re.search(re.escape(token) + r"(\s|$|[;,.)])", inner):
                            return f"{self.rel(path)}:{number + offset}"
        return first
