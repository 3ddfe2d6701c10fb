"""The OpenAPI 3.1 description of the canned-query API, generated from the ``#+`` headers of ``queries/*.rq``.

Each query is one path, ``/api/queries/<name>``, whose parameters are the header's, typed: IRIs, decimals,
dates and language-tagged strings as strings with the pattern the server checks (so a value the description
allows is one the server accepts, and the other way round), integers as integers. The records form has a
schema per query (its columns, exactly); errors are RFC 9457 problem documents.
"""

from __future__ import annotations

import re
from typing import Any

from graph import __version__
from graph.queries import QueryFile

_PCT = "%[0-9A-Fa-f]{2}"
_UNRESERVED = "-A-Za-z0-9._~"
_SUB_DELIMS = "!$&'()*+,;="
_PCHAR = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_AUTHORITY = f"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*(?::[0-9]*)?"
_HIER = f"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?|{_PCHAR}+(?:/{_PCHAR}*)*)"
_TAIL = f"(?:\\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_END = "(?![\\s\\S])"  # the end of the value, read alike by ECMA-262 and Python (``$`` allows a final newline)

#: The pattern of each parameter type (None: any text). An IRI is an absolute IRI of RFC 3987 without an
#: IP-literal host or an empty path; a language tag is a language, optional script and optional region.
PATTERNS: dict[str, str | None] = {
    "iri": f"^[A-Za-z][A-Za-z0-9+.-]*:{_HIER}{_TAIL}{_END}",
    "string": None,
    "langstring": f"^[\\s\\S]*@[A-Za-z]{{2,3}}(?:-[A-Za-z]{{4}})?(?:-(?:[A-Za-z]{{2}}|[0-9]{{3}}))?{_END}",
    "integer": f"^-?[0-9]+{_END}",
    "decimal": f"^[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+){_END}",
    "date": f"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{_END}",
}
_COMPILED = {name: re.compile(p) for name, p in PATTERNS.items() if p}
HOW = {
    "iri": "an absolute IRI (ASCII: other characters percent-encoded)",
    "string": "any text",
    "langstring": "text with a language tag, written text@lang (e.g. Чирчик@ru)",
    "integer": "an integer",
    "decimal": "a decimal number (e.g. 2.5)",
    "date": "a date, YYYY-MM-DD",
}


def matches(kind: str, value: str) -> bool:
    """Whether ``value`` has the form the description gives parameters of type ``kind``."""
    compiled = _COMPILED.get(kind)
    return compiled is None or compiled.search(value) is not None


def param_schema(kind: str, default: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"} if kind == "integer" else {"type": "string"}
    if kind not in ("integer", "string"):
        schema["pattern"] = PATTERNS[kind]
    if kind == "date":
        schema["format"] = "date"
    if default is not None:
        schema["default"] = int(default) if kind == "integer" else str(default)
        schema["examples"] = [schema["default"]]
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problems(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/Problem{status}"} for status in statuses}


def operation_id(name: str) -> str:
    return "run_" + re.sub(r"[^A-Za-z0-9]+", "_", name)


def _obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    """An object schema: its properties, and which are required (default: all)."""
    return {"type": "object", "required": list(properties) if required is None else required, "properties": properties}


_STRING: dict[str, Any] = {"type": "string"}
_STRINGS: dict[str, Any] = {"type": "array", "items": _STRING}
_HEADERS = {
    "ETag": {"description": "dataset version, query, parameters and format", "schema": _STRING},
    "Last-Modified": {"description": "when the dataset was built", "schema": _STRING},
}
_TERM = _obj(["type", "value"], type={"enum": ["uri", "literal", "bnode", "triple"]}, value={}, datatype=_STRING)
_TERM["properties"]["xml:lang"] = _STRING
SCHEMAS: dict[str, Any] = {
    "Problem": {
        **_obj(type={"type": "string", "format": "uri"}, title=_STRING, status={"type": "integer"}, detail=_STRING),
        "description": "An RFC 9457 problem document",
    },
    "Cell": {"type": ["string", "number", "boolean", "null"], "description": "a value; null where unbound"},
    "SparqlResults": {
        **_obj(
            ["head"],
            head=_obj([], vars=_STRINGS),
            results=_obj([], bindings={"type": "array", "items": {"type": "object", "additionalProperties": _TERM}}),
            boolean={"type": "boolean"},
        ),
        "description": "SPARQL 1.1 Query Results JSON Format",
    },
    "Parameter": _obj(
        name=_STRING, type={"enum": list(PATTERNS)}, default={"type": ["string", "null"]}, description=_STRING
    ),
    "QueryDescription": _obj(
        name=_STRING,
        title=_STRING,
        description=_STRING,
        tags=_STRINGS,
        parameters={"type": "array", "items": {"$ref": "#/components/schemas/Parameter"}},
        columns=_STRINGS,
        links=_obj(run=_STRING, text=_STRING),
    ),
    "QueryList": _obj(
        ["queries"], queries={"type": "array", "items": {"$ref": "#/components/schemas/QueryDescription"}}
    ),
}


def query_path(query: QueryFile, formats: dict[str, str]) -> dict[str, Any]:
    """The path item of one query: its parameters typed, its answers in every format, its errors."""
    parameters = [
        {
            "name": p.name,
            "in": "query",
            "required": p.default is None,
            "description": f"{p.description.strip() or p.name} — {HOW[p.type]} ({p.type})",
            "schema": param_schema(p.type, p.default),
        }
        for p in query.params
    ]
    parameters.append({"$ref": "#/components/parameters/format"})
    content = {media_type: {"schema": _STRING} for media_type in formats.values()}
    content["application/json"] = {"schema": _ref(records_name(query))}
    content["application/sparql-results+json"] = {"schema": _ref("SparqlResults")}
    columns = ", ".join(query.columns)
    return {
        "get": {
            "operationId": operation_id(query.name),
            "summary": query.title,
            "description": f"{query.description}\n\nColumns: {columns}. SPARQL text: `/api/queries/{query.name}.rq`.",
            "tags": list(query.tags) or ["queries"],
            "parameters": parameters,
            "responses": {
                "200": {"description": "The answer, in the negotiated format", "headers": _HEADERS, "content": content},
                "304": {"description": "Not modified: the copy named by If-None-Match is current"},
                **_problems("400", "406", "503"),
            },
        }
    }


def records_name(query: QueryFile) -> str:
    return "Records_" + operation_id(query.name).removeprefix("run_")


def records_schema(query: QueryFile) -> dict[str, Any]:
    """The records form of one query's answer: exactly its columns, each a JSON value."""
    row = {**_obj(**{c: _ref("Cell") for c in query.columns}), "additionalProperties": False}
    return _obj(
        ["query", "parameters", "columns", "rows", "count", "version"],
        query={"const": query.name},
        title=_STRING,
        parameters={"type": "object", "additionalProperties": _STRING},
        columns={"const": list(query.columns)},
        rows={"type": "array", "items": row},
        count={"type": "integer", "minimum": 0},
        version={"type": "string", "description": "the dataset version the answer was computed from"},
    )


def _response(description: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _problem_response(description: str) -> dict[str, Any]:
    content = {"application/problem+json": {"schema": _ref("Problem")}, "text/plain": {"schema": _STRING}}
    return {"description": description, "content": content}


def _get(operation: str, summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"get": {"operationId": operation, "summary": summary, "tags": ["meta"], **more, "responses": responses}}


def spec(queries: dict[str, QueryFile], formats: dict[str, str]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``queries``, answered in ``formats`` (``format=`` value: media type)."""
    name = {"name": "name", "in": "path", "required": True, "schema": {"enum": list(queries)}}
    paths: dict[str, Any] = {
        "/api/queries": _get(
            "list_queries",
            "The canned queries",
            {
                "200": _response(
                    "The queries, with their parameters, columns and links", "application/json", _ref("QueryList")
                )
            },
        ),
        "/api/queries/{name}.rq": _get(
            "query_text",
            "The SPARQL text of a query",
            {
                "200": _response("The query file, header included", "application/sparql-query", _STRING),
                **_problems("404"),
            },
            parameters=[name],
        ),
        **{f"/api/queries/{q.name}": query_path(q, formats) for q in queries.values()},
        "/api/openapi.json": _get(
            "openapi", "This description", {"200": _response("OpenAPI 3.1", "application/json", {"type": "object"})}
        ),
        "/api/": _get("docs", "A page of the queries, with forms", {"200": _response("HTML", "text/html", _STRING)}),
    }
    tags = sorted({t for q in queries.values() for t in q.tags} | {"meta"})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sitegraph canned-query API",
            "version": __version__,
            "summary": "Questions researchers ask of the sitegraph knowledge graph, as HTTP endpoints",
            "description": (
                "Each query of the library is a GET endpoint. Parameters are bound as typed RDF terms, never "
                "spliced into the query text. Answers: the records form (application/json, the default), SPARQL "
                "JSON, CSV, TSV or SPARQL XML, by Accept or `format=`. Answers carry an ETag (dataset version, "
                "query, parameters, format): send it back in If-None-Match for a 304."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "parameters": {
                "format": {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "description": "the answer's format, overriding Accept: "
                    + ", ".join(f"{key} ({media_type})" for key, media_type in formats.items()),
                    "schema": {"enum": list(formats)},
                }
            },
            "responses": {
                "Problem400": _problem_response("A parameter is unknown, given twice, or not of its type"),
                "Problem404": _problem_response("No such query"),
                "Problem406": _problem_response("None of the accepted formats is available"),
                "Problem503": _problem_response("Nothing has been built yet"),
            },
            "schemas": {**SCHEMAS, **{records_name(q): records_schema(q) for q in queries.values()}},
        },
    }
