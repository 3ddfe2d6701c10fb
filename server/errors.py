"""Errors as HTTP answers: a small hierarchy with the status on the class, mapped to responses in one place.

JSON clients get RFC 9457 ``application/problem+json`` (type, title, status, detail); everyone else gets
one plain-text line. Anything unexpected is logged and answered with a 500 that shows no internals.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Request, Response, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("sitegraph.server")
PROBLEM_BASE = "https://w3id.org/sitegraph/problems/"


class HttpProblem(Exception):
    status = 500
    title = "Internal server error"
    slug = "internal"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequest(HttpProblem):
    status, title, slug = 400, "Bad request", "bad-request"


class QuerySyntaxError(BadRequest):
    title, slug = "Malformed query", "malformed-query"


class NotFound(HttpProblem):
    status, title, slug = 404, "Not found", "not-found"


class MethodNotAllowed(HttpProblem):
    status, title, slug = 405, "Method not allowed", "method-not-allowed"


class NotAcceptable(HttpProblem):
    status, title, slug = 406, "Not acceptable", "not-acceptable"


class PayloadTooLarge(HttpProblem):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(HttpProblem):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class BadGateway(HttpProblem):
    status, title, slug = 502, "Bad gateway", "bad-gateway"


class ServiceUnavailable(HttpProblem):
    status, title, slug = 503, "Service unavailable", "unavailable"


class QueryTimeout(ServiceUnavailable):
    """A query stopped at its time limit (its worker process was killed); sent with ``Retry-After``."""

    title, slug = "Query stopped", "query-timeout"


def wants_json(req: Request) -> bool:
    accept = req.accept_mimetypes
    best = accept.best_match(["application/problem+json", "application/json", "text/plain", "text/html"])
    return best in ("application/problem+json", "application/json") or (best is None and req.path.startswith("/api/"))


def problem_response(status: int, title: str, detail: str, slug: str, headers: dict | None = None) -> Response:
    if wants_json(request):
        body = json.dumps(
            {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail},
            ensure_ascii=False,
        )
        response = Response(body, status=status, mimetype="application/problem+json")
    else:
        response = Response(f"{status} {title}: {detail}\n", status=status, mimetype="text/plain")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(HttpProblem)
    def _problem(exc: HttpProblem) -> Response:
        return problem_response(exc.status, exc.title, exc.detail, exc.slug, exc.headers)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        slug = (exc.name or "error").lower().replace(" ", "-")
        headers = dict(exc.get_headers()) if exc.code == 405 else {}
        headers.pop("Content-Type", None)
        return problem_response(exc.code or 500, exc.name, exc.description or exc.name, slug, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return problem_response(500, "Internal server error", "the server failed; the error was logged", "internal")
