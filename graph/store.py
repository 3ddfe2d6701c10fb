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

import contextlib
import hashlib
import json
import logging
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
log = logging.getLogger("sitegraph.store")


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
    files = {
        "sitegraph.nq": nquads,
        "sitegraph.trig": dump_trig(quads, prefixes),
        **(extra_files or {}),
        # written last: its presence marks a complete release
        "manifest.json": (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"),
    }
    target = _release_folder(releases, version, files)
    if not target.exists():
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
            _fsync_tree(tmp)  # the files are on disk before any name points at them
            os.replace(tmp, target)  # target does not exist: an existing release is never replaced
            _fsync_dir(releases)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    link_tmp = build_dir / f".current-{uuid.uuid4().hex}"
    os.symlink(Path(RELEASES) / target.name, link_tmp)
    os.replace(link_tmp, build_dir / CURRENT)
    _fsync_dir(build_dir)  # the switch itself survives a power loss
    # committed from here on: tidying up must not turn a committed release into an error
    try:
        _prune(build_dir, keep={target.name})
    except OSError as exc:
        log.warning("could not remove old releases in %s: %s", releases, exc)
    return Release(target, version, manifest)


def _release_folder(releases: Path, version: str, files: dict[str, bytes]) -> Path:
    """Where the release goes: ``releases/<version>``, or an existing folder holding exactly these files, or,
    when ``<version>`` exists with other files (an undo write returning to an older version with a longer change
    log; a rebuild with changed documents), a new ``<version>-<8 hex>``. A folder that exists is never deleted
    or replaced: ``current`` (or a reader) may point at it."""
    target = releases / version
    candidates = [target, *sorted(releases.glob(f"{version}-*"))]
    for folder in candidates:
        if (folder / "store").is_dir() and all(
            (folder / name).is_file() and (folder / name).read_bytes() == content for name, content in files.items()
        ):
            return folder
    while target.exists() or target.is_symlink():
        target = releases / f"{version}-{uuid.uuid4().hex[:8]}"
    return target


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then every folder (deepest first), so their entries are durable too."""
    folders = []
    for folder, _dirs, names in os.walk(root):
        folders.append(folder)
        for name in names:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for folder in reversed(folders):
        _fsync_dir(Path(folder))


def _prune(build_dir: Path, keep: set[str]) -> None:
    """Keep the newest few releases (readers may still have the previous one open); never the one ``current``
    points at, nor those in ``keep``."""
    releases = build_dir / RELEASES
    with contextlib.suppress(OSError):  # no current link yet
        keep = keep | {os.path.basename(os.readlink(build_dir / CURRENT))}
    others = sorted(
        (p for p in releases.iterdir() if p.name not in keep), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in others[max(KEEP_RELEASES - len(keep), 0) :]:
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
