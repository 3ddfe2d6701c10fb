"""Versions of the ontology to compare: a file, a folder, or a git revision (``HEAD~3``, a tag, a commit).

A git revision is read with ``git show REV:ontology/<file>.ttl`` for every ``*.ttl`` under ontology/ at that
revision, and its CHANGELOG.md with it, so the release check sees what that commit had.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from ..errors import UsageError
from ..namespaces import ONTOLOGY_IRI, bind_prefixes

FORMATS = {".ttl": "turtle", ".owl": "xml", ".rdf": "xml", ".nt": "nt", ".jsonld": "json-ld", ".n3": "n3"}


@dataclass
class Revision:
    label: str
    graph: Graph
    changelog: str | None = None

    def header(self, prop: URIRef) -> str | None:
        value = self.graph.value(URIRef(ONTOLOGY_IRI), prop)
        return str(value) if value is not None else None

    @property
    def version(self) -> str | None:
        return self.header(OWL.versionInfo)

    @property
    def version_iri(self) -> str | None:
        return self.header(OWL.versionIRI)


def git(project: Path, *args: str) -> str | None:
    """Output of a git command in ``project``, or None when it fails (not a repository, unknown revision)."""
    try:
        done = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return done.stdout if done.returncode == 0 else None


def _parse(graph: Graph, data: str | Path, fmt: str, where: str) -> None:
    try:
        if isinstance(data, Path):
            graph.parse(data, format=fmt)
        else:
            graph.parse(data=data, format=fmt)
    except Exception as exc:  # rdflib raises several parser exception types
        raise UsageError(f"{where}: cannot parse as {fmt}: {exc}") from exc


def _from_path(path: Path) -> Revision:
    graph = Graph()
    bind_prefixes(graph)
    if path.is_dir():
        folder = path / "ontology" if (path / "ontology").is_dir() else path
        files = sorted(folder.glob("*.ttl"))
        if not files:
            raise UsageError(f"{path}: no *.ttl files (give an ontology folder, a file, or a git revision)")
        for file in files:
            _parse(graph, file, "turtle", str(file))
        changelog = next((p for p in (folder / "CHANGELOG.md", folder.parent / "CHANGELOG.md") if p.is_file()), None)
    else:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise UsageError(f"{path}: unknown RDF format (use one of {', '.join(FORMATS)})")
        _parse(graph, path, fmt, str(path))
        changelog = None
    text = changelog.read_text(encoding="utf-8") if changelog else None
    return Revision(str(path), graph, text)


def _from_git(project: Path, rev: str) -> Revision:
    commit = (git(project, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") or "").strip()
    if not commit:
        raise UsageError(
            f"{rev!r} is neither a file or folder nor a git revision of {project} "
            "(give a path, or a revision such as HEAD~1, a tag or a commit)"
        )
    names = (git(project, "ls-tree", "-r", "--name-only", commit, "--", "ontology/") or "").split()
    files = sorted(n for n in names if n.endswith(".ttl"))
    if not files:
        raise UsageError(f"git revision {rev} ({commit[:7]}) has no ontology/*.ttl")
    graph = Graph()
    bind_prefixes(graph)
    for name in files:
        text = git(project, "show", f"{commit}:{name}")
        if text is None:
            raise UsageError(f"cannot read {name} at {rev} with git show")
        _parse(graph, text, "turtle", f"{rev}:{name}")
    label = rev if rev.startswith(commit[:7]) else f"{rev} ({commit[:7]})"
    return Revision(label, graph, git(project, "show", f"{commit}:CHANGELOG.md"))


def resolve(spec: str, project: Path) -> Revision:
    """A path (as given, or relative to the project) if it exists, else a git revision of the project."""
    for candidate in (Path(spec), project / spec):
        if candidate.exists():
            return _from_path(candidate)
    return _from_git(project, spec)


def working_tree(project: Path) -> Revision:
    revision = _from_path(project / "ontology")
    revision.label = "working tree"
    changelog = project / "CHANGELOG.md"
    revision.changelog = changelog.read_text(encoding="utf-8") if changelog.is_file() else None
    return revision


def auto_pair(project: Path) -> tuple[Revision, Revision] | str:
    """What to check in CI: (base, head), or a sentence saying why there is nothing to compare.

    - ontology/ has uncommitted changes: HEAD against the working tree;
    - otherwise: the parent of the last commit that changed ontology/ against HEAD.
    """
    in_ci = os.environ.get("CI", "").lower() == "true"
    if git(project, "rev-parse", "--is-inside-work-tree") is None:
        message = f"{project} is not a git repository (or git is missing): the release check needs the history"
        if in_ci:
            raise UsageError(message)
        return message + "; skipped"
    if (git(project, "rev-parse", "--is-shallow-repository") or "").strip() == "true":
        raise UsageError("the clone is shallow: the release check needs the full history (git fetch --unshallow)")
    if (git(project, "status", "--porcelain", "--", "ontology/") or "").strip():
        return _from_git(project, "HEAD"), working_tree(project)
    last = (git(project, "log", "-n", "1", "--format=%H", "--", "ontology/") or "").strip()
    if not last:
        return "no commit has changed ontology/ yet: nothing to compare"
    if not (git(project, "rev-parse", "--verify", "--quiet", f"{last}^") or "").strip():
        return f"the ontology's first revision ({last[:7]}) has no predecessor: nothing to compare"
    return _from_git(project, f"{last[:7]}^"), _from_git(project, "HEAD")
