"""The canned-query API at /api: the query files of queries/ as HTTP endpoints (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
