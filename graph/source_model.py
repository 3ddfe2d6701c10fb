"""The shape of what the source reader produces: records, origins, dates and the rules' constants.

Shared by ``graph.sources`` (the reader and the entity index), ``graph.source_documents`` (one article's file)
and ``graph.source_observations`` (figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import XSD

from .namespaces import DataIRIs

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


def as_list(value: Any) -> list:
    """``None`` → [], a list → itself, anything else → [it]."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
