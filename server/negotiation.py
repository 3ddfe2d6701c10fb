"""Content negotiation: media types with q-values, combined Accept headers, and the ``format=`` override."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .errors import NotAcceptable


@dataclass(frozen=True)
class Format:
    key: str  # the value of format=
    media_type: str
    kind: object  # pyoxigraph RdfFormat or QueryResultsFormat, or None for HTML
    aliases: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


RESULTS = [
    Format("json", "application/sparql-results+json", ox.QueryResultsFormat.JSON, ("application/json",)),
    Format("xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML, ("application/xml", "text/xml")),
    Format("csv", "text/csv", ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
]
GRAPHS = [
    Format("turtle", "text/turtle", ox.RdfFormat.TURTLE, ("application/x-turtle",)),
    Format("ntriples", "application/n-triples", ox.RdfFormat.N_TRIPLES, ("text/plain",)),
    Format("nquads", "application/n-quads", ox.RdfFormat.N_QUADS),
    Format("trig", "application/trig", ox.RdfFormat.TRIG),
    Format("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD, ("application/json",)),
    Format("rdfxml", "application/rdf+xml", ox.RdfFormat.RDF_XML, ("application/xml", "text/xml")),
]
HTML = Format("html", "text/html", None, ("application/xhtml+xml",))
FORMAT_ALIASES = {
    "ttl": "turtle",
    "nt": "ntriples",
    "nq": "nquads",
    "json-ld": "jsonld",
    "rdf": "rdfxml",
    "srj": "json",
}


def negotiate(accept_header: str | None, offers: list[Format], format_param: str | None = None) -> Format:
    """The best offer for the request. ``format=`` wins; then Accept with q-values; ``*/*`` or no Accept
    gets the first offer. Raises NotAcceptable naming what is available."""
    if format_param:
        key = FORMAT_ALIASES.get(format_param.lower(), format_param.lower())
        for offer in offers:
            if key in (offer.key, offer.media_type) or key in offer.aliases:
                return offer
        raise NotAcceptable(f"format={format_param} is not available here; choose {', '.join(o.key for o in offers)}")
    if not accept_header or not accept_header.strip():
        return offers[0]
    accept = parse_accept_header(accept_header, MIMEAccept)
    best_offer, best_quality = None, 0.0
    for position, offer in enumerate(offers):
        for media_type in (offer.media_type, *offer.aliases):
            quality = accept[media_type]
            # an exact mention beats a wildcard at the same quality; earlier offers win ties
            exact = any(value == media_type for value, _q in accept)
            score = quality + (0.0001 if exact else 0.0) - position * 1e-6
            if quality > 0 and score > best_quality:
                best_offer, best_quality = offer, score
    if best_offer is None:
        available = ", ".join(o.media_type for o in offers)
        raise NotAcceptable(f"none of the accepted media types ({accept_header}) is available; available: {available}")
    return best_offer
