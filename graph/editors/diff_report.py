"""The diff as Markdown, and the release check: a changed ontology must carry a new owl:versionInfo, the matching
owl:versionIRI, and a CHANGELOG.md line naming the ontology and the new version."""

from __future__ import annotations

import re

from ..errors import Problem, SitegraphError
from ..namespaces import ONTOLOGY_IRI
from .diff import SECTION_ORDER, Diff
from .locate import curie
from .revisions import Revision

TITLES = {
    "ontology": "Ontology header",
    "class": "Classes",
    "object property": "Object properties",
    "datatype property": "Datatype properties",
    "annotation property": "Annotation properties",
    "concept scheme": "Concept schemes",
    "concept": "Concepts",
}


class ReleaseCheckFailed(SitegraphError):
    """The ontology changed without a version bump, a matching versionIRI or a CHANGELOG entry (exit 1)."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def markdown(diff: Diff) -> str:
    title = f"# Ontology diff: {diff.old_label} ({diff.old_version or 'no version'}) → "
    lines = [title + f"{diff.new_label} ({diff.new_version or 'no version'})", ""]
    if diff.empty:
        return "\n".join([*lines, "No changes."])
    counts = {w: sum(1 for c in diff.changes if c.what == w) for w in ("added", "removed", "changed")}
    lines.append(", ".join(f"{n} {w}" for w, n in counts.items()) + f" terms; {len(diff.breaking)} breaking changes.")
    lines.append("")
    if diff.breaking:
        lines += ["## ⚠ Breaking changes", ""]
        lines += [f"- **{reason}**" for reason in diff.breaking]
        lines.append("")
    for kind in SECTION_ORDER:
        of_kind = [c for c in diff.changes if c.kind == kind]
        if not of_kind:
            continue
        lines += [f"## {TITLES[kind]}", ""]
        for what in ("added", "removed", "changed"):
            for change in (c for c in of_kind if c.what == what):
                flag = " ⚠ breaking" if change.breaking else ""
                lines.append(f"- {what}: `{curie(change.iri)}`{flag}")
                lines += [f"  - {detail}" for detail in change.details]
        lines.append("")
    if diff.other_added or diff.other_removed:
        lines += ["## Other axioms and declarations", ""]
        lines += [f"- added: `{t}`" for t in diff.other_added] + [f"- removed: `{t}`" for t in diff.other_removed]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _semver(version: str | None) -> tuple[int, ...] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version or "")
    return tuple(int(x) for x in match.groups()) if match else None


def check_release(diff: Diff, old: Revision, new: Revision, where: str = "ontology/sitegraph.ttl") -> list[Problem]:
    """Problems (empty when fine) with the version, versionIRI and CHANGELOG of a changed ontology."""
    if diff.empty:
        return []
    summary = f"ontology/ changed between {old.label} and {new.label} ({len(diff.changes)} terms"
    summary += f", {len(diff.breaking)} breaking)" if diff.breaking else ")"
    problems = []
    before, after = _semver(old.version), _semver(new.version)
    needed = before and ((before[0], before[1] + 1, 0) if before[0] == 0 else (before[0] + 1, 0, 0))
    patch = before and (before[0], before[1], before[2] + 1)
    suggestion = ".".join(map(str, needed if diff.breaking else patch)) if before else "0.1.0"
    todo = (f"bump owl:versionInfo (e.g. to {suggestion}), set owl:versionIRI to <{ONTOLOGY_IRI}/{suggestion}> "
            f"and add a CHANGELOG.md line naming the ontology and the new version")  # fmt: skip
    if after is None:
        message = f"owl:versionInfo is {new.version!r}, not MAJOR.MINOR.PATCH: {todo}"
        return [Problem(where, None, "owl:versionInfo", None, f"{summary}; {message}")]
    if before is not None and after <= before:
        message = f"owl:versionInfo is still {new.version} (was {old.version}): {todo}"
        return [Problem(where, None, "owl:versionInfo", None, f"{summary}; {message}")]
    if before is not None and diff.breaking and needed and after < needed:
        message = f"breaking changes need at least version {'.'.join(map(str, needed))} (got {new.version})"
        problems.append(Problem(where, None, "owl:versionInfo", None, f"{summary}; {message}"))
    expected = f"{ONTOLOGY_IRI}/{new.version}"
    if new.version_iri != expected:
        message = f"owl:versionIRI is <{new.version_iri}>; for version {new.version} set it to <{expected}>"
        problems.append(Problem(where, None, "owl:versionIRI", None, f"{summary}; {message}"))
    if not _in_changelog(new.changelog or "", new.version or ""):
        message = (f"CHANGELOG.md has no line naming the ontology and version {new.version}: add one, e.g. "
                   f"'- Ontology {new.version}: …' describing the change")  # fmt: skip
        problems.append(Problem("CHANGELOG.md", None, None, None, message))
    return problems


def _in_changelog(text: str, version: str) -> bool:
    pattern = re.compile(rf"(?<![\d.]){re.escape(version)}(?![\d.]*\d)")
    return any(pattern.search(line) and "ontology" in line.lower() for line in text.splitlines())
