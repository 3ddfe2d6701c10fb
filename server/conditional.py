"""Conditional requests: ETag and Last-Modified from the dataset version; If-None-Match / If-Modified-Since → 304.

RFC 9110 §13.1.2: a matching ``If-None-Match`` means "do not perform the method"; for GET and HEAD that is a 304,
for any other method (a POSTed query) a 412 Precondition Failed. ``If-Modified-Since`` applies to GET and HEAD only
(§13.1.3) and is ignored otherwise.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, request

from .errors import HttpProblem

CACHE_CONTROL = "public, no-cache"  # store, but revalidate: a 304 costs almost nothing
SAFE_READS = ("GET", "HEAD")


class PreconditionFailed(HttpProblem):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


def not_modified(etag: str, last_modified: datetime) -> Response | None:
    """A 304 when the client's copy is current, else None (If-None-Match takes precedence, RFC 9110); for a method
    other than GET and HEAD, a matching If-None-Match raises ``PreconditionFailed`` (412)."""
    read = request.method in SAFE_READS
    if request.if_none_match:
        if request.if_none_match.contains_weak(etag):
            if not read:
                raise PreconditionFailed(
                    f"If-None-Match matches the current answer ({etag}); RFC 9110 answers a {request.method} "
                    "with a matching If-None-Match by 412 (use GET to revalidate a cached answer)",
                    headers={"ETag": f'"{etag}"'},
                )
            return tag(Response(status=304), etag, last_modified)
        return None
    since = request.if_modified_since
    if read and since is not None and last_modified <= since:
        return tag(Response(status=304), etag, last_modified)
    return None


def tag(response: Response, etag: str, last_modified: datetime) -> Response:
    response.set_etag(etag)
    response.last_modified = last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
