"""The evidence side of an entity page: figures (sg:Observation) and sources (sg:Assertion → sg:Quote → document).

Figures keep their qualifiers: a "more than 10" is shown as a lower bound of 10 with the qualifier, never as 10.
Sources are grouped by document, then by quote (with its character offsets), each quote with the facts it states.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from .ld_graph import (
    CONTRADICTS,
    DERIVED_FROM,
    EVIDENCE,
    FROM_DOCUMENT,
    OBSERVATION,
    OBSERVATION_ABOUT,
    QUOTE_TEXT,
    STATED_PROPERTY,
    STATED_SUBJECT,
    STATED_VALUE,
    Node,
    sg,
)
from .ld_views import Value, Viewer, format_number


@dataclass
class DocumentView:
    link: Value
    file_name: str | None = None
    publisher: Value | None = None
    date: str | None = None
    date_status: Value | None = None
    language: str | None = None


@dataclass
class QuoteView:
    link: Value  # href to the quote's own page; text is the verbatim quote
    start: str | None
    end: str | None
    document: DocumentView | None


@dataclass
class Fact:
    property: Value
    value: Value
    assertion: Value
    contradicts: list[Value] = field(default_factory=list)


@dataclass
class QuoteFacts:
    quote: QuoteView
    facts: list[Fact]


@dataclass
class SourceGroup:
    document: DocumentView | None
    quotes: list[QuoteFacts]


@dataclass
class Figure:
    link: Value
    about: Value | None
    measure: Value | None
    bounds: list[tuple[str, str]]  # ("value" | "lower bound" | "upper bound", number)
    qualifiers: list[Value]
    unit: str | None
    currency: str | None
    times: list[Value]
    time_note: Value | None
    stated_as: Value | None
    scope: list[Value]
    quotes: list[QuoteView]


def _text(viewer: Viewer, node: Node, name: str) -> str | None:
    value = viewer.g.first(node, sg(name))
    return value.value if isinstance(value, ox.Literal) else None


def document_view(viewer: Viewer, node: ox.NamedNode, cache: dict) -> DocumentView:
    if node not in cache:
        g = viewer.g
        title = g.text_in(node, sg("title"), viewer.lang)
        link = viewer.value(node)
        if title is not None:
            link.text, link.lang = title.value, title.language
        publisher = g.first(node, sg("publisher"))
        status = g.first(node, sg("publicationDateStatus"))
        cache[node] = DocumentView(
            link=link,
            file_name=_text(viewer, node, "fileName"),
            publisher=viewer.value(publisher) if publisher is not None else None,
            date=_text(viewer, node, "publicationDate"),
            date_status=viewer.value(status) if status is not None else None,
            language=_text(viewer, node, "language"),
        )
    return cache[node]


def quote_view(viewer: Viewer, node: ox.NamedNode | ox.BlankNode, cache: dict) -> QuoteView:
    g = viewer.g
    text = g.first(node, QUOTE_TEXT)
    link = viewer.value(node)
    if isinstance(text, ox.Literal):
        link.text, link.lang = text.value, text.language
    document = g.first(node, FROM_DOCUMENT)
    return QuoteView(
        link=link,
        start=_text(viewer, node, "startOffset"),
        end=_text(viewer, node, "endOffset"),
        document=document_view(viewer, document, cache) if isinstance(document, ox.NamedNode) else None,
    )


def _quotes(viewer: Viewer, node: Node, cache: dict) -> list[QuoteView]:
    quotes = [q for q in viewer.g.objects(node, EVIDENCE) if isinstance(q, ox.NamedNode | ox.BlankNode)]
    return sorted((quote_view(viewer, q, cache) for q in quotes), key=lambda q: int(q.start or 0))


def figures_about(viewer: Viewer, node: ox.NamedNode) -> list[Figure]:
    """The observations about ``node`` (or ``node`` itself when it is one), with value or bounds and qualifiers."""
    g = viewer.g
    observations = g.subjects(OBSERVATION_ABOUT, node)
    if g.is_a(node, OBSERVATION):
        observations = [node, *observations]
    cache: dict = {}
    figures = []
    for obs in observations:

        def one(name: str, obs: Node = obs) -> Value | None:
            found = g.first(obs, sg(name))
            return viewer.value(found) if found is not None else None

        def many(name: str, obs: Node = obs) -> list[Value]:
            return sorted((viewer.value(v) for v in g.objects(obs, sg(name))), key=lambda v: v.text.casefold())

        bounds = [
            (label, format_number(text))
            for label, name in (("value", "value"), ("lower bound", "minValue"), ("upper bound", "maxValue"))
            if (text := _text(viewer, obs, name)) is not None
        ]
        about = g.first(obs, OBSERVATION_ABOUT)
        figures.append(
            Figure(
                link=viewer.value(obs),
                about=viewer.value(about) if about is not None and about != node else None,
                measure=one("measure"),
                bounds=bounds,
                qualifiers=many("qualifier"),
                unit=_text(viewer, obs, "unitText"),
                currency=_text(viewer, obs, "currency"),
                times=many("referenceTime"),
                time_note=one("timeNote"),
                stated_as=one("statedAs"),
                scope=many("spatialScope"),
                quotes=_quotes(viewer, obs, cache),
            )
        )
    return sorted(figures, key=lambda f: ((f.measure.text if f.measure else "").casefold(), f.link.text.casefold()))


def sources_about(viewer: Viewer, node: ox.NamedNode) -> list[SourceGroup]:
    """Each fact about ``node`` with its evidence quote, grouped by document and quote; the entity's own
    evidence (a document's dateline, an observation's sentence) is listed as a fact about the entity itself."""
    g = viewer.g
    cache: dict = {}
    by_quote: dict[Node, list[Fact]] = {}
    documents_without_quote: dict[ox.NamedNode, list[Fact]] = {}
    for assertion in g.subjects(STATED_SUBJECT, node):
        prop, value = g.first(assertion, STATED_PROPERTY), g.first(assertion, STATED_VALUE)
        if prop is None or value is None:
            continue
        fact = Fact(
            property=viewer.value(prop),
            value=viewer.value(value),
            assertion=viewer.value(assertion),
            contradicts=[viewer.value(other) for other in g.objects(assertion, CONTRADICTS)],
        )
        quotes = [q for q in g.objects(assertion, EVIDENCE) if isinstance(q, ox.NamedNode | ox.BlankNode)]
        for quote in quotes:
            by_quote.setdefault(quote, []).append(fact)
        document = g.first(assertion, DERIVED_FROM)
        if not quotes and isinstance(document, ox.NamedNode):
            documents_without_quote.setdefault(document, []).append(fact)
    for quote in g.objects(node, EVIDENCE):
        if isinstance(quote, ox.NamedNode | ox.BlankNode):
            itself = Value(text="(this resource)")
            by_quote.setdefault(quote, []).append(Fact(property=Value(text="evidence"), value=itself, assertion=itself))

    groups: dict[str, SourceGroup] = {}
    for quote, facts in by_quote.items():
        view = quote_view(viewer, quote, cache)
        key = (view.document.link.iri or "") if view.document else ""
        group = groups.setdefault(key, SourceGroup(view.document, []))
        group.quotes.append(QuoteFacts(view, sorted(facts, key=lambda f: (f.property.text.casefold(), f.value.text))))
    for document, facts in documents_without_quote.items():
        doc = document_view(viewer, document, cache)
        group = groups.setdefault(document.value, SourceGroup(doc, []))
        group.quotes.append(QuoteFacts(QuoteView(Value(text="(no quote)"), None, None, doc), facts))
    for group in groups.values():
        group.quotes.sort(key=lambda qf: int(qf.quote.start or 0))
    return sorted(groups.values(), key=lambda grp: grp.document.link.text.casefold() if grp.document else "")
