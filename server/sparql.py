"""The SPARQL 1.1 Protocol at ``/sparql`` (query operation), on the embedded store opened read-only.

GET ``?query=``, POST ``application/x-www-form-urlencoded`` and POST ``application/sparql-query``;
``default-graph-uri`` / ``named-graph-uri`` select the dataset; results are negotiated (Accept with q-values,
or ``format=``). Answers carry an ETag made of the dataset version and the request, so a client that asks
again with ``If-None-Match`` gets a 304 without the query being run. Without a query, GET answers with the
service description.

The hot path. A repeated GET of the same query is the common case (a page, a notebook or a dashboard asking
again), so it is answered without entering Flask: ``AnswerReplay`` wraps the app's WSGI callable and keeps, per
dataset version, the exact status, headers and body the full app gave for a GET of the same query string with the
same Accept header — the 200, and the 304 for a matching ``If-None-Match``. That is what an HTTP cache in front of
the server would do with these answers (``Cache-Control: public, no-cache``, ``ETag``, ``Vary: Accept``), with the
revalidation done on every request against the dataset version the store holder sees. Only what the full app has
answered itself is replayed; requests with a body, an ``Origin`` (CORS headers depend on it), ``If-Modified-Since``
without ``If-None-Match``, or any other method or path always go through Flask. With ``cache_entries = 0`` there is
neither result cache nor replay.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from threading import Lock
from typing import Any, NamedTuple

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, redirect, request
from flask.blueprints import BlueprintSetupState
from werkzeug.http import parse_etags

from graph.errors import UsageError
from graph.query import refuse_outbound

from . import conditional
from .errors import BadRequest, MethodNotAllowed, PayloadTooLarge, QuerySyntaxError, UnsupportedMediaType
from .negotiation import GRAPHS, HTML, RESULTS, Format, negotiate
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
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
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


def check_query(query: str, max_chars: int, max_nesting: int) -> None:
    """Refuse what must never reach the engine: too long, nested too deep (the parser recurses), SERVICE."""
    if len(query) > max_chars:
        raise PayloadTooLarge(f"the query has {len(query)} characters; the limit is {max_chars}")
    depth = nesting_depth(query)
    if depth > max_nesting:
        raise BadRequest(f"the query is nested {depth} levels deep; the limit is {max_nesting}")
    try:
        refuse_outbound(query)
    except UsageError as exc:
        raise BadRequest(str(exc)) from exc


# the checks scan the text character by character; a query asked again (the usual case) is not scanned again.
# Only passing checks are remembered (an exception is not cached), and only for queries of ordinary length.
_MEMO_CHARS = 4096
_checked = lru_cache(maxsize=1024)(check_query)


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
    if len(query) <= _MEMO_CHARS:
        _checked(query, config.max_query_chars, config.max_nesting)
    else:
        check_query(query, config.max_query_chars, config.max_nesting)

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
    request.environ[ANSWERED] = (opened.version, etag)
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


@lru_cache(maxsize=512)
def _negotiated(accept: str | None, kind: str, format_param: str | None) -> Format:
    """``negotiate`` remembered per (Accept, kind of answer, format=): clients send the same few headers again."""
    return negotiate(accept, GRAPHS if kind == "graphs" else RESULTS, format_param)


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
        fmt = _negotiated(accept, "graphs", format_param)
        return ox.serialize(list(results), format=fmt.kind), fmt.content_type
    fmt = _negotiated(accept, "results", format_param)
    out = io.BytesIO()
    results.serialize(out, fmt.kind)
    return out.getvalue(), fmt.content_type


# ---------------------------------------------------------------- replay of answers, in front of Flask

ANSWERED = "sitegraph.sparql.answered"  # environ key: (dataset version, ETag) of a query the view answered
_WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class _Recorded(NamedTuple):
    etag: str
    ok: tuple[str, tuple[tuple[str, str], ...], bytes] | None  # status, headers, body of the 200
    not_modified: tuple[str, tuple[tuple[str, str], ...], bytes] | None  # the 304 for a matching If-None-Match


def replayable(environ: dict) -> bool:
    """A GET of /sparql that only its URL and headers describe: no body, no Origin."""
    return (
        environ.get("REQUEST_METHOD") == "GET"
        and environ.get("PATH_INFO") == "/sparql"
        and "HTTP_ORIGIN" not in environ
        and environ.get("CONTENT_LENGTH") in (None, "", "0")
        and "HTTP_TRANSFER_ENCODING" not in environ
    )


class AnswerReplay:
    """WSGI middleware: answers a repeated GET of the same query (same query string, same Accept, same dataset
    version) with what the full app answered for it, without entering Flask (see the module docstring)."""

    def __init__(self, app: _WSGIApp, flask_app: Flask, size: int) -> None:
        self.app = app
        self.flask_app = flask_app
        self.recorded = ResultCache(size)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not replayable(environ):
            return self.app(environ, start_response)
        try:
            version = self.flask_app.extensions["sitegraph.store"].get().version
        except Exception:  # no build yet, or it cannot be opened: the app answers (503 …)
            return self.app(environ, start_response)
        key = (version, environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT"))
        recorded = self.recorded.get(key)
        if recorded is not None:
            answer = self._choose(recorded, environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, list(headers))
                return [body] if body else []
        return self._record(key, environ, start_response)

    @staticmethod
    def _choose(recorded: _Recorded, environ: dict) -> tuple[str, tuple[tuple[str, str], ...], bytes] | None:
        """What the view would answer (``conditional.not_modified``), or None where only the app can tell."""
        etags = parse_etags(environ.get("HTTP_IF_NONE_MATCH"))
        if etags:
            return recorded.not_modified if etags.contains_weak(recorded.etag) else recorded.ok
        if environ.get("HTTP_IF_MODIFIED_SINCE"):
            return None
        return recorded.ok

    def _record(self, key: tuple, environ: dict, start_response: Callable) -> Iterable[bytes]:
        seen: list = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        answered = environ.get(ANSWERED)
        if answered is None or answered[0] != key[0] or not seen:
            return result
        status, headers = seen
        if status.startswith("200 "):
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            result = [body]
            previous = self.recorded.get(key)
            kept = previous.not_modified if previous is not None and previous.etag == answered[1] else None
            self.recorded.put(key, _Recorded(answered[1], (status, tuple(headers), body), kept))
        elif status.startswith("304 "):
            previous = self.recorded.get(key)
            kept = previous.ok if previous is not None and previous.etag == answered[1] else None
            self.recorded.put(key, _Recorded(answered[1], kept, (status, tuple(headers), b"")))
        return result


@bp.record_once
def _install_replay(state: BlueprintSetupState) -> None:
    size = state.app.config["SITEGRAPH"].cache_entries
    if size > 0:
        state.app.wsgi_app = AnswerReplay(state.app.wsgi_app, state.app, size)  # type: ignore[method-assign]
