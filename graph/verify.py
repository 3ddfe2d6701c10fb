"""Check every evidence quote against the article texts (``sitegraph verify --corpus DIR``).

The texts are third-party writing and are not part of the repository; the source files keep the file name,
SHA-256 and length of each, and each quote's text with its character offsets. This module checks all of them
and, where a quote is found elsewhere in the text, says where, so a curator can fix the offsets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, UsageError
from .yamlio import Node, load_yaml


@dataclass
class VerifyResult:
    documents: int
    quotes: int
    problems: list[Problem]


def verify_corpus(sources_dir: Path, corpus_dir: Path, display_root: Path | None = None) -> VerifyResult:
    """Compare each document file under ``sources_dir/documents`` with its text in ``corpus_dir``."""
    if not corpus_dir.is_dir():
        raise UsageError(f"corpus folder {corpus_dir} does not exist (pass --corpus DIR or set SITEGRAPH_CORPUS_DIR)")
    problems: list[Problem] = []
    documents = quotes = 0
    for path in sorted((sources_dir / "documents").glob("*.yaml")):
        display = str(path.relative_to(display_root)) if display_root else str(path)
        data = load_yaml(path, display)
        if not isinstance(data, Node) or not isinstance(data.get("document"), Node):
            problems.append(Problem(display, 1, None, None, "not a document file (no document section)"))
            continue
        meta = data["document"]
        slug = str(meta.get("slug"))
        documents += 1
        text_path = corpus_dir / str(meta.get("file"))
        if not text_path.is_file():
            problems.append(
                Problem(display, meta.line_of("file"), slug, "file", f"{text_path} not found in the corpus")
            )
            continue
        raw = text_path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != meta.get("sha256"):
            problems.append(
                Problem(
                    display,
                    meta.line_of("sha256"),
                    slug,
                    "sha256",
                    f"the text's SHA-256 is {digest}: the file differs from the one the facts were read from",
                )
            )
        text = raw.decode("utf-8")
        if meta.get("characters") != len(text):
            problems.append(
                Problem(
                    display,
                    meta.line_of("characters"),
                    slug,
                    "characters",
                    f"the text has {len(text)} characters, not {meta.get('characters')}",
                )
            )
        for qid, spec in (data.get("quotes") or {}).items():
            quotes += 1
            if not isinstance(spec, Node):
                problems.append(
                    Problem(display, data["quotes"].line_of(qid), slug, f"quotes.{qid}", "not a quote mapping")
                )
                continue
            problems.extend(check_quote(text, spec, display, slug, qid))
    return VerifyResult(documents, quotes, problems)


def check_quote(text: str, spec: Node, display: str, slug: str, qid: str) -> list[Problem]:
    quote, start, end = spec.get("text"), spec.get("start"), spec.get("end")
    line = spec.line
    if not isinstance(quote, str) or not isinstance(start, int) or not isinstance(end, int):
        return [Problem(display, line, slug, f"quotes.{qid}", "a quote needs text, start and end")]
    if text[start:end] == quote:
        return []
    found = find_all(text, quote)
    if found:
        where = ", ".join(f"{s}-{s + len(quote)}" for s in found[:5])
        message = f"offsets {start}-{end} do not hold this quote; it is at {where}"
    else:
        message = f"quote not found verbatim in the text (offsets {start}-{end} hold {text[start:end][:60]!r})"
    return [Problem(display, line, slug, f"quotes.{qid}", message)]


def find_all(text: str, quote: str) -> list[int]:
    found, at = [], text.find(quote)
    while at >= 0 and quote:
        found.append(at)
        at = text.find(quote, at + 1)
    return found
