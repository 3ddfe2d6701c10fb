"""The published JSON-LD context at /context.jsonld.

Release dumps in JSON-LD (``sitegraph export``) name their ``@context`` by the URL ``<base>context.jsonld``; this
route serves that context: the project's prefixes plus ``id:`` and ``graph:`` for the data IRIs under the base.
It depends only on the configured base, not on the build, so it answers even before the first build.
"""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, request

from graph.export.formats import jsonld_context
from graph.namespaces import DataIRIs

bp = Blueprint("context", __name__)

MEDIA_TYPE = "application/ld+json"


@bp.get("/context.jsonld")
def context() -> Response:
    config = current_app.config["SITEGRAPH"]
    body = (json.dumps(jsonld_context(DataIRIs(config.base_iri)), indent=2, sort_keys=True) + "\n").encode("utf-8")
    etag = hashlib.sha256(body).hexdigest()[:16]
    fresh = request.if_none_match.contains(etag)
    response = Response(status=304) if fresh else Response(body, content_type=MEDIA_TYPE)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
