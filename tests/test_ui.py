"""The query page at / through the Flask test client: YASGUI assets and configuration, the parametrised
examples made runnable, the plain-form fallback when the assets are missing, and the asset route's safety."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from graph.config import Config
from graph.namespaces import PREFIXES, DataIRIs
from graph.queries import QueryFile, load_queries, parse_query_file
from graph.query import format_results, run_query
from graph.store import Release
from server import create_app
from server.ui import YASGUI_DIR, YASGUI_FILES, runnable_text

ROOT = Path(__file__).resolve().parent.parent
QUERIES = load_queries(ROOT / "queries")
CHIRCHIQ = "Chirchiq chemical-industrial technopark"


class Page(HTMLParser):
    """The parts of a page these tests look at: scripts, style sheets, forms and their fields, the config."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.forms: list[dict] = []
        self.config: dict | None = None
        self._in: str | None = None
        self._buffer: list[str] = []
        self._text: list[str] = []
        self.feed(text)
        self.text = " ".join(" ".join(self._text).split())  # what a reader sees, whitespace collapsed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"] or "")
        elif tag == "script" and a.get("id") == "sitegraph-config":
            self._in, self._buffer = "config", []
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(a.get("href") or "")
        elif tag == "form":
            self.forms.append({**a, "fields": {}, "options": {}})
        elif tag == "textarea" and self.forms:
            self._in, self._buffer = a.get("name"), []
        elif tag == "select" and self.forms:
            self._select = a.get("name")
            self.forms[-1]["options"][self._select] = []
        elif tag == "option" and self.forms:
            self.forms[-1]["options"][self._select].append(a.get("value"))

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._buffer.append(data)
        if self._in != "config":
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in == "config":
            self.config = json.loads("".join(self._buffer))
            self._in = None
        elif tag == "textarea" and self._in is not None:
            self.forms[-1]["fields"][self._in] = "".join(self._buffer)
            self._in = None


@pytest.fixture
def missing_assets(built: tuple[Config, Release], tmp_path: Path) -> FlaskClient:
    """An app whose YASGUI folder does not exist."""
    config, _release = built
    app = create_app(config)
    app.config["SITEGRAPH_YASGUI_DIR"] = str(tmp_path / "node_modules" / "@zazuko" / "yasgui" / "build")
    return app.test_client()


def test_yasgui_is_installed_by_the_set_up() -> None:
    missing = [name for name in YASGUI_FILES if not (YASGUI_DIR / name).is_file()]
    assert not missing, f"{missing} not in {YASGUI_DIR}: run `bash scripts/setup.sh` (or `npm ci` in {ROOT})"
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/@zazuko/yasgui"]["version"]
    assert version.startswith("4.6."), version
    installed = json.loads((YASGUI_DIR.parent / "package.json").read_text(encoding="utf-8"))["version"]
    assert installed == version, "node_modules is not what package-lock.json says: run `npm ci`"


def test_page_loads_yasgui_from_this_server(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = Page(response.get_data(as_text=True))
    assert any(src.startswith("/assets/yasgui/yasgui.min.js") for src in page.scripts), page.scripts
    assert any(href.startswith("/assets/yasgui/yasgui.min.css") for href in page.styles), page.styles
    assert "/static/ui.js" in page.scripts
    for url in [*page.scripts, *page.styles]:
        assert url.startswith("/"), f"{url} is not on this server"
        with client.get(url) as asset:
            assert asset.status_code == 200, url
            assert len(asset.data) > 1000, url
    with client.get("/assets/yasgui/yasgui.min.js") as js:
        assert js.mimetype == "text/javascript" and js.headers["X-Content-Type-Options"] == "nosniff"
    with client.get("/assets/yasgui/yasgui.min.css") as css:
        assert css.mimetype == "text/css"


def test_page_csp_keeps_every_request_on_this_server(client: FlaskClient) -> None:
    csp = client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    for name in ("default-src", "connect-src", "script-src"):
        assert directives[name] == "'self'", (name, directives[name])
    assert "http" not in csp
    ui_js = (ROOT / "server" / "static" / "ui.js").read_text(encoding="utf-8")
    assert "prefixCcApi = null" in ui_js and '"property", "class"' in ui_js  # the internet-facing completers
    assert not re.search(r"https?://", (ROOT / "server" / "static" / "ui.css").read_text(encoding="utf-8"))


def test_page_config_has_endpoint_examples_and_prefixes(client: FlaskClient, built: tuple[Config, Release]) -> None:
    config, _release = built
    response = client.get("/")
    page = Page(response.get_data(as_text=True))
    ui = page.config
    assert ui is not None, "no #sitegraph-config on the page"
    assert ui["endpoint"] == "/sparql"
    iris = DataIRIs(config.base_iri)
    assert ui["prefixes"] == {**PREFIXES, "id": str(iris.id), "graph": str(iris.graph)}
    assert ui["entityBase"] == str(iris.id)
    assert [e["name"] for e in ui["examples"]] == list(QUERIES)
    for example in ui["examples"]:
        query = QUERIES[example["name"]]
        assert example["title"] == query.title and example["description"] == query.description
        assert query.title in page.text and " ".join(query.description.split()) in page.text
        assert [p["name"] for p in example["params"]] == [p.name for p in query.params]
        for param, spec in zip(example["params"], query.params, strict=True):
            assert param["default"] == str(spec.default)
            assert param["term"] == str(query.substitutions()[ox.Variable(spec.name)])
            assert param["term"] in page.text  # shown on the page
            assert f"VALUES ?{spec.name} {{ {param['term']} }}" in example["query"]
    titles = {e["title"] for e in ui["examples"]}
    assert "Sites by country" in titles and "Find entities by name" in titles
    by_name = {e["name"]: e for e in ui["examples"]}
    assert by_name["find-by-label"]["params"][0]["term"] == '"Chirchik"'
    assert 'VALUES ?text { "Chirchik" }' in by_name["find-by-label"]["query"]
    assert by_name["sites-by-country"]["query"] == QUERIES["sites-by-country"].text  # no parameters: as it is


def test_prefixes_follow_the_configured_base(built: tuple[Config, Release]) -> None:
    config, _release = built
    other = create_app(type(config)({**config.values, "base_iri": "http://example.org/kg/"}))
    ui = Page(other.test_client().get("/").get_data(as_text=True)).config
    assert ui["prefixes"]["id"] == "http://example.org/kg/id/" and ui["entityBase"] == "http://example.org/kg/id/"
    assert ui["prefixes"]["graph"] == "http://example.org/kg/graph/"


@pytest.mark.parametrize("name", [n for n, q in QUERIES.items() if q.params])
def test_parametrised_examples_give_what_the_query_file_gives(
    name: str, client: FlaskClient, built: tuple[Config, Release]
) -> None:
    """The editor's text (VALUES from the defaults), sent as YASGUI sends it, answers like the bound query."""
    _config, release = built
    query = QUERIES[name]
    store = ox.Store.read_only(str(release.store_path))
    expected = format_results(run_query(store, query.text, substitutions=query.substitutions()), "tsv")
    example = next(e for e in Page(client.get("/").get_data(as_text=True)).config["examples"] if e["name"] == name)
    response = client.post("/sparql", data={"query": example["query"]}, headers={"Accept": "text/tab-separated-values"})
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_data(as_text=True)
    assert answer.count("\n") > 1, f"{name} answers nothing with its defaults"
    assert answer == expected


def _query_file(tmp_path: Path, text: str) -> QueryFile:
    path = tmp_path / "q.rq"
    path.write_text(text, encoding="utf-8")
    return parse_query_file(path)


def test_values_lines_are_serialized_terms_in_the_where_clause(tmp_path: Path) -> None:
    header = (
        "#+ title: T\n#+ description: D\n#+ params:\n"
        '#+   - {name: s, type: string, default: "say \\"} } SELECT * { ?x ?y ?z }"}\n'
        "#+   - {name: n, type: integer, default: 7}\n"
        "#+   - {name: d, type: date, default: 2024-05-01}\n"
        '#+   - {name: l, type: langstring, default: "Чирчик@ru"}\n'
        "#+   - {name: i, type: iri, default: 'https://w3id.org/sitegraph/id/site/x'}\n"
    )
    # "WHERE {" inside a comment and a string must not be taken for the clause
    body = '# not here: WHERE {\nSELECT ?s ?n ?d ?l ?i ?w\nWHERE { BIND("WHERE {" AS ?w) }\n'
    query = _query_file(tmp_path, header + body)
    text = runnable_text(query)
    assert '  VALUES ?s { "say \\"} } SELECT * { ?x ?y ?z }" }' in text
    assert '  VALUES ?n { "7"^^<http://www.w3.org/2001/XMLSchema#integer> }' in text
    assert '  VALUES ?d { "2024-05-01"^^<http://www.w3.org/2001/XMLSchema#date> }' in text
    assert '  VALUES ?l { "Чирчик"@ru }' in text
    assert "  VALUES ?i { <https://w3id.org/sitegraph/id/site/x> }" in text
    assert text.startswith(header + "# not here: WHERE {\nSELECT ?s ?n ?d ?l ?i ?w\nWHERE {\n  VALUES ?s {")
    assert text.endswith('# parameter i (iri)\n BIND("WHERE {" AS ?w) }\n') and text.count("VALUES") == 5
    [row] = list(ox.Store().query(text))
    assert row["s"] == ox.Literal('say "} } SELECT * { ?x ?y ?z }')
    assert row["n"].value == "7" and row["d"].value == "2024-05-01" and row["l"].language == "ru"
    assert row["i"] == ox.NamedNode("https://w3id.org/sitegraph/id/site/x") and row["w"].value == "WHERE {"
    # without the WHERE keyword, the first group after SELECT
    query = _query_file(
        tmp_path,
        "#+ title: T\n#+ description: D\n#+ params:\n#+   - {name: s, type: string, default: a}\nSELECT ?s { }\n",
    )
    [row] = list(ox.Store().query(runnable_text(query)))
    assert row["s"] == ox.Literal("a")


def test_fallback_page_says_how_to_install_and_its_form_works(missing_assets: FlaskClient) -> None:
    response = missing_assets.get("/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "bash scripts/run.sh" in text and "npm ci" in text and str(ROOT) in text
    assert "yasgui.min.js" not in text and "<script" not in text
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    page = Page(text)
    [form] = page.forms
    assert form["action"] == "/sparql" and form["method"] == "get"
    assert set(form["options"]["format"]) >= {"json", "xml", "csv", "tsv", "turtle"}
    answer = missing_assets.get("/sparql", query_string={"query": form["fields"]["query"], "format": "csv"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert CHIRCHIQ in {row["label"] for row in rows}
    # every example link fills the form with that example, which runs as it is
    for name, query in QUERIES.items():
        chosen = Page(missing_assets.get("/", query_string={"example": name}).get_data(as_text=True))
        text = chosen.forms[0]["fields"]["query"]
        assert text.startswith(query.text[:40]) and all(f"VALUES ?{p.name}" in text for p in query.params)
        answer = missing_assets.get("/sparql", query_string={"query": text, "format": "json"})
        assert answer.status_code == 200, (name, answer.get_data(as_text=True))
    sites = Page(missing_assets.get("/?example=sites-by-country").get_data(as_text=True)).forms[0]["fields"]["query"]
    answer = missing_assets.get("/sparql", query_string={"query": sites, "format": "json"})
    assert CHIRCHIQ in {b["site"]["value"] for b in answer.get_json()["results"]["bindings"]}
    site = "<https://w3id.org/sitegraph/ontology#Site>"
    construct = f"CONSTRUCT {{ ?s a {site} }} WHERE {{ ?s a {site} }}"
    answer = missing_assets.get("/sparql", query_string={"query": construct, "format": "turtle"})
    assert answer.status_code == 200 and answer.mimetype == "text/turtle"


def test_missing_assets_answer_404_with_the_install_command(missing_assets: FlaskClient) -> None:
    response = missing_assets.get("/assets/yasgui/yasgui.min.js", headers={"Accept": "text/plain"})
    assert response.status_code == 404 and "npm ci" in response.get_data(as_text=True)


def test_plain_form_on_request_when_assets_are_there(client: FlaskClient) -> None:
    text = client.get("/?plain=1").get_data(as_text=True)
    assert "<form" in text and 'action="/sparql"' in text and "npm ci" not in text
    assert "yasgui.min.js" not in text


@pytest.mark.parametrize(
    "path",
    [
        "/assets/yasgui/../../package.json",
        "/assets/yasgui/..%2F..%2Fpackage.json",
        "/assets/yasgui/%2e%2e/%2e%2e/package.json",
        "/assets/yasgui/..%5C..%5Cpackage.json",
        "/assets/yasgui/%2Fetc%2Fpasswd",
        "/assets/yasgui//etc/passwd",
        "/assets/yasgui/../secret.js",
        "/assets/yasgui/..%2Fsecret.js",
        "/assets/yasgui/ts/src/index.d.ts",
        "/assets/yasgui/.hidden.js",
        "/assets/yasgui/notes.txt",
        "/assets/yasgui/yasgui.min.js%00.css",
    ],
)
def test_asset_route_refuses_paths_outside_its_folder(path: str, built: tuple[Config, Release], tmp_path: Path) -> None:
    config, _release = built
    folder = tmp_path / "build"
    (folder / "ts" / "src").mkdir(parents=True)
    for name in (*YASGUI_FILES, ".hidden.js", "notes.txt", "ts/src/index.d.ts"):
        (folder / name).write_text("/* asset */", encoding="utf-8")
    (tmp_path / "secret.js").write_text("SECRET", encoding="utf-8")
    (tmp_path / "package.json").write_text("SECRET", encoding="utf-8")
    app = create_app(config)
    app.config["SITEGRAPH_YASGUI_DIR"] = str(folder)
    client = app.test_client()
    with client.get("/assets/yasgui/yasgui.min.js") as response:
        assert response.status_code == 200
    with client.get(path) as response:
        assert response.status_code in (404, 308) and b"SECRET" not in response.data
        assert b"root:" not in response.data
