"""Writes over HTTP, for trusted partners: SPARQL 1.1 Update and the SPARQL 1.1 Graph Store HTTP Protocol.

Reads stay open to everyone; a write needs ``Authorization: Bearer <token>`` with a token that has write rights
(``sitegraph token add``). No cookie or other ambient credential is ever accepted, so a web page cannot write
on a visitor's behalf (and the CORS preflight does not allow the ``Authorization`` header).

- SPARQL Update at ``/sparql`` (form ``update=`` or ``application/sparql-update``; ``server.sparql`` hands it
  here) and at ``/update``;
- Graph Store at ``/graphs?graph=<iri>`` and ``/graphs?default``: GET and HEAD (open), PUT, POST, DELETE;
  POST ``/graphs`` with TriG or N-Quads adds a whole dataset.

Every write goes through ``graph.writes.apply_change``: validated with SHACL, committed as a new release, and
logged (``/changes``). A write that breaks the shapes gets a 422 with the validation report (problem JSON, or
Turtle ``sh:ValidationReport`` by Accept) and changes nothing; ``dry_run=true`` answers with the diff and the
report and commits nothing. A committed write answers with the new dataset version in ``Sitegraph-Version``.

With ``store = remote`` the same happens through ``graph.writes.apply_change_remote``: validated here, committed
on the remote store in one SPARQL Update request that also holds the change-log record (graph
``<base>graph/changes``, read back by ``/changes``); a remote that cannot be read or refuses the update gives 503.
"""

from __future__ import annotations

import hashlib
import json
import re

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request

from graph.tokens import Token, TokenFile
from graph.writes import (
    Change,
    RemoteWriteFailed,
    WriteBusy,
    WriteError,
    WriteRejected,
    WriteResult,
    apply_change,
    apply_change_remote,
    read_changes,
    read_remote_changes,
)

from . import conditional
from .errors import (
    PROBLEM_BASE,
    BadRequest,
    HttpProblem,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from .negotiation import GRAPHS, Format, negotiate
from .sparql import nesting_depth
from .store import OpenRelease, get_store, invalidate

bp = Blueprint("writes", __name__)
_IRI = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*")
#: A DTD in an RDF/XML body, in UTF-8 (or ASCII-compatible) and in UTF-16 (either byte order).
_DECLARATIONS = re.compile(
    b"|".join(
        re.escape(word.encode(codec))
        for word in ("<!DOCTYPE", "<!ENTITY")
        for codec in ("utf-8", "utf-16-le", "utf-16-be")
    ),
    re.IGNORECASE,
)

VERSION_HEADER = "Sitegraph-Version"
#: Media types a Graph Store body may have; the quad formats only where a dataset makes sense.
BODY_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/n3": ox.RdfFormat.N3,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}
QUAD_FORMATS = (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS)
REPORT_FORMATS = [
    Format("problem", "application/problem+json", None, ("application/json",)),
    *[f for f in GRAPHS if f.key in ("turtle", "ntriples", "jsonld", "rdfxml")],
]


class Unauthorized(HttpProblem):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(HttpProblem):
    status, title, slug = 403, "Forbidden", "forbidden"


class ManagedGraph(HttpProblem):
    status, title, slug = 403, "Graph made by the build", "managed-graph"


# ---------------------------------------------------------------- authentication


def _tokens() -> TokenFile:
    ext = current_app.extensions
    if "sitegraph.tokens" not in ext:
        ext["sitegraph.tokens"] = TokenFile(current_app.config["SITEGRAPH"].path("tokens_file"))
    return ext["sitegraph.tokens"]


def require_writer() -> Token:
    """The write token of this request: 401 without a valid bearer token, 403 when it may only read."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized(
            "writing needs a token: send `Authorization: Bearer <token>` (tokens are made with `sitegraph token add`)",
            headers={"WWW-Authenticate": 'Bearer realm="sitegraph"'},
        )
    token = _tokens().find(presented.strip())
    if token is None:
        raise Unauthorized(
            "the bearer token is not known (it may have been removed)",
            headers={"WWW-Authenticate": 'Bearer realm="sitegraph", error="invalid_token"'},
        )
    if not token.can_write:
        raise Forbidden(
            f"the token {token.name!r} may read but not write",
            headers={"WWW-Authenticate": 'Bearer realm="sitegraph", error="insufficient_scope"'},
        )
    return token


# ---------------------------------------------------------------- running a write


def _dry_run() -> bool:
    value = request.args.get("dry_run") or (
        request.form.get("dry_run") if request.mimetype.endswith("urlencoded") else None
    )
    return (value or "").lower() in ("1", "true", "yes")


def run_write(change: Change, token: Token) -> WriteResult | Response:
    """Apply ``change`` for ``token`` (from ``require_writer``, called before the body was read): the result, or
    the 422 answer of a write that breaks the shapes."""
    config = current_app.config["SITEGRAPH"]
    try:
        if _remote():
            return apply_change_remote(config, change, token.name, dry_run=_dry_run(), version=_remote_version)
        return apply_change(
            config.path("build_dir"), change, token.name, dry_run=_dry_run(), shapes_dir=config.project / "shapes"
        )
    except RemoteWriteFailed as exc:
        raise ServiceUnavailable(str(exc), headers={"Retry-After": "5"}) from exc
    except WriteRejected as exc:
        return rejected(exc)
    except WriteError as exc:
        if exc.kind == "managed-graph":
            raise ManagedGraph(str(exc)) from exc
        if exc.kind == "not-found":
            raise NotFound(str(exc)) from exc
        raise BadRequest(str(exc)) from exc
    except WriteBusy as exc:
        raise ServiceUnavailable(str(exc), headers={"Retry-After": "5"}) from exc


def _remote() -> bool:
    """Whether this deployment serves from a remote store (``store = remote``): writes go there."""
    return str(current_app.config["SITEGRAPH"].values.get("store", "embedded")) == "remote"


def _remote_version() -> str:
    """The remote's dataset version now (read again, not the one kept for ``remote_refresh_seconds``)."""
    invalidate(current_app._get_current_object())  # type: ignore[attr-defined]
    return get_store().version


def rejected(exc: WriteRejected) -> Response:
    """422 with the SHACL report: problem JSON with its results, or the sh:ValidationReport graph in RDF."""
    fmt = negotiate(request.headers.get("Accept"), REPORT_FORMATS)
    count = len(exc.report.violations)
    detail = f"the write breaks {count} SHACL constraint{'s' if count != 1 else ''}; nothing was written"
    if fmt.key == "problem":
        body = {
            "type": PROBLEM_BASE + "validation-failed",
            "title": "Unprocessable content",
            "status": 422,
            "detail": detail,
            "results": [r.as_dict() for r in exc.report.results],
            "diff": {"added": len(exc.diff.added), "removed": len(exc.diff.removed)},
        }
        response = Response(json.dumps(body, ensure_ascii=False), status=422, mimetype="application/problem+json")
    else:
        data = exc.report.graph.serialize(
            format={"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}.get(fmt.key, "xml")
        )
        response = Response(data, status=422, content_type=fmt.content_type)
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response


def _summary(result: WriteResult, dry_run: bool) -> Response:
    body = result.as_dict()
    if not dry_run:  # the diff itself is in the change log (/changes/<seq>)
        body["diff"] = {k: v for k, v in body["diff"].items() if not k.endswith("NQuads")}
        if result.change:
            body["change"] = result.change["seq"]
    response = Response(json.dumps(body, ensure_ascii=False, indent=1), status=200, mimetype="application/json")
    return _stamp(response, result)


def _stamp(response: Response, result: WriteResult) -> Response:
    if result.version:  # "" when a remote write committed but its new version could not be read back
        response.headers[VERSION_HEADER] = result.version
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- SPARQL Update


def handle_update(update: str, token: Token | None = None) -> Response:
    """A SPARQL Update (from /sparql or /update): 200 with a JSON summary, 422 with the report.

    Authenticated first (``token``, when the caller already has it), then checked as queries are (length 413,
    nesting 400: pyoxigraph's parser recurses, so a deep update could crash the process) before anything parses
    it."""
    token = token or require_writer()
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    for name in ("using-graph-uri", "using-named-graph-uri"):
        if request.args.getlist(name) or (form and form.getlist(name)):
            raise BadRequest(f"{name} is not supported: use USING or GRAPH in the update")
    config = current_app.config["SITEGRAPH"]
    if len(update) > config.max_query_chars:
        raise PayloadTooLarge(f"the update has {len(update)} characters; the limit is {config.max_query_chars}")
    depth = nesting_depth(update)
    if depth > config.max_nesting:
        raise BadRequest(f"the update is nested {depth} levels deep; the limit is {config.max_nesting}")
    outcome = run_write(Change("update", update=update), token)
    if isinstance(outcome, Response):
        return outcome
    return _summary(outcome, _dry_run())


@bp.route("/update", methods=["POST", "OPTIONS"])
def update_endpoint() -> Response:
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Allow": "POST, OPTIONS"})
    token = require_writer()  # before the body is read
    return handle_update(read_update(), token)


def read_update() -> str:
    """The update text of a POST: form field ``update=`` or an ``application/sparql-update`` body."""
    if request.mimetype == "application/x-www-form-urlencoded":
        text = request.form.get("update")
        if text is None:
            raise BadRequest("no update: send update= in the form, or the update as application/sparql-update")
        return text
    if request.mimetype == "application/sparql-update":
        return decode_body()
    raise UnsupportedMediaType(
        f"POST an update as application/sparql-update or application/x-www-form-urlencoded, not "
        f"{request.mimetype or 'no type'}"
    )


def decode_body() -> str:
    charset = request.mimetype_params.get("charset", "utf-8")
    try:
        return request.get_data(cache=False).decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid {charset} text") from exc


# ---------------------------------------------------------------- Graph Store HTTP Protocol


def _target() -> ox.NamedNode | str | None:
    """The graph named by the request: a NamedNode, None for ``?default``, or "dataset" for neither."""
    graph = request.args.get("graph")
    if graph is not None and "default" in request.args:
        raise BadRequest("give either graph=<iri> or default, not both")
    if graph is not None:
        if not _IRI.fullmatch(graph):
            raise BadRequest(f"graph={graph!r} is not an absolute IRI")
        try:
            return ox.NamedNode(graph)
        except ValueError as exc:  # passes the pattern but is no valid IRI (e.g. a bad %-escape, two '#')
            raise BadRequest(f"graph={graph!r} is not a valid IRI: {exc}") from exc
    if "default" in request.args:
        return None
    return "dataset"


@bp.route("/graphs", methods=["GET", "PUT", "POST", "DELETE", "OPTIONS"])
def graphs() -> Response:
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Allow": "GET, HEAD, PUT, POST, DELETE, OPTIONS"})
    if request.method in ("GET", "HEAD"):
        return read_graph(_target())
    token = require_writer()  # 401/403 before the body is read or parsed
    target = _target()
    if target == "dataset":
        if request.method != "POST":
            raise BadRequest("name a graph: /graphs?graph=<iri> or /graphs?default (POST /graphs adds a dataset)")
        quads = parse_body(dataset=True)
        outcome = run_write(Change("post-dataset", quads=quads), token)
    elif request.method == "DELETE":
        outcome = run_write(Change("delete", graph=target), token)
    else:
        quads = parse_body(dataset=False)
        outcome = run_write(Change(request.method.lower(), graph=target, quads=quads), token)
    if isinstance(outcome, Response):
        return outcome
    if _dry_run():
        return _summary(outcome, True)
    status = 201 if outcome.created else 204
    response = Response(status=status)
    del response.headers["Content-Type"]  # no body
    if status == 201:
        response.headers["Location"] = request.full_path.rstrip("?")
    return _stamp(response, outcome)


def parse_body(dataset: bool) -> list[ox.Quad]:
    """The RDF in the request body, by its Content-Type; 400 naming the line when it does not parse.

    Call it only after ``require_writer``. RDF/XML with a document type declaration is refused (internal
    entities expand without limit: "billion laughs"). Blank nodes get fresh labels, the same within the body:
    a label such as ``_:c14n0`` in a body never joins a blank node the store holds."""
    fmt = BODY_FORMATS.get(request.mimetype)
    if fmt is None:
        offered = ", ".join(k for k, v in BODY_FORMATS.items() if not dataset or v in QUAD_FORMATS)
        raise UnsupportedMediaType(f"send the graph as one of {offered}, not {request.mimetype or 'no type'}")
    if dataset and fmt not in QUAD_FORMATS:
        raise UnsupportedMediaType("POST /graphs adds a dataset: send application/trig or application/n-quads")
    body = request.get_data(cache=False)
    if fmt == ox.RdfFormat.RDF_XML and _DECLARATIONS.search(body):
        raise BadRequest(
            "the RDF/XML body has a <!DOCTYPE or <!ENTITY declaration; entity declarations are not accepted "
            "(they can expand without limit): write the IRIs and literals out"
        )
    base = request.args.get("graph") or (request.url_root + "graphs")
    try:
        quads = _fresh_blank_nodes(ox.parse(body, format=fmt, base_iri=base))
    except SyntaxError as exc:
        raise BadRequest(f"the body is not valid {request.mimetype}: {exc}") from exc
    if not dataset and fmt in QUAD_FORMATS and any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise BadRequest("the body names graphs of its own; send triples for one graph, or POST the dataset to /graphs")
    return quads


def _fresh_blank_nodes(quads) -> list[ox.Quad]:
    """``quads`` with every blank node replaced by a new one (one new node per label of the body)."""
    fresh: dict[ox.BlankNode, ox.BlankNode] = {}

    def term(t):
        if isinstance(t, ox.BlankNode):
            if t not in fresh:
                fresh[t] = ox.BlankNode()
            return fresh[t]
        if isinstance(t, ox.Triple):  # RDF-star quoted triple
            return ox.Triple(term(t.subject), t.predicate, term(t.object))
        return t

    return [ox.Quad(term(q.subject), q.predicate, term(q.object), term(q.graph_name)) for q in quads]


def read_graph(target) -> Response:
    """GET (and HEAD) of one graph, in any RDF format by Accept; 404 when a named graph has no triples (on a
    remote store: the graphs under ``<base>graph/``, skolem IRIs shown as the blank nodes they stand for)."""
    opened = get_store()
    if target == "dataset":
        raise BadRequest("name a graph: /graphs?graph=<iri> or /graphs?default (the whole dataset: /dumps/)")
    name = target if target is not None else ox.DefaultGraph()
    fmt = negotiate(request.headers.get("Accept"), GRAPHS, request.args.get("format"))
    etag = f"{opened.version}-gsp-{fmt.key}-{hashlib.sha256(str(name).encode()).hexdigest()[:12]}"
    triples = [
        ox.Triple(q.subject, q.predicate, q.object) for q in opened.store.quads_for_pattern(None, None, None, name)
    ]
    if target is not None and not triples:
        raise NotFound(f"there is no graph <{target.value}> in dataset version {opened.version}")
    not_modified = conditional.not_modified(etag, opened.last_modified)
    if not_modified is not None:
        return not_modified
    if fmt.kind in QUAD_FORMATS:
        body = ox.serialize([ox.Quad(t.subject, t.predicate, t.object, name) for t in triples], format=fmt.kind)
    else:
        kwargs = {"prefixes": _prefixes()} if fmt.key in ("turtle", "rdfxml") else {}
        body = ox.serialize(triples, format=fmt.kind, **kwargs)
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return conditional.tag(response, etag, opened.last_modified)


def _prefixes() -> dict[str, str]:
    from graph.build import dump_prefixes

    return dump_prefixes()


# ---------------------------------------------------------------- the change log


@bp.get("/changes")
def changes() -> Response:
    """The writes committed since the sources were built (newest release's ``changes.jsonl``), without diffs."""
    opened = get_store()
    log = _log(opened)
    summary = [{k: v for k, v in r.items() if not k.endswith("NQuads")} for r in log]
    body = {"version": opened.version, "changes": summary}
    response = Response(json.dumps(body, ensure_ascii=False, indent=1), mimetype="application/json")
    # a write and its undoing give the same data (and version) with a longer log: the ETag counts the log too
    return conditional.tag(response, f"{opened.version}-changes-{len(log)}", opened.last_modified)


@bp.get("/changes/<int:seq>")
def change(seq: int) -> Response:
    """One committed write with its diff (``addedNQuads``, ``removedNQuads``)."""
    opened = get_store()
    log = _log(opened)
    if not 1 <= seq <= len(log):
        raise NotFound(f"there is no change {seq}; this release has {len(log)}")
    response = Response(json.dumps(log[seq - 1], ensure_ascii=False, indent=1), mimetype="application/json")
    return conditional.tag(response, f"{opened.version}-change-{seq}-{len(log)}", opened.last_modified)


def _log(opened: OpenRelease) -> list[dict]:
    """The change log: the release's ``changes.jsonl``, or on a remote store its change log graph."""
    if isinstance(opened.store, ox.Store):
        return read_changes(opened.release)
    return read_remote_changes(opened.store)
