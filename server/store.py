"""The one module that owns the store: opens the built release read-only and follows new builds.

Each request asks ``get_store()``; it checks (one ``readlink``) whether ``build/current`` still points at the
release it has open, and reopens when a new build has been switched in. The dataset version (a digest of the
data) drives ETags and caches, so an answer can never outlive the data it was computed from.

A release of up to ``MEMORY_MAX_QUADS`` quads is served from memory: its quads are copied, with their blank node
labels, from the release's RocksDB store (opened read-only) into an in-memory store, which nothing ever writes
to. Joins run several times faster there than through RocksDB (see ``python -m server.bench``), and each worker
holds a copy, so the limit keeps that small. Larger releases are queried on disk.

With ``store = "remote"`` (``RemoteHolder``) queries go to a remote SPARQL 1.1 store (``graph.remote_store``)
instead. Release files (VoID, dumps, ontology documents) are still served from the local ``build/current``, but
the dataset version and the triple counts are the remote's: read again when ``remote_refresh_seconds`` have
passed since the last check (the content digest at most every ``CONTENT_CHECK_EVERY`` checks when the counts stay
equal), and at once after ``invalidate()`` (a write through sitegraph).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from flask import Flask, Response, current_app

from graph.store import CURRENT, Release, current_release

from .errors import ServiceUnavailable, problem_response

if TYPE_CHECKING:  # the remote backend (and its HTTP client) is imported only when configured
    from graph.remote_store import DatasetState, RemoteStore

MEMORY_MAX_QUADS = 200_000  # about 100 MB per worker process
CONTENT_CHECK_EVERY = 12  # remote: with equal counts, digest the content again every this many checks


@dataclass
class OpenRelease:
    store: ox.Store | RemoteStore
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


class RemoteHolder:
    """The remote store, with the local release's files and the remote's version and counts."""

    def __init__(self, build_dir: Path, store: RemoteStore) -> None:
        self.build_dir = build_dir
        self.store = store
        self._lock = threading.Lock()
        self._open: OpenRelease | None = None
        self._state: DatasetState | None = None
        self._checked = 0.0  # time.monotonic() of the last check of the remote
        self._checks = 0

    def get(self) -> OpenRelease:
        opened = self._open
        fresh = time.monotonic() - self._checked < self.store.settings.refresh_seconds
        if opened is not None and fresh and os.path.realpath(self.build_dir / CURRENT) == opened.target:
            return opened
        with self._lock:
            target = os.path.realpath(self.build_dir / CURRENT)
            fresh = time.monotonic() - self._checked < self.store.settings.refresh_seconds
            if self._open is not None and fresh and self._open.target == target:
                return self._open
            if not os.path.isdir(target):
                raise ServiceUnavailable(
                    f"no built graph in {self.build_dir}: run `sitegraph build` first "
                    "(release files are served from it; queries go to the remote store)"
                )
            local = current_release(self.build_dir)
            from graph.remote_store import RemoteStoreUnavailable

            try:
                state = self.store.dataset_state(self._state, recheck_content=self._checks % CONTENT_CHECK_EVERY == 0)
            except RemoteStoreUnavailable as exc:
                self._open = None
                raise ServiceUnavailable(str(exc)) from exc
            self._checks += 1
            self._checked = time.monotonic()
            if self._open is None or state is not self._state or self._open.target != target:
                self._state = state
                self._open = _remote_release(self.store, local, state, target)
            return self._open

    def close(self) -> None:
        """Close the connections to the remote store."""
        self.store.close()

    def invalidate(self) -> None:
        """Check the remote again on the next request (call after writing to it)."""
        with self._lock:
            self._checked = 0.0
            self._checks = 0
            self.store.forget()


def _remote_release(store: RemoteStore, local: Release, state: DatasetState, target: str) -> OpenRelease:
    manifest = {**local.manifest, "graphs": state.graphs, "quads": state.quads, "version": state.version}
    if state.version == local.version:  # the remote holds exactly the local release
        stamp = (local.path / "manifest.json").stat().st_mtime
        modified = datetime.fromtimestamp(int(stamp), tz=UTC)
    else:
        modified = datetime.fromtimestamp(int(time.time()), tz=UTC)
    return OpenRelease(store, Release(local.path, state.version, manifest), target, modified)


def get_store() -> OpenRelease:
    """The open release for this request (store, version, manifest, last-modified)."""
    return current_app.extensions["sitegraph.store"].get()


def invalidate(app: Flask) -> None:
    """After a write through sitegraph: the next request sees the new data (and version) at once."""
    holder = app.extensions["sitegraph.store"]
    if isinstance(holder, RemoteHolder):
        holder.invalidate()


def init_app(app: Flask) -> None:
    config = app.config["SITEGRAPH"]
    if config.store == "embedded":
        app.extensions["sitegraph.store"] = StoreHolder(config.path("build_dir"))
        return
    if config.store != "remote":
        raise ValueError(f"setting store is {config.store!r}; choose embedded or remote")
    from graph.remote_store import RemoteStore, RemoteStoreUnavailable

    app.extensions["sitegraph.store"] = RemoteHolder(config.path("build_dir"), RemoteStore.from_config(config))

    @app.errorhandler(RemoteStoreUnavailable)
    def _remote_unavailable(exc: RemoteStoreUnavailable) -> Response:
        return problem_response(ServiceUnavailable.status, ServiceUnavailable.title, str(exc), ServiceUnavailable.slug)
