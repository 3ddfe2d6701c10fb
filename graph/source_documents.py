"""One article's source file: its quotes, its metadata and its facts, each fact with an sg:Assertion.

Used by :class:`graph.sources.SourceReader`, which owns the entity index and the problem list.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rdflib import Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS, XSD

from .namespaces import CONCEPT_PREFIXES, DATESTATUS, SCHEMA, SG
from .ontology import DATE_RANGE
from .source_model import (
    DERIVED_KINDS,
    DOCUMENT_KEYS,
    MAX_QUOTE,
    DocumentRecord,
    Origin,
    QuoteRecord,
    as_list,
    parse_date,
)
from .source_observations import ObservationsMixin, observation_labels

if TYPE_CHECKING:
    from .sources import SourceReader
from .yamlio import Node


class DocumentReader(ObservationsMixin):
    """Reads one document file into its named graph; problems go to the owning SourceReader."""

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
        self.pending_posts: list[tuple[URIRef, URIRef, str]] = []
        self.pending_observations: list[tuple[URIRef, Node]] = []

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
        for value in as_list(meta.get("reported_via")):
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
        self.pending_posts.append((post, role, org_ref))
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
        for post, role, org_ref in self.pending_posts:
            for lang, word in (("en", "of"), ("ru", "—")):
                org_label = r.entity_labels.get(org_ref, {}).get(lang, org_ref)
                role_label = onto.label(role, lang)
                text = f"{role_label} {word} {org_label}" if lang == "en" else f"{role_label} — {org_label}"
                g.add((post, RDFS.label, Literal(text, lang=lang)))
                g.add((post, SKOS.prefLabel, Literal(text, lang=lang)))
        for node, obs in self.pending_observations:
            for lit in observation_labels(onto, r.entity_labels, obs):
                g.add((node, RDFS.label, lit))
                g.add((node, SKOS.prefLabel, lit))
