"""``sitegraph diff``: changes between two versions of the ontology (files, folders, git revisions) as Markdown,
breaking changes flagged; ``--check-release``: a changed ontology must carry a new version, versionIRI and
CHANGELOG line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from graph.editors.revisions import git

from .conftest import ROOT

HEADER = """@prefix sg: <https://w3id.org/sitegraph/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://w3id.org/sitegraph/ontology> a owl:Ontology ; owl:versionInfo "{version}" ;
    owl:versionIRI <https://w3id.org/sitegraph/ontology/{version}> .
"""
OLD = """sg:Place a owl:Class ; rdfs:label "Place"@en .
sg:Site a owl:Class ; rdfs:subClassOf sg:Place ; rdfs:label "Site"@en ; skos:prefLabel "Площадка"@ru .
sg:Zone a owl:Class ; rdfs:subClassOf sg:Site ; rdfs:label "Zone"@en .
sg:Organisation a owl:Class ; rdfs:label "Organisation"@en .
sg:managedBy a owl:ObjectProperty ; rdfs:domain sg:Site ; rdfs:range sg:Organisation .
sg:locatedIn a owl:ObjectProperty ; rdfs:domain sg:Site ; rdfs:range sg:Place .
sg:oldTerm a owl:DatatypeProperty ; rdfs:domain sg:Site .
"""
NEW = """sg:Place a owl:Class ; rdfs:label "Place"@en .
sg:Site a owl:Class ; rdfs:subClassOf sg:Place ; rdfs:label "Site"@en ; skos:prefLabel "Инфраструктурная площадка"@ru .
sg:Zone a owl:Class ; rdfs:label "Zone"@en .
sg:Organisation a owl:Class ; rdfs:label "Organisation"@en ; owl:disjointWith sg:Place .
sg:Park a owl:Class ; rdfs:subClassOf sg:Site ; rdfs:label "Park"@en .
sg:managedBy a owl:ObjectProperty ; rdfs:domain sg:Zone ; rdfs:range sg:Organisation .
sg:locatedIn a owl:ObjectProperty ; rdfs:domain sg:Place ; rdfs:range sg:Place .
"""


def _write(folder: Path, version: str, body: str, changelog: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ontology").mkdir(exist_ok=True)
    (folder / "ontology" / "o.ttl").write_text(HEADER.format(version=version) + body, encoding="utf-8")
    (folder / "CHANGELOG.md").write_text("# Changelog\n" + changelog, encoding="utf-8")
    return folder


def test_diff_of_two_files_flags_breaking_changes(cli, tmp_path):
    old = _write(tmp_path / "old", "0.1.0", OLD) / "ontology" / "o.ttl"
    new = _write(tmp_path / "new", "0.2.0", NEW) / "ontology" / "o.ttl"
    code, out, _err = cli("diff", str(old), str(new))
    assert code == 0
    assert out.startswith(f"# Ontology diff: {old} (0.1.0) → {new} (0.2.0)")
    assert "- added: `sg:Park`" in out and "  - superclass: sg:Site" in out
    assert '  - preferred label: "Площадка"@ru → "Инфраструктурная площадка"@ru' in out
    breaking = out.split("## ⚠ Breaking changes", 1)[1].split("\n## ", 1)[0]
    assert "**sg:oldTerm (datatype property) was removed**" in breaking
    assert "**sg:Zone is no longer a subclass of sg:Site**" in breaking
    assert "**sg:managedBy's domain narrowed or changed: sg:Site → sg:Zone**" in breaking
    assert "sg:Organisation is now owl:disjointWith sg:Place" in breaking
    assert "locatedIn" not in breaking, "a domain widened from sg:Site to sg:Place breaks nothing"
    assert "  - domain: sg:Site → sg:Place" in out


def test_release_check_wants_a_bump_a_version_iri_and_a_changelog_line(cli, tmp_path):
    old = _write(tmp_path / "old", "0.1.0", OLD)
    same_version = _write(tmp_path / "same", "0.1.0", NEW)
    code, _out, err = cli("diff", "--check-release", str(old), str(same_version))
    assert code == 1 and "owl:versionInfo is still 0.1.0 (was 0.1.0)" in err and "e.g. to 0.2.0" in err
    patch_only = _write(tmp_path / "patch", "0.1.1", NEW, "- Ontology 0.1.1: parks\n")
    code, _out, err = cli("diff", "--check-release", str(old), str(patch_only))
    assert code == 1 and "breaking changes need at least version 0.2.0" in err
    no_changelog = _write(tmp_path / "nolog", "0.2.0", NEW)
    code, _out, err = cli("diff", "--check-release", str(old), str(no_changelog))
    assert code == 1 and "CHANGELOG.md has no line naming the ontology and version 0.2.0" in err
    good = _write(tmp_path / "good", "0.2.0", NEW, "- Ontology 0.2.0: parks, zones\n")
    code, out, err = cli("diff", "--check-release", str(old), str(good))
    assert code == 0, err
    assert "ontology changed, version 0.1.0 → 0.2.0, CHANGELOG ok" in out


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True)  # fmt: skip


def test_release_check_on_git_history_finds_the_last_ontology_change(cli, tmp_path):
    assert shutil.which("git") is not None, "git is needed to read ontology revisions"
    repo = _write(tmp_path / "repo", "0.1.0", OLD, "- Ontology 0.1.0\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    code, out, _err = cli("--project", str(repo), "diff", "--check-release")
    assert code == 0 and "has no predecessor" in out
    _write(repo, "0.1.0", NEW, "- Ontology 0.1.0\n")
    _git(repo, "commit", "-q", "-am", "change the ontology, forget the version")
    (repo / "README.md").write_text("a later commit that does not touch ontology/\n", encoding="utf-8")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "later")
    code, _out, err = cli("--project", str(repo), "diff", "--check-release")
    assert code == 1 and "owl:versionInfo is still 0.1.0" in err and "between " in err
    _write(repo, "0.2.0", NEW, "- Ontology 0.1.0\n- Ontology 0.2.0: parks\n")  # uncommitted: HEAD vs working tree
    code, out, err = cli("--project", str(repo), "diff", "--check-release")
    assert code == 0, err
    assert "HEAD" in out and "working tree" in out
    _git(repo, "commit", "-q", "-am", "bump")
    code, out, err = cli("--project", str(repo), "diff", "--check-release")
    assert code == 0 and "0.1.0 → 0.2.0" in out, err


def test_diff_between_real_revisions_of_the_ontology(cli):
    assert git(ROOT, "rev-parse", "--is-inside-work-tree") is not None, "the tests run in a git checkout"
    revisions = (git(ROOT, "log", "--format=%h", "--", "ontology/") or "").split()
    assert len(revisions) >= 2, "the history holds the 0.1.0 and 0.2.0 ontology (a shallow clone does not)"
    first, newer = revisions[-1], revisions[0]
    code, out, err = cli("diff", first, newer)
    assert code == 0, err
    assert out.startswith(f"# Ontology diff: {first} (0.1.0) → ")
    assert "- added: `sg:IntergovernmentalGrouping`" in out
    assert "  - disjoint with: sg:InternationalOrganisation" in out
    assert "- changed: `sg:InternationalOrganisation`" in out and "  - definition: " in out
    code, _out, err = cli("diff", "no-such-revision", "HEAD")
    assert code == 2 and "neither a file or folder nor a git revision" in err
