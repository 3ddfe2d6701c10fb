"""Read the curated YAML sources (``graph/sources``) into RDF, one named graph per source document.

The format is described in ``graph/sources/README.md``. Reading collects every problem it finds (unknown keys,
unknown references, duplicate ids, malformed values) and raises them together as a :class:`SourceError`, each
naming the file, line, entity and field. It also remembers where every subject and (subject, property) pair
came from, so that a SHACL violation found later can be reported against the source line that caused it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD

from .errors import Problem, SourceError
from .namespaces import CONCEPT_PREFIXES, SG, DataIRIs
from .ontology import Ontology
from .source_documents import DocumentReader
from .source_model import (
    ENTITY_KEYS,
    ENTITY_KINDS,
    ID_RE,
    LANG_RE,
    SLUG_RE,
    DocumentRecord,
    Origin,
    Sources,
)
from .yamlio import LineList, Node, load_yaml


class SourceReader:
    """Turns the YAML files below ``folder`` into a dataset; call :meth:`read` once."""

    def __init__(self, folder: Path, ontology: Ontology, iris: DataIRIs, display_root: Path | None = None):
        self.folder = folder
        self.ontology = ontology
        self.iris = iris
        self.display_root = display_root or folder
        self.problems: list[Problem] = []
        self.dataset = Dataset()
        self.entities: dict[str, tuple[str, int]] = {}  # id -> (file, line)
        self.entity_labels: dict[str, dict[str, str]] = {}
        self.subject_origins: dict[URIRef, Origin] = {}
        self.fact_origins: dict[tuple[URIRef, URIRef], Origin] = {}
        self.documents: list[DocumentRecord] = []
        self.pending_refs: list[tuple[str, str, int, str | None, str]] = []  # ref, file, line, entity, field

    # ----------------------------------------------------------------- helpers
    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.display_root))
        except ValueError:
            return str(path)

    def problem(self, file: str, line: int | None, entity: str | None, fld: str | None, message: str) -> None:
        self.problems.append(Problem(file, line, entity, fld, message))

    def _ref(self, ref: Any, file: str, line: int, entity: str | None, fld: str) -> URIRef | None:
        """An entity reference; checked against the index once every file has been read."""
        if not isinstance(ref, str) or not ID_RE.match(ref):
            self.problem(
                file,
                line,
                entity,
                fld,
                f"{ref!r} is not an entity id (<kind>/<slug>, kinds: {', '.join(ENTITY_KINDS)})",
            )
            return None
        self.pending_refs.append((ref, file, line, entity, fld))
        return URIRef(self.iris.entity(ref))

    def _concept(self, value: Any, file: str, line: int, entity: str | None, fld: str) -> URIRef | None:
        if not isinstance(value, str) or ":" not in value:
            self.problem(
                file, line, entity, fld, f"{value!r} is not a concept (write scheme:name, e.g. sector:textiles)"
            )
            return None
        prefix, local = value.split(":", 1)
        namespace = CONCEPT_PREFIXES.get(prefix)
        if namespace is None:
            self.problem(
                file, line, entity, fld, f"unknown concept scheme {prefix!r}; known: {', '.join(CONCEPT_PREFIXES)}"
            )
            return None
        iri = namespace[local]
        if iri not in self.ontology.concepts:
            self.problem(file, line, entity, fld, f"{value!r} is not a concept declared in ontology/vocabularies.ttl")
            return None
        return iri

    def _class(self, value: Any, file: str, line: int, entity: str | None, fld: str) -> URIRef | None:
        if not isinstance(value, str) or not self.ontology.is_class(SG[value]):
            self.problem(file, line, entity, fld, f"{value!r} is not a class of the ontology (sg:{value})")
            return None
        return SG[value]

    def _lang_map(
        self, value: Any, file: str, line: int, entity: str | None, fld: str, default_lang: str
    ) -> list[Literal]:
        """``"text"`` (in ``default_lang``) or ``{en: text, ru: text}`` -> language-tagged literals."""
        if isinstance(value, str):
            return [Literal(value, lang=default_lang)]
        if isinstance(value, dict) and value and all(isinstance(k, str) and LANG_RE.match(k) for k in value):
            out = []
            for lang, text in value.items():
                if not isinstance(text, str) or not text.strip():
                    self.problem(file, line, entity, fld, f"the {lang} text must be a non-empty string")
                    continue
                out.append(Literal(text, lang=lang))
            return out
        self.problem(file, line, entity, fld, "expected a string or a mapping of language codes to strings")
        return []

    def _number(self, value: Any, file: str, line: int, entity: str | None, fld: str) -> Literal | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.problem(file, line, entity, fld, f"{value!r} is not a number")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.problem(file, line, entity, fld, f"{value!r} is not a number")
            return None
        return Literal(format(number, "f"), datatype=XSD.decimal)

    def _check_keys(self, node: Node, allowed: set[str], file: str, entity: str | None, what: str) -> None:
        for key in node:
            if key not in allowed:
                self.problem(
                    file,
                    node.line_of(key),
                    entity,
                    key,
                    f"unknown key in {what}; allowed: {', '.join(sorted(allowed))}",
                )

    # ----------------------------------------------------------------- entities
    def read_entities(self, path: Path) -> None:
        file = self._display(path)
        data = load_yaml(path, file)
        if data is None:
            return
        if not isinstance(data, LineList):
            self.problem(file, 1, None, None, "an entity file is a list of entities (- id: …)")
            return
        graph = self.dataset.graph(URIRef(self.iris.reference_graph))
        for item, line in zip(data, data.item_lines, strict=True):
            if not isinstance(item, Node):
                self.problem(file, line, None, None, "each entity is a mapping with id and label")
                continue
            ref = item.get("id")
            if not isinstance(ref, str) or not ID_RE.match(ref):
                self.problem(
                    file,
                    item.line_of("id"),
                    None,
                    "id",
                    f"{ref!r} is not an entity id (<kind>/<slug>, kinds: {', '.join(ENTITY_KINDS)})",
                )
                continue
            if ref in self.entities:
                first_file, first_line = self.entities[ref]
                self.problem(
                    file, item.line_of("id"), ref, "id", f"duplicate id: already declared at {first_file}:{first_line}"
                )
                continue
            self.entities[ref] = (file, item.line_of("id"))
            self._check_keys(item, ENTITY_KEYS, file, ref, "an entity")
            subject = URIRef(self.iris.entity(ref))
            self.subject_origins[subject] = Origin(file, item.line, ref, None)
            labels = item.get("label")
            if not isinstance(labels, dict) or not {"en", "ru"} <= set(labels):
                self.problem(file, item.line_of("label"), ref, "label", "label needs both en and ru: {en: …, ru: …}")
            label_literals = (
                self._lang_map(labels or {}, file, item.line_of("label"), ref, "label", "en") if labels else []
            )
            self.entity_labels[ref] = {lit.language: str(lit) for lit in label_literals}
            for literal in label_literals:
                graph.add((subject, RDFS.label, literal))
                graph.add((subject, SKOS.prefLabel, literal))
                self.fact_origins[(subject, SKOS.prefLabel)] = Origin(file, item.line_of("label"), ref, "label")
            alt = item.get("alt")
            if alt is not None:
                if not isinstance(alt, dict):
                    self.problem(
                        file, item.line_of("alt"), ref, "alt", "alt is a mapping of language codes to lists of names"
                    )
                else:
                    for lang, names in alt.items():
                        names = [names] if isinstance(names, str) else names
                        if (
                            not LANG_RE.match(str(lang))
                            or not isinstance(names, list)
                            or not all(isinstance(n, str) for n in names)
                        ):
                            self.problem(
                                file,
                                item.line_of("alt"),
                                ref,
                                "alt",
                                f"alt.{lang} must be a list of names under a language code",
                            )
                            continue
                        for name in names:
                            graph.add((subject, SKOS.altLabel, Literal(name, lang=str(lang))))
            if "note" in item:
                for literal in self._lang_map(item["note"], file, item.line_of("note"), ref, "note", "en"):
                    graph.add((subject, SG.note, literal))
            kind = ref.split("/", 1)[0]
            if ("a" in item or "in" in item) and kind != "place":
                self.problem(
                    file,
                    item.line_of("a" if "a" in item else "in"),
                    ref,
                    "a" if "a" in item else "in",
                    "only places take a class (a) or containment (in) in the entity index; "
                    "state other facts in a document",
                )
                continue
            if "a" in item:
                for value in item["a"] if isinstance(item["a"], list) else [item["a"]]:
                    cls = self._class(value, file, item.line_of("a"), ref, "a")
                    if cls is not None:
                        graph.add((subject, RDF.type, cls))
                        self.fact_origins[(subject, RDF.type)] = Origin(file, item.line_of("a"), ref, "a")
            if "in" in item:
                for value in item["in"] if isinstance(item["in"], list) else [item["in"]]:
                    target = self._ref(value, file, item.line_of("in"), ref, "in")
                    if target is not None:
                        graph.add((subject, SG.locatedIn, target))
                        self.fact_origins[(subject, SG.locatedIn)] = Origin(file, item.line_of("in"), ref, "in")

    # ----------------------------------------------------------------- documents
    def read_document(self, path: Path) -> None:
        file = self._display(path)
        data = load_yaml(path, file)
        if not isinstance(data, Node):
            self.problem(file, 1, None, None, "a document file is a mapping with document, quotes and facts")
            return
        self._check_keys(data, {"document", "quotes", "facts", "observations"}, file, None, "a document file")
        meta = data.get("document")
        if not isinstance(meta, Node):
            self.problem(
                file, data.line_of("document"), None, "document", "the document section is missing or not a mapping"
            )
            return
        slug = meta.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            self.problem(
                file, meta.line_of("slug"), None, "slug", f"{slug!r} is not a slug (lower-case words joined by -)"
            )
            return
        if any(d.slug == slug for d in self.documents):
            self.problem(file, meta.line_of("slug"), slug, "slug", "duplicate document slug")
            return
        language = meta.get("language")
        if not isinstance(language, str) or not LANG_RE.match(language):
            self.problem(
                file, meta.line_of("language"), slug, "language", "language must be a two-letter code (en, ru)"
            )
            language = "en"
        record = DocumentRecord(
            slug=slug,
            path=file,
            file=str(meta.get("file", "")),
            sha256=str(meta.get("sha256", "")),
            characters=meta.get("characters") if isinstance(meta.get("characters"), int) else -1,
            language=language,
        )
        self.documents.append(record)
        doc = URIRef(self.iris.document(slug))
        graph = self.dataset.graph(URIRef(self.iris.source_graph(slug)))
        ctx = DocumentReader(self, record, doc, graph, file)
        ctx.read_quotes(data.get("quotes"), data.line_of("quotes"))
        ctx.read_metadata(meta)
        facts = data.get("facts")
        if facts is not None and not isinstance(facts, LineList):
            self.problem(file, data.line_of("facts"), slug, "facts", "facts is a list of blocks (- about: …)")
        for block, line in zip(facts or [], getattr(facts, "item_lines", []), strict=False):
            ctx.read_fact_block(block, line)
        observations = data.get("observations")
        if observations is not None and not isinstance(observations, LineList):
            self.problem(file, data.line_of("observations"), slug, "observations", "observations is a list (- id: …)")
        for obs, line in zip(observations or [], getattr(observations, "item_lines", []), strict=False):
            ctx.read_observation(obs, line)
        ctx.finish()

    # ----------------------------------------------------------------- all
    def read(self) -> Sources:
        entity_files = sorted((self.folder / "entities").glob("*.yaml"))
        document_files = sorted((self.folder / "documents").glob("*.yaml"))
        if not document_files:
            self.problem(self._display(self.folder / "documents"), None, None, None, "no document files (*.yaml)")
        for path in entity_files:
            self.read_entities(path)
        for path in document_files:
            self.read_document(path)
        for ref, file, line, entity, fld in self.pending_refs:
            if ref not in self.entities:
                self.problem(file, line, entity, fld, f"unknown entity {ref!r}: declare it in graph/sources/entities/")
        if self.problems:
            raise SourceError(sorted(self.problems, key=lambda p: (p.file, p.line or 0)))
        return Sources(
            self.dataset,
            self.iris,
            self.documents,
            self.subject_origins,
            self.fact_origins,
            entity_files,
            document_files,
        )


def read_sources(folder: Path, ontology: Ontology, iris: DataIRIs, display_root: Path | None = None) -> Sources:
    """Read every entity and document file below ``folder``; raise :class:`SourceError` listing all problems."""
    return SourceReader(folder, ontology, iris, display_root).read()
