"""`sitegraph export`: release folders that round-trip, are byte-identical for equal data and describe themselves."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset

import graph.export as export_module
from graph.config import Config
from graph.export import export_release, read_release_quads
from graph.export.formats import FORMATS, OX_FORMATS, deskolemise, skolemise, union
from graph.namespaces import DCAT, DCTERMS, RDF, SCHEMA, SPDX, VOID, DataIRIs
from graph.store import Release, canonical_quads, current_release

from .conftest import ROOT, config_for

RDF_TYPE = ox.NamedNode(str(RDF.type))


def run_export(cli, config: Config, *args: str) -> tuple[int, str, str]:
    return cli("--project", str(config.project), "--build-dir", str(config.path("build_dir")), "export", *args)


@pytest.fixture(scope="module")
def folder(built: tuple[Config, Release], tmp_path_factory: pytest.TempPathFactory) -> Path:
    config, _release = built
    out = tmp_path_factory.mktemp("export") / "release"
    export_release(config, out)
    return out


@pytest.fixture(scope="module")
def original(built: tuple[Config, Release]) -> list[ox.Quad]:
    _config, release = built
    return read_release_quads(release)


@pytest.fixture(scope="module")
def skolemised(built: tuple[Config, Release], original: list[ox.Quad]) -> list[ox.Quad]:
    _config, release = built
    return skolemise(original, release.manifest["base_iri"])


def parse_dump(folder: Path, name: str) -> set[ox.Quad]:
    """A dump read back: pyoxigraph for every format but JSON-LD, rdflib (with the shipped context) for JSON-LD."""
    data = (folder / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
        name = name[:-3]
    key = next(f.key for f in FORMATS.values() if f.filename == name)
    if key != "jsonld":
        return set(ox.parse(data, format=OX_FORMATS[key]))
    document = json.loads(data)
    assert document["@context"] == DataIRIs().base + "context.jsonld"
    document["@context"] = json.loads((folder / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    dataset = Dataset(default_union=False)
    dataset.parse(data=json.dumps(document), format="json-ld")
    return set(ox.parse(dataset.serialize(format="nquads", encoding="utf-8"), format=ox.RdfFormat.N_QUADS))


# --- the CLI -------------------------------------------------------------------------------------------------


def test_cli_export_lists_files_and_writes_the_folder(cli, built, tmp_path: Path) -> None:
    config, release = built
    out = tmp_path / "release"
    code, stdout, err = run_export(cli, config, "--out", str(out))
    assert code == 0, err
    assert f"exported {release.version} (profile full" in stdout
    assert "first release" in stdout
    assert "sitegraph.ttl" in stdout and "sitegraph.jsonld" in stdout
    expected = {f.filename for f in FORMATS.values()} | {
        "catalog.ttl",
        "manifest.json",
        "SHA256SUMS",
        "CHANGES.md",
        "changes.json",
        "context.jsonld",
    }
    assert {p.name for p in out.iterdir()} == expected
    assert "First release" in (out / "CHANGES.md").read_text(encoding="utf-8")


def test_no_build_is_a_usage_error(cli, tmp_path: Path) -> None:
    code, _out, err = cli("--build-dir", str(tmp_path / "nothing"), "export", "--out", str(tmp_path / "out"))
    assert code == 2
    assert "no built graph" in err and "sitegraph build" in err
    assert not (tmp_path / "out").exists()


def test_unknown_format_is_named(cli, built, tmp_path: Path) -> None:
    config, _release = built
    code, _out, err = run_export(cli, config, "--out", str(tmp_path / "out"), "--format", "n3x")
    assert code == 2
    assert "n3x" in err
    assert not (tmp_path / "out").exists()


def test_out_pointing_at_a_file_is_refused(cli, built, tmp_path: Path) -> None:
    config, _release = built
    target = tmp_path / "release.txt"
    target.write_text("keep me", encoding="utf-8")
    code, _out, err = run_export(cli, config, "--out", str(target))
    assert code == 2
    assert str(target) in err and "is a file" in err
    assert target.read_text(encoding="utf-8") == "keep me"


def test_out_pointing_at_an_unrelated_folder_is_refused(cli, built, tmp_path: Path) -> None:
    config, _release = built
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x", encoding="utf-8")
    code, _out, err = run_export(cli, config, "--out", str(tmp_path / "notes"))
    assert code == 2
    assert "does not hold a sitegraph export" in err
    assert (tmp_path / "notes" / "todo.txt").is_file()


def test_bad_issued_date_is_a_usage_error(cli, built, tmp_path: Path) -> None:
    config, _release = built
    code, _out, err = run_export(cli, config, "--out", str(tmp_path / "out"), "--issued", "22.11.2026")
    assert code == 2 and "YYYY-MM-DD" in err


# --- round trip ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(FORMATS))
def test_every_format_round_trips(folder: Path, skolemised: list[ox.Quad], key: str) -> None:
    fmt = FORMATS[key]
    parsed = parse_dump(folder, fmt.filename)
    expected = set(skolemised) if fmt.quads else set(union(skolemised))
    assert parsed == expected
    assert not any(isinstance(t, ox.BlankNode) for q in parsed for t in (q.subject, q.object))


def test_skolemised_dataset_is_the_release_dataset(
    folder: Path, original: list[ox.Quad], built: tuple[Config, Release]
) -> None:
    """De-skolemised, the N-Quads dump is isomorphic to the release (equal canonical forms)."""
    _config, release = built
    parsed = list(parse_dump(folder, "sitegraph.nq"))
    back = deskolemise(parsed, release.manifest["base_iri"])
    assert any(isinstance(q.object, ox.BlankNode) for q in back)  # the ontology has blank nodes
    assert ox.serialize(canonical_quads(back), format=ox.RdfFormat.N_QUADS) == ox.serialize(
        canonical_quads(original), format=ox.RdfFormat.N_QUADS
    )


def test_jsonld_is_compacted_with_the_published_context(folder: Path) -> None:
    document = json.loads((folder / "sitegraph.jsonld").read_text(encoding="utf-8"))
    text = json.dumps(document)
    assert document["@context"] == "https://w3id.org/sitegraph/context.jsonld"
    assert '"sg:' in text and '"rdfs:label"' in text
    context = json.loads((folder / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    assert context["sg"] == "https://w3id.org/sitegraph/ontology#"
    assert context["id"] == "https://w3id.org/sitegraph/id/"


def test_server_serves_the_same_context(client, folder: Path) -> None:
    response = client.get("/context.jsonld")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert response.get_json() == json.loads((folder / "context.jsonld").read_text(encoding="utf-8"))
    again = client.get("/context.jsonld", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# --- determinism ---------------------------------------------------------------------------------------------


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_exports_are_byte_identical(built, folder: Path, tmp_path: Path) -> None:
    config, _release = built
    again = export_release(config, tmp_path / "again")
    assert _bytes(again.path) == _bytes(folder)


def test_exports_in_other_processes_are_byte_identical(built, folder: Path, tmp_path: Path) -> None:
    """Hash randomisation (set order) must not reach the files: two processes with different hash seeds."""
    config, _release = built
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        args = ["--project", str(config.project), "--build-dir", str(config.path("build_dir"))]
        subprocess.run(
            [sys.executable, "-m", "graph.cli", *args, "export", "--out", str(out)],
            check=True,
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )
        assert _bytes(out) == _bytes(folder)


def test_gzip_is_deterministic_and_carries_no_time_or_name(built, tmp_path: Path) -> None:
    config, _release = built
    first = export_release(config, tmp_path / "a", ["nquads", "turtle"], compress=True)
    second = export_release(config, tmp_path / "b", ["nquads", "turtle"], compress=True)
    assert _bytes(first.path) == _bytes(second.path)
    data = (first.path / "sitegraph.nq.gz").read_bytes()
    assert data[:2] == b"\x1f\x8b"
    assert data[4:8] == b"\0\0\0\0"  # MTIME
    assert not data[3] & 0x08  # no FNAME
    plain = export_release(config, tmp_path / "plain", ["nquads"])
    assert gzip.decompress(data) == (plain.path / "sitegraph.nq").read_bytes()


# --- self-description ----------------------------------------------------------------------------------------


def test_sha256sums_match_every_other_file(folder: Path) -> None:
    lines = (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == {p.name for p in folder.iterdir()} - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=folder, check=True, timeout=30)


def test_catalog_describes_the_files(folder: Path, built: tuple[Config, Release]) -> None:
    _config, release = built
    catalog = ox.Store()
    catalog.load(path=str(folder / "catalog.ttl"), format=ox.RdfFormat.TURTLE)

    def one(subject, predicate):
        values = [q.object for q in catalog.quads_for_pattern(subject, ox.NamedNode(str(predicate)), None)]
        assert len(values) == 1, (subject, predicate, values)
        return values[0]

    (dataset,) = [q.subject for q in catalog.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(str(DCAT.Dataset)))]
    assert one(dataset, DCAT.version).value == release.version
    assert one(dataset, DCTERMS.license).value == "https://creativecommons.org/licenses/by/4.0/"
    issued = one(dataset, DCTERMS.issued)
    assert issued.datatype.value.endswith("#date") and len(issued.value) == 10
    assert one(dataset, VOID.sparqlEndpoint).value == "https://w3id.org/sitegraph/sparql"
    assert one(dataset, DCTERMS.title).value == "sitegraph"
    distributions = [q.object for q in catalog.quads_for_pattern(dataset, ox.NamedNode(str(DCAT.distribution)), None)]
    assert len(distributions) == len(FORMATS)
    for dist in distributions:
        name = one(dist, DCTERMS.title).value
        path = folder / name
        assert int(one(dist, DCAT.byteSize).value) == path.stat().st_size, name
        assert int(one(dist, VOID.triples).value) == len(parse_dump(folder, name)), name
        checksum = one(dist, SPDX.checksum)
        assert one(checksum, SPDX.checksumValue).value == hashlib.sha256(path.read_bytes()).hexdigest()
        fmt = next(f for f in FORMATS.values() if f.filename == name)
        assert one(dist, DCAT.mediaType).value.endswith("/" + fmt.media_type)
        assert one(dist, DCAT.accessURL).value == "https://w3id.org/sitegraph/sparql"


def test_manifest_lists_files_and_graphs(folder: Path, built: tuple[Config, Release]) -> None:
    _config, release = built
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == release.version and manifest["profile"] == "full"
    assert manifest["graphs"] == release.manifest["graphs"]
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["named_graphs"] == FORMATS[entry["format"]].quads


# --- profiles ------------------------------------------------------------------------------------------------


def test_flat_profile_has_only_the_union(built, skolemised: list[ox.Quad], tmp_path: Path) -> None:
    config, _release = built
    result = export_release(config, tmp_path / "flat", ["nquads", "jsonld"], profile="flat")
    parsed = parse_dump(result.path, "sitegraph.nq")
    assert all(isinstance(q.graph_name, ox.DefaultGraph) for q in parsed)
    assert parsed == set(union(skolemised))
    assert parse_dump(result.path, "sitegraph.jsonld") == parsed
    assert json.loads((result.path / "manifest.json").read_text())["graphs"] == {"default": len(parsed)}


def test_schema_org_profile_has_only_schema_org_terms(built, tmp_path: Path) -> None:
    config, _release = built
    result = export_release(config, tmp_path / "schema", profile="schema.org")
    for key, fmt in FORMATS.items():
        parsed = parse_dump(result.path, fmt.filename)
        assert parsed, key
        for quad in parsed:
            if quad.predicate == RDF_TYPE:
                assert quad.object.value.startswith(str(SCHEMA)), quad
            else:
                assert quad.predicate.value.startswith(str(SCHEMA)), quad
    parsed = parse_dump(result.path, "sitegraph.nt")
    predicates = {q.predicate.value for q in parsed}
    # mapped through rdfs:subPropertyOf in the ontology (sg:organiser ⊑ schema:organizer and the like)
    assert {str(SCHEMA.organizer), str(SCHEMA.observationAbout), str(SCHEMA.containedInPlace)} <= predicates
    types = {q.object.value for q in parsed if q.predicate == RDF_TYPE}
    assert {str(SCHEMA.Place), str(SCHEMA.Organization), str(SCHEMA.Observation)} <= types
    mappings = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))["schema_org_mappings"]
    assert mappings["properties"]["https://w3id.org/sitegraph/ontology#organiser"] == [str(SCHEMA.organizer)]
    assert mappings["classes"]["https://w3id.org/sitegraph/ontology#Technopark"] == [str(SCHEMA.Place)]


# --- changes -------------------------------------------------------------------------------------------------


def _second_release(built: tuple[Config, Release], tmp_path: Path, drop_graph: str, extra: list[ox.Quad]) -> Config:
    """A build folder whose current release is the built one minus one named graph plus ``extra``."""
    config, release = built
    build_dir = tmp_path / "build2"
    version = "0000000000000002"
    target = build_dir / "releases" / version
    target.mkdir(parents=True)
    quads = [q for q in read_release_quads(release) if q.graph_name.value != drop_graph] + extra
    (target / "sitegraph.nq").write_bytes(ox.serialize(canonical_quads(quads), format=ox.RdfFormat.N_QUADS))
    manifest = {**release.manifest, "version": version}
    manifest["graphs"] = {g: n for g, n in manifest["graphs"].items() if g != drop_graph}
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    os.symlink(Path("releases") / version, build_dir / "current")
    assert current_release(build_dir).version == version
    return config_for(config.project, build_dir)


def test_changes_between_two_releases(cli, built, folder: Path, skolemised: list[ox.Quad], tmp_path: Path) -> None:
    _config, release = built
    base = release.manifest["base_iri"]
    dropped = base + "graph/source/kazanforum-actp-panel"
    new_site = ox.NamedNode(base + "id/site/test-new-technopark")
    extra = [
        ox.Quad(
            new_site,
            RDF_TYPE,
            ox.NamedNode("https://w3id.org/sitegraph/ontology#Technopark"),
            ox.NamedNode(dropped + "-2"),
        ),
        ox.Quad(new_site, ox.NamedNode(str(DCTERMS.title)), ox.Literal("Test"), ox.NamedNode(dropped + "-2")),
    ]
    second = _second_release(built, tmp_path, dropped, extra)
    out = tmp_path / "release2"
    code, stdout, err = run_export(cli, second, "--out", str(out), "--previous", str(folder))
    assert code == 0, err
    changes = json.loads((out / "changes.json").read_text(encoding="utf-8"))
    before = {(q.subject, q.predicate, q.object) for q in union(skolemised)}
    after = {
        (q.subject, q.predicate, q.object)
        for q in union(skolemise(read_release_quads(current_release(second.path("build_dir"))), base))
    }
    assert changes["first_release"] is False
    assert changes["previous_version"] == release.version
    assert changes["triples"]["added"] == len(after - before) == 2
    assert changes["triples"]["removed"] == len(before - after) > 0
    assert changes["entities"]["added"] == [new_site.value]
    assert changes["by_class"]["sg:Technopark"]["entities_added"] == 1
    assert changes["by_class"]["sg:Technopark"]["triples_added"] == 2
    assert sum(n["triples_removed"] for n in changes["by_class"].values()) == changes["triples"]["removed"]
    # subjects seen only in the dropped graph are gone entities
    only_there = {
        q.subject.value
        for q in skolemised
        if q.graph_name.value == dropped and q.subject.value.startswith(base + "id/")
    } - {q.subject.value for q in skolemised if q.graph_name.value != dropped}
    assert only_there and set(changes["entities"]["removed"]) == only_there
    assert changes["graphs"][dropped] == {"before": release.manifest["graphs"][dropped], "after": 0}
    text = (out / "CHANGES.md").read_text(encoding="utf-8")
    assert f"Compared with release {release.version}" in text
    assert "| sg:Technopark | 1 | 0 | 2 |" in text
    assert "`site/test-new-technopark`" in text
    assert f"2 triples added, {changes['triples']['removed']} removed since {release.version}" in stdout
    # the ontology's blank nodes keep their IRIs when the data changes: the two releases diff cleanly
    genid = base + ".well-known/genid/"
    ids = [{line for line in (f / "sitegraph.nt").read_text().splitlines() if genid in line} for f in (folder, out)]
    assert ids[0] == ids[1] and ids[0]


def test_previous_that_is_not_an_export_is_refused(cli, built, tmp_path: Path) -> None:
    config, _release = built
    (tmp_path / "old").mkdir()
    code, _out, err = run_export(cli, config, "--out", str(tmp_path / "out"), "--previous", str(tmp_path / "old"))
    assert code == 2 and "not an export folder" in err
    assert not (tmp_path / "out").exists()


# --- atomic writes -------------------------------------------------------------------------------------------


def test_failed_export_leaves_no_half_written_folder(built, folder: Path, tmp_path: Path, monkeypatch) -> None:
    config, _release = built
    parent = tmp_path / "site"
    parent.mkdir()
    written = []
    real_write = Path.write_bytes

    def failing_write(self: Path, data: bytes) -> int:
        written.append(self.name)
        if len(written) == 4:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(OSError, match="No space left"):
        export_release(config, parent / "release")
    monkeypatch.undo()
    assert len(written) == 4
    assert list(parent.iterdir()) == []  # neither the folder nor a temporary sibling


def test_failed_replace_keeps_the_previous_export(built, tmp_path: Path, monkeypatch) -> None:
    config, _release = built
    first = export_release(config, tmp_path / "release", ["turtle"])
    before = _bytes(first.path)
    calls = []
    real_replace = os.replace

    def failing_replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the old export was moved aside; moving the new one in fails
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(export_module.os, "replace", failing_replace)
    with pytest.raises(OSError):
        export_release(config, tmp_path / "release", ["nquads"])
    monkeypatch.undo()
    assert _bytes(tmp_path / "release") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def test_readme_documents_the_folder(folder: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Releases") :]
    section = section[: section.index("\n## ", 1)]
    assert "sitegraph export --out /tmp/release" in section
    for path in folder.iterdir():
        assert path.name in section, f"{path.name} is not shown in the README's Releases section"
    for key in FORMATS:
        assert f"`{key}`" in section


def test_same_data_against_a_gzipped_previous_export_has_no_changes(built, tmp_path: Path) -> None:
    config, release = built
    first = export_release(config, tmp_path / "one", ["nquads"], compress=True)
    second = export_release(config, tmp_path / "two", ["turtle"], previous=first.path)
    assert second.changes["previous_version"] == release.version
    assert second.changes["triples"]["added"] == second.changes["triples"]["removed"] == 0
    assert second.changes["entities"] == {"added": [], "removed": []}
    assert "0 added, 0 removed" in (second.path / "CHANGES.md").read_text(encoding="utf-8")


def test_long_blank_node_chains_get_distinct_stable_iris() -> None:
    """A 300-item RDF list (deeper than the digest follows): every node gets its own IRI, the same each time."""
    rdf = str(RDF)
    head = ox.NamedNode("https://example.org/s")
    nodes = [ox.BlankNode(f"n{i}") for i in range(300)]
    quads = [ox.Quad(head, ox.NamedNode("https://example.org/list"), nodes[0])]
    for i, node in enumerate(nodes):
        quads.append(ox.Quad(node, ox.NamedNode(rdf + "first"), ox.Literal(str(i))))
        rest = nodes[i + 1] if i + 1 < len(nodes) else ox.NamedNode(rdf + "nil")
        quads.append(ox.Quad(node, ox.NamedNode(rdf + "rest"), rest))
    first = skolemise(quads, "https://example.org/")
    assert len({q.subject for q in first if q.subject != head}) == 300
    assert skolemise(list(reversed(quads)), "https://example.org/") == first
    back = deskolemise(first, "https://example.org/")
    assert canonical_quads(back) == canonical_quads(quads)
