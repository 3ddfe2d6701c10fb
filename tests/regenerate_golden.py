"""Golden answers of the query library: ``queries/golden/<name>.json``, each query's rows with its default parameters.

Regenerate them after a deliberate change to a query or to the data, then read the diff before committing::

    .venv/bin/python -m tests.regenerate_golden            # build the project into a temporary folder, write all
    .venv/bin/python -m tests.regenerate_golden NAME ...   # only these queries
    .venv/bin/python -m tests.regenerate_golden --build-dir build   # use an existing build instead

A cell is written so that a change of kind shows: an IRI as ``<iri>``, a plain string as its text, a
language-tagged string as ``text@lang``, any other literal as ``value^^xsd:type``; unbound is ``null``.
``tests/test_queries_golden.py`` compares answers with these files (GROUP_CONCAT lists compared as sets, since
SPARQL leaves their order open) and prints a unified diff when one changes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

import pyoxigraph as ox

from graph.namespaces import PREFIXES
from graph.queries import QueryFile, load_queries
from graph.query import run_query

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "queries" / "golden"
XSD = PREFIXES["xsd"]
_CONCAT = re.compile(
    r'GROUP_CONCAT\s*\(\s*(?:DISTINCT\s+)?\?\w+\s*;\s*separator\s*=\s*"((?:[^"\\]|\\.)*)"\s*\)\s*AS\s+\?(\w+)',
    re.IGNORECASE,
)
_LANG = re.compile(r"(.*?)(@[a-zA-Z]{2,8}(?:-[a-zA-Z0-9]{1,8})*)?", re.DOTALL)


def cell(term: object) -> str | None:
    """A golden cell: the term's value, marked with what kind of term it is."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"{term.value}@{term.language}"
        datatype = term.datatype.value
        if datatype == XSD + "string":
            return term.value
        return f"{term.value}^^{'xsd:' + datatype[len(XSD) :] if datatype.startswith(XSD) else '<' + datatype + '>'}"
    return str(term)  # blank nodes: their labels are not stable, so no query should return one


def answer(store: ox.Store, query: QueryFile) -> dict:
    """The golden document of ``query`` on ``store``: parameters, columns and rows (in the query's order)."""
    results = run_query(store, query.text, substitutions=query.substitutions())
    columns = [v.value for v in results.variables]
    rows = [{c: cell(solution[c]) for c in columns} for solution in results]
    parameters = {p.name: str(p.default) for p in query.params}
    return {"query": query.name, "parameters": parameters, "columns": columns, "rows": rows}


def concatenated(query: QueryFile) -> dict[str, str]:
    """Columns made by GROUP_CONCAT, with their separators (their items come in no defined order)."""
    return {m.group(2): json.loads(f'"{m.group(1)}"') for m in _CONCAT.finditer(query.text)}


def normalised(document: dict, separators: dict[str, str]) -> list[list[str | None]]:
    """Rows as lists of cells, the items of each GROUP_CONCAT cell sorted."""
    out = []
    for row in document["rows"]:
        cells = []
        for column in document["columns"]:
            value = row.get(column)
            separator = separators.get(column)
            if value is not None and separator:
                text, tag = _LANG.fullmatch(value).groups()  # a tag belongs to the whole list, not its last item
                value = separator.join(sorted(text.split(separator))) + (tag or "")
            cells.append(value)
        out.append(cells)
    return out


def as_text(document: dict, separators: dict[str, str]) -> list[str]:
    """CSV-like lines of a golden document (for diffs): the header, then one line per normalised row."""
    lines = [",".join(document["columns"])]
    for cells in normalised(document, separators):
        lines.append(",".join("" if c is None else json.dumps(c, ensure_ascii=False) for c in cells))
    return lines


def write(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def regenerate(store: ox.Store, names: list[str] | None = None) -> list[Path]:
    """Write the golden file of every query (or of ``names``); returns the files written."""
    queries = load_queries(ROOT / "queries")
    unknown = sorted(set(names or []) - set(queries))
    if unknown:
        raise SystemExit(f"no such queries: {', '.join(unknown)}")
    GOLDEN.mkdir(exist_ok=True)
    written = []
    for name, query in queries.items():
        if names and name not in names:
            continue
        path = GOLDEN / f"{name}.json"
        write(path, answer(store, query))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.regenerate_golden", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="queries to regenerate (default: all)")
    parser.add_argument("--build-dir", help="use this existing build instead of building into a temporary folder")
    args = parser.parse_args(argv)

    from graph.build import build
    from graph.config import load_config
    from graph.store import current_release

    with tempfile.TemporaryDirectory(prefix="sitegraph-golden-") as tmp:
        build_dir = args.build_dir or tmp
        config = load_config(overrides={"project_dir": str(ROOT), "build_dir": build_dir}, environ={})
        release = current_release(config.path("build_dir")) if args.build_dir else build(config)[1]
        store = ox.Store.read_only(str(release.store_path))
        written = regenerate(store, args.names)
        del store
    for path in written:
        print(path.relative_to(ROOT))
    print(f"{len(written)} golden file(s) written from release {release.version}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
