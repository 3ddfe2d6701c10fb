"""The canned-query API at /api, through the Flask test client: listing, running with typed parameters, formats,
errors, injection attempts, conditional requests, the docs page, and the start-up check of the query headers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from graph.config import Config
from graph.errors import SourceError
from graph.queries import load_queries
from graph.store import Release
from server import create_app

from .conftest import ROOT, config_for

QUERIES = load_queries(ROOT / "queries")
ID = "https://w3id.org/sitegraph/id/"
UZBEK_SITES = {
    "Chemical-industrial technopark in Jizzakh Region",
    "Chirchiq chemical-industrial technopark",
    "Eltech Industrial technopark",
}


def problem(response) -> dict:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    body = json.loads(response.data)
    assert body["status"] == response.status_code and body["detail"]
    return body


def test_every_query_file_is_listed_with_its_header_and_links(client: FlaskClient) -> None:
    response = client.get("/api/queries")
    assert response.status_code == 200 and response.mimetype == "application/json"
    listed = {q["name"]: q for q in response.json["queries"]}
    assert list(listed) == list(QUERIES) and len(listed) >= 20
    for name, query in QUERIES.items():
        entry = listed[name]
        assert (entry["title"], entry["description"]) == (query.title, query.description)
        assert entry["tags"] == query.tags and entry["columns"] == query.columns
        assert [(p["name"], p["type"]) for p in entry["parameters"]] == [(p.name, p.type) for p in query.params]
        assert entry["links"] == {"run": f"/api/queries/{name}", "text": f"/api/queries/{name}.rq"}
        text = client.get(entry["links"]["text"])
        assert text.status_code == 200 and text.mimetype == "application/sparql-query"
        assert text.get_data(as_text=True) == query.path.read_text(encoding="utf-8")
    assert response.json["links"] == {"openapi": "/api/openapi.json", "docs": "/api/"}


@pytest.mark.parametrize("name", list(QUERIES))
def test_every_query_runs_and_answers_its_declared_columns(client: FlaskClient, name: str) -> None:
    response = client.get(f"/api/queries/{name}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert body["query"] == name and body["columns"] == QUERIES[name].columns
    assert body["count"] == len(body["rows"]) > 0
    assert all(list(row) == body["columns"] for row in body["rows"])
    assert body["parameters"] == {p.name: str(p.default) for p in QUERIES[name].params}


def test_a_parameter_is_bound_and_changes_the_answer(client: FlaskClient) -> None:
    default = client.get("/api/queries/sites-in-place").json
    assert {r["site"] for r in default["rows"]} == UZBEK_SITES
    kyrgyz = client.get("/api/queries/sites-in-place", query_string={"place": ID + "place/kyrgyzstan"}).json
    sites = {r["site"] for r in kyrgyz["rows"]}
    assert "Legprom's second textile and sewing technology town" in sites and not sites & UZBEK_SITES
    osh = client.get("/api/queries/sites-in-place", query_string={"place": ID + "place/osh"}).json
    assert {r["site"] for r in osh["rows"]} == {
        "Legprom's first textile and sewing technology town",
        "Legprom's third textile and sewing technology town",
    }


def test_typed_parameters_integer_decimal_and_language_tagged(client: FlaskClient) -> None:
    years = client.get("/api/queries/timeline?fromYear=2023").json
    assert years["parameters"] == {"fromYear": "2023"}
    assert {r["date"] for r in years["rows"]} == {"--02-02", "--10", "2023-04", "2024-08-14"}, "no year: always listed"
    big = client.get("/api/queries/figures-at-least?threshold=1000000.5").json
    assert [r["value"] for r in big["rows"]] == [2000000000, 60000000, None]
    assert big["rows"][2]["min"] == 30000000 and "More than" in big["rows"][2]["qualifiers"]
    assert all(isinstance(r["min"], int) for r in big["rows"] if r["min"] is not None), "numbers stay numbers"
    russian = client.get("/api/queries/find-by-exact-name", query_string={"name": "ХИМГРАД@ru"}).json
    english = client.get("/api/queries/find-by-exact-name", query_string={"name": "Химград@en"}).json
    assert [r["entity"] for r in russian["rows"]] == [ID + "site/khimgrad"] and english["rows"] == []


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/queries/sites-in-place?place=Uzbekistan", "place"),
        ("/api/queries/sites-in-place?place=https://x/a b", "place"),
        ("/api/queries/timeline?fromYear=twenty", "fromYear"),
        ("/api/queries/timeline?fromYear=2020.5", "fromYear"),
        ("/api/queries/figures-at-least?threshold=1e3", "threshold"),
        ("/api/queries/find-by-exact-name?name=Chirchiq", "name"),
        ("/api/queries/sites-in-place?colour=red", "colour"),
        ("/api/queries/graph-statistics?place=x", "place"),
        ("/api/queries/timeline?fromYear=1&fromYear=2", "fromYear"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client: FlaskClient, url: str, parameter: str) -> None:
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert parameter in problem(response)["detail"]
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_query_is_a_404(client: FlaskClient) -> None:
    for url in ("/api/queries/no-such-query", "/api/queries/no-such-query.rq"):
        response = client.get(url)
        assert response.status_code == 404 and "no-such-query" in problem(response)["detail"]
    text = client.get("/api/queries/no-such-query", headers={"Accept": "text/plain"})
    assert text.status_code == 404 and text.mimetype == "text/plain"


@pytest.mark.parametrize(
    "hostile",
    [
        "}",
        '" . ?s ?p ?o',
        '")) } UNION { ?entity ?p ?matched } #',
        "x' } ; DROP ALL ; SELECT * { ?s ?p ?o",
        '\\" } } SERVICE <http://example.org/> { ?s ?p ?o } #',
    ],
)
def test_injection_attempts_are_plain_values(client: FlaskClient, hostile: str) -> None:
    """A value is a literal of its type: it matches nothing here, and widens no query to the whole graph."""
    response = client.get("/api/queries/find-by-label", query_string={"text": hostile})
    assert response.status_code == 200
    assert response.json["rows"] == [] and response.json["parameters"] == {"text": hostile}
    named = client.get("/api/queries/find-by-exact-name", query_string={"name": hostile + "@en"})
    assert named.status_code == 200 and named.json["rows"] == []
    iri = client.get("/api/queries/names-of-entity", query_string={"entity": ID + "site/x>" + hostile})
    assert iri.status_code == 400 and "entity" in problem(iri)["detail"]


def test_formats_by_accept_and_by_format(client: FlaskClient) -> None:
    url = "/api/queries/sites-in-place"
    records = client.get(url).json
    sparql = client.get(url, headers={"Accept": "application/sparql-results+json"})
    assert sparql.mimetype == "application/sparql-results+json"
    assert sparql.json["head"]["vars"] == records["columns"]
    assert [b["site"]["value"] for b in sparql.json["results"]["bindings"]] == [r["site"] for r in records["rows"]]
    assert client.get(url + "?format=json").mimetype == "application/sparql-results+json"
    assert client.get(url, headers={"Accept": "application/json"}).json == records
    assert client.get(url, headers={"Accept": "text/html,*/*;q=0.8"}).mimetype == "application/json"
    for accept, fmt, mimetype, delimiter in [("text/csv", "csv", "text/csv", ","), (None, "tsv", None, "\t")]:
        by_accept = client.get(url, headers={"Accept": accept} if accept else {})
        by_format = client.get(url, query_string={"format": fmt})
        mimetype = mimetype or "text/tab-separated-values"
        assert by_format.mimetype == mimetype and by_format.headers["Content-Type"].endswith("charset=utf-8")
        if accept:
            assert by_accept.data == by_format.data
        rows = list(csv.reader(io.StringIO(by_format.get_data(as_text=True)), delimiter=delimiter))
        assert [c.lstrip("?") for c in rows[0]] == records["columns"] and len(rows) == 1 + records["count"]
    xml = client.get(url, headers={"Accept": "application/sparql-results+xml"})
    assert xml.mimetype == "application/sparql-results+xml" and b"<sparql" in xml.data
    assert client.get(url + "?format=records", headers={"Accept": "text/csv"}).json == records


def test_unavailable_formats_are_a_406(client: FlaskClient) -> None:
    for response in (
        client.get("/api/queries/sites-in-place?format=turtle"),
        client.get("/api/queries/sites-in-place", headers={"Accept": "image/png"}),
    ):
        assert response.status_code == 406


def test_etag_and_304(client: FlaskClient) -> None:
    url = "/api/queries/timeline"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Vary"] == "Accept" and first.headers["Cache-Control"] == "public, no-cache"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get(url + "?fromYear=2000").headers["ETag"] == etag, "the default, given, is the same request"
    assert client.get(url + "?fromYear=+2000").status_code == 400
    others = {
        client.get(url + "?fromYear=2020").headers["ETag"],
        client.get(url + "?format=csv").headers["ETag"],
        client.get("/api/queries/sites-in-place").headers["ETag"],
    }
    assert etag not in others and len(others) == 3
    assert client.get(url + "?fromYear=2020", headers={"If-None-Match": etag}).status_code == 200


def test_the_docs_page_lists_every_query_with_a_form(client: FlaskClient) -> None:
    response = client.get("/api/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    for name, query in QUERIES.items():
        assert query.title in page and f'action="/api/queries/{name}"' in page
        for param in query.params:
            assert f'name="{param.name}" value="{param.default}"' in page
    assert not re.search(r'(src|href|action)="(https?:)?//', page), "no external assets"
    assert client.get("/api/docs").headers["Location"].endswith("/api/")
    assert client.get("/api/openapi.json").json["openapi"] == "3.1.0"


def test_the_query_page_offers_every_query_as_an_example(client: FlaskClient) -> None:
    page = client.get("/?plain=1").get_data(as_text=True)
    assert all(query.title in page for query in QUERIES.values())


def test_the_cli_runs_a_query_with_a_parameter(cli: Callable, built: tuple[Config, Release]) -> None:
    config, _release = built
    base = ["--project", str(ROOT), "--build-dir", str(config.path("build_dir"))]
    code, out, _err = cli(*base, "query", "sites-in-place", "--param", f"place={ID}place/tashkent-region")
    assert code == 0 and "Eltech Industrial technopark" in out and "Jizzakh" not in out and "(2 rows)" in out


def test_without_a_build_the_list_works_and_running_is_a_503(tmp_path: Path) -> None:
    client = create_app(config_for(ROOT, tmp_path / "empty-build")).test_client()
    assert client.get("/api/queries").status_code == 200
    response = client.get("/api/queries/timeline")
    assert response.status_code == 503 and "sitegraph build" in problem(response)["detail"]


def test_a_malformed_header_stops_the_server_naming_file_and_line(
    project_copy: Path, built: tuple[Config, Release], cli: Callable
) -> None:
    (project_copy / "queries" / "broken.rq").write_text(
        "#+ title: Broken\n#+ description: a header with bad YAML\n#+ params: [unclosed\nSELECT * { ?s ?p ?o }\n",
        encoding="utf-8",
    )
    config, _release = built
    with pytest.raises(SourceError) as caught:
        create_app(config_for(project_copy, config.path("build_dir")))
    assert re.search(r"queries/broken\.rq:[34]\b", str(caught.value)), str(caught.value)
    code, _out, err = cli("--project", str(project_copy), "--build-dir", str(config.path("build_dir")), "serve")
    assert code == 2 and "queries/broken.rq:" in err


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("{name: format, type: string, default: csv}", "reserved"),
        ("{name: when, type: integer, default: '+5'}", "not an integer"),
    ],
)
def test_a_parameter_the_api_cannot_serve_stops_the_server(
    project_copy: Path, built: tuple[Config, Release], param: str, message: str
) -> None:
    name = param.split(",")[0].split()[-1]
    (project_copy / "queries" / "odd.rq").write_text(
        f"#+ title: Odd\n#+ description: d\n#+ params:\n#+   - {param}\nSELECT ?{name} {{ }}\n", encoding="utf-8"
    )
    config, _release = built
    with pytest.raises(SourceError, match=rf"queries/odd\.rq:4: .*{message}"):
        create_app(config_for(project_copy, config.path("build_dir")))
