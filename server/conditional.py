"""Conditional requests: ETag and Last-Modified from the dataset version; If-None-Match / If-Modified-Since → 304."""

from __future__ import annotations

from datetime import datetime

from flask import Response, request

CACHE_CONTROL = "public, no-cache"  # store, but revalidate: a 304 costs almost nothing


def not_modified(etag: str, last_modified: datetime) -> Response | None:
    """A 304 when the client's copy is current, else None (If-None-Match takes precedence, RFC 9110)."""
    if request.if_none_match:
        if request.if_none_match.contains_weak(etag):
            return tag(Response(status=304), etag, last_modified)
        return None
    since = request.if_modified_since
    if since is not None and last_modified <= since:
        return tag(Response(status=304), etag, last_modified)
    return None


def tag(response: Response, etag: str, last_modified: datetime) -> Response:
    response.set_etag(etag)
    response.last_modified = last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
