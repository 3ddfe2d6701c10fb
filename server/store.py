"""The one module that owns the store: opens the built release read-only and follows new builds.

Each request asks ``get_store()``; it checks (one ``readlink``) whether ``build/current`` still points at the
release it has open, and reopens when a new build has been switched in. The dataset version (a digest of the
data) drives ETags and caches, so an answer can never outlive the data it was computed from.

A release of up to ``MEMORY_MAX_QUADS`` quads is served from memory: its quads are copied, with their blank node
labels, from the release's RocksDB store (opened read-only) into an in-memory store, which nothing ever writes
to. Joins run several times faster there than through RocksDB (see ``python -m server.bench``), and each worker
holds a copy, so the limit keeps that small. Larger releases are queried on disk.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from flask import Flask, current_app

from graph.store import CURRENT, Release, current_release

from .errors import ServiceUnavailable

MEMORY_MAX_QUADS = 200_000  # about 100 MB per worker process


@dataclass
class OpenRelease:
    store: ox.Store
    release: Release
    target: str
    last_modified: datetime

    @property
    def version(self) -> str:
        return self.release.version


class StoreHolder:
    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self._lock = threading.Lock()
        self._open: OpenRelease | None = None

    def _target(self) -> str | None:
        try:
            return os.readlink(self.build_dir / CURRENT)
        except OSError:
            return None

    def get(self) -> OpenRelease:
        target = self._target()
        opened = self._open
        if opened is not None and opened.target == target:
            return opened
        with self._lock:
            if self._open is not None and self._open.target == target:
                return self._open
            if target is None:
                raise ServiceUnavailable(f"no built graph in {self.build_dir}: run `sitegraph build` first")
            release = current_release(self.build_dir)
            store = open_release_store(release)
            stamp = (release.path / "manifest.json").stat().st_mtime
            modified = datetime.fromtimestamp(int(stamp), tz=UTC)
            self._open = OpenRelease(store, release, target, modified)
            return self._open


def open_release_store(release: Release) -> ox.Store:
    """The release's store for queries: a copy in memory when the release is small, else the RocksDB store."""
    on_disk = ox.Store.read_only(str(release.store_path))
    if int(release.manifest.get("quads", MEMORY_MAX_QUADS + 1)) > MEMORY_MAX_QUADS:
        return on_disk
    in_memory = ox.Store()
    in_memory.bulk_extend(on_disk.quads_for_pattern(None, None, None, None))
    return in_memory


def get_store() -> OpenRelease:
    """The open release for this request (store, version, manifest, last-modified)."""
    return current_app.extensions["sitegraph.store"].get()


def init_app(app: Flask) -> None:
    app.extensions["sitegraph.store"] = StoreHolder(app.config["SITEGRAPH"].path("build_dir"))
