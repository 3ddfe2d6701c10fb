"""Read the curated YAML sources (``graph/sources``) into RDF, one named graph per source document.

The format is described in ``graph/sources/README.md``. Reading collects every problem it finds (unknown keys,
unknown references, duplicate ids, malformed values) and raises them together as a :class:`SourceError`, each
naming the file, line, entity and field. It also remembers where every subject and (subject, property) pair
came from, so that a SHACL violation found later can be reported against the source line that caused it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS, XSD

from .errors import Problem, SourceError
from .namespaces import CONCEPT_PREFIXES, DATESTATUS, SCHEMA, SG, DataIRIs
from .ontology import DATE_RANGE, Ontology
from .yamlio import LineList, Node, load_yaml

ENTITY_KINDS = ("place", "org", "person", "site", "instrument", "event", "project")
#: Kinds whose described nodes are n-ary records of one document: they carry prov:wasDerivedFrom it.
DERIVED_KINDS = ("instrument", "event", "project")
ID_RE = re.compile(r"^({})/[a-z0-9]+(?:-[a-z0-9]+)*$".format("|".join(ENTITY_KINDS)))
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANG_RE = re.compile(r"^[a-z]{2}$")
MAX_QUOTE = 300
BOUND_QUALIFIERS = {"more-than", "at-least", "up-to", "less-than", "almost"}

ENTITY_KEYS = {"id", "label", "alt", "note", "a", "in"}
DOCUMENT_KEYS = {
    "slug",
    "file",
    "sha256",
    "characters",
    "language",
    "title",
    "publisher",
    "author",
    "published",
    "published_status",
    "dateline",
    "dateline_place",
    "reported_via",
    "url",
    "quote",
    "note",
}
OBSERVATION_KEYS = {
    "id",
    "about",
    "measure",
    "value",
    "min",
    "max",
    "qualifier",
    "stated_as",
    "unit",
    "currency",
    "time",
    "time_note",
    "scope",
    "quote",
    "note",
}
DATE_PATTERNS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), XSD.date),
    (re.compile(r"^\d{4}-\d{2}$"), XSD.gYearMonth),
    (re.compile(r"^\d{4}$"), XSD.gYear),
    (re.compile(r"^--\d{2}-\d{2}$"), XSD.gMonthDay),
    (re.compile(r"^--\d{2}$"), XSD.gMonth),
)


@dataclass(frozen=True)
class Origin:
    """Where a subject or a fact was written."""

    file: str
    line: int | None
    entity: str | None
    field: str | None


@dataclass
class QuoteRecord:
    qid: str
    text: str
    start: int
    end: int
    line: int
    used: bool = False


@dataclass
class DocumentRecord:
    slug: str
    path: str
    file: str
    sha256: str
    characters: int
    language: str
    quotes: dict[str, QuoteRecord] = field(default_factory=dict)


@dataclass
class Sources:
    """What the sources say, as RDF, with the places each statement came from."""

    dataset: Dataset
    iris: DataIRIs
    documents: list[DocumentRecord]
    subject_origins: dict[URIRef, Origin]
    fact_origins: dict[tuple[URIRef, URIRef], Origin]
    entity_files: list[Path]
    document_files: list[Path]


def parse_date(value: Any) -> Literal | None:
    """A date of the precision written: 2024-08-14, 2024-08, 2024, --02-02 or --10; None if malformed."""
    text = str(value).strip()
    for pattern, datatype in DATE_PATTERNS:
        if pattern.match(text):
            return Literal(text, datatype=datatype)
    return None


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
        ctx = _DocContext(self, record, doc, graph, file)
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


class _DocContext:
    """State while reading one document file."""

    def __init__(self, reader: SourceReader, record: DocumentRecord, doc: URIRef, graph, file: str):
        self.r = reader
        self.record = record
        self.doc = doc
        self.graph = graph
        self.file = file
        self.slug = record.slug
        self.conflicts: dict[str, list[URIRef]] = {}
        self.assertions: set[URIRef] = set()
        self.derived: set[URIRef] = set()
        self.post_labels: list[tuple[URIRef, URIRef, str]] = []
        self.observation_labels: list[tuple[URIRef, Node]] = []

    def quote_iri(self, qid: str) -> URIRef:
        return URIRef(self.r.iris.entity(f"quote/{self.slug}/{qid}"))

    def use_quote(self, qid: Any, line: int, entity: str | None, fld: str) -> URIRef | None:
        if not isinstance(qid, str) or qid not in self.record.quotes:
            self.r.problem(self.file, line, entity, fld, f"no quote named {qid!r} in this document's quotes")
            return None
        self.record.quotes[qid].used = True
        return self.quote_iri(qid)

    # quotes ------------------------------------------------------------------
    def read_quotes(self, quotes: Any, line: int) -> None:
        if not isinstance(quotes, Node) or not quotes:
            self.r.problem(
                self.file, line, self.slug, "quotes", "quotes is a non-empty mapping of names to {text, start, end}"
            )
            return
        for qid, spec in quotes.items():
            qline = quotes.line_of(qid)
            if not isinstance(spec, Node) or set(spec) != {"text", "start", "end"}:
                self.r.problem(self.file, qline, self.slug, f"quotes.{qid}", "a quote is {text: …, start: N, end: N}")
                continue
            text, start, end = spec["text"], spec["start"], spec["end"]
            if not isinstance(text, str) or not isinstance(start, int) or not isinstance(end, int):
                self.r.problem(
                    self.file, qline, self.slug, f"quotes.{qid}", "text must be a string, start and end integers"
                )
                continue
            if len(text) > MAX_QUOTE:
                self.r.problem(
                    self.file,
                    qline,
                    self.slug,
                    f"quotes.{qid}",
                    f"quote is {len(text)} characters; evidence is a sentence or less (≤ {MAX_QUOTE})",
                )
            if end - start != len(text) or start < 0:
                self.r.problem(
                    self.file,
                    qline,
                    self.slug,
                    f"quotes.{qid}",
                    f"offsets {start}-{end} span {end - start} characters but the quote has {len(text)}",
                )
            self.record.quotes[qid] = QuoteRecord(qid, text, start, end, qline)
            q = self.quote_iri(qid)
            self.graph.add((q, RDF.type, SG.Quote))
            self.graph.add((q, SG.quoteText, Literal(text, lang=self.record.language)))
            self.graph.add((q, SG.startOffset, Literal(start)))
            self.graph.add((q, SG.endOffset, Literal(end)))
            self.graph.add((q, SG.fromDocument, self.doc))
            self.r.subject_origins[q] = Origin(self.file, qline, f"quote {qid}", None)

    # document metadata ---------------------------------------------------------
    def read_metadata(self, meta: Node) -> None:
        r, file, doc, g, slug = self.r, self.file, self.doc, self.graph, self.slug
        r._check_keys(meta, DOCUMENT_KEYS, file, slug, "the document section")
        r.subject_origins[doc] = Origin(file, meta.line, slug, None)
        origin = lambda key: Origin(file, meta.line_of(key), slug, key)  # noqa: E731
        for key in ("file", "sha256"):
            if not isinstance(meta.get(key), str) or not meta.get(key):
                r.problem(file, meta.line_of(key), slug, key, f"{key} is required")
        if meta.get("sha256") and not re.fullmatch(r"[0-9a-f]{64}", str(meta["sha256"])):
            r.problem(file, meta.line_of("sha256"), slug, "sha256", "sha256 must be 64 lower-case hex digits")
        if not isinstance(meta.get("characters"), int):
            r.problem(file, meta.line_of("characters"), slug, "characters", "characters (the text length) is required")
        g.add((doc, RDF.type, SG.SourceDocument))
        g.add((doc, SG.fileName, Literal(str(meta.get("file", "")))))
        g.add((doc, SG.sha256, Literal(str(meta.get("sha256", "")))))
        if isinstance(meta.get("characters"), int):
            g.add((doc, SG.characterCount, Literal(meta["characters"])))
        g.add((doc, SG.language, Literal(self.record.language, datatype=XSD.language)))
        if "title" in meta:
            for lit in r._lang_map(meta["title"], file, meta.line_of("title"), slug, "title", self.record.language):
                g.add((doc, SG.title, lit))
                g.add((doc, RDFS.label, lit))
                r.fact_origins[(doc, SG.title)] = origin("title")
        for key, prop in (("publisher", SG.publisher), ("author", SG.author), ("dateline_place", SG.datelinePlace)):
            if meta.get(key) is not None:
                target = r._ref(meta[key], file, meta.line_of(key), slug, key)
                if target is not None:
                    g.add((doc, prop, target))
                    r.fact_origins[(doc, prop)] = origin(key)
        for value in _as_list(meta.get("reported_via")):
            target = r._ref(value, file, meta.line_of("reported_via"), slug, "reported_via")
            if target is not None:
                g.add((doc, SG.reportedVia, target))
        status = meta.get("published_status")
        if status not in ("stated", "partial", "ambiguous", "not-stated"):
            r.problem(
                file,
                meta.line_of("published_status"),
                slug,
                "published_status",
                f"{status!r}: published_status is stated, partial, ambiguous or not-stated",
            )
        else:
            g.add((doc, SG.publicationDateStatus, DATESTATUS[status]))
        if meta.get("published") is not None:
            date = parse_date(meta["published"])
            if date is None:
                r.problem(
                    file,
                    meta.line_of("published"),
                    slug,
                    "published",
                    f"{meta['published']!r} is not a date (2024-08-14, 2024-08, 2024, --02-02, --10)",
                )
            else:
                g.add((doc, SG.publicationDate, date))
                r.fact_origins[(doc, SG.publicationDate)] = origin("published")
        elif status in ("stated", "partial"):
            r.problem(
                file,
                meta.line_of("published_status"),
                slug,
                "published",
                f"published_status is {status} but no published date is given",
            )
        if meta.get("dateline") is not None:
            g.add((doc, SG.datelineText, Literal(str(meta["dateline"]))))
        if meta.get("url"):
            g.add((doc, SCHEMA.url, URIRef(str(meta["url"]))))
        if "note" in meta:
            for lit in r._lang_map(meta["note"], file, meta.line_of("note"), slug, "note", "en"):
                g.add((doc, SG.note, lit))
        quote = self.use_quote(meta.get("quote"), meta.line_of("quote"), slug, "quote")
        if quote is not None:
            g.add((doc, SG.evidence, quote))

    # facts -----------------------------------------------------------------------
    def read_fact_block(self, block: Any, line: int) -> None:
        r, file = self.r, self.file
        if not isinstance(block, Node):
            r.problem(file, line, self.slug, None, "a fact block is a mapping starting with about:")
            return
        ref = block.get("about")
        subject = r._ref(ref, file, block.line_of("about"), None, "about")
        if subject is None:
            return
        r.subject_origins.setdefault(subject, Origin(file, block.line, ref, None))
        default_quote = block.get("quote")
        if ref.split("/", 1)[0] in DERIVED_KINDS and subject not in self.derived:
            self.derived.add(subject)
            self.graph.add((subject, PROV.wasDerivedFrom, self.doc))
        for key, raw in block.items():
            if key in ("about", "quote"):
                continue
            kline = block.line_of(key)
            if key == "a":
                prop, kind = RDF.type, "class"
            else:
                prop = SG[key]
                kind = r.ontology.kind_of_property(prop)
                if kind is None:
                    r.problem(file, kline, ref, key, f"unknown property sg:{key} (not declared in ontology/)")
                    continue
            for item in raw if isinstance(raw, list) else [raw]:
                spec = item if isinstance(item, Node) and "value" in item else None
                value = spec["value"] if spec else item
                qid = spec.get("quote", default_quote) if spec else default_quote
                if spec:
                    r._check_keys(spec, {"value", "quote", "conflict"}, file, ref, f"the value of {key}")
                if key == "holdsPost":
                    obj = self._post(subject, ref, item, kline)
                    qid = item.get("quote", default_quote) if isinstance(item, Node) else default_quote
                else:
                    obj = self._value(prop, kind, value, kline, ref, key)
                if obj is None:
                    continue
                if qid is None:
                    r.problem(
                        file, kline, ref, key, "no evidence: give the block a quote, or the value {value: …, quote: …}"
                    )
                    continue
                quote = self.use_quote(qid, kline, ref, key)
                if quote is None:
                    continue
                self.graph.add((subject, prop, obj))
                r.fact_origins[(subject, prop)] = Origin(file, kline, ref, key)
                assertion = self._assert(subject, prop, obj, quote, kline, ref, key)
                if spec and spec.get("conflict"):
                    self.conflicts.setdefault(str(spec["conflict"]), []).append(assertion)

    def _value(self, prop: URIRef, kind: str, value: Any, line: int, ref: str, key: str):
        r = self.r
        if kind == "class" or prop == SG.possibleKind:
            return r._class(value, self.file, line, ref, key)
        if kind == "object":
            if isinstance(value, str) and value.split(":", 1)[0] in CONCEPT_PREFIXES:
                return r._concept(value, self.file, line, ref, key)
            return r._ref(value, self.file, line, ref, key)
        rng = r.ontology.ranges.get(prop)
        if rng == DATE_RANGE:
            date = parse_date(value)
            if date is None:
                r.problem(
                    self.file, line, ref, key, f"{value!r} is not a date (2024-08-14, 2024-08, 2024, --02-02, --10)"
                )
            return date
        if rng in (XSD.decimal, XSD.integer, XSD.nonNegativeInteger):
            number = r._number(value, self.file, line, ref, key)
            if number is None or rng == XSD.decimal:
                return number
            if Decimal(str(number)) % 1:
                r.problem(self.file, line, ref, key, f"{value!r} is not a whole number")
                return None
            return Literal(int(Decimal(str(number))), datatype=rng)
        if rng == XSD.string:
            return Literal(str(value))
        literals = r._lang_map(value, self.file, line, ref, key, self.record.language)
        if len(literals) != 1:
            if literals:
                r.problem(self.file, line, ref, key, "give one language per value (use a list for several)")
            return None
        return literals[0]

    def _post(self, person: URIRef, ref: str, item: Any, line: int) -> URIRef | None:
        r = self.r
        if not isinstance(item, Node) or not {"role", "org"} <= set(item) or set(item) - {"role", "org", "quote"}:
            r.problem(
                self.file, line, ref, "holdsPost", "holdsPost takes {role: role:…, org: org/…} (and optionally quote)"
            )
            return None
        role = r._concept(item["role"], self.file, line, ref, "holdsPost.role")
        org = r._ref(item["org"], self.file, line, ref, "holdsPost.org")
        if role is None or org is None:
            return None
        person_slug = ref.split("/", 1)[1]
        org_ref = str(item["org"])
        post = URIRef(
            r.iris.entity(f"post/{person_slug}-{str(item['role']).split(':', 1)[1]}-{org_ref.split('/', 1)[1]}")
        )
        g = self.graph
        g.add((post, RDF.type, SG.Post))
        g.add((post, SG.heldBy, person))
        g.add((post, SG.postIn, org))
        g.add((post, SG.role, role))
        g.add((post, PROV.wasDerivedFrom, self.doc))
        self.post_labels.append((post, role, org_ref))
        r.subject_origins.setdefault(post, Origin(self.file, line, ref, "holdsPost"))
        return post

    def _assert(self, s: URIRef, p: URIRef, o, quote: URIRef, line: int, ref: str, key: str) -> URIRef:
        digest = hashlib.sha1(f"{s}|{p}|{o.n3()}".encode()).hexdigest()[:16]
        node = URIRef(self.r.iris.entity(f"assertion/{self.slug}/{digest}"))
        if node in self.assertions:
            self.r.problem(self.file, line, ref, key, "this fact is stated twice in the document")
            return node
        self.assertions.add(node)
        g = self.graph
        g.add((node, RDF.type, SG.Assertion))
        g.add((node, SG.statedSubject, s))
        g.add((node, SG.statedProperty, p))
        g.add((node, SG.statedValue, o))
        g.add((node, SG.evidence, quote))
        g.add((node, PROV.wasDerivedFrom, self.doc))
        self.r.subject_origins[node] = Origin(self.file, line, ref, key)
        return node

    # observations ------------------------------------------------------------------
    def read_observation(self, obs: Any, line: int) -> None:
        r, file, g = self.r, self.file, self.graph
        if not isinstance(obs, Node):
            r.problem(file, line, self.slug, None, "an observation is a mapping (- id: …)")
            return
        oid = obs.get("id")
        if not isinstance(oid, str) or not SLUG_RE.match(oid):
            r.problem(
                file, obs.line_of("id"), None, "id", f"{oid!r} is not an observation id (lower-case words joined by -)"
            )
            return
        name = f"observation {oid}"
        r._check_keys(obs, OBSERVATION_KEYS, file, name, "an observation")
        node = URIRef(r.iris.entity(f"observation/{self.slug}-{oid}"))
        if (node, RDF.type, SG.Observation) in g:
            r.problem(file, obs.line_of("id"), name, "id", "duplicate observation id in this document")
            return
        r.subject_origins[node] = Origin(file, obs.line, name, None)
        at = lambda key: obs.line_of(key)  # noqa: E731
        g.add((node, RDF.type, SG.Observation))
        g.add((node, PROV.wasDerivedFrom, self.doc))
        about = r._ref(obs.get("about"), file, at("about"), name, "about")
        if about is not None:
            g.add((node, SG.observationAbout, about))
        measure = r._concept(f"measure:{obs.get('measure')}", file, at("measure"), name, "measure")
        if measure is not None:
            g.add((node, SG.measure, measure))
        for key, prop in (("value", SG.value), ("min", SG.minValue), ("max", SG.maxValue)):
            if key in obs:
                number = r._number(obs[key], file, at(key), name, key)
                if number is not None:
                    g.add((node, prop, number))
                    r.fact_origins[(node, prop)] = Origin(file, at(key), name, key)
        if not {"value", "min", "max"} & set(obs):
            r.problem(file, obs.line, name, "value", "an observation needs value, min or max")
        qualifiers = _as_list(obs.get("qualifier"))
        if not qualifiers:
            r.problem(
                file,
                obs.line,
                name,
                "qualifier",
                "give a qualifier: exact, approximately, more-than, at-least, up-to, less-than, almost, planned",
            )
        for q in qualifiers:
            concept = r._concept(f"qualifier:{q}", file, at("qualifier"), name, "qualifier")
            if concept is not None:
                g.add((node, SG.qualifier, concept))
        r.fact_origins[(node, SG.qualifier)] = Origin(file, at("qualifier"), name, "qualifier")
        if "stated_as" in obs:
            for lit in r._lang_map(obs["stated_as"], file, at("stated_as"), name, "stated_as", self.record.language):
                g.add((node, SG.statedAs, lit))
        if "unit" in obs:
            g.add((node, SG.unitText, Literal(str(obs["unit"]))))
        if "currency" in obs:
            currency = str(obs["currency"])
            if not re.fullmatch(r"[A-Z]{3}", currency):
                r.problem(file, at("currency"), name, "currency", f"{currency!r} is not an ISO 4217 code (USD, RUB …)")
            g.add((node, SG.currency, Literal(currency)))
        if "time" in obs:
            date = parse_date(obs["time"])
            if date is None:
                r.problem(
                    file,
                    at("time"),
                    name,
                    "time",
                    f"{obs['time']!r} is not a date (2024-08-14, 2024-08, 2024, --02-02, --10)",
                )
            else:
                g.add((node, SG.referenceTime, date))
        if "time_note" in obs:
            for lit in r._lang_map(obs["time_note"], file, at("time_note"), name, "time_note", self.record.language):
                g.add((node, SG.timeNote, lit))
        if "scope" in obs:
            scope = r._ref(obs["scope"], file, at("scope"), name, "scope")
            if scope is not None:
                g.add((node, SG.spatialScope, scope))
        if "note" in obs:
            for lit in r._lang_map(obs["note"], file, at("note"), name, "note", "en"):
                g.add((node, SG.note, lit))
        quote = self.use_quote(obs.get("quote"), at("quote"), name, "quote")
        if quote is not None:
            g.add((node, SG.evidence, quote))
        self.observation_labels.append((node, obs))

    # end of document ------------------------------------------------------------------
    def finish(self) -> None:
        g, r = self.graph, self.r
        for label, nodes in sorted(self.conflicts.items()):
            if len(nodes) < 2:
                r.problem(self.file, None, self.slug, "conflict", f"conflict label {label!r} is used by only one value")
            for a in nodes:
                for b in nodes:
                    if a != b:
                        g.add((a, SG.contradicts, b))
        for q in self.record.quotes.values():
            if not q.used:
                r.problem(self.file, q.line, self.slug, f"quotes.{q.qid}", "quote is not used by any fact")
        onto = r.ontology
        for post, role, org_ref in self.post_labels:
            for lang, word in (("en", "of"), ("ru", "—")):
                org_label = r.entity_labels.get(org_ref, {}).get(lang, org_ref)
                role_label = onto.label(role, lang)
                text = f"{role_label} {word} {org_label}" if lang == "en" else f"{role_label} — {org_label}"
                g.add((post, RDFS.label, Literal(text, lang=lang)))
                g.add((post, SKOS.prefLabel, Literal(text, lang=lang)))
        for node, obs in self.observation_labels:
            for lit in observation_labels(onto, r.entity_labels, obs):
                g.add((node, RDFS.label, lit))
                g.add((node, SKOS.prefLabel, lit))


def observation_labels(onto: Ontology, entity_labels: dict[str, dict[str, str]], obs: Node) -> list[Literal]:
    """A readable label such as 'Number of technoparks — Russia: more than 300'."""
    from .namespaces import MEASURE, QUALIFIER

    out = []
    about = str(obs.get("about"))
    qualifiers = [str(q) for q in _as_list(obs.get("qualifier"))]
    for lang in ("en", "ru"):
        measure = onto.label(MEASURE[str(obs.get("measure"))], lang)
        subject = entity_labels.get(about, {}).get(lang, about)
        if "value" in obs:
            amount = _fmt(obs["value"])
        else:
            parts = [_fmt(obs[k]) for k in ("min", "max") if k in obs]
            amount = "–".join(parts)
        words = [_lower_first(onto.label(QUALIFIER[q], lang)) for q in qualifiers if q != "exact"]
        # unit texts are English words; a Russian label shows only the currency code
        unit = (
            f" {obs['currency']}"
            if "currency" in obs
            else (f" {obs['unit']}" if "unit" in obs and lang == "en" else "")
        )
        text = f"{measure} — {subject}: {' '.join(words) + ' ' if words else ''}{amount}{unit}"
        out.append(Literal(text, lang=lang))
    return out


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _fmt(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{number:,f}".replace(",", " ") if number == number.to_integral() else str(number)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def read_sources(folder: Path, ontology: Ontology, iris: DataIRIs, display_root: Path | None = None) -> Sources:
    """Read every entity and document file below ``folder``; raise :class:`SourceError` listing all problems."""
    return SourceReader(folder, ontology, iris, display_root).read()
