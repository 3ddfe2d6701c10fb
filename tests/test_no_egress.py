"""Untrusted queries never reach the network or the file system: a loopback listener records nothing."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_service_from_and_load_contact_nothing(client, listener, tmp_path: Path):
    address, received = listener
    secret = tmp_path / "secret.ttl"
    secret.write_text("<urn:secret> <urn:p> 'leaked' .\n", encoding="utf-8")
    queries = [
        f"SELECT * WHERE {{ SERVICE <{address}sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{address}sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{address}data.ttl> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{address}data.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{secret.as_uri()}> WHERE {{ ?s ?p ?o }}",
    ]
    for query in queries:
        response = client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/json"})
        assert response.status_code in (200, 400), (query, response.status_code)
        assert b"leaked" not in response.data
        if "SERVICE" in query:
            assert response.status_code == 400
    for update in (f"LOAD <{address}data.ttl>", f"LOAD <{secret.as_uri()}>"):
        # without a token an update is refused before it is read (with a write token LOAD is a 400: test_writes)
        response = client.post("/sparql", data={"update": update})
        assert response.status_code == 401
        response = client.post("/sparql", data=update, content_type="application/sparql-update")
        assert response.status_code == 401
    assert received == [], "no connection may reach the listener"


def test_the_listener_would_see_an_unguarded_engine(listener):
    """The control: pyoxigraph on its own does follow SERVICE, so the guard above is what keeps it local."""
    import time

    import pyoxigraph as ox

    address, received = listener
    with pytest.raises(Exception):  # noqa: B017 - the listener answers nothing a SPARQL client accepts
        list(ox.Store().query(f"SELECT * WHERE {{ SERVICE <{address}sparql> {{ ?s ?p ?o }} }}"))
    deadline = time.monotonic() + 3
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received, "the unguarded engine contacted the listener"
