"""What changed since a previous export: ``CHANGES.md`` for people, ``changes.json`` for programs.

Triples are compared as the union of all graphs (blank nodes are skolemised, so plain set difference works).
Entities are subjects under ``<base>id/``. Each subject is counted under one class: its most specific
``rdf:type`` (a type that is not a superclass of another of its types, by the ontology's ``rdfs:subClassOf``),
the first by prefixed name when several remain, ``(no class)`` when it has none.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox

from ..errors import UsageError
from ..namespaces import RDF, RDFS, DataIRIs
from .catalog import sha256
from .formats import FORMATS, OX_FORMATS

NO_CLASS = "(no class)"
LISTED = 50
#: Which dump of a previous export to read, best first (N-Quads keeps the graphs; JSON-LD needs its context).
READ_ORDER = ("nquads", "trig", "ntriples", "turtle", "rdfxml")

Triple = tuple  # (subject, predicate, object) of pyoxigraph terms


class Previous:
    """A previous export folder, checked against its own manifest."""

    def __init__(self, folder: Path) -> None:
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise UsageError(
                f"--previous {folder}: not an export folder (no manifest.json); "
                "give a folder written by `sitegraph export`"
            )
        try:
            self.manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"--previous {folder}: manifest.json is not valid JSON ({exc})") from exc
        files = {f["format"]: f for f in self.manifest.get("files", [])}
        chosen = next((files[key] for key in READ_ORDER if key in files), None)
        if chosen is None:
            raise UsageError(f"--previous {folder}: no dump in a readable format ({', '.join(READ_ORDER)})")
        path = folder / chosen["name"]
        if not path.is_file():
            raise UsageError(f"--previous {folder}: {chosen['name']} listed in manifest.json is missing")
        data = path.read_bytes()
        if sha256(data) != chosen["sha256"]:
            raise UsageError(f"--previous {folder}: {chosen['name']} does not match its SHA-256 in manifest.json")
        if chosen.get("gzip"):
            data = gzip.decompress(data)
        fmt = FORMATS[chosen["format"]]
        self.version: str = self.manifest.get("version", "?")
        self.profile: str = self.manifest.get("profile", "?")
        self.issued: str = self.manifest.get("issued", "?")
        self.graphs: dict[str, int] = self.manifest.get("graphs", {})
        self.quads = list(ox.parse(data, format=OX_FORMATS[fmt.key]))


def _triples(quads: list[ox.Quad]) -> set[Triple]:
    return {(q.subject, q.predicate, q.object) for q in quads}


def _compact(iri: str, prefixes: dict[str, str]) -> str:
    for prefix, namespace in sorted(prefixes.items(), key=lambda item: -len(item[1])):
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return f"<{iri}>"


def _classes(triples: set[Triple], prefixes: dict[str, str]) -> dict[object, str]:
    """Subject -> the prefixed name of its most specific class."""
    rdf_type, sub_class = str(RDF.type), str(RDFS.subClassOf)
    parents: dict[str, set[str]] = defaultdict(set)
    types: dict[object, set[str]] = defaultdict(set)
    for s, p, o in triples:
        if p.value == sub_class and isinstance(o, ox.NamedNode) and isinstance(s, ox.NamedNode):
            parents[s.value].add(o.value)
        elif p.value == rdf_type and isinstance(o, ox.NamedNode):
            types[s].add(o.value)

    def ancestors(cls: str) -> set[str]:
        seen: set[str] = set()
        stack = [cls]
        while stack:
            for nxt in parents.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    out = {}
    for subject, classes in types.items():
        implied = set().union(*(ancestors(c) - {c} for c in classes))
        specific = sorted(_compact(c, prefixes) for c in classes - implied) or sorted(
            _compact(c, prefixes) for c in classes
        )
        out[subject] = specific[0]
    return out


def compare(
    current: list[ox.Quad],
    graphs: dict[str, int],
    version: str,
    profile: str,
    iris: DataIRIs,
    previous: Previous | None,
) -> dict:
    """The changes document (``changes.json``) between ``previous`` and the current export."""
    if previous is None:
        return {"version": version, "profile": profile, "first_release": True, "previous_version": None}
    prefixes = iris.prefixes()
    now, before = _triples(current), _triples(previous.quads)
    added, removed = now - before, before - now
    class_now, class_before = _classes(now, prefixes), _classes(before, prefixes)
    entity_prefix = str(iris.id)

    def entities(triples: set[Triple]) -> set[str]:
        return {s.value for s, _p, _o in triples if isinstance(s, ox.NamedNode) and s.value.startswith(entity_prefix)}

    ents_now, ents_before = entities(now), entities(before)
    by_class: dict[str, dict[str, int]] = defaultdict(
        lambda: {"entities_added": 0, "entities_removed": 0, "triples_added": 0, "triples_removed": 0}
    )
    for s, _p, _o in added:
        by_class[class_now.get(s) or class_before.get(s) or NO_CLASS]["triples_added"] += 1
    for s, _p, _o in removed:
        by_class[class_before.get(s) or class_now.get(s) or NO_CLASS]["triples_removed"] += 1
    new_entities, gone_entities = sorted(ents_now - ents_before), sorted(ents_before - ents_now)
    for iri in new_entities:
        by_class[class_now.get(ox.NamedNode(iri), NO_CLASS)]["entities_added"] += 1
    for iri in gone_entities:
        by_class[class_before.get(ox.NamedNode(iri), NO_CLASS)]["entities_removed"] += 1
    graph_changes = {
        g: {"before": previous.graphs.get(g, 0), "after": graphs.get(g, 0)}
        for g in sorted(set(graphs) | set(previous.graphs))
        if previous.graphs.get(g, 0) != graphs.get(g, 0)
    }
    return {
        "version": version,
        "profile": profile,
        "first_release": False,
        "previous_version": previous.version,
        "previous_profile": previous.profile,
        "previous_issued": previous.issued,
        "triples": {"before": len(before), "after": len(now), "added": len(added), "removed": len(removed)},
        "entities": {"added": new_entities, "removed": gone_entities},
        "by_class": dict(sorted(by_class.items())),
        "graphs": graph_changes,
    }


def changes_json(changes: dict) -> bytes:
    return (json.dumps(changes, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def changes_markdown(changes: dict, issued: str, iris: DataIRIs) -> bytes:
    """``CHANGES.md``: the same content as ``changes.json``, for people."""
    lines = [f"# sitegraph release {changes['version']} ({issued})", ""]
    if changes["first_release"]:
        lines += ["First release: no previous export was given to compare with (`--previous DIR`).", ""]
        return "\n".join(lines).encode("utf-8")
    t = changes["triples"]
    lines += [
        f"Compared with release {changes['previous_version']} ({changes['previous_issued']}), "
        f"profile {changes['profile']}"
        + (
            f" (the previous export used profile {changes['previous_profile']})"
            if changes["previous_profile"] != changes["profile"]
            else ""
        )
        + ".",
        "",
        f"Triples (union of all graphs): {t['before']} -> {t['after']}: {t['added']} added, {t['removed']} removed.",
        f"Entities: {len(changes['entities']['added'])} added, {len(changes['entities']['removed'])} removed.",
        "",
    ]
    if changes["by_class"]:
        lines += [
            "## By class",
            "",
            "| class | entities added | entities removed | triples added | triples removed |",
            "|---|---:|---:|---:|---:|",
        ]
        for cls, n in changes["by_class"].items():
            lines.append(
                f"| {cls} | {n['entities_added']} | {n['entities_removed']} "
                f"| {n['triples_added']} | {n['triples_removed']} |"
            )
        lines.append("")
    for kind in ("added", "removed"):
        listed = changes["entities"][kind]
        if listed:
            lines += [f"## Entities {kind}", ""]
            lines += [f"- `{iri[len(str(iris.id)) :]}`" for iri in listed[:LISTED]]
            if len(listed) > LISTED:
                lines.append(f"- … and {len(listed) - LISTED} more (see changes.json)")
            lines.append("")
    if changes["graphs"]:
        lines += ["## Named graphs", "", "| graph | triples before | triples after |", "|---|---:|---:|"]
        for graph, n in changes["graphs"].items():
            lines.append(f"| {graph} | {n['before']} | {n['after']} |")
        lines.append("")
    return "\n".join(lines).encode("utf-8")
