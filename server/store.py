"""The one module that owns the store: opens the built release read-only and follows new builds.

Each request asks ``get_store()``; it checks (one ``readlink``) whether ``build/current`` still points at the
release it has open, and reopens when a new build has been switched in. The dataset version (a digest of the
data) drives ETags and caches, so an answer can never outlive the data it was computed from.
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
            store = ox.Store.read_only(str(release.store_path))
            stamp = (release.path / "manifest.json").stat().st_mtime
            modified = datetime.fromtimestamp(int(stamp), tz=UTC)
            self._open = OpenRelease(store, release, target, modified)
            return self._open


def get_store() -> OpenRelease:
    """The open release for this request (store, version, manifest, last-modified)."""
    return current_app.extensions["sitegraph.store"].get()


def init_app(app: Flask) -> None:
    app.extensions["sitegraph.store"] = StoreHolder(app.config["SITEGRAPH"].path("build_dir"))
