"""The HTTP side of sitegraph: SPARQL 1.1 Protocol endpoint, service and VoID descriptions, query UI.

``create_app(config)`` builds the Flask application; nothing runs at import. The store is opened read-only
on the first request (``server.store``). One blueprint per HTTP concern:

- ``server.sparql``   the SPARQL protocol at /sparql
- ``server.service``  service description, VoID (/.well-known/void), dumps (/dumps/…)
- ``server.ui``       the query editor at /
- ``server.api``      the canned-query API at /api (queries/*.rq, OpenAPI description)
- ``server.writes``   SPARQL Update (/sparql, /update), Graph Store (/graphs), change log (/changes): bearer tokens
- ``server.context``  the JSON-LD context of the release dumps at /context.jsonld
- ``server.ops``      /health, /ready, /metrics and the access log (the outermost WSGI middleware)
- ``server.linked_data``  entity pages: every IRI under the base dereferences (HTML and RDF);
  its helpers ``ld_graph`` (store reads), ``ld_views``, ``ld_sources``, ``ld_ontology`` (page data)
"""

from __future__ import annotations

from flask import Flask

from graph.config import Config, load_config


def create_app(config: Config | None = None) -> Flask:
    """The Flask app for ``config`` (by default the layered settings: defaults, file, environment)."""
    config = config or load_config()
    app = Flask(__name__)
    app.config["SITEGRAPH"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.ensure_ascii = False

    from . import api, cors, errors, linked_data, ops, service, sparql, store, ui

    errors.init_app(app)
    store.init_app(app)
    cors.init_app(app)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(service.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(linked_data.bp)
    app.register_blueprint(api.bp)
    from . import writes  # SPARQL Update, the Graph Store protocol and the change log (writes need a token)

    app.register_blueprint(writes.bp)
    from . import context  # the JSON-LD context of the release dumps, /context.jsonld

    app.register_blueprint(context.bp)
    ops.init_app(app)  # last: its middleware (metrics, access log) wraps everything above
    return app
