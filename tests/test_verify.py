"""`sitegraph verify`: evidence quotes checked against texts the tests write themselves."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from graph.errors import UsageError
from graph.verify import verify_corpus

TEXT = "Menu | News\nThe park has more than 500 residents. It opened in 2023.\nShare on Facebook\n"


def _write_case(tmp_path: Path, quote: str, start: int, end: int, sha: str | None = None) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(TEXT, encoding="utf-8")
    sources = tmp_path / "sources" / "documents"
    sources.mkdir(parents=True)
    sha = sha or hashlib.sha256(TEXT.encode()).hexdigest()
    (sources / "a.yaml").write_text(
        "document:\n  slug: a\n  file: a.txt\n"
        f'  sha256: "{sha}"\n  characters: {len(TEXT)}\n'
        f"quotes:\n  q: {{text: {quote!r}, start: {start}, end: {end}}}\n",
        encoding="utf-8",
    )
    return tmp_path / "sources", corpus


def test_matching_quote_passes(tmp_path: Path):
    quote = "more than 500 residents"
    start = TEXT.index(quote)
    sources, corpus = _write_case(tmp_path, quote, start, start + len(quote))
    result = verify_corpus(sources, corpus)
    assert result.problems == []
    assert (result.documents, result.quotes) == (1, 1)


def test_wrong_offsets_are_reported_with_the_right_ones(tmp_path: Path):
    quote = "It opened in 2023."
    start = TEXT.index(quote)
    sources, corpus = _write_case(tmp_path, quote, start + 2, start + 2 + len(quote))
    [problem] = verify_corpus(sources, corpus).problems
    assert problem.field == "quotes.q"
    assert f"it is at {start}-{start + len(quote)}" in problem.message
    assert problem.line == 7


def test_quote_not_in_text_is_reported(tmp_path: Path):
    sources, corpus = _write_case(tmp_path, "more than 600 residents", 20, 43)
    [problem] = verify_corpus(sources, corpus).problems
    assert "not found verbatim" in problem.message


def test_changed_text_is_caught_by_checksum(tmp_path: Path):
    quote = "It opened in 2023."
    start = TEXT.index(quote)
    sources, corpus = _write_case(tmp_path, quote, start, start + len(quote), sha="0" * 64)
    [problem] = verify_corpus(sources, corpus).problems
    assert problem.field == "sha256"


def test_missing_text_and_missing_corpus(tmp_path: Path, cli):
    quote = "It opened in 2023."
    start = TEXT.index(quote)
    sources, corpus = _write_case(tmp_path, quote, start, start + len(quote))
    (corpus / "a.txt").unlink()
    [problem] = verify_corpus(sources, corpus).problems
    assert problem.field == "file" and "not found" in problem.message
    with pytest.raises(UsageError):
        verify_corpus(sources, tmp_path / "absent")
    code, _out, err = cli("verify", "--corpus", str(tmp_path / "absent"))
    assert code == 2 and "does not exist" in err


def test_cli_verify_exit_1_on_mismatch(tmp_path: Path, cli):
    project = tmp_path / "project"
    sources, corpus = _write_case(tmp_path, "more than 600 residents", 20, 43)
    (project / "graph").mkdir(parents=True)
    sources.rename(project / "graph" / "sources")
    code, _out, err = cli("--project", str(project), "verify", "--corpus", str(corpus))
    assert code == 1
    assert "graph/sources/documents/a.yaml:7" in err
