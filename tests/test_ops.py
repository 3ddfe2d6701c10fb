"""Operations: /health, /ready, /metrics and the access log, as an operator or a Prometheus server sees them."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from graph.config import Config, load_config
from graph.errors import UsageError
from graph.store import Release
from server import create_app, ops

from .conftest import ROOT, config_for
from .test_shutdown import get, granian

ACCESS_FIELDS = {
    "time",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "query_hash",
    "result_count",
    "bytes",
    "client",
    "user_agent",
}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics", buffered=True)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return response.get_data(as_text=True)


def qhash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class _Entries:
    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    def read(self) -> list[dict]:
        records = [r for r in self.caplog.records if r.name == "sitegraph.access"]
        entries = [json.loads(r.getMessage()) for r in records]
        assert entries == [r.access for r in records]  # type: ignore[attr-defined]
        return entries


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> Iterator[_Entries]:
    """The access-log entries written during the test (the logger does not propagate: it writes to stderr)."""
    logger = logging.getLogger("sitegraph.access")
    logger.addHandler(caplog.handler)
    try:
        yield _Entries(caplog)
    finally:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def unbuilt(tmp_path: Path) -> Flask:
    return create_app(config_for(ROOT, tmp_path / "empty-build"))


# ---------------------------------------------------------------- probes


def test_health_answers_without_a_store(unbuilt: Flask):
    response = unbuilt.test_client().get("/health", buffered=True)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_reports_the_open_release(client: FlaskClient, built: tuple[Config, Release]):
    _config, release = built
    response = client.get("/ready", buffered=True)
    assert response.status_code == 200
    body = response.get_json()
    assert body["store"] == "open"
    assert body["triples"] == release.manifest["quads"] > 0
    assert body["version"] == release.version
    assert body["release"] == release.path.name
    datetime.fromisoformat(body["last_modified"])


def test_ready_is_a_503_problem_when_nothing_is_built(unbuilt: Flask):
    response = unbuilt.test_client().get("/ready", buffered=True)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 503
    assert problem["type"].endswith("/unavailable")
    assert "sitegraph build" in problem["detail"] and "empty-build" in problem["detail"]
    assert "sitegraph_store_open 0.0" in scrape(unbuilt.test_client())


def test_ready_is_a_503_when_the_store_cannot_be_opened(tmp_path: Path, built: tuple[Config, Release]):
    _config, release = built
    build = tmp_path / "build"
    (build / "releases" / release.version).mkdir(parents=True)
    (build / "releases" / release.version / "manifest.json").write_text(json.dumps(release.manifest))
    (build / "current").symlink_to(Path("releases") / release.version)  # a release without its store/
    response = create_app(config_for(ROOT, build)).test_client().get("/ready", buffered=True)
    assert response.status_code == 503
    assert "cannot be opened" in response.get_json()["detail"]


# ---------------------------------------------------------------- metrics


def test_metrics_count_requests_by_route_rule(client: FlaskClient):
    before = scrape(client)
    assert client.get("/id/site/chirchiq-technopark", buffered=True).status_code == 200
    assert client.get("/id/site/chirchiq-technopark", buffered=True).status_code == 200
    assert client.get("/no/such/page", buffered=True).status_code == 404
    after = scrape(client)
    route = {"route": "/id/<path:rest>", "method": "GET", "status": "200"}
    assert (
        value(after, "sitegraph_http_requests_total", **route) - value(before, "sitegraph_http_requests_total", **route)
        == 2
    )
    unmatched = {"route": "(unmatched)", "method": "GET", "status": "404"}
    assert value(after, "sitegraph_http_requests_total", **unmatched) >= 1
    assert "chirchiq" not in after and "/no/such" not in after  # raw paths never become labels
    count = value(after, "sitegraph_http_request_duration_seconds_count", route="/id/<path:rest>")
    assert count >= 2
    assert value(after, "sitegraph_http_request_duration_seconds_bucket", route="/id/<path:rest>", le="+Inf") == count
    assert value(after, "sitegraph_http_request_duration_seconds_bucket", route="/id/<path:rest>", le="60.0") == count
    assert value(after, "sitegraph_http_request_duration_seconds_sum", route="/id/<path:rest>") > 0


def test_metrics_report_the_store(client: FlaskClient, built: tuple[Config, Release]):
    _config, release = built
    text = scrape(client)
    assert value(text, "sitegraph_store_open") == 1
    assert value(text, "sitegraph_store_quads") == release.manifest["quads"]
    assert value(text, "sitegraph_dataset_info", version=release.version, release=release.path.name) == 1


def test_counters_other_modules_call(client: FlaskClient):
    before = scrape(client)
    ops.count_timeout()
    ops.count_cancelled()
    ops.count_cancelled()
    ops.count_write("committed")
    ops.count_write("rejected")
    ops.count_write("committed")
    after = scrape(client)
    for name, labels, delta in [
        ("sitegraph_query_timeouts_total", {}, 1),
        ("sitegraph_queries_cancelled_total", {}, 2),
        ("sitegraph_writes_total", {"outcome": "committed"}, 2),
        ("sitegraph_writes_total", {"outcome": "rejected"}, 1),
    ]:
        assert value(after, name, **labels) - value(before, name, **labels) == delta, name


# ---------------------------------------------------------------- replayed answers and the access log


def test_replayed_answers_are_counted_and_logged(built: tuple[Config, Release], access: _Entries):
    config, _release = built
    app = create_app(config)
    entered: list[str] = []
    app.before_request(lambda: entered.append(request.path))
    client = app.test_client()
    query = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    query += "SELECT ?label WHERE { <https://w3id.org/sitegraph/id/site/khimgrad> rdfs:label ?label } # ops replay"
    path = "/sparql?" + urlencode({"query": query})
    accept = {"Accept": "application/sparql-results+json"}
    before = scrape(client)
    first = client.get(path, headers=accept, buffered=True)
    again = client.get(path, headers=accept, buffered=True)
    revalidate = {**accept, "If-None-Match": first.headers["ETag"]}
    statuses = [client.get(path, headers=revalidate, buffered=True).status_code for _ in range(2)]
    after = scrape(client)
    assert (first.status_code, again.status_code, statuses) == (200, 200, [304, 304])
    assert entered.count("/sparql") == 2  # the second 200 and the second 304 were replayed in front of Flask

    def delta(status: str) -> float:
        labels = {"route": "/sparql", "method": "GET", "status": status}
        return value(after, "sitegraph_http_requests_total", **labels) - value(
            before, "sitegraph_http_requests_total", **labels
        )

    assert (delta("200"), delta("304")) == (2, 2)
    entries = [e for e in access.read() if e["path"] == "/sparql"]
    assert [(e["route"], e["status"]) for e in entries] == [("/sparql", s) for s in (200, 200, 304, 304)]
    assert {e["query_hash"] for e in entries} == {qhash(query)}
    assert [e["bytes"] for e in entries] == [len(first.data), len(first.data), 0, 0]


def test_access_log_entry_fields(client: FlaskClient, access: _Entries):
    response = client.get("/id/site/chirchiq-technopark", headers={"User-Agent": "ops-test/1.0"}, buffered=True)
    (entry,) = [e for e in access.read() if e["path"] == "/id/site/chirchiq-technopark"]
    assert set(entry) == ACCESS_FIELDS
    assert entry["method"] == "GET"
    assert entry["route"] == "/id/<path:rest>"
    assert entry["status"] == response.status_code == 200
    assert entry["bytes"] == len(response.data) > 0
    assert 0 < entry["duration_ms"] < 60_000
    assert entry["client"] == "127.0.0.1"
    assert entry["user_agent"] == "ops-test/1.0"
    assert entry["query_hash"] is None and entry["result_count"] is None
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None


def test_access_log_hashes_posted_queries(client: FlaskClient, access: _Entries):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?type } # ops post"
    accept = {"Accept": "application/sparql-results+json"}
    form = client.post("/sparql", data={"query": query}, headers=accept, buffered=True)
    body = client.post(
        "/sparql", data=query.encode(), headers={**accept, "Content-Type": "application/sparql-query"}, buffered=True
    )
    assert form.status_code == body.status_code == 200
    assert form.get_json()["results"]["bindings"] == body.get_json()["results"]["bindings"] != []
    entries = [e for e in access.read() if e["path"] == "/sparql"]
    assert [(e["method"], e["query_hash"]) for e in entries] == [("POST", qhash(query))] * 2


def test_access_log_measures_a_streamed_body(client: FlaskClient, access: _Entries, built: tuple[Config, Release]):
    _config, release = built
    response = client.get("/dumps/sitegraph.nq", buffered=True)
    assert response.status_code == 200
    (entry,) = [e for e in access.read() if e["path"] == "/dumps/sitegraph.nq"]
    assert entry["route"] == "/dumps/<name>"
    assert entry["bytes"] == len(response.data) == (release.path / "sitegraph.nq").stat().st_size


def test_access_log_off(built: tuple[Config, Release], access: _Entries):
    config, _release = built
    app = create_app(load_config(overrides={**config.values, "access_log": "off"}, environ={}))
    before = scrape(app.test_client())
    assert app.test_client().get("/health", buffered=True).status_code == 200
    assert [e for e in access.read() if e["path"] == "/health"] == []
    health = {"route": "/health", "method": "GET", "status": "200"}
    after = scrape(app.test_client())
    assert value(after, "sitegraph_http_requests_total", **health) > value(
        before, "sitegraph_http_requests_total", **health
    )


def test_an_unknown_access_log_setting_is_named(built: tuple[Config, Release]):
    config, _release = built
    with pytest.raises(UsageError, match="SITEGRAPH_ACCESS_LOG"):
        create_app(load_config(overrides={**config.values, "access_log": "yaml"}, environ={}))


# ---------------------------------------------------------------- several worker processes


def test_metrics_add_up_every_worker(built: tuple[Config, Release]):
    """Under granian with two workers, each scrape counts the requests of both, whichever worker answers it."""
    config, _release = built
    with granian(config.path("build_dir"), workers=2) as (_proc, port, _output):
        for _ in range(20):
            assert get(port, "/ready")[0] == 200
        counts = set()
        for _ in range(6):
            status, body = get(port, "/metrics")
            assert status == 200
            counts.add(
                value(body.decode(), "sitegraph_http_requests_total", route="/ready", method="GET", status="200")
            )
        assert counts == {20.0}
