"""The build as a gate: it builds the project cleanly, deterministically, and refuses bad input without
touching the previous build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from graph.build import build
from graph.errors import SourceError, ValidationFailed
from graph.store import current_release, open_read_only

from .conftest import ROOT, config_for


def test_project_builds_with_zero_violations(built):
    _config, release = built
    graphs = release.manifest["graphs"]
    sources = [g for g in graphs if "/graph/source/" in g]
    assert len(sources) == 5, "one named graph per corpus article"
    for name in ("ontology", "reference", "inferred"):
        assert any(g.endswith(f"/graph/{name}") for g in graphs)
    assert release.manifest["quads"] == sum(graphs.values())
    store = ox.Store.read_only(str(release.store_path))
    assert len(store) == release.manifest["quads"]


def test_build_is_byte_identical_across_processes(built, tmp_path: Path):
    _config, first = built
    second_dir = tmp_path / "again"
    code = subprocess.run(
        [sys.executable, "-m", "graph.cli", "--project", str(ROOT), "--build-dir", str(second_dir), "build", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert code.returncode == 0, code.stderr
    second = current_release(second_dir)
    for name in ("sitegraph.nq", "sitegraph.trig", "manifest.json"):
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name
    assert first.version == second.version


def _good_build(built, build_dir: Path):
    """A build folder holding a good release: a copy of the session's build (building is the slow part)."""
    config, _release = built
    shutil.copytree(config.path("build_dir"), build_dir, symlinks=True)
    return current_release(build_dir)


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


BROKEN = {
    "bad-yaml": ("entities/places.yaml", "- id: place/broken\n  label: {en: Broken, ru: [unclosed\n", "invalid YAML"),
    "unknown-key": (
        "entities/places.yaml",
        "- id: place/atlantis\n  label: {en: Atlantis, ru: Атлантида}\n  population: 5\n",
        "population",
    ),
    "unknown-reference": (
        "entities/places.yaml",
        "- id: place/atlantis\n  label: {en: Atlantis, ru: Атлантида}\n  a: City\n  in: place/nowhere\n",
        "unknown entity 'place/nowhere'",
    ),
    "duplicate-id": (
        "entities/places.yaml",
        "- id: place/russia\n  label: {en: Russia, ru: Россия}\n  a: Country\n",
        "duplicate id",
    ),
    "unknown-class": (
        "entities/places.yaml",
        "- id: place/atlantis\n  label: {en: Atlantis, ru: Атлантида}\n  a: Continent\n",
        "'Continent' is not a class",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_sources_exit_2_and_keep_the_previous_store(case, built, project_copy: Path, tmp_path: Path, cli):
    build_dir = tmp_path / "build"
    before = _good_build(built, build_dir)
    relative, addition, expected = BROKEN[case]
    target = project_copy / "graph" / "sources" / relative
    lines_before = target.read_text(encoding="utf-8").count("\n")
    _append(target, addition)

    code, _out, err = cli("--project", str(project_copy), "--build-dir", str(build_dir), "build")
    assert code == 2
    assert expected in err
    assert f"graph/sources/{relative}:" in err, "the file is named"
    line = int(err.split(f"graph/sources/{relative}:")[1].split(":")[0])
    assert line > lines_before, "the line points into the broken addition"

    after = current_release(build_dir)
    assert after.version == before.version
    store, _ = open_read_only(build_dir)
    assert len(store) == before.manifest["quads"]


def test_unknown_property_names_entity_and_field(project_copy: Path):
    doc = sorted((project_copy / "graph" / "sources" / "documents").glob("*.yaml"))[0]
    text = doc.read_text(encoding="utf-8")
    block = f"facts:\n  - about: place/russia\n    quote: {_first_quote(text)}\n    inhabitants: 146\n"
    text = text.replace("facts:\n", block, 1)
    doc.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        build(config_for(project_copy, project_copy / "build"))
    problem = next(p for p in info.value.problems if p.field == "inhabitants")
    assert problem.entity == "place/russia"
    assert problem.file.endswith(doc.name)
    assert "unknown property sg:inhabitants" in problem.message


def _first_quote(text: str) -> str:
    after = text.split("quotes:\n", 1)[1]
    return after.split(":", 1)[0].strip()


def test_shacl_violation_exits_1_names_the_fact_and_writes_nothing(built, project_copy: Path, tmp_path: Path, cli):
    build_dir = tmp_path / "build"
    before = _good_build(built, build_dir)
    doc = sorted((project_copy / "graph" / "sources" / "documents").glob("*.yaml"))[0]
    text = doc.read_text(encoding="utf-8")
    quote = _first_quote(text)
    # A lower bound presented as an exact figure: what "more than 500" must never become.
    bad = (
        "\n  - id: bound-without-qualifier\n    about: place/russia\n    measure: number-of-technoparks\n"
        f"    min: 500\n    qualifier: [exact]\n    quote: {quote}\n"
    )
    if "\nobservations:\n" in text:
        text = text.replace("\nobservations:\n", "\nobservations:" + bad, 1)
    else:
        text += "\nobservations:" + bad
    doc.write_text(text, encoding="utf-8")

    code, _out, err = cli("--project", str(project_copy), "--build-dir", str(build_dir), "build")
    assert code == 1, err
    assert doc.name in err
    assert "bound-without-qualifier" in err
    assert "nothing was written" in err
    assert current_release(build_dir).version == before.version
    store, _ = open_read_only(build_dir)
    assert len(store) == before.manifest["quads"]


def test_a_gate_failure_leaves_no_build_folder_behind(project_copy: Path, tmp_path: Path):
    people = project_copy / "graph" / "sources" / "entities" / "people.yaml"
    # a person nobody says anything about: the shapes require some source to state a fact about every entity
    _append(people, "- id: person/nobody\n  label: {en: Nobody, ru: Никто}\n")
    with pytest.raises(ValidationFailed) as info:
        build(config_for(project_copy, tmp_path / "other"))
    assert any(p.entity == "person/nobody" for p in info.value.problems)
    assert not (tmp_path / "other" / "current").exists()


def test_validate_writes_nothing(project_copy: Path, tmp_path: Path, cli):
    build_dir = tmp_path / "never"
    code, out, _err = cli("--project", str(project_copy), "--build-dir", str(build_dir), "validate")
    assert code == 0
    assert "0 violations" in out
    assert not build_dir.exists()


def test_manifest_records_source_checksums(built):
    _config, release = built
    manifest = json.loads((release.path / "manifest.json").read_text(encoding="utf-8"))
    assert any(name.startswith("graph/sources/documents/") for name in manifest["sources"])
    assert all(len(digest) == 64 for digest in manifest["sources"].values())
