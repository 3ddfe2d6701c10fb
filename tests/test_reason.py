"""``sitegraph reason``: HermiT over ontology/ and the data, with what was converted reported, and inconsistencies
explained — by type clashes (checked by HermiT) or by a minimal set of individuals and axioms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from graph.editors.explain import Search, Unit, minimal_conflict, minimise

pytestmark = pytest.mark.reasoner
EX = Namespace("https://example.org/")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


def test_project_is_consistent_and_conversions_are_reported(cli, built):
    config, _release = built
    code, out, err = cli("--build-dir", str(config.path("build_dir")), "reason", "--format", "json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["consistent"] is True
    assert report["unsatisfiable"] == [] and report["problems"] == []
    assert any("xsd:gYear literals → xsd:string" in c for c in report["conversions"]), "date conversions are counted"
    assert any("merged into one" in line for line in report["inputs"]), "the named graphs are said to be merged"
    assert all("did not read" in n for n in report["left_out"]), "whatever owlready2 leaves out is listed"


def test_inconsistent_axiom_is_explained_by_the_individuals_it_clashes_with(cli, built, project_copy):
    config, _release = built
    _append(project_copy / "ontology" / "sitegraph.ttl", "sg:Agent owl:disjointWith sg:Place .")
    code, out, err = cli("--project", str(project_copy), "--build-dir", str(config.path("build_dir")), "reason")
    assert code == 1
    assert "consistent: NO" in out
    assert "unsatisfiable classes: 1\n  sg:Country" in out
    assert "type clashes (confirmed by HermiT): 5" in out
    clash = next(line for line in err.splitlines() if "place/russia" in line)
    assert clash.strip().startswith("graph/sources/entities/places.yaml:")  # where the individual is declared
    assert "sg:Country ⊑ sg:Agent" in clash and "sg:Country ⊑ sg:Place" in clash
    assert "sg:Agent owl:disjointWith sg:Place (ontology/sitegraph.ttl:" in clash  # and where the axiom is


def test_unsatisfiable_class_and_inferred_type_in_the_ontology_alone(cli, project_copy):
    _append(
        project_copy / "ontology" / "sitegraph.ttl",
        "sg:Ghost a owl:Class ; rdfs:subClassOf sg:Place ; owl:disjointWith sg:Place .\n"
        "<https://w3id.org/sitegraph/id/site/nowhere> sg:managedBy <https://w3id.org/sitegraph/id/org/nobody> .",
    )
    code, out, err = cli("--project", str(project_copy), "reason", "--ontology-only")
    assert code == 1, "an unsatisfiable class fails the check even when everything is consistent"
    assert "consistent: yes" in out
    assert "unsatisfiable classes: 1\n  sg:Ghost" in out
    assert "site/nowhere a sg:Site" in out, "a type HermiT infers from a domain, which nobody asserted"
    assert "ontology/sitegraph.ttl:" in err and "sg:Ghost: unsatisfiable" in err


def _units(names: list[str]) -> list[Unit]:
    return [Unit(name, "individual", [(EX[name], RDF.type, EX.Thing)], EX[name]) for name in names]


def test_minimisation_finds_a_minimal_set_within_its_budget():
    units = _units([f"i{n}" for n in range(40)])
    conflict = {EX.i7, EX.i31}  # inconsistent only when both are present

    def consistent(triples) -> bool:
        return not conflict <= {t[0] for t in triples}

    search = Search(consistent, budget=60)
    assert {u.label for u in minimise(search, [], units)} == {"i7", "i31"}
    assert search.complete and search.runs < 30
    tight = Search(consistent, budget=3)
    left = minimise(tight, [], units)
    assert not tight.complete and {"i7", "i31"} <= {u.label for u in left}, "out of budget: a superset, said so"


def test_minimal_conflict_with_hermit_names_the_individual_and_the_axiom():
    from graph.editors.reasoning import is_consistent, prepare

    graph = Graph()
    graph.add((EX.C, RDF.type, OWL.Class))
    graph.add((EX.p, RDF.type, OWL.ObjectProperty))
    restriction = URIRef("https://example.org/none-of-p")
    graph.add((EX.C, RDFS.subClassOf, restriction))
    graph.add((restriction, RDF.type, OWL.Class))  # named, to keep the test graph small: ≡ p max 0
    graph.add((restriction, OWL.equivalentClass, EX.NoP))
    graph.add((EX.NoP, RDF.type, OWL.Class))
    graph.add((EX.NoP, OWL.disjointWith, EX.HasP))
    graph.add((EX.HasP, RDF.type, OWL.Class))
    graph.add((EX.p, RDFS.domain, EX.HasP))
    for n in range(6):
        graph.add((EX[f"x{n}"], RDF.type, EX.C if n == 4 else OWL.Thing))
    graph.add((EX.x4, EX.p, EX.x1))

    def consistent(triples) -> bool:
        check = Graph()
        for triple in triples:
            check.add(triple)
        return is_consistent(prepare(check).graph)

    units, search = minimal_conflict(graph, consistent, lambda t: str(t).rsplit("/", 1)[-1], budget=30)
    assert search.complete
    labels = {u.label for u in units}
    assert "x4" in labels and not {"x0", "x2", "x3", "x5"} & labels
    assert any("disjointWith" in label for label in labels)
