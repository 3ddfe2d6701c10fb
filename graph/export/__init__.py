"""Release folders: the current build dumped in every RDF format, with a catalog, checksums and a change log.

``export_release`` reads the current release (its canonical ``sitegraph.nq``, not the sources), skolemises blank
nodes to stable IRIs, applies a profile (``full``, ``flat``, ``schema.org``), and writes a folder:

```
sitegraph.ttl sitegraph.nt sitegraph.nq sitegraph.trig sitegraph.jsonld sitegraph.rdf   the dumps (optionally .gz)
context.jsonld         the JSON-LD context the .jsonld dump names by URL (<base>context.jsonld)
catalog.ttl            DCAT + VoID: the release and one dcat:Distribution per dump
manifest.json          the same for programs: files, formats, profile, graphs and their triple counts
CHANGES.md changes.json   entities and triples added/removed by class since --previous
SHA256SUMS             `sha256sum -c SHA256SUMS` checks every other file
```

The folder is written in a temporary sibling and renamed into place, so a failed export leaves nothing
half-written; equal data gives byte-identical folders. ``sitegraph export`` is a thin shell over this module.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ..config import Config
from ..errors import UsageError
from ..namespaces import RDF, DataIRIs
from ..store import Release, current_release
from .catalog import Dump, catalog, license_of, manifest, sha256, sha256sums
from .changes import Previous, changes_json, changes_markdown, compare
from .formats import CONTEXT_FILE, FORMATS, gzip_bytes, jsonld_context, serialize, skolemise, union
from .profiles import PROFILES, apply_profile, schema_mappings

__all__ = ["FORMATS", "PROFILES", "Export", "export_release", "jsonld_context", "read_release_quads"]

EXPORT_MARK = "export"  # key in manifest.json that marks a folder written by this module


@dataclass(frozen=True)
class Export:
    """A written export folder."""

    path: Path
    version: str
    profile: str
    issued: str
    dumps: list[Dump]
    files: dict[str, int]  # every file in the folder -> its size in bytes
    changes: dict


def read_release_quads(release: Release) -> list[ox.Quad]:
    """The quads of a release, from its canonical N-Quads dump."""
    path = release.path / "sitegraph.nq"
    if not path.is_file():
        raise UsageError(f"release {release.version} in {release.path} has no sitegraph.nq: run `sitegraph build`")
    return list(ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS))


def release_date(release: Release) -> str:
    """The day the release was written (its manifest's modification time, UTC): stable for one release."""
    stamp = (release.path / "manifest.json").stat().st_mtime
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).date().isoformat()


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder (it is created, or replaced if it holds an export)")
    if out.is_dir() and any(out.iterdir()):
        manifest_path = out / "manifest.json"
        try:
            ours = EXPORT_MARK in json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            ours = False
        if not ours:
            raise UsageError(
                f"--out {out} is a folder that does not hold a sitegraph export; give an empty or new folder"
            )


def export_release(
    config: Config,
    out: Path,
    formats: list[str] | None = None,
    profile: str = "full",
    compress: bool = False,
    previous: Path | None = None,
    issued: str | None = None,
) -> Export:
    """Export the current release of ``config``'s build folder into ``out`` (created or replaced atomically)."""
    unknown = sorted(set(formats or ()) - set(FORMATS))
    if unknown:
        raise UsageError(f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    formats = [key for key in FORMATS if key in set(formats or FORMATS)]
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile}; choose from {', '.join(PROFILES)}")
    if issued is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", issued):
        raise UsageError(f"--issued {issued}: write a date as YYYY-MM-DD")
    out = Path(out)
    _check_out(out)
    release = current_release(config.path("build_dir"))
    iris = DataIRIs(release.manifest.get("base_iri") or config.base_iri)
    before = Previous(Path(previous)) if previous else None
    issued = issued or release_date(release)

    everything = skolemise(read_release_quads(release), iris.base)
    quads = apply_profile(everything, profile)
    if profile == "full":
        graphs = Counter(q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else "default" for q in quads)
    else:
        graphs = Counter({"default": len(quads)})
    union_size = len(union(quads))

    files: dict[str, bytes] = {}
    dumps: list[Dump] = []
    for key in formats:
        fmt = FORMATS[key]
        data = serialize(quads, fmt, iris)
        name = fmt.filename + (".gz" if compress else "")
        if compress:
            data = gzip_bytes(data)
        files[name] = data
        statements = len(quads) if fmt.quads else union_size
        dumps.append(Dump(fmt, name, len(data), sha256(data), statements, compress))
    files[CONTEXT_FILE] = (json.dumps(jsonld_context(iris), indent=2, sort_keys=True) + "\n").encode("utf-8")
    changes = compare(quads, dict(graphs), release.version, profile, iris, before)
    files["changes.json"] = changes_json(changes)
    files["CHANGES.md"] = changes_markdown(changes, issued, iris)
    files["catalog.ttl"] = catalog(iris, release.version, issued, profile, dumps, len(quads), license_of(everything))
    files["manifest.json"] = manifest(
        iris,
        release.version,
        issued,
        profile,
        dumps,
        dict(graphs),
        {"context": CONTEXT_FILE, "catalog": "catalog.ttl", "changes": "changes.json", "checksums": "SHA256SUMS"},
        before.version if before else None,
        _used_mappings(everything, quads) if profile == "schema.org" else None,
    )
    files["SHA256SUMS"] = sha256sums(files)
    _write_atomically(out, files)
    return Export(out, release.version, profile, issued, dumps, {n: len(d) for n, d in sorted(files.items())}, changes)


def _used_mappings(everything: list[ox.Quad], exported: list[ox.Quad]) -> dict:
    """The ontology mappings to schema.org that the data uses (for the manifest of a schema.org export)."""
    classes, properties = schema_mappings(everything)
    used_classes = {q.object.value for q in everything if q.predicate.value == str(RDF.type)}
    used_properties = {q.predicate.value for q in everything}
    return {
        "classes": {c: t for c, t in classes.items() if c in used_classes},
        "properties": {p: t for p, t in properties.items() if p in used_properties},
        "exported_statements": len(exported),
    }


def _write_atomically(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a temporary sibling of ``out``, then swap it in; on any error nothing changes."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex}"
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex}"
    try:
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old.exists():
            if not out.exists():  # the swap failed half-way: put the previous export back
                os.replace(old, out)
            else:
                shutil.rmtree(old, ignore_errors=True)
