"""The canned-query API at /api: the query files of ``queries/`` as HTTP endpoints, described by OpenAPI 3.1.

- ``GET /api/queries``              the queries: name, title, description, parameters, tags, columns, links
- ``GET /api/queries/<name>``       run one; parameters from the query string, bound as typed RDF terms
- ``GET /api/queries/<name>.rq``    its SPARQL text
- ``GET /api/openapi.json``         the OpenAPI description, generated from the ``#+`` headers
- ``GET /api/`` (``/api/docs``)     a readable page listing every query with a form to try it

The queries are read once, when the blueprint is registered (in ``create_app``): a malformed header stops the
server at start-up with a ``SourceError`` naming the file and line. Answers are negotiated (Accept or
``format=``): the records form (``application/json``, the default), SPARQL JSON, CSV, TSV or SPARQL XML. Values
never reach the query text: each is parsed into an RDF term of the declared type and given to the engine as a
substitution. ETags are made of the dataset version, the query, the bound terms and the format.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from graph.errors import Problem, SourceError, UsageError
from graph.namespaces import PREFIXES
from graph.queries import QueryFile, load_queries
from graph.query import refuse_outbound, run_query

from . import conditional, openapi, query_pool
from .errors import BadRequest, NotAcceptable, NotFound
from .negotiation import Format, negotiate
from .sparql import TRUNCATED, ResultCache, run_in_pool
from .store import get_store

bp = Blueprint("api", __name__, url_prefix="/api")

XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGERS = {XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger")}
NUMBERS = {XSD + t for t in ("decimal", "double", "float")}
RESERVED = "format"  # the query-string name that chooses the answer's format; no query may declare it

#: What a query answers in; the first is the default (also for ``*/*``). ``format=`` takes the key.
OFFERS = [
    Format("records", "application/json", None),
    Format("json", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
    Format("csv", "text/csv", ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
    Format("xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML, ("application/xml", "text/xml")),
]
FORMATS = {o.key: o.media_type for o in OFFERS}
CSP = (
    "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'; frame-ancestors 'self'"
)


@bp.record_once
def _load_queries(state: BlueprintSetupState) -> None:
    """Read ``queries/*.rq`` when the app is made: a malformed header stops the server here."""
    state.app.extensions["sitegraph.api"] = load_api_queries(state.app)


def load_api_queries(app: Flask) -> dict[str, QueryFile]:
    """The query files of the configured project, checked; raises SourceError naming file and line."""
    folder = app.config["SITEGRAPH"].project / "queries"
    queries = load_queries(folder)
    problems = []
    for query in queries.values():
        for param in query.params:
            if param.name == RESERVED:
                problem = f"parameter name {RESERVED!r} is reserved by the API (it chooses the format)"
            elif param.default is not None and not openapi.matches(param.type, str(param.default)):
                problem = f"parameter {param.name}: the default {param.default!r} is not {openapi.HOW[param.type]}"
            else:
                continue
            problems.append(
                Problem(f"{folder.name}/{query.path.name}", _line_of(query, param.name), None, None, problem)
            )
    if problems:
        raise SourceError(problems)
    return queries


def _line_of(query: QueryFile, name: str) -> int | None:
    """The header line that declares parameter ``name``."""
    for number, line in enumerate(query.text.splitlines(), start=1):
        if line.startswith("#+") and re.search(rf"\bname:\s*['\"]?{re.escape(name)}\b", line):
            return number
    return None


def queries() -> dict[str, QueryFile]:
    """The queries the running app serves, by name."""
    return current_app.extensions["sitegraph.api"]


def _query(name: str) -> QueryFile:
    query = queries().get(name)
    if query is None:
        raise NotFound(f"no query {name!r}; GET {url_for('api.list_queries')} lists them")
    return query


def describe(query: QueryFile) -> dict[str, Any]:
    """One entry of ``GET /api/queries``."""
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "tags": list(query.tags),
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "default": None if p.default is None else str(p.default),
                "description": p.description,
            }
            for p in query.params
        ],
        "columns": list(query.columns),
        "links": {
            "run": url_for("api.run_query_file", name=query.name),
            "text": url_for("api.query_text", name=query.name),
        },
    }


def bind(query: QueryFile, values: dict[str, str]) -> dict[ox.Variable, Any]:
    """Each parameter's value (or its default) parsed into an RDF term of its type; 400 naming the parameter.

    The API first holds each value to the pattern its OpenAPI description promises, then binds with
    ``QueryFile.substitutions`` (the same binding the CLI uses)."""
    for param in query.params:
        raw = values.get(param.name)
        if raw is not None and not openapi.matches(param.type, str(raw)):
            raise BadRequest(
                f"query {query.name}: parameter {param.name}: {str(raw)!r} is not {openapi.HOW[param.type]}"
            )
    try:
        return query.substitutions(values)
    except UsageError as exc:
        raise BadRequest(f"{exc}; format= is also accepted" if "unknown parameter" in str(exc) else str(exc)) from exc
    except ValueError as exc:  # what the pattern lets through but RDF does not accept (an IRI's syntax)
        raise BadRequest(f"query {query.name}: {exc!s}") from exc


def cell(term: Any) -> Any:
    """A JSON value for a result cell: numbers as numbers, booleans as booleans, everything else as text."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        try:
            if datatype in INTEGERS:
                return int(term.value)
            if datatype in NUMBERS:
                number = Decimal(term.value)
                if number == number.to_integral_value() and abs(number) < 2**53:
                    return int(number)
                return float(number) if math.isfinite(float(number)) else term.value
        except (ValueError, InvalidOperation):
            return term.value
        if datatype == XSD + "boolean":
            return term.value in ("true", "1")
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def as_given(term: Any) -> str:
    """A bound parameter written as a client gives it (``text@lang`` for a language-tagged string)."""
    if isinstance(term, ox.Literal) and term.language:
        return f"{term.value}@{term.language}"
    return term.value


def records(results: ox.QuerySolutions) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of a SELECT answer, each row a mapping of column to JSON value."""
    columns = [v.value for v in results.variables]
    return columns, [{c: cell(solution[c]) for c in columns} for solution in results]


def evaluate_pooled(
    opened: Any, query: QueryFile, bound: dict[ox.Variable, Any], fmt: Format
) -> tuple[bytes, str | None]:
    """(body, truncation) of the answer in ``fmt``, evaluated in a worker of the query pool (``server.query_pool``:
    the time limit ``query_timeout``, the caps on rows and bytes)."""
    if not isinstance(opened.store, ox.Store):  # a remote store bounds its own queries
        return evaluate(opened.store, query, bound, fmt, opened.version), None
    config = current_app.config["SITEGRAPH"]
    refuse_outbound(query.text)
    job = query_pool.Job(
        release_path=str(opened.release.path),
        version=opened.version,
        query=query.text,
        results_format=fmt.key if fmt.kind is not None else "json",
        max_rows=config.max_result_rows,
        max_bytes=config.max_result_bytes,
        prefixes=PREFIXES,
        substitutions={variable.value: term for variable, term in bound.items()},
    )
    answer = run_in_pool(job, config.query_timeout, config)
    if fmt.kind is not None:
        return answer.body, answer.truncated
    results = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
    return evaluate(opened.store, query, bound, fmt, opened.version, results), answer.truncated


def evaluate(
    store: Any, query: QueryFile, bound: dict[ox.Variable, Any], fmt: Format, version: str, results: Any = None
) -> bytes:
    """The answer's body in ``fmt``; ``results`` when already evaluated (by a worker), else evaluated here."""
    if results is None:
        results = run_query(store, query.text, substitutions=bound)
    if fmt.kind is not None:
        out = io.BytesIO()
        results.serialize(out, fmt.kind)
        return out.getvalue()
    columns, rows = records(results)
    body = {
        "query": query.name,
        "title": query.title,
        "parameters": {v.value: as_given(term) for v, term in bound.items()},
        "columns": columns,
        "rows": rows,
        "count": len(rows),
        "version": version,
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _cache() -> ResultCache:
    ext = current_app.extensions
    if "sitegraph.api.results" not in ext:
        ext["sitegraph.api.results"] = ResultCache(current_app.config["SITEGRAPH"].cache_entries)
    return ext["sitegraph.api.results"]


def _values() -> dict[str, str]:
    values: dict[str, str] = {}
    for name, given in request.args.lists():
        if len(given) > 1:
            raise BadRequest(f"parameter {name} is given {len(given)} times; give it once")
        if name != RESERVED:
            values[name] = given[0]
    return values


@bp.get("/queries")
def list_queries() -> Response:
    body = {
        "queries": [describe(q) for q in queries().values()],
        "links": {"openapi": url_for("api.openapi_json"), "docs": url_for("api.docs")},
    }
    return current_app.json.response(body)


@bp.get("/queries/<name>.rq")
def query_text(name: str) -> Response:
    return Response(_query(name).text, content_type="application/sparql-query; charset=utf-8")


@bp.get("/queries/<name>")
def run_query_file(name: str) -> Response:
    query = _query(name)
    values = _values()
    chosen = request.args.get(RESERVED)
    if chosen is not None and chosen not in FORMATS:
        raise NotAcceptable(f"format={chosen} is not available; choose {', '.join(FORMATS)}")
    fmt = negotiate(request.headers.get("Accept"), OFFERS, chosen)
    bound = bind(query, values)
    opened = get_store()
    terms = sorted(f"{v.value}={term}" for v, term in bound.items())
    key = hashlib.sha256("\x00".join(["api", opened.version, name, *terms, fmt.key]).encode()).hexdigest()
    etag = f"{opened.version}-{key[:20]}"
    not_modified = conditional.not_modified(etag, opened.last_modified)
    if not_modified is not None:
        not_modified.headers["Vary"] = "Accept"
        return not_modified
    cached = _cache().get(key)
    if cached is None:
        cached = evaluate_pooled(opened, query, bound, fmt)
        _cache().put(key, cached)
    body, truncated = cached
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    if truncated:
        response.headers[TRUNCATED] = truncated
    return conditional.tag(response, etag, opened.last_modified)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    ext = current_app.extensions
    if "sitegraph.api.openapi" not in ext:
        ext["sitegraph.api.openapi"] = openapi.spec(queries(), FORMATS)
    return current_app.json.response(ext["sitegraph.api.openapi"])


@bp.get("/")
def docs() -> Response:
    entries = [describe(q) for q in queries().values()]
    body = render_template("api.html", queries=entries, formats=[o.key for o in OFFERS])
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/docs")
def docs_alias() -> Response:
    return redirect(url_for("api.docs"), code=301)
