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

What no cache answers is evaluated in a worker process of ``server.query_pool``, with a time limit
(``query_timeout``, or the request's ``timeout=`` up to ``max_query_timeout``) past which the worker is killed and
the answer is a 503, and with answers cut at ``max_result_rows`` / ``max_result_bytes`` (the header
``Sitegraph-Results-Truncated`` says so). FROM / FROM NAMED and the protocol's graph parameters may only name
graphs of the release; SERVICE only the endpoints of ``service_allow``.
"""

from __future__ import annotations

import hashlib
import logging
import math
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
from graph.query import dataset_clauses, refuse_outbound
from graph.query import nesting_depth as query_nesting_depth

from . import conditional, ops, query_pool
from .errors import (
    BadGateway,
    BadRequest,
    HttpProblem,
    NotAcceptable,
    PayloadTooLarge,
    QuerySyntaxError,
    QueryTimeout,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from .negotiation import GRAPHS, HTML, RESULTS, Format, negotiate
from .service import service_description
from .store import get_store

bp = Blueprint("sparql", __name__)
log = logging.getLogger("sitegraph.server")
TRUNCATED = "Sitegraph-Results-Truncated"  # response header: which cap cut the answer (rows=N or bytes=N)

_IRI = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*")


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
    """The deepest nesting of ( { [ outside strings and comments (``graph.query.nesting_depth``)."""
    return query_nesting_depth(query)


def check_query(
    query: str, max_chars: int, max_nesting: int, allow: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Refuse what must never reach the engine: too long, nested too deep (the parser recurses), SERVICE (but
    to the endpoints in ``allow``). Returns the IRIs of the query's FROM and FROM NAMED clauses."""
    if len(query) > max_chars:
        raise PayloadTooLarge(f"the query has {len(query)} characters; the limit is {max_chars}")
    depth = nesting_depth(query)
    if depth > max_nesting:
        raise BadRequest(f"the query is nested {depth} levels deep; the limit is {max_nesting}")
    try:
        refuse_outbound(query, allow)
        return dataset_clauses(query)
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
        from .writes import require_writer

        require_writer()  # 401/403 before the body of an update is even read
        charset = request.mimetype_params.get("charset", "utf-8")
        try:
            body = request.get_data(cache=False).decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body is not valid {charset} text") from exc
        return None, body, [], []
    raise UnsupportedMediaType(
        f"POST a query as application/sparql-query or application/x-www-form-urlencoded, not {mimetype or 'no type'}"
    )


def _graph_list(values: list[str], name: str) -> list[ox.NamedNode] | None:
    if not values:
        return None
    nodes = []
    for value in values:
        if not _IRI.fullmatch(value):
            raise BadRequest(f"{name}={value!r} is not an absolute IRI")
        try:
            nodes.append(ox.NamedNode(value))
        except ValueError as exc:  # what the pattern lets through but RFC 3987 does not (%zz, a second #, …)
            raise BadRequest(f"{name}={value!r} is not a valid IRI: {exc}") from exc
    return nodes


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def sparql() -> Response:
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Allow": "GET, POST, OPTIONS"})
    config = current_app.config["SITEGRAPH"]
    query, update, default_graphs, named_graphs = _read_request()
    if update is not None:  # SPARQL Update: for token holders only (server.writes)
        if query is not None:
            raise BadRequest("send either query= or update=, not both")
        from .writes import handle_update

        return handle_update(update)
    if query is None:
        if request.method == "POST":
            raise BadRequest("no query: send query= in the form, or the query as application/sparql-query")
        fmt = negotiate(request.headers.get("Accept"), [*GRAPHS, HTML], request.args.get("format"))
        if fmt is HTML:
            return redirect("/", code=303)
        return service_description(fmt)
    timeout = _timeout(config)
    check = _checked if len(query) <= _MEMO_CHARS else check_query
    from_graphs, from_named = check(query, config.max_query_chars, config.max_nesting, tuple(config.service_allow))

    opened = get_store()
    _graph_list(default_graphs, "default-graph-uri")
    _graph_list(named_graphs, "named-graph-uri")
    _refuse_unknown_graphs(
        opened.release.manifest.get("graphs", {}),
        [("FROM", from_graphs), ("FROM NAMED", from_named)],
        [("default-graph-uri", default_graphs), ("named-graph-uri", named_graphs)],
    )
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
        query_dataset = bool(from_graphs or from_named)
        cached = _evaluate(
            opened, query, default_graphs, named_graphs, accept, format_param, config, timeout, query_dataset
        )
        _cache().put(key, cached)
    body, content_type, truncated = cached
    response = Response(body, content_type=content_type)
    response.headers["Vary"] = "Accept"
    if truncated:
        response.headers[TRUNCATED] = truncated
    return conditional.tag(response, etag, opened.last_modified)


def _timeout(config: Any) -> float:
    """The request's ``timeout=`` (URL or form), within ``max_query_timeout``; ``query_timeout`` without one."""
    raw = request.args.get("timeout")
    if raw is None and request.mimetype == "application/x-www-form-urlencoded":
        raw = request.form.get("timeout")
    try:
        return query_pool.timeout_seconds(raw, config.query_timeout, config.max_query_timeout)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def _refuse_unknown_graphs(
    graphs: Iterable[str], in_query: list[tuple[str, tuple[str, ...]]], in_request: list[tuple[str, list[str]]]
) -> None:
    """FROM / FROM NAMED and default-graph-uri / named-graph-uri select graphs of this dataset, nothing else:
    a graph the release does not hold (a file, a URL) is a 400 naming it, and is never fetched."""
    known = set(graphs)
    for clause, iris in in_query:
        for iri in iris:
            if iri not in known:
                raise BadRequest(
                    f"{clause} <{iri}> is not a graph of this dataset: FROM selects graphs of the store and never "
                    "loads anything (the graphs are listed in the service description, GET /sparql)"
                )
    for name, iris in in_request:
        for iri in iris:
            if iri not in known:
                raise BadRequest(f"{name}={iri} is not a graph of this dataset (see the service description)")


@lru_cache(maxsize=512)
def _negotiated(accept: str | None, kind: str, format_param: str | None) -> Format:
    """``negotiate`` remembered per (Accept, kind of answer, format=): clients send the same few headers again."""
    return negotiate(accept, GRAPHS if kind == "graphs" else RESULTS, format_param)


def _formats(accept: str | None, format_param: str | None) -> dict[str, Format | NotAcceptable]:
    """The negotiated format for each form of answer, or the NotAcceptable to raise if the query has that form."""
    chosen: dict[str, Format | NotAcceptable] = {}
    for kind in ("results", "graphs"):
        try:
            chosen[kind] = _negotiated(accept, kind, format_param)
        except NotAcceptable as exc:
            chosen[kind] = exc
    return chosen


def _evaluate(
    opened: Any,
    query: str,
    default_graphs: list[str],
    named_graphs: list[str],
    accept: str | None,
    format_param: str | None,
    config: Any,
    timeout: float,
    query_dataset: bool = False,
) -> tuple[bytes, str, str | None]:
    """(body, content type, truncation) of the query, evaluated in a worker process of the query pool."""
    formats = _formats(accept, format_param)
    if not isinstance(opened.store, ox.Store):  # a remote store: it is asked in-process and has its own limits
        return _evaluate_here(
            opened.store,
            query,
            _graph_list(default_graphs, "default-graph-uri"),
            _graph_list(named_graphs, "named-graph-uri"),
            formats,
            config,
            timeout,
        )
    job = query_pool.Job(
        release_path=str(opened.release.path),
        version=opened.version,
        query=query,
        default_graphs=tuple(default_graphs) or None,
        named_graphs=tuple(named_graphs) or None,
        union_default=config.default_graph == "union",
        query_dataset=query_dataset,
        results_format=_key(formats["results"]),
        graphs_format=_key(formats["graphs"]),
        max_rows=config.max_result_rows,
        max_bytes=config.max_result_bytes,
    )
    try:
        answer = run_in_pool(job, timeout, config)
    except query_pool.NoAcceptableFormat as exc:
        raise formats[exc.args[0]] from None  # type: ignore[misc]
    fmt = formats[answer.kind]
    assert isinstance(fmt, Format)
    return answer.body, fmt.content_type, answer.truncated


def run_in_pool(job: query_pool.Job, timeout: float, config: Any) -> query_pool.Answer:
    """The answer to ``job`` from this process's query pool, its failures as HTTP problems: a syntax error 400,
    the time limit or a pool busy past it 503 (with Retry-After), a failed allowed SERVICE call 502."""
    pool = query_pool.get_pool(config.query_workers, config.query_memory_mb, network=bool(config.service_allow))
    retry = {"Retry-After": str(max(1, math.ceil(timeout)))}
    try:
        answer = pool.run(job, timeout)
        if request:  # the access log's result_count (server/ops.py)
            request.environ[ops.RESULT_COUNT] = answer.rows
        return answer
    except query_pool.QuerySyntax as exc:
        raise QuerySyntaxError(f"SPARQL syntax error: {exc}") from exc
    except query_pool.QueryStopped as exc:
        ops.count_timeout()
        ops.count_cancelled()  # its worker was killed mid-query
        raise QueryTimeout(
            f"the query was stopped after {timeout:g} s, its time limit (timeout= may ask for up to "
            f"{config.max_query_timeout:g} s)",
            headers=retry,
        ) from exc
    except query_pool.PoolBusy as exc:
        raise ServiceUnavailable(f"{exc}; try again shortly", headers=retry) from exc
    except query_pool.WorkerLost as exc:
        ops.count_cancelled()
        log.error("%s; query: %.500s", exc, job.query)
        raise ServiceUnavailable(
            f"the query's worker ended before answering — possibly over its memory limit of "
            f"{config.query_memory_mb} MB (setting query_memory_mb); it was replaced, try again or ask less",
            headers=retry,
        ) from exc
    except query_pool.QueryFailed as exc:
        if config.service_allow and "SERVICE" in job.query.upper():
            raise BadGateway(f"the query failed, maybe in its SERVICE call: {exc}") from exc
        log.error("query evaluation failed: %s; query: %.500s", exc, job.query)
        raise HttpProblem("the query could not be evaluated; the error was logged") from exc


def _key(chosen: Format | NotAcceptable) -> str | None:
    return chosen.key if isinstance(chosen, Format) else None


def _evaluate_here(
    store: Any,
    query: str,
    default: Any,
    named: Any,
    formats: dict[str, Format | NotAcceptable],
    config: Any,
    timeout: float,
) -> tuple[bytes, str, str | None]:
    """Evaluation by a remote store, asked from this process: the request's time limit is the remote request's,
    and the answer is capped and marked truncated as the pool does (``graph.results``)."""
    from graph.remote_store import RemoteStoreUnavailable
    from graph.results import write_results, write_triples

    kwargs: dict = {"named_graphs": named, "timeout": timeout}
    if default is not None:
        kwargs["default_graph"] = default
    else:
        kwargs["use_default_graph_as_union"] = config.default_graph == "union"
    try:
        results = store.query(query, **kwargs)
    except SyntaxError as exc:
        raise QuerySyntaxError(f"SPARQL syntax error: {exc}") from exc
    except RemoteStoreUnavailable as exc:
        if _timed_out(exc):
            raise QueryTimeout(
                f"the query was stopped after {timeout:g} s, its time limit (timeout= may ask for up to "
                f"{config.max_query_timeout:g} s)",
                headers={"Retry-After": str(max(1, math.ceil(timeout)))},
            ) from exc
        raise
    kind = "graphs" if isinstance(results, ox.QueryTriples) else "results"
    fmt = formats[kind]
    if isinstance(fmt, NotAcceptable):
        raise fmt
    if kind == "graphs":
        written = write_triples(results, fmt.kind, config.max_result_rows, config.max_result_bytes)
    else:
        written = write_results(results, fmt.key, config.max_result_rows, config.max_result_bytes)
    return written.body, fmt.content_type, written.truncated


def _timed_out(exc: BaseException) -> bool:
    """Whether a remote failure was the time limit running out (an ``httpx`` timeout somewhere in its causes)."""
    import httpx

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx.TimeoutException):
            return True
        cause = cause.__cause__
    return False


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
