"""Cross-origin reads: query answers and descriptions may be read by pages from the configured origins.

Only reads are opened (GET, POST of a query, OPTIONS preflight); no credentials are ever allowed, so a
page on another site cannot act with a user's cookies.
"""

from __future__ import annotations

from flask import Flask, Response, request

CORS_PATHS = ("/sparql", "/.well-known/void", "/dumps/")


def _allowed(origin: str, setting: str) -> str | None:
    setting = setting.strip()
    if not setting:
        return None
    if setting == "*":
        return "*"
    allowed = {o.strip().rstrip("/") for o in setting.replace(",", " ").split()}
    return origin if origin.rstrip("/") in allowed else None


def init_app(app: Flask) -> None:
    setting = str(app.config["SITEGRAPH"].cors_origins)

    @app.after_request
    def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin or not request.path.startswith(CORS_PATHS):
            return response
        allowed = _allowed(origin, setting)
        if allowed is None:
            return response
        response.headers["Access-Control-Allow-Origin"] = allowed
        if allowed != "*":
            response.vary.add("Origin")
        response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Content-Type"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, If-None-Match, If-Modified-Since"
            response.headers["Access-Control-Max-Age"] = "86400"
        return response
