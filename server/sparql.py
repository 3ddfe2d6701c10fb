"""The SPARQL 1.1 Protocol at ``/sparql`` (query operation), on the embedded store opened read-only.

GET ``?query=``, POST ``application/x-www-form-urlencoded`` and POST ``application/sparql-query``;
``default-graph-uri`` / ``named-graph-uri`` select the dataset; results are negotiated (Accept with q-values,
or ``format=``). Answers carry an ETag made of the dataset version and the request, so a client that asks
again with ``If-None-Match`` gets a 304 without the query being run. Without a query, GET answers with the
service description.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import OrderedDict
from threading import Lock

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, redirect, request

from graph.errors import UsageError
from graph.query import refuse_outbound

from . import conditional
from .errors import BadRequest, MethodNotAllowed, PayloadTooLarge, QuerySyntaxError, UnsupportedMediaType
from .negotiation import GRAPHS, HTML, RESULTS, negotiate
from .service import service_description
from .store import get_store

bp = Blueprint("sparql", __name__)

_IRI = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*")
_STRINGS_COMMENTS = re.compile(
    r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>|\#[^\n]*""",
    re.DOTALL,
)


class ResultCache:
    """Serialized answers by (dataset version, request); bounded, least recently used out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = Lock()

    def get(self, key: str) -> tuple[bytes, str] | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: tuple[bytes, str]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def _cache() -> ResultCache:
    ext = current_app.extensions
    if "sitegraph.results" not in ext:
        ext["sitegraph.results"] = ResultCache(current_app.config["SITEGRAPH"].cache_entries)
    return ext["sitegraph.results"]


def nesting_depth(query: str) -> int:
    """The deepest nesting of ( { [ outside strings, IRIs and comments."""
    depth = deepest = 0
    for char in _STRINGS_COMMENTS.sub(" ", query):
        if char in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")}]":
            depth -= 1
    return deepest


def _read_request() -> tuple[str | None, str | None, list[str], list[str]]:
    """(query, update, default-graph-uri list, named-graph-uri list) from any of the protocol's forms."""
    args = request.args
    if request.method == "GET":
        return args.get("query"), None, args.getlist("default-graph-uri"), args.getlist("named-graph-uri")
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        form = request.form
        if "query" in args and "query" in form:
            raise BadRequest("the query is given both in the URL and in the body")
        return (
            form.get("query", args.get("query")),
            form.get("update"),
            form.getlist("default-graph-uri") or args.getlist("default-graph-uri"),
            form.getlist("named-graph-uri") or args.getlist("named-graph-uri"),
        )
    if mimetype == "application/sparql-query":
        charset = request.mimetype_params.get("charset", "utf-8")
        try:
            body = request.get_data(cache=False).decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body is not valid {charset} text") from exc
        return body, None, args.getlist("default-graph-uri"), args.getlist("named-graph-uri")
    if mimetype == "application/sparql-update":
        return None, "(update)", [], []
    raise UnsupportedMediaType(
        f"POST a query as application/sparql-query or application/x-www-form-urlencoded, not {mimetype or 'no type'}"
    )


def _graph_list(values: list[str], name: str) -> list[ox.NamedNode] | None:
    if not values:
        return None
    for value in values:
        if not _IRI.fullmatch(value):
            raise BadRequest(f"{name}={value!r} is not an absolute IRI")
    return [ox.NamedNode(v) for v in values]


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def sparql() -> Response:
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Allow": "GET, POST, OPTIONS"})
    config = current_app.config["SITEGRAPH"]
    query, update, default_graphs, named_graphs = _read_request()
    if update is not None:
        raise MethodNotAllowed(
            "this endpoint is read-only: SPARQL Update is not accepted", headers={"Allow": "GET, POST, OPTIONS"}
        )
    if query is None:
        if request.method == "POST":
            raise BadRequest("no query: send query= in the form, or the query as application/sparql-query")
        fmt = negotiate(request.headers.get("Accept"), [*GRAPHS, HTML], request.args.get("format"))
        if fmt is HTML:
            return redirect("/", code=303)
        return service_description(fmt)
    if len(query) > config.max_query_chars:
        raise PayloadTooLarge(f"the query has {len(query)} characters; the limit is {config.max_query_chars}")
    depth = nesting_depth(query)
    if depth > config.max_nesting:
        raise BadRequest(f"the query is nested {depth} levels deep; the limit is {config.max_nesting}")
    try:
        refuse_outbound(query)
    except UsageError as exc:
        raise BadRequest(str(exc)) from exc

    opened = get_store()
    default = _graph_list(default_graphs, "default-graph-uri")
    named = _graph_list(named_graphs, "named-graph-uri")
    accept = request.headers.get("Accept")
    format_param = request.args.get("format") or request.form.get("format")
    key = hashlib.sha256(
        "\x00".join(
            [opened.version, query, *default_graphs, "|", *named_graphs, accept or "", format_param or ""]
        ).encode()
    ).hexdigest()
    etag = f"{opened.version}-{key[:20]}"
    not_modified = conditional.not_modified(etag, opened.last_modified)
    if not_modified is not None:
        return not_modified
    cached = _cache().get(key)
    if cached is None:
        cached = _evaluate(opened.store, query, default, named, accept, format_param, config.default_graph)
        _cache().put(key, cached)
    body, content_type = cached
    response = Response(body, content_type=content_type)
    response.headers["Vary"] = "Accept"
    return conditional.tag(response, etag, opened.last_modified)


def _evaluate(store, query, default, named, accept, format_param, default_graph_mode) -> tuple[bytes, str]:
    kwargs: dict = {"named_graphs": named}
    if default is not None:
        kwargs["default_graph"] = default
    else:
        kwargs["use_default_graph_as_union"] = default_graph_mode == "union"
    try:
        results = store.query(query, **kwargs)
    except SyntaxError as exc:
        raise QuerySyntaxError(f"SPARQL syntax error: {exc}") from exc
    if isinstance(results, ox.QueryTriples):
        fmt = negotiate(accept, GRAPHS, format_param)
        return ox.serialize(list(results), format=fmt.kind), fmt.content_type
    fmt = negotiate(accept, RESULTS, format_param)
    out = io.BytesIO()
    results.serialize(out, fmt.kind)
    return out.getvalue(), fmt.content_type
