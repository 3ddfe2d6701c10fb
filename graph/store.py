"""The build folder: releases of the dataset, switched atomically.

```
build/
  current -> releases/<version>     a symlink, replaced atomically when a build succeeds
  releases/<version>/
    store/                          the pyoxigraph (RocksDB) store that the server and the CLI open read-only
    sitegraph.nq  sitegraph.trig    the same dataset as sorted, canonical dumps
    manifest.json                   version, triple counts per graph, source checksums
```

A release is written completely in a temporary folder first; only then does ``current`` move. A failed or
interrupted build therefore never touches what ``current`` points at, and readers that opened the previous
release keep working.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .errors import UsageError

CURRENT = "current"
RELEASES = "releases"
KEEP_RELEASES = 3


@dataclass(frozen=True)
class Release:
    path: Path
    version: str
    manifest: dict

    @property
    def store_path(self) -> Path:
        return self.path / "store"


def canonical_quads(quads: list[ox.Quad]) -> list[ox.Quad]:
    """Canonical blank-node labels (RDFC-1.0) and a stable order, so equal data gives equal bytes."""
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(dataset, key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))


def dump_nquads(quads: list[ox.Quad]) -> bytes:
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS)


def dump_trig(quads: list[ox.Quad], prefixes: dict[str, str]) -> bytes:
    return stable_prefixes(ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=prefixes))


def stable_prefixes(text: bytes) -> bytes:
    """Turtle/TriG with the prefix lines sorted (the serializer's own order is not guaranteed stable)."""
    lines = text.split(b"\n")
    header = [line for line in lines if line.startswith(b"@prefix ")]
    body = lines[len(header) :]
    return b"\n".join(sorted(header) + body)


def dataset_version(nquads: bytes) -> str:
    """The dataset version: a digest of the canonical N-Quads, so equal data has an equal version."""
    return hashlib.sha256(nquads).hexdigest()[:16]


def write_release(
    build_dir: Path,
    quads: list[ox.Quad],
    prefixes: dict[str, str],
    manifest: dict,
    extra_files: dict[str, bytes] | None = None,
    nquads: bytes | None = None,
) -> Release:
    """Write a complete release next to the current one, then point ``current`` at it.

    ``nquads`` is the canonical N-Quads of ``quads`` when the caller has already serialised them."""
    build_dir.mkdir(parents=True, exist_ok=True)
    releases = build_dir / RELEASES
    releases.mkdir(exist_ok=True)
    nquads = dump_nquads(quads) if nquads is None else nquads
    version = dataset_version(nquads)
    manifest = {**manifest, "version": version}
    target = releases / version
    files = {
        "sitegraph.nq": nquads,
        "sitegraph.trig": dump_trig(quads, prefixes),
        **(extra_files or {}),
        # written last: its presence marks a complete release
        "manifest.json": (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"),
    }
    same = (target / "store").is_dir() and all(
        (target / name).is_file() and (target / name).read_bytes() == content for name, content in files.items()
    )
    if not same:
        tmp = build_dir / f".tmp-{uuid.uuid4().hex}"
        try:
            tmp.mkdir()
            store = ox.Store(str(tmp / "store"))
            store.bulk_extend(quads)
            store.flush()
            store.optimize()
            del store
            for name, content in files.items():
                (tmp / name).write_bytes(content)
            if target.exists():  # an earlier release of the same data, made by another version of the code
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    link_tmp = build_dir / f".current-{uuid.uuid4().hex}"
    os.symlink(Path(RELEASES) / version, link_tmp)
    os.replace(link_tmp, build_dir / CURRENT)
    _prune(releases, keep={version})
    return Release(target, version, manifest)


def _prune(releases: Path, keep: set[str]) -> None:
    """Keep the newest few releases (readers may still have the previous one open)."""
    others = sorted(
        (p for p in releases.iterdir() if p.name not in keep), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in others[KEEP_RELEASES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def current_release(build_dir: Path) -> Release:
    """The release ``current`` points at; a clear error when nothing has been built yet."""
    link = build_dir / CURRENT
    manifest_path = link / "manifest.json"
    if not manifest_path.exists():
        raise UsageError(f"no built graph in {build_dir}: run `sitegraph build` first")
    path = link.resolve()
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return Release(path, manifest["version"], manifest)


def open_read_only(build_dir: Path) -> tuple[ox.Store, Release]:
    release = current_release(build_dir)
    return ox.Store.read_only(str(release.store_path)), release
