"""Run SPARQL over the built store and format the answers (table, CSV, TSV, SPARQL JSON; Turtle for graphs).

The default graph is the union of all named graphs (ontology, reference, one per source, inferred); each
source's graph stays addressable with ``GRAPH``. The project prefixes (sg:, sector:, schema: …) are predeclared.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from urllib.parse import urljoin

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

# The lexical rules of SPARQL 1.1 (§19.8) that decide what is a string or a comment. They must agree with the
# engine's: a string the check sees where pyoxigraph does not would hide a SERVICE from it. Long strings allow
# escapes and up to two quotes in a row; a comment ends at a line feed *or* a carriage return. A string that is
# not closed runs to the end of its line (short) or of the text (long): the engine refuses such a query anyway,
# and lexing stays linear in the length of the text (a closing quote that must be found would make it quadratic).
_LONG1 = r"""'''(?:(?:'|'')?(?:[^'\\]|\\.))*(?:'''|.*\Z)"""
_LONG2 = r'''"""(?:(?:"|"")?(?:[^"\\]|\\.))*(?:"""|.*\Z)'''
_SHORT1 = r"""'(?:[^'\\\n\r]|\\.)*'?"""
_SHORT2 = r""""(?:[^"\\\n\r]|\\.)*"?"""
_COMMENT = r"\#[^\n\r]*"
STRINGS_AND_COMMENTS = re.compile("|".join([_LONG1, _LONG2, _SHORT1, _SHORT2, _COMMENT]), re.DOTALL)
# one token, as far as the checks below need: strings and comments (skipped), IRIs, variables, names (keywords,
# and prefixed names with their local part), numbers, other words, any other character. Every alternative but
# the IRI ends wherever its characters end, so no position is scanned twice.
_TOKEN = re.compile(
    "|".join([_LONG1, _LONG2, _SHORT1, _SHORT2, _COMMENT])
    + r"""|<[^<>"{}|^`\\\x00-\x20]*>|[?$]\w+"""
    + r"""|[^\W\d][\w.-]*(?::(?:[\w.:%-]|\\.)*)?|:(?:[\w.:%-]|\\.)*"""
    + r"""|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\w+|\S""",
    re.DOTALL,
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _tokens(query: str) -> list[str]:
    """The query's tokens without strings and comments.

    Where ``<`` starts an IRI and where it is "less than" depends on the grammar, not on the characters; a quote
    inside what looks like an IRI (``FILTER(?a<'>')``) would make this lexer and the engine's disagree about where
    a string starts, so such IRIs are refused (percent-encode the quote: ``%27``, ``%22``)."""
    tokens = [t for t in _TOKEN.findall(query) if t[0] not in "'\"#"]
    for token in tokens:
        if token[0] == "<" and len(token) > 1 and ("'" in token or '"' in token):
            raise UsageError(f"{token[:60]}: an IRI with a quote character is not accepted; write it as %27 or %22")
    return tokens


def nesting_depth(query: str) -> int:
    """The deepest nesting of ( { [ outside strings and comments, counted two ways and the larger kept: without
    the brackets inside IRIs, and with them (where ``<`` is "less than", they are the engine's brackets too).
    A closing bracket never takes the count below zero."""
    tokens = [t for t in _TOKEN.findall(query) if t[0] not in "'\"#"]
    plain = "".join(t for t in tokens if len(t) == 1)
    with_iris = "".join(t for t in tokens if len(t) == 1 or t[0] == "<")
    return max(_depth(plain), _depth(with_iris))


def _depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")}]" and depth:
            depth -= 1
    return deepest


def _glued(tokens: list[str], keyword: str) -> str | None:
    """A token that holds ``keyword`` without being it: pyoxigraph's parser matches keywords without looking at
    what follows, so ``SERVICESILENT``, ``trueSERVICE`` or ``SERVICE:x`` (with ``PREFIX :``) are a SERVICE to it.
    Words and the prefix part of prefixed names are looked at; variables, IRIs and strings are not."""
    for token in tokens:
        if token[0] in "?$<":
            continue
        word = token.partition(":")[0] if ":" in token else token
        if keyword in word.upper() and token.upper() != keyword:
            return token
    return None


def _resolver(tokens: list[str], prefixes: dict[str, str] | None) -> dict[str, str]:
    """Prefix declarations (and BASE, under the key ``<base>``) of the query, over ``prefixes``."""
    declared = dict(prefixes or {})
    for i, token in enumerate(tokens[:-2]):
        word = token.upper()
        if word == "PREFIX" and tokens[i + 1].endswith(":") and tokens[i + 2].startswith("<"):
            declared[tokens[i + 1][:-1]] = tokens[i + 2][1:-1]
        elif word == "BASE" and tokens[i + 1].startswith("<"):
            declared["<base>"] = tokens[i + 1][1:-1]
    return declared


def _iri(token: str, declared: dict[str, str]) -> str | None:
    """The absolute IRI a token names, or None (a variable, an undeclared prefix, not an IRI)."""
    if token.startswith("<") and token.endswith(">"):
        iri = token[1:-1]
        if _SCHEME.match(iri):
            return iri
        base = declared.get("<base>")
        return urljoin(base, iri) if base else None
    if ":" in token and token[0] not in "?$<":
        prefix, _, local = token.partition(":")
        namespace = declared.get(prefix)
        return None if namespace is None else namespace + re.sub(r"\\(.)", r"\1", local)
    return None


def _targets(tokens: list[str], keyword: str) -> list[str]:
    """The token naming what each ``keyword`` (SERVICE, LOAD) acts on, after an optional SILENT."""
    found = []
    for i, token in enumerate(tokens):
        if token.upper() == keyword:
            j = i + 1
            if j < len(tokens) and tokens[j].upper() == "SILENT":
                j += 1
            found.append(tokens[j] if j < len(tokens) else "")
    return found


def _refuse_service(tokens: list[str], declared: dict[str, str], allow: Iterable[str]) -> None:
    allowed = set(allow)
    for target in _targets(tokens, "SERVICE"):
        iri = _iri(target, declared)
        if iri is not None and iri in allowed:
            continue
        if target[:1] in ("?", "$"):
            raise UsageError(f"SERVICE {target} is not allowed: a federated query must name its endpoint")
        shown = f"<{iri}>" if iri else target
        raise UsageError(
            f"SERVICE {shown} (federated query) is not allowed: queries never reach other servers "
            "unless the endpoint is listed in the setting service_allow"
        )


def refuse_outbound(query: str, allow: Iterable[str] = (), prefixes: dict[str, str] | None = None) -> None:
    """Refuse ``SERVICE``: pyoxigraph would follow it to any address. Strings and comments are ignored.

    ``allow`` lists the endpoint IRIs ``SERVICE`` may name (in the query as IRIs or prefixed names);
    ``SERVICE ?var`` is always refused."""
    tokens = _tokens(query)
    _refuse_glued(tokens, "SERVICE")
    if any(t.upper() == "SERVICE" for t in tokens):
        _refuse_service(tokens, _resolver(tokens, prefixes), allow)


def _refuse_glued(tokens: list[str], keyword: str) -> None:
    glued = _glued(tokens, keyword)
    if glued is not None:
        raise UsageError(f"{glued!r} holds the keyword {keyword}, which is not allowed here; write names apart")


def refuse_load_and_service(update: str, allow: Iterable[str] = (), prefixes: dict[str, str] | None = None) -> None:
    """For SPARQL Update: refuse ``LOAD`` (it reads any URL or local file) and ``SERVICE`` outside ``allow``."""
    tokens = _tokens(update)
    _refuse_glued(tokens, "LOAD")
    _refuse_glued(tokens, "SERVICE")
    for target in _targets(tokens, "LOAD"):
        raise UsageError(f"LOAD {target} is not allowed: updates never read from other servers or local files")
    if any(t.upper() == "SERVICE" for t in tokens):
        _refuse_service(tokens, _resolver(tokens, prefixes), allow)


def dataset_clauses(query: str, prefixes: dict[str, str] | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The IRIs of the query's ``FROM`` and ``FROM NAMED`` clauses; a UsageError names one it cannot resolve."""
    tokens = _tokens(query)
    if not any(t.upper() == "FROM" for t in tokens):
        return (), ()
    declared = _resolver(tokens, prefixes)
    default: list[str] = []
    named: list[str] = []
    for i, token in enumerate(tokens):
        if token.upper() != "FROM" or i + 1 >= len(tokens):
            continue
        is_named = tokens[i + 1].upper() == "NAMED"
        target = tokens[i + 2] if is_named and i + 2 < len(tokens) else tokens[i + 1]
        iri = _iri(target, declared)
        if iri is None:
            raise UsageError(f"FROM{' NAMED' if is_named else ''} {target}: not an IRI this query declares")
        (named if is_named else default).append(iri)
    return tuple(default), tuple(named)


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
