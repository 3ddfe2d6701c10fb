"""Ontology 0.2.0: BRICS is an intergovernmental grouping (no treaty, no secretariat), not an international
organisation — in the ontology, the data, the shapes and the query library."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Literal
from rdflib.namespace import OWL, RDFS, SKOS

from graph.namespaces import SG, DataIRIs
from graph.ontology import load_ontology
from graph.queries import load_queries
from graph.query import run_query

from .conftest import ROOT

BRICS = ox.NamedNode(DataIRIs().entity("org/brics"))
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def test_the_class_is_documented_and_disjoint_with_international_organisation():
    onto = load_ontology(ROOT / "ontology")
    g, cls = onto.graph, SG["IntergovernmentalGrouping"]
    assert SG["Organisation"] in onto.ancestors(cls)
    assert (cls, OWL.disjointWith, SG["InternationalOrganisation"]) in g
    assert (cls, SKOS.prefLabel, Literal("Межгосударственное объединение", lang="ru")) in g
    assert "BRICS" in str(g.value(cls, SKOS.definition)) and g.value(cls, RDFS.label) is not None
    assert "BRICS" not in str(g.value(SG["InternationalOrganisation"], SKOS.definition))


def test_brics_is_a_grouping_stated_with_its_evidence(built):
    _config, release = built
    store = ox.Store.read_only(str(release.store_path))
    types = {q.object.value for q in store.quads_for_pattern(BRICS, TYPE, None, None)}
    assert str(SG["IntergovernmentalGrouping"]) in types
    assert str(SG["InternationalOrganisation"]) not in types
    rows = run_query(store, load_queries(ROOT / "queries")["intergovernmental-groupings"].text, DataIRIs().prefixes())
    found = {(r["name"].value, r["kind"].value, r["evidence"].value) for r in rows}
    assert ("BRICS", "Intergovernmental grouping", "the BRICS countries") in found
    wto = ("World Trade Organization", "International organisation", "Kyrgyzstan is a member of WTO for many years")
    assert wto in found
