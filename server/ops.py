"""Operations: health and readiness probes, Prometheus metrics, and a structured access log.

- ``GET /health``  liveness: 200 whenever the process answers; touches nothing else
- ``GET /ready``   readiness: 200 with the open release (triples, dataset version, release folder), or a 503
  problem+json when nothing is built or the store cannot be opened
- ``GET /metrics`` Prometheus text exposition: requests by route, method and status; latency histograms by
  route; query timeouts and cancellations; writes by outcome; the store's size and dataset version

Requests are measured by ``Observe``, the outermost WSGI middleware (``init_app`` must run after every
blueprint is registered), so answers replayed by ``sparql.AnswerReplay`` in front of Flask are counted and logged
like the others, and a streamed body is measured until the server closes it. Routes are URL rules
(``/id/<path:rest>``), never raw paths, so the number of series stays bounded: Flask's matched rule is put into
the environ by a ``before_request`` hook; a request that reached no view is ``/sparql`` when that was its path
(a replayed answer), else ``(unmatched)``.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``scripts/run.sh`` and ``server/gunicorn.conf.py`` make a fresh folder),
each worker process writes its counts there and ``/metrics`` adds them up, whichever worker answers the scrape;
without it the counts are this process's. The store's size and version are read at scrape time.

For other modules (call them in the process that serves the request):

- ``count_timeout()``: a query was stopped because it ran past its time limit
- ``count_cancelled()``: a query was cancelled before it finished (its worker killed at the time limit, or ended)
- ``count_write(outcome)``: a write request ended; ``outcome`` is one of a small fixed set (``committed``,
  ``rejected``, ``conflict``, ``failed``, …), never free text
- ``environ[QUERY_TEXT]``: the SPARQL text of the request, when it is not a GET ``?query=`` of /sparql (hashed
  into the access log's ``query_hash``); POSTs to /sparql are noted here already
- ``environ[RESULT_COUNT]``: rows (or triples) in the answer, when the view or the query pool knows it

Access log (setting ``access_log``: ``json``, the default, or ``off``): one JSON object per request on stderr,
logger ``sitegraph.access``, with time, method, route, path, status, duration_ms, query_hash, result_count,
bytes, client and user_agent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from graph.errors import UsageError

from .errors import PROBLEM_BASE

bp = Blueprint("ops", __name__)
access_log = logging.getLogger("sitegraph.access")

ROUTE = "sitegraph.route"  # environ: the URL rule of the view that answered
QUERY_TEXT = "sitegraph.query_text"  # environ: the SPARQL text of the request
RESULT_COUNT = "sitegraph.result_count"  # environ: rows or triples in the answer
UNMATCHED = "(unmatched)"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ACCESS_LOG_MODES = ("json", "off")


class _Metrics:
    """The process's metric objects, made once (``metrics()``); in multiprocess mode each writes to a file."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sitegraph_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "sitegraph_http_request_duration_seconds",
            "Time from receiving a request to the end of its response body",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.timeouts = Counter(
            "sitegraph_query_timeouts", "Queries stopped at their time limit", registry=self.registry
        )
        self.cancelled = Counter(
            "sitegraph_queries_cancelled", "Queries cancelled before finishing", registry=self.registry
        )
        self.writes = Counter("sitegraph_writes", "Write requests by outcome", ["outcome"], registry=self.registry)


_metrics: _Metrics | None = None
_metrics_lock = threading.Lock()


def metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        with _metrics_lock:
            if _metrics is None:
                _metrics = _Metrics()
    return _metrics


def count_timeout() -> None:
    """One query stopped because it ran past its time limit."""
    metrics().timeouts.inc()


def count_cancelled() -> None:
    """One query cancelled before it finished: the worker process evaluating it was killed at the query's time
    limit, or ended on its own (over its memory limit); a client that goes away does not stop a query."""
    metrics().cancelled.inc()


def count_write(outcome: str) -> None:
    """One write request ended with ``outcome`` (a small fixed set such as committed/rejected/conflict/failed)."""
    metrics().writes.labels(outcome).inc()


def multiprocess_dir() -> str | None:
    """The folder worker processes share their counts in, or None when each process reports its own."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


# ---------------------------------------------------------------- probes and the scrape


def _problem(status: int, title: str, slug: str, detail: str) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health")
def health() -> Response:
    return Response('{"status": "ok"}\n', mimetype="application/json", headers={"Cache-Control": "no-store"})


@bp.get("/ready")
def ready() -> Response:
    try:
        opened = current_app.extensions["sitegraph.store"].get()
    except Exception as exc:  # nothing built, a release that cannot be read or opened
        detail = getattr(exc, "detail", None) or f"the store cannot be opened: {exc}"
        return _problem(503, "Service unavailable", "unavailable", detail)
    body = {
        "status": "ready",
        "store": "open",
        "triples": opened.release.manifest.get("quads"),
        "version": opened.version,
        "release": opened.release.path.name,
        "last_modified": opened.last_modified.isoformat(),
    }
    response = current_app.json.response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


class _StoreCollector:
    """The open release's size and version, read when scraped."""

    def __init__(self, holder: Any) -> None:
        self.holder = holder

    def collect(self) -> Iterator[Any]:
        try:
            opened = self.holder.get()
        except Exception:
            yield GaugeMetricFamily("sitegraph_store_open", "1 when the current release is open", value=0)
            return
        yield GaugeMetricFamily("sitegraph_store_open", "1 when the current release is open", value=1)
        quads = opened.release.manifest.get("quads")
        if quads is not None:
            yield GaugeMetricFamily("sitegraph_store_quads", "Quads in the served release", value=int(quads))
        info = InfoMetricFamily("sitegraph_dataset", "The served dataset version and release folder")
        info.add_metric([], {"version": opened.version, "release": opened.release.path.name})
        yield info


class _Forward:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Any]:
        return self.registry.collect()


@bp.get("/metrics")
def scrape() -> Response:
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        MultiProcessCollector(registry, path)
    else:
        registry.register(_Forward(metrics().registry))  # type: ignore[arg-type]
    registry.register(_StoreCollector(current_app.extensions["sitegraph.store"]))  # type: ignore[arg-type]
    return Response(generate_latest(registry), content_type=METRICS_TYPE, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- measuring every request


@lru_cache(maxsize=1024)
def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


@lru_cache(maxsize=1024)
def _hash_of_query_string(query_string: str) -> str | None:
    values = parse_qs(query_string).get("query")
    return _hash(values[0]) if values else None


def query_hash(environ: dict) -> str | None:
    """sha256[:12] of the request's SPARQL text: ``environ[QUERY_TEXT]``, or the ``query`` of a GET of /sparql."""
    text = environ.get(QUERY_TEXT)
    if text is not None:
        return _hash(text)
    qs = environ.get("QUERY_STRING", "")
    if "query=" in qs and environ.get("PATH_INFO") == "/sparql":
        return _hash_of_query_string(qs)
    return None


class Observe:
    """WSGI middleware: counts, times and logs every request, the whole body included."""

    def __init__(self, app: Callable, log: bool) -> None:
        self.app = app
        self.log = log
        self._metrics = metrics()
        self._requests: dict[tuple[str, str, str], Any] = {}
        self._latency: dict[str, Any] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        exchange = _Exchange(self, environ, start_response)
        try:
            result = self.app(environ, exchange.start_response)
        except BaseException:
            exchange.status = "500"
            exchange.finish()
            raise
        if isinstance(result, list):  # the whole body is at hand (replayed answers): done now
            exchange.sent = sum(map(len, result))
            exchange.finish()
            return result
        return _Measured(result, exchange)

    def record(self, exchange: _Exchange, duration: float) -> None:
        environ = exchange.environ
        route = environ.get(ROUTE) or ("/sparql" if environ.get("PATH_INFO") == "/sparql" else UNMATCHED)
        method = environ.get("REQUEST_METHOD", "")
        method = method if method in METHODS else "other"
        status = exchange.status[:3] or "000"
        key = (route, method, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self._metrics.requests.labels(route, method, status)
        child.inc()
        hist = self._latency.get(route)
        if hist is None:
            hist = self._latency[route] = self._metrics.latency.labels(route)
        hist.observe(duration)
        if self.log:
            entry = {
                "time": datetime.fromtimestamp(exchange.started_at, UTC).isoformat(timespec="milliseconds"),
                "method": environ.get("REQUEST_METHOD"),
                "route": route,
                "path": environ.get("PATH_INFO"),
                "status": int(status),
                "duration_ms": round(duration * 1000, 3),
                "query_hash": query_hash(environ),
                "result_count": environ.get(RESULT_COUNT),
                "bytes": exchange.sent,
                "client": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            }
            write_access(entry)


class _Exchange:
    __slots__ = ("done", "environ", "observer", "sent", "start", "started_at", "status", "upstream")

    def __init__(self, observer: Observe, environ: dict, start_response: Callable) -> None:
        self.observer = observer
        self.environ = environ
        self.upstream = start_response
        self.start = time.perf_counter()
        self.started_at = time.time()
        self.status = ""
        self.sent = 0
        self.done = False

    def start_response(self, status: str, headers: list, exc_info: Any = None) -> Callable:
        self.status = status
        return self.upstream(status, headers, exc_info)

    def finish(self) -> None:
        if not self.done:
            self.done = True
            self.observer.record(self, time.perf_counter() - self.start)


class _Measured:
    """The app's body, passed through chunk by chunk; the request is recorded when the server closes it."""

    __slots__ = ("exchange", "inner", "next")

    def __init__(self, inner: Iterable[bytes], exchange: _Exchange) -> None:
        self.inner = inner
        self.exchange = exchange
        self.next = iter(inner).__next__

    def __iter__(self) -> _Measured:
        return self

    def __next__(self) -> bytes:
        chunk = self.next()
        self.exchange.sent += len(chunk)
        return chunk

    def close(self) -> None:
        try:
            if hasattr(self.inner, "close"):
                self.inner.close()
        finally:
            self.exchange.finish()


# ---------------------------------------------------------------- wiring


class _StderrJson(logging.Handler):
    """Writes each record's message as one line to the current ``sys.stderr`` (line-buffered)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(record.getMessage() + "\n")
        except Exception:
            self.handleError(record)


_encode = json.JSONEncoder(ensure_ascii=False).encode


def write_access(entry: dict) -> None:
    """One access-log line. Only this module's stderr handler listening (the usual case), the line is written
    straight to stderr: a ``LogRecord`` costs about 10 µs, as much as a replayed answer. Any other handler (or a
    filter) on ``sitegraph.access`` gets the record as usual, with the entry as its ``access`` attribute."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    handlers = access_log.handlers
    if len(handlers) == 1 and type(handlers[0]) is _StderrJson and not access_log.filters:
        with contextlib.suppress(OSError, ValueError):  # stderr closed or gone: the request itself is unaffected
            sys.stderr.write(_encode(entry) + "\n")
    else:
        access_log.info(_encode(entry), extra={"access": entry})


def _note_route() -> None:
    environ = request.environ
    rule = request.url_rule
    if rule is not None:
        environ[ROUTE] = rule.rule
        if request.method == "POST" and rule.endpoint == "sparql.sparql" and QUERY_TEXT not in environ:
            _note_posted_query(environ)


def _note_posted_query(environ: dict) -> None:
    """The text of a POSTed query (the form and the body are cached, so the view reads them again for free)."""
    if request.mimetype == "application/x-www-form-urlencoded":
        text = request.form.get("query")
    elif request.mimetype == "application/sparql-query":
        text = request.get_data().decode(request.mimetype_params.get("charset", "utf-8"), "replace")
    else:
        text = None
    if text is not None:
        environ[QUERY_TEXT] = text


def init_app(app: Flask) -> None:
    """Add the probes and /metrics, and wrap the app's WSGI callable: call last in ``create_app``."""
    mode = str(app.config["SITEGRAPH"].access_log).strip().lower()
    if mode not in ACCESS_LOG_MODES:
        raise UsageError(f"setting access_log (SITEGRAPH_ACCESS_LOG) must be json or off, not {mode!r}")
    if mode == "json" and not any(isinstance(h, _StderrJson) for h in access_log.handlers):
        access_log.addHandler(_StderrJson())
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _note_route)
    app.wsgi_app = Observe(app.wsgi_app, log=mode == "json")  # type: ignore[method-assign]
