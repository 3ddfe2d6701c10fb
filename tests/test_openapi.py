"""The OpenAPI description of /api: valid OpenAPI 3.1, one documented path per query, and the live API keeps to it
under property-based testing (schemathesis: no server errors, every answer as described)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from graph.queries import load_queries
from server import openapi
from server.api import FORMATS

from .conftest import ROOT

QUERIES = load_queries(ROOT / "queries")
SPEC = openapi.spec(QUERIES, FORMATS)
# schemathesis' lazy loader (from_fixture) does not work with pytest 9, so the schema is made from the same
# function the server uses, and test_served_description_is_this_one checks that the server serves exactly it.
SCHEMA = schemathesis.openapi.from_dict(SPEC)


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=2000, database=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_to_its_description(case, app: Flask) -> None:
    case.call_and_validate(app=app)


def test_served_description_is_valid_openapi_3_1_and_this_one(app: Flask) -> None:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == json.loads(json.dumps(SPEC)), "the tested description is not the served one"
    validate(response.json)
    assert response.json["openapi"] == "3.1.0"


def test_one_documented_path_per_query_with_typed_parameters() -> None:
    for name, query in QUERIES.items():
        operation = SPEC["paths"][f"/api/queries/{name}"]["get"]
        assert operation["summary"] == query.title and query.description in operation["description"]
        documented = {p["name"]: p for p in operation["parameters"] if "name" in p}
        assert list(documented) == [p.name for p in query.params]
        for param in query.params:
            schema = documented[param.name]["schema"]
            assert param.description in documented[param.name]["description"]
            assert schema["type"] == ("integer" if param.type == "integer" else "string")
            assert schema["default"] == (int(param.default) if param.type == "integer" else param.default)
            assert openapi.matches(param.type, str(param.default)), "the default must be a value the API accepts"
        ok = operation["responses"]["200"]["content"]
        records = SPEC["components"]["schemas"][ok["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
        assert records["properties"]["columns"]["const"] == query.columns
        assert set(ok) == set(FORMATS.values())
        for status in ("400", "406"):
            ref = operation["responses"][status]["$ref"].rsplit("/", 1)[1]
            content = SPEC["components"]["responses"][ref]["content"]
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        (
            "iri",
            ["https://w3id.org/sitegraph/id/place/osh", "urn:x:1", "http://h:80/a?b=c#d"],
            ["osh", "a:", "h://a b"],
        ),
        ("langstring", ["Чирчик@ru", "a@b@en-GB", "x@zh-Hant-TW"], ["Чирчик", "x@", "x@en\n"]),
        ("integer", ["0", "-12", "2024"], ["+1", "1.0", "1e3", "2024\n"]),
        ("decimal", ["2.5", "-.5", "+3."], ["1e3", "2,5", "."]),
        ("date", ["2024-08-14"], ["2024-8-14", "20240814", "--02-02"]),
    ],
)
def test_patterns_say_what_the_server_accepts(kind: str, good: list[str], bad: list[str]) -> None:
    assert all(openapi.matches(kind, value) for value in good)
    assert not any(openapi.matches(kind, value) for value in bad)
