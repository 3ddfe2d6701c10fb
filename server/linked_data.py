"""Linked data: entity IRIs under the base dereference to HTML pages and RDF (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("linked_data", __name__)
