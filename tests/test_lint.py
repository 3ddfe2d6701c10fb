"""``sitegraph lint``: clean on the project; on broken copies, each rule names the term, the file and what to fix."""

from __future__ import annotations

import json
import os
from pathlib import Path

from graph.namespaces import SG

SOURCE = "https://w3id.org/sitegraph/graph/source/kazanforum-actp-panel"


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


def _findings(out: str) -> list[dict]:
    return json.loads(out)["findings"]


def _release_with(built, tmp_path: Path, extra_nquads: str) -> Path:
    """A build folder whose current release is the session's data plus some quads (no store: lint reads N-Quads)."""
    _config, release = built
    target = tmp_path / "build" / "releases" / "edited"
    target.mkdir(parents=True)
    (target / "manifest.json").write_text(json.dumps({**release.manifest, "version": "edited"}), encoding="utf-8")
    text = (release.path / "sitegraph.nq").read_text(encoding="utf-8")
    (target / "sitegraph.nq").write_text(text + extra_nquads, encoding="utf-8")
    os.symlink(Path("releases") / "edited", tmp_path / "build" / "current")
    return tmp_path / "build"


def test_project_is_lint_clean(cli, built):
    config, _release = built
    code, out, err = cli("--build-dir", str(config.path("build_dir")), "lint", "--format", "json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["summary"]["error"] == 0, [f for f in report["findings"] if f["level"] == "error"]
    assert report["data"].startswith("release "), "the data of the release is checked"
    code, table, _err = cli("--build-dir", str(config.path("build_dir")), "lint")
    assert code == 0 and [c.strip() for c in table.splitlines()[1].split(" | ")] == [
        "level",
        "rule",
        "term",
        "where",
        "message",
    ]
    assert table.rstrip().endswith("infos") and "lint: 0 errors" in table


def test_undeclared_terms_in_queries_shapes_and_data_are_errors(cli, built, project_copy, tmp_path):
    (project_copy / "queries" / "typo.rq").write_text(
        "PREFIX sg: <https://w3id.org/sitegraph/ontology#>\n# sg:InAComment is not a use\n"
        'SELECT ?s WHERE { ?s a sg:Technoprak ; sg:label "sg:InAString" }\n',
        encoding="utf-8",
    )
    build = _release_with(
        built, tmp_path, f"<https://w3id.org/sitegraph/id/site/x> <{SG}hasOperator> <{SG}Nowhere> <{SOURCE}> .\n"
    )
    code, out, err = cli("--project", str(project_copy), "--build-dir", str(build), "lint", "-f", "json")
    assert code == 1
    undeclared = {(f["term"], f["where"]) for f in _findings(out) if f["rule"] == "undeclared-term"}
    assert ("sg:Technoprak", "queries/typo.rq:3") in undeclared
    assert ("sg:label", "queries/typo.rq:3") in undeclared
    assert ("sg:hasOperator", "graph/sources/documents/004-kazanforum-actp-panel.yaml") in undeclared
    assert ("sg:Nowhere", "graph/sources/documents/004-kazanforum-actp-panel.yaml") in undeclared
    assert not any("InA" in term for term, _where in undeclared), "comments and strings are not uses"
    assert "sg:Technoprak [undeclared-term]: used in the queries but not declared in ontology/" in err


def test_shape_on_unknown_class_and_path_and_class_without_shape(cli, project_copy):
    _append(
        project_copy / "shapes" / "sites.ttl",
        'sgsh:GhostShape a sh:NodeShape ; sh:targetClass sg:Ghost ; rdfs:label "Ghost"@en ;\n'
        "    sh:property [ sh:path ( sg:locatedIn [ sh:inversePath sg:haunts ] ) ; sh:minCount 1 ] .",
    )
    _append(
        project_copy / "ontology" / "sitegraph.ttl",
        'sg:Spaceport a owl:Class ; rdfs:subClassOf sg:Site ; rdfs:label "Spaceport"@en ;\n'
        '    skos:prefLabel "Spaceport"@en ; skos:definition "A site for launching spacecraft."@en .',
    )
    code, out, _err = cli("--project", str(project_copy), "lint", "--data", "none", "-f", "json")
    assert code == 1
    found = {(f["rule"], f["term"]): f for f in _findings(out)}
    assert found[("shape-unknown-class", "sg:Ghost")]["where"].startswith("shapes/sites.ttl:")
    assert found[("shape-unknown-path", "sg:haunts")]["where"].startswith("shapes/sites.ttl:")
    assert ("shape-unknown-path", "sg:locatedIn") not in found
    spaceport = found[("class-without-shape", "sg:Spaceport")]
    assert spaceport["where"].startswith("ontology/sitegraph.ttl:") and "sgsh:SpaceportShape" in spaceport["message"]
    assert ("missing-label-ru", "sg:Spaceport") in found, "no Russian prefLabel"


def test_metadata_duplicates_and_deprecated_terms(cli, project_copy):
    ontology = project_copy / "ontology" / "sitegraph.ttl"
    text = ontology.read_text(encoding="utf-8")
    version = text.split('owl:versionInfo               "', 1)[1].split('"', 1)[0]
    ontology.write_text(text.replace(f'owl:versionInfo               "{version}"', 'owl:versionInfo "9.9.9"'))
    _append(
        ontology,
        'sg:Technopolis owl:deprecated true .\nsg:IndustrialPark skos:prefLabel "Технопарк"@ru .\n'
        'sg:managedBy rdfs:label "  managed by"@en .',
    )
    code, out, _err = cli("--project", str(project_copy), "lint", "--data", "none", "-f", "json")
    assert code == 1
    found = {(f["rule"], f["term"]): f for f in _findings(out)}
    version_iri = found[("ontology-metadata", "owl:versionIRI")]["message"]
    assert "must be <https://w3id.org/sitegraph/ontology/9.9.9>" in version_iri
    assert found[("duplicate-label", "sg:IndustrialPark")]["level"] == "error"
    assert found[("multiple-labels", "sg:IndustrialPark")]["level"] == "error"
    assert found[("label-whitespace", "sg:managedBy")]["level"] == "warning"
    deprecated = found[("deprecated-term-used", "sg:Technopolis")]
    assert deprecated["where"].startswith("shapes/") or deprecated["where"].startswith("queries/")
