"""The SHACL shapes (shapes/*.ttl) against the ontology and their examples (tests/shapes/<Class>/).

- every sg: class of the ontology has a node shape targeting it;
- every node shape has a valid.ttl and an invalid.ttl example;
- valid.ttl conforms to ALL shapes;
- invalid.ttl does not conform, and the shape in question (or one of its property shapes) reports it.

Examples are validated on their own, without inference, exactly as the build validates its union graph
(pyshacl, inference 'none', advanced features on).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH

PROJECT = Path(__file__).resolve().parent.parent
SHAPES_DIR = PROJECT / "shapes"
ONTOLOGY_DIR = PROJECT / "ontology"
EXAMPLES_DIR = Path(__file__).resolve().parent / "shapes"
SG = "https://w3id.org/sitegraph/ontology#"
SGSH = "https://w3id.org/sitegraph/shapes#"


def parse_folder(folder: Path) -> Graph:
    """All ``*.ttl`` files of ``folder`` in one graph."""
    graph = Graph()
    for path in sorted(folder.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@cache
def shapes_graph() -> Graph:
    """The shapes, parsed once per test session."""
    return parse_folder(SHAPES_DIR)


@cache
def ontology_classes() -> tuple[URIRef, ...]:
    """Every owl:Class in the sg: namespace declared in ontology/*.ttl."""
    ontology = parse_folder(ONTOLOGY_DIR)
    classes = {c for c in ontology.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef) and str(c).startswith(SG)}
    return tuple(sorted(classes))


def node_shapes(shapes: Graph) -> list[URIRef]:
    """The named node shapes of the shapes graph."""
    return sorted(s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef))


def local_name(iri: URIRef) -> str:
    return str(iri).rsplit("#", 1)[-1]


def example_path(shape: URIRef, kind: str) -> Path:
    """tests/shapes/<ClassLocalName>/<kind>.ttl for the shape sgsh:<ClassLocalName>Shape."""
    name = local_name(shape)
    assert name.endswith("Shape"), f"shape {name} is not named sgsh:<ClassLocalName>Shape"
    return EXAMPLES_DIR / name[: -len("Shape")] / f"{kind}.ttl"


def run(data_path: Path, shapes: Graph) -> tuple[bool, Graph, str]:
    data = Graph().parse(data_path, format="turtle")
    conforms, results, text = validate(data, shacl_graph=shapes, inference="none", advanced=True)
    return bool(conforms), results, text


@pytest.fixture(scope="session")
def shapes() -> Graph:
    return shapes_graph()


SHAPE_IDS = [local_name(s) for s in node_shapes(shapes_graph())]
CLASS_IDS = [local_name(c) for c in ontology_classes()]


def shape_ref(name: str) -> URIRef:
    return URIRef(SGSH + name)


@pytest.mark.parametrize("cls", CLASS_IDS)
def test_every_ontology_class_has_a_shape(shapes: Graph, cls: str) -> None:
    shape = shape_ref(cls + "Shape")
    assert (shape, RDF.type, SH.NodeShape) in shapes, f"no node shape sgsh:{cls}Shape for sg:{cls}"
    assert (shape, SH.targetClass, URIRef(SG + cls)) in shapes, f"sgsh:{cls}Shape does not target sg:{cls}"


@pytest.mark.parametrize("name", SHAPE_IDS)
def test_shape_is_documented(shapes: Graph, name: str) -> None:
    shape = shape_ref(name)
    targets = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
    assert any(shapes.value(shape, t) is not None for t in targets), f"{name} has no target"
    assert shapes.value(shape, RDFS.label) is not None, f"{name} has no rdfs:label"
    assert shapes.value(shape, RDFS.comment) is not None, f"{name} has no rdfs:comment"


@pytest.mark.parametrize("name", SHAPE_IDS)
def test_shape_has_both_examples(name: str) -> None:
    shape = shape_ref(name)
    for kind in ("valid", "invalid"):
        assert example_path(shape, kind).is_file(), f"missing {example_path(shape, kind).relative_to(PROJECT)}"


@pytest.mark.parametrize("name", SHAPE_IDS)
def test_valid_example_conforms_to_all_shapes(shapes: Graph, name: str) -> None:
    shape = shape_ref(name)
    path = example_path(shape, "valid")
    data = Graph().parse(path, format="turtle")
    target = shapes.value(shape, SH.targetClass)
    assert any(data.subjects(RDF.type, target)), f"{path.name} has no instance of {target}: it does not exercise {name}"
    conforms, _results, text = run(path, shapes)
    assert conforms, f"{path.relative_to(PROJECT)} should conform to all shapes:\n{text}"


@pytest.mark.parametrize("name", SHAPE_IDS)
def test_invalid_example_violates_its_shape(shapes: Graph, name: str) -> None:
    shape = shape_ref(name)
    path = example_path(shape, "invalid")
    conforms, results, text = run(path, shapes)
    assert not conforms, f"{path.relative_to(PROJECT)} should not conform"
    own = {shape, *shapes.objects(shape, SH.property)}
    sources = set(results.objects(None, SH.sourceShape))
    assert sources & own, f"{path.relative_to(PROJECT)} is not reported by {name} or its property shapes:\n{text}"
