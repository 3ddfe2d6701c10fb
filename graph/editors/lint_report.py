"""Output of ``sitegraph lint``: an aligned table (default) or JSON, and a summary line."""

from __future__ import annotations

import json
from collections import Counter

from .lint import LEVELS, Finding

COLUMNS = ("level", "rule", "term", "where", "message")


def summary(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.level for f in findings)
    return {level: counts.get(level, 0) for level in LEVELS}


def summary_line(findings: list[Finding]) -> str:
    counts = summary(findings)
    return "lint: " + ", ".join(f"{n} {level}{'s' if n != 1 else ''}" for level, n in counts.items())


def format_table(findings: list[Finding], origin: str) -> str:
    lines = [f"sitegraph lint: ontology/, shapes/, queries/ and {origin}"]
    if findings:
        rows = [tuple(getattr(f, c) for c in COLUMNS) for f in findings]
        widths = [min(max(len(c), *(len(r[i]) for r in rows)), 60) for i, c in enumerate(COLUMNS[:-1])]
        header = [c.ljust(w) for c, w in zip(COLUMNS[:-1], widths, strict=True)]
        lines.append(" | ".join([*header, COLUMNS[-1]]))
        lines.append("-+-".join(["-" * w for w in widths] + ["-" * 7]))
        for row in rows:
            lines.append(" | ".join([*(v.ljust(w) for v, w in zip(row[:-1], widths, strict=True)), row[-1]]))
    lines.append(summary_line(findings))
    return "\n".join(lines)


def format_json(findings: list[Finding], origin: str) -> str:
    body = {"data": origin, "summary": summary(findings), "findings": [f.as_dict() for f in findings]}
    return json.dumps(body, indent=2, ensure_ascii=False)
