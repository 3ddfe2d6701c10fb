"""The replay of repeated GETs in front of Flask (``server.sparql.AnswerReplay``) answers exactly as the full app."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graph.config import Config
from server import create_app
from server.sparql import AnswerReplay
from server.store import OpenRelease

SITES = (
    "PREFIX sg: <https://w3id.org/sitegraph/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?s ?label WHERE { ?s a sg:Site ; rdfs:label ?label FILTER(LANG(?label) = 'en') } ORDER BY ?s"
)
CONSTRUCT = "PREFIX sg: <https://w3id.org/sitegraph/ontology#> CONSTRUCT { ?s a sg:Site } WHERE { ?s a sg:Site }"


def _app(config: Config, **settings):
    app = create_app(type(config)({**config.values, **settings}))
    entered: list[str] = []

    @app.before_request
    def _count() -> None:
        entered.append("flask")

    return app, entered


def _answer(response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.items()), response.data


@pytest.mark.parametrize(
    ("query_string", "headers"),
    [
        ({"query": SITES}, {}),
        ({"query": SITES}, {"Accept": "text/csv"}),
        ({"query": SITES}, {"Accept": "application/sparql-results+xml, */*;q=0.1"}),
        ({"query": SITES, "format": "tsv"}, {"Accept": "application/json"}),
        ({"query": CONSTRUCT}, {"Accept": "text/turtle"}),
        ({"query": "ASK { ?s ?p ?o }"}, {"Accept": "application/sparql-results+json"}),
    ],
)
def test_a_repeated_get_is_replayed_as_the_app_answered_it(built, query_string, headers):
    config, _release = built
    app, entered = _app(config)
    reference, _ = _app(config, cache_entries=0)
    # the replay sits just inside the outermost layer, server.ops.Observe (metrics and access log)
    assert isinstance(app.wsgi_app.app, AnswerReplay) and not isinstance(reference.wsgi_app.app, AnswerReplay)
    client = app.test_client()
    first = client.get("/sparql", query_string=query_string, headers=headers)
    again = client.get("/sparql", query_string=query_string, headers=headers)
    assert first.status_code == 200 and entered == ["flask"], "the second answer is a replay"
    assert (
        _answer(again)
        == _answer(first)
        == _answer(reference.test_client().get("/sparql", query_string=query_string, headers=headers))
    )

    etag = first.headers["ETag"]
    conditional = {**headers, "If-None-Match": etag}
    not_modified = [client.get("/sparql", query_string=query_string, headers=conditional) for _ in range(2)]
    assert entered == ["flask", "flask"], "the first 304 comes from the app, the second is a replay"
    expected = reference.test_client().get("/sparql", query_string=query_string, headers=conditional)
    assert expected.status_code == 304
    assert _answer(not_modified[0]) == _answer(not_modified[1]) == _answer(expected)

    for other in ('"something-else"', f"W/{etag}", f'"x", {etag}', "*"):
        answer = client.get("/sparql", query_string=query_string, headers={**headers, "If-None-Match": other})
        reference_answer = reference.test_client().get(
            "/sparql", query_string=query_string, headers={**headers, "If-None-Match": other}
        )
        assert _answer(answer) == _answer(reference_answer), other
    assert entered == ["flask", "flask"]


def test_what_is_not_replayed(built):
    config, _release = built
    app, entered = _app(config)
    client = app.test_client()
    client.get("/sparql", query_string={"query": SITES})
    assert len(entered) == 1
    cors = client.get("/sparql", query_string={"query": SITES}, headers={"Origin": "https://example.org"})
    assert cors.headers["Access-Control-Allow-Origin"] == "*" and len(entered) == 2
    since = client.get(
        "/sparql", query_string={"query": SITES}, headers={"If-Modified-Since": "Sun, 01 Jan 2090 00:00:00 GMT"}
    )
    assert since.status_code == 304 and len(entered) == 3
    client.post("/sparql", data={"query": SITES})
    client.head("/sparql", query_string={"query": SITES})
    assert len(entered) == 5
    assert client.get("/sparql", query_string={"query": SITES, "x": "1"}).status_code == 200
    assert len(entered) == 6, "another query string is another request"
    client.get("/sparql", query_string={"query": "SELECT * WHERE {"})
    client.get("/sparql", query_string={"query": "SELECT * WHERE {"})
    assert len(entered) == 8, "errors are never replayed"


def test_a_new_dataset_version_is_never_answered_from_the_old_one(built):
    config, _release = built
    app, entered = _app(config)
    client = app.test_client()
    old = client.get("/sparql", query_string={"query": SITES})
    holder = app.extensions["sitegraph.store"]
    opened = holder.get()
    newer = OpenRelease(
        opened.store, replace(opened.release, version="0123456789abcdef"), opened.target, opened.last_modified
    )
    holder.get = lambda: newer
    new = client.get("/sparql", query_string={"query": SITES}, headers={"If-None-Match": old.headers["ETag"]})
    assert new.status_code == 200 and new.headers["ETag"].startswith('"0123456789abcdef-')
    assert len(entered) == 2
