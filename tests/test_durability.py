"""Writes survive being killed at any moment: a child process commits writes in a loop and is SIGKILLed at
random moments, again and again; afterwards the build folder is whole and holds every write reported committed."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

from graph.config import Config
from graph.store import current_release, dataset_version
from graph.writes import Change, apply_change, read_changes
from tests.conftest import ROOT

KILLS = 12
G = "https://w3id.org/sitegraph/graph/partner/durability"
DESC = "http://purl.org/dc/terms/description"
CHILD = """
import sys
from pathlib import Path
from graph.writes import Change, apply_change
build_dir, i, graph, desc = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
print("ready", flush=True)
while True:
    update = f'INSERT DATA {{ GRAPH <{graph}> {{ <https://example.org/durability/{i}> <{desc}> "write {i}" }} }}'
    result = apply_change(build_dir, Change("update", update=update), "durability")
    print(f"committed {i} {result.version}", flush=True)
    i += 1
"""


def _check_whole(build_dir: Path) -> None:
    """The current release resolves, and its version is the digest of its dump."""
    release = current_release(build_dir)
    assert release.path.is_dir() and release.path.parent == (build_dir / "releases").resolve()
    nquads = (release.path / "sitegraph.nq").read_bytes()
    assert release.version == dataset_version(nquads) == release.path.name


def test_writes_survive_sigkill_at_random_moments(release_copy: Config) -> None:
    build_dir = release_copy.path("build_dir")
    rng = random.Random()
    committed: dict[int, str] = {}
    started = time.monotonic()
    for round_ in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(build_dir), str(round_ * 1000), G, DESC],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        ready = child.stdout.readline()
        assert ready.strip() == "ready", child.stderr.read() if child.stderr else ""
        time.sleep(rng.uniform(0.2, 2.4))
        child.kill()
        out, err = child.communicate(timeout=30)
        assert child.returncode == -9, err  # killed, not failed
        for line in out.splitlines():
            _word, number, version = line.split()
            committed[int(number)] = version
        _check_whole(build_dir)
    assert time.monotonic() - started < 60

    release = current_release(build_dir)
    _check_whole(build_dir)
    store = ox.Store.read_only(str(release.store_path))
    assert len(store) == release.manifest["quads"]
    log = read_changes(release)
    assert len(log) == release.manifest["changes"] >= len(committed)
    assert [r["seq"] for r in log] == list(range(1, len(log) + 1))
    assert log[-1]["version"] == release.version
    present = {
        int(s["s"].value.rsplit("/", 1)[1])
        for s in store.query(f"SELECT ?s WHERE {{ GRAPH <{G}> {{ ?s <{DESC}> ?o }} }}")
    }
    assert set(committed) <= present, f"lost writes: {sorted(set(committed) - present)}"
    assert len(present) == len(log)  # every logged write is in the data and the other way round
    assert len(committed) >= KILLS // 3, "too few writes got through to test anything"
    leftovers = [p.name for p in build_dir.iterdir() if p.name.startswith((".tmp-", ".current-"))]
    print(f"{len(committed)} writes reported, {len(log)} committed, {len(leftovers)} interrupted temp entries")

    # no lock is left behind by the killed writers: the next write goes through at once
    result = apply_change(build_dir, Change("update", update=_note(99999)), "after", lock_timeout=5)
    assert result.committed and current_release(build_dir).manifest["changes"] == len(log) + 1
    # and it cleared what the interrupted ones left
    assert not [p for p in build_dir.iterdir() if p.name.startswith((".tmp-", ".current-"))]


def _note(i: int) -> str:
    return f'INSERT DATA {{ GRAPH <{G}> {{ <https://example.org/durability/{i}> <{DESC}> "write {i}" }} }}'
