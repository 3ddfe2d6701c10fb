"""Linked data: every IRI under the base dereferences — an HTML page for browsers, RDF for everyone else.

Routes (``<suffix>`` is one of .ttl .jsonld .nt .rdf, also .nq .trig .html; without one, Accept decides):

- ``/id/<kind>/<slug>`` and nested ids (``/id/quote/<doc>/<q>`` …): an entity, its figures and its sources
- ``/id/<kind>`` and ``/id/``: listings of the entities of one kind, and of the kinds
- ``/ontology`` (the whole ontology graph), ``/ontology/<Term>``: the ontology and its terms
- ``/vocab/<scheme>`` and ``/vocab/<scheme>/<concept>``: the SKOS vocabularies
- ``/search?q=``: things by label, in either language, alternative labels included, any case

Answers carry an ETag (dataset version + path + format + language) and ``Vary: Accept, Accept-Language``.
An unknown IRI raises NotFound: browsers get an HTML page with suggestions, JSON clients problem+json.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from urllib.parse import quote, urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request

from graph.namespaces import ONTOLOGY_IRI, PREFIXES, SG, VOCAB

from . import conditional
from .errors import BadRequest, NotFound, ServiceUnavailable, problem_response, wants_json
from .ld_graph import TYPE, Graphs
from .ld_ontology import ontology_index
from .ld_sources import figures_about, sources_about
from .ld_views import RAW_FORMATS, SAFE, Viewer
from .negotiation import GRAPHS, HTML, Format, negotiate
from .store import OpenRelease, get_store

bp = Blueprint("linked_data", __name__)

OFFERS = [HTML, *GRAPHS]
JSON = Format("json", "application/json", None)
SUFFIXES = {"ttl": "turtle", "jsonld": "jsonld", "nt": "ntriples", "rdf": "rdfxml", "nq": "nquads", "trig": "trig"}
SUFFIX_OF = {value: "." + key for key, value in SUFFIXES.items()}
LANGUAGES = ("en", "ru")
VARY = "Accept, Accept-Language"
MAX_SEARCH_CHARS = 200
SEARCH_SHOWN = 50


def _format_for(suffix: str) -> Format | None:
    if suffix == "html":
        return HTML
    key = SUFFIXES.get(suffix)
    return next((f for f in GRAPHS if f.key == key), None)


def _graphs() -> tuple[OpenRelease, Graphs]:
    opened = get_store()
    base = opened.release.manifest.get("base_iri") or current_app.config["SITEGRAPH"].base_iri
    return opened, Graphs(opened.store, base)


def _lang() -> str:
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES, default="en") or "en"


def _lang_links(lang: str) -> list[tuple[str, str, bool]]:
    args = {k: v for k, v in request.args.items() if k != "lang"}
    return [
        (code, request.script_root + request.path + "?" + urlencode({**args, "lang": code}), code == lang)
        for code in LANGUAGES
    ]


def _find(rest: str, make: Callable[[str], str], exists: Callable[[ox.NamedNode], bool]):
    """(node, format from a suffix or None, rest without suffix) — the path as it is when it names something,
    else the path without a known format suffix; (None, None, rest) when neither does."""
    candidates = [(rest, None)]
    stem, dot, suffix = rest.rpartition(".")
    if dot and stem and _format_for(suffix) is not None:
        candidates.append((stem, _format_for(suffix)))
    for candidate, fmt in candidates:
        try:
            node = ox.NamedNode(make(candidate))
        except ValueError:
            continue
        if exists(node):
            return node, fmt, candidate
    return None, None, rest


def _serialize(triples: list[ox.Triple], fmt: Format) -> bytes:
    triples = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    items: list = (
        [ox.Quad(t.subject, t.predicate, t.object) for t in triples] if fmt.key in ("nquads", "trig") else triples
    )
    kwargs = {"prefixes": _used_prefixes(triples)} if fmt.key in ("turtle", "trig", "rdfxml") else {}
    return ox.serialize(items, format=fmt.kind, **kwargs)


def _used_prefixes(triples: list[ox.Triple]) -> dict[str, str]:
    """The project prefixes that some IRI of ``triples`` starts with (data IRIs stay whole)."""
    iris = {t.value for triple in triples for t in triple if isinstance(t, ox.NamedNode)}
    iris |= {t.datatype.value for triple in triples for t in triple if isinstance(t, ox.Literal) and t.datatype}
    return {p: ns for p, ns in sorted(PREFIXES.items()) if any(value.startswith(ns) for value in iris)}


def _answer(
    opened: OpenRelease, path: str, fmt: Format | None, rdf: Callable[[], list[ox.Triple]], html: Callable[[str], str]
) -> Response:
    """Negotiate (unless a suffix chose), answer 304 when the client's copy is current, else render."""
    negotiated = fmt is None
    fmt = fmt or negotiate(request.headers.get("Accept"), OFFERS, request.args.get("format"))
    lang = _lang() if fmt is HTML else ""
    key = "\x00".join([request.script_root, request.full_path, fmt.key, lang])
    etag = f"{opened.version}-ld-{hashlib.sha256(key.encode()).hexdigest()[:20]}"
    unchanged = conditional.not_modified(etag, opened.last_modified)
    if unchanged is not None:
        unchanged.headers["Vary"] = VARY
        return unchanged
    body = html(lang) if fmt is HTML else _serialize(rdf(), fmt)
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = VARY
    here = request.script_root + quote(path, safe=SAFE)
    if negotiated and fmt is not HTML:
        response.headers["Content-Location"] = here + SUFFIX_OF[fmt.key]
    if rdf is not _no_rdf:
        links = [f'<{here}{SUFFIX_OF[f.key]}>; rel="alternate"; type="{f.media_type}"' for f in GRAPHS]
        response.headers["Link"] = ", ".join(links)
    return conditional.tag(response, etag, opened.last_modified)


def _no_rdf() -> list[ox.Triple]:
    """Listings are HTML only: every entity listed has its own RDF."""
    return []


def _render(template: str, lang: str, **context) -> str:
    return render_template(template, lang=lang, lang_links=_lang_links(lang), **context)


def _entity_page(graphs: Graphs, node: ox.NamedNode, path: str) -> Callable[[str], str]:
    def html(lang: str) -> str:
        viewer = Viewer(graphs, lang, request.script_root)
        page = viewer.page(node, path)
        page.figures = figures_about(viewer, node)
        page.sources = sources_about(viewer, node)
        return _render("entity.html", lang, page=page)

    return html


def _describe(prefix: str, rest: str) -> Response:
    opened, graphs = _graphs()

    def exists(node: ox.NamedNode) -> bool:
        if prefix == "/ontology/":  # a term is what the ontology graph describes
            return graphs.has(node, None, None, graphs.ontology_graph)
        return graphs.exists(node)

    base = {"/id/": str(graphs.iris.id), "/ontology/": str(SG), "/vocab/": VOCAB}[prefix]
    node, fmt, found = _find(rest, lambda r: base + r, exists)
    if node is None:
        if prefix == "/id/" and "/" not in rest.strip("/"):
            return _listing(opened, graphs, rest.strip("/"))
        raise NotFound(f"nothing is known about {base + rest}")
    return _answer(
        opened, prefix + found, fmt, lambda: graphs.describe(node), _entity_page(graphs, node, prefix + found)
    )


@bp.get("/id/<path:rest>")
def entity(rest: str) -> Response:
    return _describe("/id/", rest)


@bp.get("/id/")
@bp.get("/id")
def kinds() -> Response:
    return _listing(*_graphs(), "")


@bp.get("/vocab/<path:rest>")
def vocabulary(rest: str) -> Response:
    return _describe("/vocab/", rest)


@bp.get("/ontology/<path:term>")
def ontology_term(term: str) -> Response:
    return _describe("/ontology/", term)


@bp.get("/ontology")
@bp.get("/ontology.<suffix>")
def ontology(suffix: str | None = None) -> Response:
    opened, graphs = _graphs()
    fmt = _format_for(suffix) if suffix else None
    if suffix and fmt is None:
        raise NotFound(f"no format {suffix!r} for the ontology; available: {', '.join(SUFFIXES)}")

    def html(lang: str) -> str:
        formats = [(name, request.script_root + "/ontology" + ext, media) for name, ext, media in RAW_FORMATS]
        index = ontology_index(Viewer(graphs, lang, request.script_root), formats)
        return _render("ontology.html", lang, index=index)

    if not graphs.has(ox.NamedNode(ONTOLOGY_IRI), None, None, graphs.ontology_graph):
        raise NotFound("this release has no ontology graph")
    return _answer(opened, "/ontology", fmt, lambda: graphs.graph_triples(graphs.ontology_graph), html)


def _row(viewer: Viewer, entity: ox.NamedNode, matched: list[str] | None = None) -> dict:
    g = viewer.g
    kinds = [viewer.value(o) for (_s, _p, o), gs in g.triples(entity, TYPE).items() if not g.inferred_only(gs)]
    other = [text for code, text in g.labels(entity).items() if code in LANGUAGES and code != viewer.lang]
    link = viewer.value(entity)
    return {"link": link, "other": other, "kinds": kinds, "matched": [m for m in matched or [] if m != link.text]}


@bp.get("/search")
def search() -> Response:
    text = " ".join(request.args.get("q", "").split())
    if len(text) > MAX_SEARCH_CHARS:
        raise BadRequest(f"the search text has {len(text)} characters; the limit is {MAX_SEARCH_CHARS}")
    opened, graphs = _graphs()
    fmt = negotiate(request.headers.get("Accept"), [HTML, JSON], request.args.get("format"))
    lang = _lang()
    key = "\x00".join([request.script_root, "search", text, fmt.key, lang])
    etag = f"{opened.version}-search-{hashlib.sha256(key.encode()).hexdigest()[:20]}"
    unchanged = conditional.not_modified(etag, opened.last_modified)
    if unchanged is not None:
        unchanged.headers["Vary"] = VARY
        return unchanged
    found = graphs.search(text) if text else []
    viewer = Viewer(graphs, lang, request.script_root)
    rows = [_row(viewer, entity, matched) for entity, matched in found[:SEARCH_SHOWN]]
    if fmt is JSON:
        results = [
            {"iri": r["link"].iri, "href": r["link"].href, "label": r["link"].text, "matched": r["matched"]}
            for r in rows
        ]
        body = json.dumps({"q": text, "total": len(found), "results": results}, ensure_ascii=False)
    else:
        body = _render("search.html", lang, q=text, rows=rows, total=len(found), heading=None)
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = VARY
    return conditional.tag(response, etag, opened.last_modified)


def _listing(opened: OpenRelease, graphs: Graphs, kind: str) -> Response:
    """``/id/<kind>``: every labelled entity of that kind; ``/id/``: the kinds with their counts."""
    base = str(graphs.iris.id)
    members = graphs.members(base + kind + "/" if kind else base)
    if kind and not members:
        raise NotFound(f"nothing is known about {base + kind}")

    def html(lang: str) -> str:
        viewer = Viewer(graphs, lang, request.script_root)
        if kind:
            rows = [_row(viewer, m) for m in members if "/" not in m.value[len(base + kind) + 1 :]]
            return _render("search.html", lang, q="", rows=rows, total=len(rows), heading=kind)
        counts: dict[str, int] = {}
        for member in members:
            first = member.value[len(base) :].split("/", 1)[0]
            counts[first] = counts.get(first, 0) + 1
        return _render("kinds.html", lang, counts=sorted(counts.items()))

    return _answer(opened, "/id/" + kind, HTML, _no_rdf, html)


@bp.errorhandler(NotFound)
def not_found(exc: NotFound) -> Response:
    """Browsers get a page with a search box and suggestions; JSON clients problem+json; others plain text."""
    if wants_json(request) or request.accept_mimetypes.best_match(["text/html", "text/plain"]) != "text/html":
        return problem_response(exc.status, exc.title, exc.detail, exc.slug, exc.headers)
    lang, suggestions = _lang(), []
    words = request.path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("-", " ").replace("_", " ")
    parts = request.path.split("/")
    kind = parts[2] if len(parts) > 3 and parts[1] == "id" and parts[2] else None
    try:
        _opened, graphs = _graphs()
        viewer = Viewer(graphs, lang, request.script_root)
        for attempt in [words, *sorted(set(words.split()), key=len, reverse=True)]:
            if len(attempt) >= 3 and not suggestions:
                suggestions = [_row(viewer, entity, matched) for entity, matched in graphs.search(attempt)[:10]]
        if kind and not graphs.members(str(graphs.iris.id) + kind + "/"):
            kind = None
    except ServiceUnavailable:
        kind = None
    body = _render("not_found.html", lang, detail=exc.detail, q=words, rows=suggestions, kind=kind)
    response = Response(body, status=404, content_type=HTML.content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = VARY
    return response
