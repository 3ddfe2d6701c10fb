"""The write path under hostile or unlucky conditions: authentication before any body is read or parsed, RDF/XML
entity bombs, deeply nested updates, blank-node labels from a body, malformed graph IRIs, tokens removed by a file
replacement, and failures after a commit (pruning old releases, reading a remote's new version back). Also the
release folders: an existing one is never deleted or replaced, and the files are fsynced before the switch."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest

import graph.store as store_module
from graph.config import Config, load_config
from graph.namespaces import DataIRIs
from graph.store import canonical_quads, current_release, write_release
from graph.tokens import TokenFile, add_token, load_tokens, save_tokens
from graph.writes import Change, apply_change_remote, read_quads, read_remote_quads
from server import create_app
from tests.remote_backend import push_build, remote_settings
from tests.remote_servers import RemoteStore

from .conftest import copy_release

G = "https://w3id.org/sitegraph/graph/partner/acme"
DESC = "http://purl.org/dc/terms/description"
SITE = "https://w3id.org/sitegraph/id/site/chirchiq-technopark"
UPDATE = {"Content-Type": "application/sparql-update"}
PROBLEM = {"Accept": "application/problem+json"}


def _bomb(levels: int) -> str:
    """RDF/XML with nested internal entities: ``levels`` of tenfold expansion ("billion laughs" at 9)."""
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, levels + 1)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + "\n".join(entities) + "\n]>\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/terms/">\n'
        f'  <rdf:Description rdf:about="https://example.org/bomb"><dc:description>&l{levels};</dc:description>'
        "</rdf:Description>\n</rdf:RDF>\n"
    )


@pytest.fixture
def writer(release_copy: Config):
    """(config, test client, write headers, read-only headers) on a private copy of the build."""
    token = add_token(release_copy.path("tokens_file"), "acme")
    reader = add_token(release_copy.path("tokens_file"), "reader", rights="read")
    return (
        release_copy,
        create_app(release_copy).test_client(),
        {"Authorization": f"Bearer {token}"},
        {"Authorization": f"Bearer {reader}"},
    )


def _current(config: Config) -> str:
    return os.readlink(config.path("build_dir") / "current")


# ---------------------------------------------------------------- 1. authentication first, no entity bombs


def test_writes_authenticate_before_reading_the_body(writer) -> None:
    config, client, _auth, reader = writer
    before = _current(config)
    broken = {"Content-Type": "text/turtle"}
    # a body that does not parse: without a valid token the answer is 401/403, never the parser's 400
    for method, url in (("put", f"/graphs?graph={G}"), ("post", f"/graphs?graph={G}"), ("post", "/graphs")):
        answer = getattr(client, method)(url, data="<a> <b", headers=broken)
        assert answer.status_code == 401, (method, url, answer.get_data(as_text=True))
        answer = getattr(client, method)(url, data="<a> <b", headers={**reader, **broken})
        assert answer.status_code == 403, (method, url, answer.get_data(as_text=True))
    assert client.delete(f"/graphs?graph={G}").status_code == 401
    # the graph parameter is not even looked at before the token
    assert client.put("/graphs?graph=not an iri", data="", headers=broken).status_code == 401
    # an update that would be refused for its length, nesting or text: 401 first
    assert client.post("/update", data=b"{" * 300_000, headers=UPDATE).status_code == 401
    assert client.post("/sparql", data={"update": "(" * 5000}).status_code == 401
    assert _current(config) == before


def test_an_rdf_xml_entity_bomb_is_refused(writer) -> None:
    config, client, auth, _reader = writer
    before = _current(config)
    rdfxml = {"Content-Type": "application/rdf+xml"}
    started = time.monotonic()
    anonymous = client.put(f"/graphs?graph={G}", data=_bomb(9), headers=rdfxml)
    assert anonymous.status_code == 401
    assert time.monotonic() - started < 2
    for levels in (9, 2):  # refused for its declarations, however small the expansion
        started = time.monotonic()
        refused = client.put(f"/graphs?graph={G}", data=_bomb(levels), headers={**auth, **rdfxml, **PROBLEM})
        assert refused.status_code == 400, refused.get_data(as_text=True)
        detail = refused.get_json()["detail"]
        assert "<!DOCTYPE" in detail and "<!ENTITY" in detail
        assert time.monotonic() - started < 2
    utf16 = _bomb(2).replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    assert client.post(f"/graphs?graph={G}", data=utf16, headers={**auth, **rdfxml}).status_code == 400
    assert _current(config) == before
    # plain RDF/XML still goes through
    plain = _bomb(0).replace('<!DOCTYPE rdf:RDF [\n<!ENTITY l0 "lol">\n]>\n', "").replace("&l0;", "plain")
    assert client.put(f"/graphs?graph={G}", data=plain, headers={**auth, **rdfxml}).status_code == 201


# ---------------------------------------------------------------- 2. nesting of updates


def test_a_deeply_nested_update_is_refused_before_parsing(writer) -> None:
    config, client, auth, _reader = writer
    before = _current(config)
    deep = f"INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{DESC}> " + "(" * 5000 + ")" * 5000 + " } }"
    for answer in (
        client.post("/update", data=deep.encode(), headers={**auth, **UPDATE, **PROBLEM}),
        client.post("/sparql", data={"update": deep}, headers={**auth, **PROBLEM}),
    ):
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert "nested 5002 levels deep; the limit is 200" in answer.get_json()["detail"]
    too_long = f"INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{DESC}> " + '"' + "x" * 100_000 + '" } }'
    assert client.post("/update", data=too_long.encode(), headers={**auth, **UPDATE}).status_code == 413
    # the process is alive and still writes
    fine = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{DESC}> "still here"@en }} }}'
    answer = client.post("/update", data=fine.encode(), headers={**auth, **UPDATE})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert _current(config) != before


# ---------------------------------------------------------------- 3./4. releases: commit, prune, never replace


def test_a_failing_prune_does_not_fail_a_committed_write(writer, monkeypatch: pytest.MonkeyPatch) -> None:
    config, client, auth, _reader = writer

    def broken(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", "releases/old")

    monkeypatch.setattr(store_module, "_prune", broken)
    update = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{DESC}> "pruned later"@en }} }}'
    answer = client.post("/update", data=update.encode(), headers={**auth, **UPDATE})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Sitegraph-Version"] == current_release(config.path("build_dir")).version


def test_an_existing_release_folder_is_never_replaced(built, tmp_path: Path) -> None:
    _config, release = built
    build_dir = copy_release(release, tmp_path / "build")
    folder = build_dir / "releases" / release.version
    inode, manifest = folder.stat().st_ino, (folder / "manifest.json").read_bytes()
    quads = read_quads(current_release(build_dir))
    # the same data with a changed document, while <version> is the current release
    new = write_release(build_dir, quads, {}, dict(release.manifest), {"extra.md": b"# changed\n"})
    assert new.version == release.version and new.path.name.startswith(release.version + "-")
    assert os.readlink(build_dir / "current") == f"releases/{new.path.name}"
    assert folder.stat().st_ino == inode and (folder / "manifest.json").read_bytes() == manifest
    assert (new.path / "extra.md").read_bytes() == b"# changed\n"
    # the same files again: the existing folder is reused, nothing new is made
    again = write_release(build_dir, quads, {}, dict(release.manifest), {"extra.md": b"# changed\n"})
    assert again.path == new.path and len(list((build_dir / "releases").iterdir())) == 2


def test_an_undo_write_keeps_the_older_release_folder(writer) -> None:
    config, client, auth, _reader = writer
    build_dir = config.path("build_dir")
    first = current_release(build_dir)
    inode = first.path.stat().st_ino
    turtle = f'<{SITE}> <{DESC}> "undone"@en .\n'
    assert client.put(f"/graphs?graph={G}", data=turtle, headers={**auth, "Content-Type": "text/turtle"}).status_code
    deleted = client.delete(f"/graphs?graph={G}", headers=auth)
    assert deleted.status_code == 204 and deleted.headers["Sitegraph-Version"] == first.version
    now = current_release(build_dir)
    assert now.version == first.version and now.path != first.path and now.path.name.startswith(first.version + "-")
    assert first.path.stat().st_ino == inode and not (first.path / "changes.jsonl").exists()
    assert [c["seq"] for c in client.get("/changes").get_json()["changes"]] == [1, 2]


def test_prune_never_removes_the_current_release(built, tmp_path: Path) -> None:
    _config, release = built
    build_dir = copy_release(release, tmp_path / "build")
    releases = build_dir / "releases"
    for age, name in enumerate(["a", "b", "c", "d"]):
        (releases / name).mkdir()
        os.utime(releases / name, (1_000_000 + age, 1_000_000 + age))
    os.utime(releases / release.version, (1, 1))  # the oldest of all, and current
    store_module._prune(build_dir, keep={"d"})
    assert sorted(p.name for p in releases.iterdir()) == sorted(["c", "d", release.version])


def test_release_files_are_fsynced_before_the_switch(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config, release = built
    build_dir = copy_release(release, tmp_path / "build")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "fsync", fsync)
    monkeypatch.setattr(store_module.os, "replace", replace)
    quads = read_quads(current_release(build_dir))
    new = write_release(build_dir, quads[:-1], {}, dict(release.manifest))
    kinds = [kind for kind, _ in events]
    folder_moved = kinds.index("replace")
    synced_before = {Path(path).name for kind, path in events[:folder_moved] if kind == "fsync"}
    assert {"manifest.json", "sitegraph.nq", "sitegraph.trig", "store"} <= synced_before
    link_switched = events.index(("replace", str(build_dir / "current")))
    assert ("fsync", str(build_dir.resolve() / "releases")) in events[folder_moved:link_switched]
    assert ("fsync", str(build_dir.resolve())) in events[link_switched:]
    assert os.readlink(build_dir / "current") == f"releases/{new.path.name}"


# ---------------------------------------------------------------- 5. blank nodes of a body are fresh


def test_blank_node_labels_in_a_body_make_new_nodes(writer) -> None:
    config, client, auth, _reader = writer
    build_dir = config.path("build_dir")
    # a data graph holding a blank node (written straight into a new release of the private build)
    release = current_release(build_dir)
    other = ox.NamedNode(G + "-other")
    seeded = [*read_quads(release), ox.Quad(ox.BlankNode(), ox.NamedNode(DESC), ox.Literal("old"), other)]
    write_release(build_dir, canonical_quads(seeded), {}, dict(release.manifest))
    (existing,) = [q for q in read_quads(current_release(build_dir)) if q.graph_name == other]
    label = existing.subject.value  # a label such as c14n3, as the store holds it
    body = f'_:{label} <{DESC}> "mine" .\n_:{label} <{DESC}> "also mine" .\n<{SITE}> <{DESC}> _:{label} .\n'
    put = client.put(f"/graphs?graph={G}", data=body, headers={**auth, "Content-Type": "application/n-triples"})
    assert put.status_code == 201, put.get_data(as_text=True)
    got = list(ox.parse(client.get(f"/graphs?graph={G}", headers={"Accept": "application/n-triples"}).data,
                        format=ox.RdfFormat.N_TRIPLES))  # fmt: skip
    nodes = {q.subject for q in got if q.subject.value != SITE} | {q.object for q in got if q.subject.value == SITE}
    assert len(nodes) == 1  # one node for the one label, used consistently
    (node,) = nodes
    assert isinstance(node, ox.NamedNode) and "/.well-known/genid/" in node.value  # new, hence skolemised
    after = [q for q in read_quads(current_release(build_dir)) if q.graph_name == other]
    assert len(after) == 1 and isinstance(after[0].subject, ox.BlankNode)  # the old node gained nothing


# ---------------------------------------------------------------- 6. parameters and tokens


def test_using_graph_parameters_in_a_form_are_refused(writer) -> None:
    _config, client, auth, _reader = writer
    update = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{DESC}> "x"@en }} }}'
    for name in ("using-graph-uri", "using-named-graph-uri"):
        for url in ("/update", "/sparql"):
            form = client.post(url, data={"update": update, name: G}, headers={**auth, **PROBLEM})
            assert form.status_code == 400 and name in form.get_json()["detail"], (url, name)
            args = client.post(f"{url}?{name}={G}", data={"update": update}, headers={**auth, **PROBLEM})
            assert args.status_code == 400 and name in args.get_json()["detail"], (url, name)


@pytest.mark.parametrize("iri", ["http://a/%zz", "http://a/b#c#d"])
def test_a_malformed_graph_iri_is_a_400(writer, iri: str) -> None:
    _config, client, auth, _reader = writer
    for answer in (
        client.get("/graphs", query_string={"graph": iri}, headers=PROBLEM),
        client.put("/graphs", query_string={"graph": iri}, data="", headers={**auth, **PROBLEM}),
    ):
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert f"graph={iri!r}" in answer.get_json()["detail"]


def test_a_removed_token_stops_working_at_once(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    gone = add_token(path, "aaaa")
    file = TokenFile(path)
    assert file.find(gone) is not None
    before = path.stat()
    # the token re-keyed (``save_tokens`` replaces the file): same size, and the same modification time on a
    # coarse clock; only the inode tells the files apart
    token = load_tokens(path)["aaaa"]
    save_tokens(path, {"aaaa": replace(token, sha256="0" * 64)})
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_ino != before.st_ino
    assert load_tokens(path)["aaaa"].sha256 == "0" * 64
    assert file.find(gone) is None


# ---------------------------------------------------------------- 3. remote: the read-back after a commit


def test_a_remote_write_stands_when_its_new_version_cannot_be_read(
    built, oxigraph_server: RemoteStore, tmp_path: Path
) -> None:
    config, release = built
    build_dir = copy_release(release, tmp_path / "build")
    overrides = {"build_dir": str(build_dir), "tokens_file": str(tmp_path / "tokens.toml")}
    local = load_config(overrides={**config.values, **overrides}, environ={})
    push_build(local, oxigraph_server)
    writes = {
        "remote_update_url": oxigraph_server.update_url,
        "remote_gsp_url": oxigraph_server.gsp_url,
        "remote_auth": oxigraph_server.auth or "none",
        "remote_user": oxigraph_server.user or "",
        "remote_password": oxigraph_server.password or "",
    }
    served = load_config(
        overrides={**config.values, **overrides, **remote_settings(oxigraph_server, **writes)}, environ={}
    )
    calls = []

    def version() -> str:
        calls.append(1)
        if len(calls) > 1:
            raise ConnectionError("the remote went away after the update")
        return "before"

    update = f'INSERT DATA {{ GRAPH <{G}> {{ <{SITE}> <{DESC}> "committed anyway"@en }} }}'
    from tests.test_remote_writes import _raw_client

    raw = _raw_client(oxigraph_server)
    try:
        result = apply_change_remote(served, Change("update", update=update), "acme", version=version)
        assert result.committed is True and result.version == "" and result.change is not None
        assert raw.ask(f'ASK {{ GRAPH <{G}> {{ <{SITE}> <{DESC}> "committed anyway"@en }} }}')
        assert json.dumps(result.as_dict())  # a summary can still be answered
    finally:
        keep = set(release.manifest["graphs"])
        for name in {q.graph_name.value for q in read_remote_quads(raw, DataIRIs(config.base_iri))} - keep:
            raw.update(f"DROP SILENT GRAPH <{name}>")
        raw.close()
        push_build(config, oxigraph_server)
