"""Run SPARQL over the built store and format the answers (table, CSV, TSV, SPARQL JSON; Turtle for graphs).

The default graph is the union of all named graphs (ontology, reference, one per source, inferred); each
source's graph stays addressable with ``GRAPH``. The project prefixes (sg:, sector:, schema: …) are predeclared.
"""

from __future__ import annotations

import io
import re

import pyoxigraph as ox

from .errors import UsageError
from .namespaces import PREFIXES

RESULT_FORMATS = {
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
}
GRAPH_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "xml": ox.RdfFormat.RDF_XML,
}

_STRIP = re.compile(
    r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>|\#[^\n]*""",
    re.DOTALL,
)
_SERVICE = re.compile(r"(?<![\w?$:])SERVICE(?![\w:])", re.IGNORECASE)


def refuse_outbound(query: str) -> None:
    """Refuse ``SERVICE``: pyoxigraph would follow it to any address. Strings, IRIs and comments are ignored."""
    if _SERVICE.search(_STRIP.sub(" ", query)):
        raise UsageError("SERVICE (federated query) is not allowed: queries never reach other servers")


def run_query(store: ox.Store, query: str, prefixes: dict[str, str] | None = None, substitutions=None):
    """Evaluate a SPARQL query with the union default graph; a syntax error becomes a UsageError.

    ``substitutions`` binds variables to RDF terms (parameters are never spliced into the text).
    """
    refuse_outbound(query)
    try:
        return store.query(
            query, prefixes=prefixes or PREFIXES, use_default_graph_as_union=True, substitutions=substitutions
        )
    except SyntaxError as exc:
        raise UsageError(f"SPARQL syntax error: {exc}") from exc


def compact(term, prefixes: dict[str, str]) -> str:
    """A readable cell: prefixed names for IRIs, the plain text of literals."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        best = max(
            ((p, ns) for p, ns in prefixes.items() if term.value.startswith(ns)), key=lambda x: len(x[1]), default=None
        )
        return f"{best[0]}:{term.value[len(best[1]) :]}" if best else f"<{term.value}>"
    if isinstance(term, ox.Literal):
        return term.value  # the table is for reading; csv/tsv/json/xml keep language tags and datatypes
    return str(term)


def format_results(results, fmt: str, prefixes: dict[str, str] | None = None) -> str:
    """Results of any query form, in ``fmt`` (table, csv, tsv, json, xml; turtle/ntriples/jsonld for graphs)."""
    prefixes = prefixes or PREFIXES
    if isinstance(results, ox.QueryBoolean):
        if fmt == "table":
            return "true" if bool(results) else "false"
        return _serialize_results(results, fmt)
    if isinstance(results, ox.QueryTriples):
        graph_format = GRAPH_FORMATS.get("turtle" if fmt == "table" else fmt)
        if graph_format is None:
            raise UsageError(f"a CONSTRUCT/DESCRIBE result is written as {', '.join(GRAPH_FORMATS)}, not {fmt}")
        kwargs = {"prefixes": prefixes} if graph_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else {}
        return ox.serialize(list(results), format=graph_format, **kwargs).decode("utf-8")
    if fmt == "table":
        return _table(results, prefixes)
    return _serialize_results(results, fmt)


def _serialize_results(results, fmt: str) -> str:
    if fmt not in RESULT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose table, {', '.join(RESULT_FORMATS)}")
    out = io.BytesIO()
    results.serialize(out, RESULT_FORMATS[fmt])
    return out.getvalue().decode("utf-8")


def _table(results: ox.QuerySolutions, prefixes: dict[str, str]) -> str:
    names = [v.value for v in results.variables]
    rows = [[compact(solution[name], prefixes) for name in names] for solution in results]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    line = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(names), "-+-".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
