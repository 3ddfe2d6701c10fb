"""Files a release carries for ontology editors and readers, next to the data:

- ``ontology.owl``: the ontology graph as RDF/XML, for Protégé (canonical blank nodes, so the same bytes each build);
- ``catalog-v001.xml``: Protégé's XML catalog, mapping the ontology IRI and version IRI to ``ontology.owl`` (the
  ontology imports nothing, so everything resolves offline; ``sitegraph lint`` fails on an owl:imports);
- ``ontology.html``: the generated documentation (``graph.docs``), ``ontology.svg``: the diagram;
- ``shapes.ttl``: the SHACL shapes that gated the release, concatenated (the server's /ontology page shows them).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from ..namespaces import ONTOLOGY_IRI, PREFIXES, DataIRIs
from .diagram import diagram_svg
from .docs import collect, find_examples
from .docs_html import render_html

FILES = ("ontology.html", "ontology.owl", "ontology.svg", "catalog-v001.xml", "shapes.ttl")


def ontology_owl(quads: list[ox.Quad], iris: DataIRIs) -> bytes:
    name = ox.NamedNode(iris.ontology_graph)
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads if q.graph_name == name]
    used = {t.value for triple in triples for t in triple if isinstance(t, ox.NamedNode)}
    prefixes = {p: ns for p, ns in sorted(PREFIXES.items()) if any(v.startswith(ns) for v in used)}
    return ox.serialize(triples, format=ox.RdfFormat.RDF_XML, prefixes=prefixes)


def catalog(ontology: Graph) -> bytes:
    """A Protégé catalog: the ontology IRI and its version IRI both resolve to the local ontology.owl."""
    names = [ONTOLOGY_IRI, *sorted(str(v) for v in ontology.objects(URIRef(ONTOLOGY_IRI), OWL.versionIRI))]
    entries = "\n".join(
        f'    <uri id="sitegraph" name={quoteattr(name)} uri="ontology.owl"/>' for name in dict.fromkeys(names)
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<catalog prefer="public" xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">\n'
        f"{entries}\n"
        "</catalog>\n"
    )
    return text.encode("utf-8")


def shapes_turtle(folder: Path) -> bytes:
    """The shapes files one after the other (Turtle allows repeated prefix declarations)."""
    parts = [f"# ---- {p.name} ----\n{p.read_text(encoding='utf-8').rstrip()}\n" for p in sorted(folder.glob("*.ttl"))]
    return "\n".join(parts).encode("utf-8")


def documentation(ontology: Graph, shapes: Graph, store: ox.Store, iris: DataIRIs) -> tuple[str, str]:
    """(HTML, SVG) of the ontology, with examples from ``store``."""
    svg = diagram_svg(ontology)
    return render_html(collect(ontology, shapes, find_examples(store, iris)), svg), svg


def release_files(project: Path, ontology: Graph, quads: list[ox.Quad], iris: DataIRIs) -> dict[str, bytes]:
    """Every file of ``FILES`` for a release of ``quads``."""
    shapes_text = shapes_turtle(project / "shapes")
    shapes = Graph().parse(data=shapes_text.decode("utf-8"), format="turtle")
    store = ox.Store()
    store.bulk_extend(quads)
    html, svg = documentation(ontology, shapes, store, iris)
    return {
        "ontology.html": html.encode("utf-8"),
        "ontology.owl": ontology_owl(quads, iris),
        "ontology.svg": svg.encode("utf-8"),
        "catalog-v001.xml": catalog(ontology),
        "shapes.ttl": shapes_text,
    }


def project_files(project: Path, build_dir: Path | None, iris: DataIRIs) -> tuple[dict[str, bytes], str]:
    """The documentation files from ontology/ and shapes/ as they are now, with examples from the current release
    (if there is one): what ``sitegraph docs`` writes. Returns the files and where the examples came from."""
    from ..store import canonical_quads, current_release

    graph = ox.NamedNode(iris.ontology_graph)
    quads = []
    ontology = Graph()
    for path in sorted((project / "ontology").glob("*.ttl")):
        ontology.parse(path, format="turtle")
        quads += [
            ox.Quad(t.subject, t.predicate, t.object, graph) for t in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
        ]
    quads = canonical_quads(quads)
    store, origin = ox.Store(), "no release (no examples)"
    if build_dir is not None and (build_dir / "current" / "manifest.json").exists():
        release = current_release(build_dir)
        store, origin = ox.Store.read_only(str(release.store_path)), f"release {release.version}"
    shapes_text = shapes_turtle(project / "shapes")
    shapes = Graph().parse(data=shapes_text.decode("utf-8"), format="turtle")
    html, svg = documentation(ontology, shapes, store, iris)
    files = {
        "ontology.html": html.encode("utf-8"),
        "ontology.owl": ontology_owl(quads, iris),
        "ontology.svg": svg.encode("utf-8"),
        "catalog-v001.xml": catalog(ontology),
    }
    return files, origin
