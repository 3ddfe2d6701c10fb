"""The command line as a user meets it: help, query formats, errors and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from graph.cli import cli as cli_group

COMMANDS = sorted(cli_group.commands)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_everywhere_documents_exit_codes(command: str, cli):
    args = [command, "--help"] if command else ["--help"]
    code, out, _err = cli(*args)
    assert code == 0
    assert "Usage: sitegraph" in out
    assert "2  usage or input error" in out or command == "settings"


def _run(cli, built, *args: str) -> tuple[int, str, str]:
    config, _release = built
    return cli("--project", str(config.project), "--build-dir", str(config.path("build_dir")), *args)


QUERY = (
    "SELECT ?site ?label WHERE { ?site a sg:Technopark ; rdfs:label ?label FILTER(LANG(?label) = 'en') } ORDER BY ?site"
)


def test_query_table_csv_tsv_json_xml_agree(cli, built):
    code, table, _ = _run(cli, built, "query", QUERY)
    assert code == 0 and "rows)" in table
    n = int(table.rsplit("(", 1)[1].split()[0])
    assert n >= 3
    _, out, _ = _run(cli, built, "query", QUERY, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == n and set(rows[0]) == {"site", "label"}
    _, out, _ = _run(cli, built, "query", QUERY, "--format", "tsv")
    assert len(out.strip().splitlines()) == n + 1
    _, out, _ = _run(cli, built, "query", QUERY, "--format", "json")
    data = json.loads(out)
    assert data["head"]["vars"] == ["site", "label"] and len(data["results"]["bindings"]) == n
    _, out, _ = _run(cli, built, "query", QUERY, "--format", "xml")
    assert out.count("<result>") == n


def test_query_from_rq_file_and_construct(cli, built, tmp_path: Path):
    rq = tmp_path / "q.rq"
    rq.write_text("ASK { ?s a sg:SourceDocument }", encoding="utf-8")
    code, out, _ = _run(cli, built, "query", str(rq))
    assert (code, out.strip()) == (0, "true")
    code, out, _ = _run(cli, built, "query", "CONSTRUCT { ?d a sg:SourceDocument } WHERE { ?d a sg:SourceDocument }")
    assert code == 0 and out.count("sg:SourceDocument") == 5


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT ?s WHERE { ?s ?p }", "SPARQL syntax error"),
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE"),
        ("select * where { service <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE"),
    ],
)
def test_bad_queries_exit_2(cli, built, query: str, message: str):
    code, _out, err = _run(cli, built, "query", query)
    assert code == 2 and message in err


def test_service_inside_strings_or_names_is_not_refused(cli, built):
    code, _out, err = _run(cli, built, "query", "SELECT ?service WHERE { BIND('SERVICE' AS ?service) }")
    assert code == 0, err


def test_query_before_build_says_what_to_do(cli, tmp_path: Path):
    code, _out, err = cli("--build-dir", str(tmp_path / "nothing"), "query", "ASK {}")
    assert code == 2 and "run `sitegraph build` first" in err


def test_stats_lists_classes_and_graphs(cli, built):
    code, out, _ = _run(cli, built, "stats")
    assert code == 0
    assert "sg:Technopark" in out and "graph:inferred" in out and "graph:source/" in out
    code, out, _ = _run(cli, built, "stats", "--format", "json")
    data = json.loads(out)
    assert data["classes"]["sg:SourceDocument"] == 5
    assert sum(data["graphs"].values()) > 1000


def test_missing_query_file_is_a_usage_error(cli, built):
    code, _out, err = _run(cli, built, "query", "missing.rq")
    assert code == 2 and "not found" in err
