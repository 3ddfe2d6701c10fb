"""Every namespace the project uses, in one place.

Nothing else in the code spells a namespace string: import the constants from here. ``bind_prefixes``
binds the same prefixes on any rdflib graph, and ``PREFIXES`` gives them as a plain mapping for
pyoxigraph and for SPARQL prologues.
"""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, XSD, NamespaceManager

SG = Namespace("https://w3id.org/sitegraph/ontology#")
ONTOLOGY_IRI = "https://w3id.org/sitegraph/ontology"
VOCAB = "https://w3id.org/sitegraph/vocab/"
SECTOR = Namespace(VOCAB + "sector/")
STATUS = Namespace(VOCAB + "status/")
QUALIFIER = Namespace(VOCAB + "qualifier/")
LEGALFORM = Namespace(VOCAB + "legal-form/")
ROLE = Namespace(VOCAB + "role/")
MEASURE = Namespace(VOCAB + "measure/")
TOPIC = Namespace(VOCAB + "topic/")
DATESTATUS = Namespace(VOCAB + "date-status/")

ORG = Namespace("http://www.w3.org/ns/org#")
ROV = Namespace("http://www.w3.org/ns/regorg#")
SCHEMA = Namespace("http://schema.org/")
VANN = Namespace("http://purl.org/vocab/vann/")
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
NACE = Namespace("http://data.europa.eu/ux2/nace2/")
#: Used by release catalogs (graph/export): file checksums and media types.
SPDX = Namespace("http://spdx.org/rdf/terms#")
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

#: The default base for data IRIs (entities, documents, graphs). Configurable: see ``graph.config``.
DEFAULT_BASE = "https://w3id.org/sitegraph/"

#: Concept-scheme prefixes usable in source files (``sector:textiles``), mapped to their namespaces.
CONCEPT_PREFIXES: dict[str, Namespace] = {
    "sector": SECTOR,
    "status": STATUS,
    "qualifier": QUALIFIER,
    "legalform": LEGALFORM,
    "role": ROLE,
    "measure": MEASURE,
    "topic": TOPIC,
    "datestatus": DATESTATUS,
}

PREFIXES: dict[str, str] = {
    "sg": str(SG),
    **{name: str(ns) for name, ns in CONCEPT_PREFIXES.items()},
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
    "org": str(ORG),
    "rov": str(ROV),
    "schema": str(SCHEMA),
    "sh": str(SH),
    "vann": str(VANN),
    "void": str(VOID),
    "dcat": str(DCAT),
    "sd": str(SD),
    "nace": str(NACE),
}


class DataIRIs:
    """IRIs of the data (entities, documents, graphs) under a configurable base."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not base.endswith("/"):
            base += "/"
        self.base = base
        self.id = Namespace(base + "id/")
        self.graph = Namespace(base + "graph/")

    def entity(self, ref: str) -> str:
        """``site/chirchiq-technopark`` -> the entity IRI."""
        return str(self.id[ref])

    def document(self, slug: str) -> str:
        return str(self.id["document/" + slug])

    def source_graph(self, slug: str) -> str:
        return str(self.graph["source/" + slug])

    @property
    def reference_graph(self) -> str:
        return str(self.graph["reference"])

    @property
    def ontology_graph(self) -> str:
        return str(self.graph["ontology"])

    @property
    def inferred_graph(self) -> str:
        return str(self.graph["inferred"])

    def prefixes(self) -> dict[str, str]:
        """Project prefixes plus the data prefixes for this base."""
        return {**PREFIXES, "id": str(self.id), "graph": str(self.graph)}


def bind_prefixes(graph, iris: DataIRIs | None = None) -> None:
    """Bind the project's prefixes on an rdflib Graph or Dataset."""
    manager: NamespaceManager = graph.namespace_manager
    prefixes = iris.prefixes() if iris else PREFIXES
    for prefix, namespace in prefixes.items():
        manager.bind(prefix, namespace, override=True, replace=True)
