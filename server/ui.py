"""The query page at ``/`` (a plain form for now; the YASGUI editor is added by the UI work)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template_string

bp = Blueprint("ui", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sitegraph SPARQL</title></head>
<body><h1>sitegraph SPARQL endpoint</h1>
<form method="get" action="/sparql">
<textarea name="query" rows="12" cols="100">
SELECT ?site ?label WHERE { ?site a sg:Site ; rdfs:label ?label } LIMIT 20</textarea>
<p><select name="format"><option>json</option><option>xml</option><option>csv</option><option>tsv</option></select>
<button type="submit">Run query</button></p></form></body></html>"""


@bp.get("/")
def index() -> Response:
    return Response(render_template_string(PAGE), mimetype="text/html")
