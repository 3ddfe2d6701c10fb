"""The ontology: it parses, every term is documented in both languages, and it is consistent (HermiT)."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from graph.editors.reasoning import run_hermit
from graph.inference import union
from graph.namespaces import ONTOLOGY_IRI, SG
from graph.ontology import load_ontology

from .conftest import ROOT


@pytest.fixture(scope="module")
def ontology():
    return load_ontology(ROOT / "ontology")


def _terms(onto) -> list[URIRef]:
    declared = onto.classes | onto.object_properties | onto.datatype_properties | onto.annotation_properties
    return sorted(t for t in declared if str(t).startswith(str(SG)))


def _langs(graph: Graph, term: URIRef, prop: URIRef) -> set[str]:
    return {o.language for o in graph.objects(term, prop) if isinstance(o, Literal)}


def test_metadata(ontology):
    g, onto = ontology.graph, URIRef(ONTOLOGY_IRI)
    assert (onto, RDF.type, OWL.Ontology) in g
    version = str(g.value(onto, OWL.versionInfo))
    assert str(g.value(onto, OWL.versionIRI)).endswith("/" + version)
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.created, DCTERMS.modified):
        assert g.value(onto, prop) is not None, prop


def test_every_term_has_labels_definition_domain_and_range(ontology):
    g = ontology.graph
    missing = []
    terms = _terms(ontology)
    assert len(terms) > 100
    for term in terms:
        if "en" not in _langs(g, term, RDFS.label):
            missing.append(f"{term} rdfs:label@en")
        if not {"en", "ru"} <= _langs(g, term, SKOS.prefLabel):
            missing.append(f"{term} skos:prefLabel@en/@ru")
        if "en" not in _langs(g, term, SKOS.definition):
            missing.append(f"{term} skos:definition@en")
        is_property = term in ontology.object_properties | ontology.datatype_properties
        if is_property and (g.value(term, RDFS.domain) is None or g.value(term, RDFS.range) is None):
            missing.append(f"{term} domain/range")
    assert missing == []


def test_concepts_are_bilingual_and_in_a_scheme(ontology):
    g = ontology.graph
    assert len(ontology.concepts) > 50
    for concept in ontology.concepts:
        if str(concept).startswith("http://data.europa.eu/"):
            continue
        assert {"en", "ru"} <= _langs(g, concept, SKOS.prefLabel), concept
        assert g.value(concept, SKOS.inScheme) is not None, concept


def test_site_kinds_form_a_hierarchy(ontology):
    assert SG.Site in ontology.ancestors(SG.ChemicalIndustrialTechnopark)
    assert SG.Technopark in ontology.ancestors(SG.IndustrialTechnopark)
    assert SG.EconomicZone in ontology.ancestors(SG.SpecialEconomicZone)
    assert SG.Site not in ontology.ancestors(SG.ManagementCompany), "a site and its operator are different things"


@pytest.mark.reasoner
def test_ontology_and_data_are_consistent_under_hermit(ontology, built):
    _config, release = built
    data = Graph()
    data.parse(release.path / "sitegraph.nq", format="nquads")
    result = run_hermit(union([data, ontology.graph]))
    assert result.consistent, result.message
    assert result.unsatisfiable == []
    assert result.converted_literals > 0, "date literals were converted for HermiT, and counted"


@pytest.mark.reasoner
def test_hermit_catches_an_unsatisfiable_class_and_an_inconsistent_individual(ontology):
    broken = union([ontology.graph])
    broken.add((SG.Site, OWL.disjointWith, SG.Place))  # but every Site is a Place
    result = run_hermit(broken)
    assert result.consistent
    assert str(SG.Site) in result.unsatisfiable
    broken.add((URIRef("https://w3id.org/sitegraph/id/site/test"), RDF.type, SG.Technopark))
    result = run_hermit(broken)
    assert not result.consistent
