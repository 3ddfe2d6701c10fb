"""What an export folder says about itself: ``catalog.ttl`` (DCAT + VoID), ``manifest.json`` and ``SHA256SUMS``.

The catalog describes the release as a ``dcat:Dataset`` (also a ``void:Dataset``) with one ``dcat:Distribution``
per dump: byte size, media type, SHA-256 checksum (SPDX), statement count and the SPARQL endpoint under the base.
The manifest says the same for programs (``sitegraph push`` reads it); SHA256SUMS works with ``sha256sum -c``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pyoxigraph as ox

from .. import __version__
from ..namespaces import DCAT, DCTERMS, IANA_MEDIA_TYPES, OWL, RDF, SG, SPDX, VOID, XSD, DataIRIs
from ..store import stable_prefixes
from .formats import Format, vocabulary_prefixes

TITLE = "sitegraph"
DESCRIPTION = (
    "A knowledge graph of technoparks, special and free economic zones and industrial parks, the organisations, "
    "people, legal instruments, projects and events connected with them, and the figures news sources report "
    "about them, each traced to a verbatim quote."
)
PROFILE_NOTES = {
    "full": "every named graph with its provenance; triple-only formats (Turtle, N-Triples, RDF/XML) carry the "
    "union of all graphs as plain triples",
    "flat": "the union of all graphs as plain triples, duplicates removed (also in the quad formats)",
    "schema.org": "only schema.org statements (schema.org properties and rdf:type to schema.org classes), "
    "project terms mapped through the ontology's subclass, subproperty and equivalence links",
}


@dataclass(frozen=True)
class Dump:
    """One written dump file."""

    fmt: Format
    name: str
    size: int
    sha256: str
    statements: int
    gzip: bool

    @property
    def describes(self) -> str:
        graphs = "named graphs" if self.fmt.quads else "the union of all graphs as plain triples"
        return f"{self.fmt.label}, {graphs}" + (", gzip-compressed" if self.gzip else "")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


def _lit(value: str | int, datatype: str | None = None, language: str | None = None) -> ox.Literal:
    if language:
        return ox.Literal(str(value), language=language)
    return ox.Literal(str(value), datatype=_n(datatype)) if datatype else ox.Literal(str(value))


def license_of(quads: list[ox.Quad]) -> str | None:
    """The ``dcterms:license`` of the ontology (``owl:Ontology``) in the release, as the project states it."""
    ontologies = {q.subject for q in quads if q.predicate.value == str(RDF.type) and q.object == _n(OWL.Ontology)}
    licenses = sorted(
        q.object.value for q in quads if q.subject in ontologies and q.predicate.value == str(DCTERMS.license)
    )
    return licenses[0] if licenses else None


def catalog(
    iris: DataIRIs,
    version: str,
    issued: str,
    profile: str,
    dumps: list[Dump],
    statements: int,
    license_iri: str | None,
) -> bytes:
    """``catalog.ttl``: the release and its distributions in DCAT and VoID, sorted, prefixes sorted."""
    release = _n(f"{iris.base}release/{version}")
    catalog_node = _n(iris.base + "catalog")
    endpoint = _n(iris.base + "sparql")
    t = ox.Triple
    out = [
        t(catalog_node, _n(RDF.type), _n(DCAT.Catalog)),
        t(catalog_node, _n(DCTERMS.title), _lit(f"{TITLE} releases", language="en")),
        t(catalog_node, _n(DCAT.dataset), release),
        t(release, _n(RDF.type), _n(DCAT.Dataset)),
        t(release, _n(RDF.type), _n(VOID.Dataset)),
        t(release, _n(DCTERMS.title), _lit(TITLE, language="en")),
        t(
            release,
            _n(DCTERMS.description),
            _lit(f"{DESCRIPTION} Profile {profile}: {PROFILE_NOTES[profile]}.", language="en"),
        ),
        t(release, _n(DCAT.version), _lit(version)),
        t(release, _n(OWL.versionInfo), _lit(version)),
        t(release, _n(DCTERMS.issued), _lit(issued, XSD.date)),
        t(release, _n(DCTERMS.isVersionOf), _n(iris.base + "dataset")),
        t(release, _n(VOID.triples), _lit(statements, XSD.integer)),
        t(release, _n(VOID.sparqlEndpoint), endpoint),
        t(release, _n(VOID.uriSpace), _lit(str(iris.id))),
        t(release, _n(VOID.vocabulary), _n(SG)),
    ]
    if license_iri:
        out.append(t(release, _n(DCTERMS.license), _n(license_iri)))
    for dump in dumps:
        dist = _n(f"{iris.base}release/{version}/{dump.name}")
        checksum = _n(f"{iris.base}release/{version}/{dump.name}#sha256")
        out += [
            t(release, _n(DCAT.distribution), dist),
            t(dist, _n(RDF.type), _n(DCAT.Distribution)),
            t(dist, _n(DCTERMS.title), _lit(dump.name)),
            t(dist, _n(DCTERMS.description), _lit(dump.describes, language="en")),
            t(dist, _n(DCAT.mediaType), _n(IANA_MEDIA_TYPES + dump.fmt.media_type)),
            t(dist, _n(DCAT.byteSize), _lit(dump.size, XSD.nonNegativeInteger)),
            t(dist, _n(DCAT.accessURL), endpoint),
            t(dist, _n(VOID.triples), _lit(dump.statements, XSD.integer)),
            t(dist, _n(SPDX.checksum), checksum),
            t(checksum, _n(RDF.type), _n(SPDX.Checksum)),
            t(checksum, _n(SPDX.algorithm), _n(SPDX.checksumAlgorithm_sha256)),
            t(checksum, _n(SPDX.checksumValue), _lit(dump.sha256, XSD.hexBinary)),
        ]
        if license_iri:
            out.append(t(dist, _n(DCTERMS.license), _n(license_iri)))
        if dump.gzip:
            out.append(t(dist, _n(DCAT.compressFormat), _n(IANA_MEDIA_TYPES + "application/gzip")))
    out.sort(key=lambda x: (str(x.subject), str(x.predicate), str(x.object)))
    prefixes = {**vocabulary_prefixes(), "spdx": str(SPDX)}
    body = ox.serialize(out, format=ox.RdfFormat.TURTLE, prefixes=dict(sorted(prefixes.items())))
    return stable_prefixes(body)


def manifest(
    iris: DataIRIs,
    version: str,
    issued: str,
    profile: str,
    dumps: list[Dump],
    graphs: dict[str, int],
    extra: dict[str, str],
    previous: str | None,
    mappings: dict | None = None,
) -> bytes:
    """``manifest.json``: the folder's layout for programs (``sitegraph push``)."""
    document = {
        "export": 1,
        "sitegraph": __version__,
        "version": version,
        "issued": issued,
        "base_iri": iris.base,
        "profile": profile,
        "profile_note": PROFILE_NOTES[profile],
        "sparql_endpoint": iris.base + "sparql",
        "context": extra.get("context"),
        "previous_version": previous,
        "graphs": dict(sorted(graphs.items())),
        "files": [
            {
                "name": d.name,
                "format": d.fmt.key,
                "media_type": d.fmt.media_type,
                "named_graphs": d.fmt.quads and profile == "full",
                "gzip": d.gzip,
                "bytes": d.size,
                "sha256": d.sha256,
                "statements": d.statements,
            }
            for d in dumps
        ],
        "metadata": {k: v for k, v in sorted(extra.items()) if k != "context"},
    }
    if mappings is not None:
        document["schema_org_mappings"] = mappings
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def sha256sums(files: dict[str, bytes]) -> bytes:
    """``SHA256SUMS`` in the format of ``sha256sum`` (two spaces, text mode), sorted by file name."""
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items())).encode("utf-8")
