"""Query files (``queries/*.rq``) with a ``#+`` header, and their parameters bound as RDF terms.

A header is YAML in comment lines starting with ``#+``::

    #+ title: Find entities by name
    #+ description: …
    #+ tags: [search]
    #+ params:
    #+   - {name: text, type: string, default: "Chirchik", description: part of a name}
    #+ columns: [text, entity, label, matched]

Parameters are never spliced into the query text: each value is parsed into an RDF term of the declared type
and given to the engine as a substitution (pyoxigraph binds only projected variables, so a parametrised query
lists its parameters in its SELECT clause).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from .errors import Problem, SourceError, UsageError

XSD = "http://www.w3.org/2001/XMLSchema#"
PARAM_TYPES = ("iri", "string", "langstring", "integer", "decimal", "date")
HEADER_KEYS = {"title", "description", "tags", "params", "columns"}
PARAM_KEYS = {"name", "type", "default", "description"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    description: str


@dataclass
class QueryFile:
    name: str
    path: Path
    title: str
    description: str
    text: str
    tags: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def substitutions(self, values: dict[str, str] | None = None) -> dict[ox.Variable, Any]:
        """Defaults overridden by ``values``; unknown names and ill-typed values are UsageErrors."""
        values = dict(values or {})
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"query {self.name}: unknown parameter(s) {', '.join(unknown)}; known: {sorted(known)}")
        out: dict[ox.Variable, Any] = {}
        for param in self.params:
            raw = values.get(param.name, param.default)
            if raw is None:
                raise UsageError(f"query {self.name}: parameter {param.name} is required")
            out[ox.Variable(param.name)] = to_term(param, raw, self.name)
        return out


def to_term(param: Param, raw: Any, query: str = "") -> Any:
    """Parse a parameter value into an RDF term of the parameter's type."""
    text = str(raw)
    where = f"query {query}: parameter {param.name}" if query else f"parameter {param.name}"
    if param.type == "iri":
        if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]+", text):
            raise UsageError(f"{where}: {text!r} is not an absolute IRI")
        return ox.NamedNode(text)
    if param.type == "string":
        return ox.Literal(text)
    if param.type == "langstring":
        match = re.fullmatch(r"(.*)@([a-zA-Z]{2,8}(?:-[a-zA-Z0-9]{1,8})*)", text, re.DOTALL)
        if not match:
            raise UsageError(f"{where}: {text!r} needs a language tag, e.g. Чирчик@ru")
        return ox.Literal(match.group(1), language=match.group(2))
    if param.type == "integer":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise UsageError(f"{where}: {text!r} is not an integer")
        return ox.Literal(str(int(text)), datatype=ox.NamedNode(XSD + "integer"))
    if param.type == "decimal":
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise UsageError(f"{where}: {text!r} is not a decimal number")
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "decimal"))
    if param.type == "date":
        try:
            date.fromisoformat(text)
        except ValueError as exc:
            raise UsageError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from exc
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "date"))
    raise UsageError(f"{where}: unknown type {param.type!r}")


def parse_query_file(path: Path, display: str | None = None) -> QueryFile:
    """Read one .rq file and its header; a malformed header raises SourceError naming file and line."""
    display = display or str(path)
    text = path.read_text(encoding="utf-8")
    header_lines: list[str] = []
    first_line = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#+"):
            if not header_lines:
                first_line = number
            header_lines.append(line[2:].removeprefix(" "))
        elif header_lines or line.strip():
            break

    def fail(message: str, line: int | None = None) -> SourceError:
        return SourceError([Problem(display, line or first_line, None, None, message)])

    if not header_lines:
        raise fail("no #+ header (title, description, tags, params, columns)", 1)
    try:
        header = yaml.safe_load("\n".join(header_lines)) or {}
    except yaml.MarkedYAMLError as exc:
        line = first_line + exc.problem_mark.line if exc.problem_mark else first_line
        raise fail(f"invalid #+ header: {exc.problem}", line) from exc
    if not isinstance(header, dict):
        raise fail("the #+ header must be key: value lines")
    unknown = sorted(set(header) - HEADER_KEYS)
    if unknown:
        raise fail(f"unknown header key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(HEADER_KEYS))}")
    for key in ("title", "description"):
        if not isinstance(header.get(key), str) or not header[key].strip():
            raise fail(f"the header needs a {key}")
    params = []
    for spec in header.get("params") or []:
        if not isinstance(spec, dict) or set(spec) - PARAM_KEYS or not {"name", "type"} <= set(spec):
            raise fail(f"a parameter is {{name, type, default, description}}, got {spec!r}")
        if spec["type"] not in PARAM_TYPES:
            raise fail(f"parameter {spec['name']}: type {spec['type']!r} is not one of {', '.join(PARAM_TYPES)}")
        param = Param(str(spec["name"]), spec["type"], spec.get("default"), str(spec.get("description", "")))
        if param.default is not None:
            try:
                to_term(param, param.default)
            except UsageError as exc:
                raise fail(f"default of {exc}") from exc
        if not re.search(r"SELECT\s+(DISTINCT\s+|REDUCED\s+)?[^{]*\?" + re.escape(param.name) + r"\b", text, re.I):
            raise fail(f"parameter {param.name} must be projected by the SELECT clause to be bound")
        params.append(param)
    return QueryFile(
        name=path.stem,
        path=path,
        title=header["title"].strip(),
        description=header["description"].strip(),
        text=text,
        tags=[str(t) for t in header.get("tags") or []],
        params=params,
        columns=[str(c) for c in header.get("columns") or []],
    )


def load_queries(folder: Path) -> dict[str, QueryFile]:
    """Every ``*.rq`` in ``folder`` by name; all header problems are reported together."""
    queries: dict[str, QueryFile] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.rq")):
        try:
            queries[path.stem] = parse_query_file(path, f"{folder.name}/{path.name}")
        except SourceError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SourceError(problems)
    return queries
