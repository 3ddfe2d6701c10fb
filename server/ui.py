"""The query page at ``/``: the YASGUI editor, preconfigured for this endpoint, or a plain form without it.

YASGUI (the npm package ``@zazuko/yasgui``) is installed by ``scripts/setup.sh`` into ``node_modules/`` of the
checkout and served from its ``build/`` folder at ``/assets/yasgui/<file>`` — nothing is loaded from a CDN.
The page is configured with the endpoint (this server's /sparql), the example queries of ``queries/*.rq``
(title, description, parameters with their defaults) and the project's prefixes, and it turns off everything
in YASGUI that would fetch from the internet (prefix.cc, the LOV autocompleters, the endpoint catalogue);
its Content-Security-Policy keeps every request on this server.

When the YASGUI files are missing, ``/`` says how to install them and offers a plain HTML form (GET /sparql
with a format choice) that works without JavaScript; ``/?plain=1`` shows that form at any time.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request, send_from_directory
from flask.blueprints import BlueprintSetupState

from graph.errors import SourceError
from graph.namespaces import DataIRIs
from graph.queries import QueryFile, load_queries, to_term

from .errors import NotFound

log = logging.getLogger("sitegraph.server")

bp = Blueprint("ui", __name__)

#: The checkout that holds package.json (where ``npm ci`` installs node_modules/).
CHECKOUT = Path(__file__).resolve().parent.parent
#: Where YASGUI's browser files are; ``app.config["SITEGRAPH_YASGUI_DIR"]`` overrides it (tests use that).
YASGUI_DIR = CHECKOUT / "node_modules" / "@zazuko" / "yasgui" / "build"
YASGUI_FILES = ("yasgui.min.js", "yasgui.min.css")
ASSET_SUFFIXES = {".js": "text/javascript", ".css": "text/css", ".map": "application/json"}
_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

#: Formats of the plain form: (format= value, label) for results of SELECT/ASK and for graphs.
RESULT_FORMATS = [("json", "SPARQL JSON"), ("xml", "SPARQL XML"), ("csv", "CSV"), ("tsv", "TSV")]
GRAPH_FORMATS = [("turtle", "Turtle"), ("ntriples", "N-Triples"), ("jsonld", "JSON-LD"), ("rdfxml", "RDF/XML")]

STARTER = """PREFIX sg: <https://w3id.org/sitegraph/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

# Every site with its English name. Pick an example query, or write your own.
SELECT ?site ?label WHERE {
  ?site a sg:Site ; rdfs:label ?label .
  FILTER(LANG(?label) = "en")
}
ORDER BY ?label
LIMIT 100
"""

CSP_COMMON = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'self'"
)

# Strings, IRIs and comments of a query, blanked out before looking for the WHERE clause's brace.
_OPAQUE = re.compile(
    r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>|\#[^\n]*""",
    re.DOTALL,
)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
_SELECT = re.compile(r"\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ExampleParam:
    name: str
    type: str
    default: str | None
    term: str | None  # the default as a serialized RDF term (str() of the pyoxigraph term)
    description: str


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    description: str
    tags: list[str]
    params: list[ExampleParam]
    query: str  # runnable as it is: parameters bound with a VALUES line from their defaults


@bp.record_once
def _defaults(state: BlueprintSetupState) -> None:
    state.app.config.setdefault("SITEGRAPH_YASGUI_DIR", str(YASGUI_DIR))


def yasgui_dir(app: Flask | None = None) -> Path:
    """The folder YASGUI's browser files are served from."""
    app = app or current_app
    return Path(app.config.get("SITEGRAPH_YASGUI_DIR") or YASGUI_DIR)


def yasgui_installed(app: Flask | None = None) -> bool:
    """Whether the files the page needs (script and style sheet) are there."""
    folder = yasgui_dir(app)
    return all((folder / name).is_file() for name in YASGUI_FILES)


def yasgui_version(app: Flask | None = None) -> str:
    """The installed package's version (used to bust browser caches), or "" when unknown."""
    try:
        data = json.loads((yasgui_dir(app).parent / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(data.get("version", ""))


def _where_brace(text: str) -> int | None:
    """Offset just after the ``{`` that opens the outermost query's WHERE clause, or None."""
    blank = _OPAQUE.sub(lambda m: " " * len(m.group()), text)
    match = _WHERE.search(blank)
    if match:
        return match.end()
    form = _SELECT.search(blank)
    if form:
        brace = blank.find("{", form.end())
        if brace >= 0:
            return brace + 1
    return None


def runnable_text(query: QueryFile) -> str:
    """The query text with one ``VALUES ?param { term }`` line per parameter, at the top of the WHERE clause.

    The term is the parameter's default parsed into an RDF term (``graph.queries.to_term``) and written as
    pyoxigraph serializes it, so it is always a well-formed term; a parameter without a default gets a
    commented-out line to fill in.
    """
    if not query.params:
        return query.text
    lines = []
    for param in query.params:
        described = " ".join(param.description.split())  # one line: the note is a comment
        note = f"parameter {param.name} ({param.type})" + (f": {described}" if described else "")
        if param.default is None:
            lines.append(f"  # VALUES ?{param.name} {{ }}  # {note} — required: put a value here")
        else:
            term = to_term(param, param.default, query.name)
            lines.append(f"  VALUES ?{param.name} {{ {term} }}  # {note}")
    block = "\n".join(lines)
    at = _where_brace(query.text)
    if at is None:  # no group pattern found: a trailing VALUES clause is still valid SPARQL
        return query.text.rstrip("\n") + "\n" + block.strip() + "\n"
    rest = query.text[at:]
    if not re.match(r"[ \t]*(\r?\n|$)", rest):  # the clause goes on on the brace's line: keep it out of the comment
        block += "\n"
    return query.text[:at] + "\n" + block + rest


def example_of(query: QueryFile) -> Example:
    params = []
    for param in query.params:
        term = None if param.default is None else str(to_term(param, param.default, query.name))
        default = None if param.default is None else str(param.default)
        params.append(ExampleParam(param.name, param.type, default, term, param.description))
    return Example(query.name, query.title, query.description, list(query.tags), params, runnable_text(query))


def load_examples(folder: Path) -> tuple[list[Example], str | None]:
    """The examples of ``folder`` (``queries/``) in file order, and a problem message if they could not be read."""
    if not folder.is_dir():
        return [], None
    try:
        queries = load_queries(folder)
    except SourceError as exc:
        log.warning("example queries not shown: %s", exc)
        return [], f"the example queries in {folder.name}/ could not be read: {exc}"
    return [example_of(q) for q in queries.values()], None


def page_config(examples: list[Example]) -> dict[str, Any]:
    """What ui.js needs: endpoint path, prefixes, the base of entity IRIs and the examples."""
    config = current_app.config["SITEGRAPH"]
    iris = DataIRIs(config.base_iri)
    return {
        "endpoint": "/sparql",
        "entityBase": str(iris.id),
        "prefixes": iris.prefixes(),
        "starter": STARTER,
        "examples": [
            {
                "name": e.name,
                "title": e.title,
                "description": e.description,
                "params": [asdict(p) for p in e.params],
                "query": e.query,
            }
            for e in examples
        ],
    }


def _html(body: str, csp: str) -> Response:
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
def index() -> Response:
    config = current_app.config["SITEGRAPH"]
    examples, problem = load_examples(config.project / "queries")
    installed = yasgui_installed()
    if installed and not request.args.get("plain"):
        body = render_template(
            "index.html",
            examples=examples,
            problem=problem,
            ui_config=page_config(examples),
            version=yasgui_version(),
        )
        return _html(body, CSP_COMMON + "; script-src 'self'")
    chosen = next((e for e in examples if e.name == request.args.get("example")), None)
    body = render_template(
        "index_fallback.html",
        examples=examples,
        problem=problem,
        chosen=chosen,
        query=chosen.query if chosen else STARTER,
        installed=installed,
        checkout=str(CHECKOUT),
        assets=str(yasgui_dir()),
        result_formats=RESULT_FORMATS,
        graph_formats=GRAPH_FORMATS,
    )
    return _html(body, CSP_COMMON + "; script-src 'none'")


@bp.get("/assets/yasgui/<path:filename>")
def yasgui_asset(filename: str) -> Response:
    """A file of YASGUI's build folder: only plain names directly in it, only scripts, style sheets, maps."""
    suffix = Path(filename).suffix
    if not _ASSET_NAME.fullmatch(filename) or suffix not in ASSET_SUFFIXES:
        raise NotFound(f"no asset {filename!r}")
    folder = yasgui_dir()
    if not (folder / filename).is_file():
        raise NotFound(f"no asset {filename!r}: the query editor is not installed (run `npm ci` in {CHECKOUT})")
    response = send_from_directory(folder, filename, mimetype=ASSET_SUFFIXES[suffix], max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
