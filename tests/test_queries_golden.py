"""Every query of the library answers on the corpus graph what ``queries/golden/<name>.json`` says it answers.

When an answer changes, the test prints a unified diff of the old and new rows (CSV-like, one line per row).
If the change is deliberate, regenerate the file and review the diff before committing::

    .venv/bin/python -m tests.regenerate_golden NAME

``KNOWN_DEVIATIONS`` names queries whose golden answer is knowingly out of date, with the reason; it is empty.
"""

from __future__ import annotations

import difflib
import json

import pyoxigraph as ox
import pytest

from graph.config import Config
from graph.queries import load_queries
from graph.store import Release

from .conftest import ROOT
from .regenerate_golden import GOLDEN, answer, as_text, concatenated, normalised

QUERIES = load_queries(ROOT / "queries")
KNOWN_DEVIATIONS: dict[str, str] = {}


@pytest.fixture(scope="module")
def stores(built: tuple[Config, Release]) -> tuple[ox.Store, ox.Store]:
    """The release's store on disk, and an in-memory copy (the order of answers must not depend on the store)."""
    _config, release = built
    on_disk = ox.Store.read_only(str(release.store_path))
    in_memory = ox.Store()
    in_memory.bulk_extend(on_disk.quads_for_pattern(None, None, None, None))
    return on_disk, in_memory


def test_every_query_has_a_golden_answer_and_every_golden_answer_a_query() -> None:
    files = {p.stem for p in GOLDEN.glob("*.json")}
    assert files == set(QUERIES), f"missing: {sorted(set(QUERIES) - files)}; stale: {sorted(files - set(QUERIES))}"
    assert len(QUERIES) >= 20


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_answer_is_the_golden_one(name: str, stores: tuple[ox.Store, ox.Store]) -> None:
    if name in KNOWN_DEVIATIONS:
        pytest.xfail(KNOWN_DEVIATIONS[name])
    query = QUERIES[name]
    on_disk, in_memory = stores
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    actual = answer(on_disk, query)
    assert actual["columns"] == query.columns, "the #+ columns header must name the result columns, in order"
    assert expected["parameters"] == actual["parameters"], "the golden file was made with other parameters"
    separators = concatenated(query)
    if normalised(actual, separators) != normalised(expected, separators) or actual["columns"] != expected["columns"]:
        diff = difflib.unified_diff(
            as_text(expected, separators), as_text(actual, separators), f"golden/{name}.json", "answer", lineterm=""
        )
        pytest.fail(
            f"{name} answers differently from queries/golden/{name}.json "
            f"(if that is intended: python -m tests.regenerate_golden {name}):\n" + "\n".join(diff),
            pytrace=False,
        )
    assert normalised(answer(in_memory, query), separators) == normalised(actual, separators), (
        "the rows come in another order from an in-memory store: make ORDER BY cover every column"
    )
