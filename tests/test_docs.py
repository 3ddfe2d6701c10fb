"""Generated documentation: the release's ontology.html / ontology.owl / catalog-v001.xml / ontology.svg /
shapes.ttl, the /ontology page (constraints, examples, diagram, content negotiation) and README's diagram."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from rdflib import Graph
from rdflib.namespace import OWL, RDF

from graph.editors.diagram import diagram_svg
from graph.editors.release_docs import FILES, project_files
from graph.namespaces import ONTOLOGY_IRI, SG, DataIRIs

from .conftest import ROOT

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class Anchors(HTMLParser):
    """ids, hrefs, and the text inside each element with an id (nested ones included)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self.hrefs: list[str] = []
        self._open: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        for _tag, name in self._open:  # a tag separates words
            if name:
                self.ids[name] += " "
        if tag in ("br", "link", "meta", "img", "input", "path", "rect", "line"):
            return
        self._open.append((tag, attrs.get("id") or ""))
        if attrs.get("id"):
            self.ids.setdefault(attrs["id"], "")

    def handle_endtag(self, tag):
        while self._open:
            opened, _id = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data):
        for _tag, name in self._open:
            if name:
                self.ids[name] += data


def parse(text: str) -> Anchors:
    parser = Anchors()
    parser.feed(text)
    return parser


def test_release_carries_the_documentation_files(built):
    _config, release = built
    for name in FILES:
        assert (release.path / name).is_file(), name
    owl = Graph().parse(release.path / "ontology.owl", format="xml")
    assert (SG["IntergovernmentalGrouping"], RDF.type, OWL.Class) in owl
    assert len(owl) == release.manifest["graphs"][DataIRIs().ontology_graph]
    catalog = ET.parse(release.path / "catalog-v001.xml").getroot()
    names = {e.get("name"): e.get("uri") for e in catalog}
    version_iri = str(next(owl.objects(None, OWL.versionIRI)))
    assert names == {ONTOLOGY_IRI: "ontology.owl", version_iri: "ontology.owl"}
    assert not list(owl.objects(None, OWL.imports)), "nothing to resolve: the catalog covers every IRI Protégé asks"


def test_release_html_documents_every_class_with_constraints_and_an_example(built):
    _config, release = built
    page = parse((release.path / "ontology.html").read_text(encoding="utf-8"))
    owl = Graph().parse(release.path / "ontology.owl", format="xml")
    for cls in owl.subjects(RDF.type, OWL.Class):
        if str(cls).startswith(str(SG)):
            assert str(cls)[len(str(SG)) :] in page.ids, cls
    grouping = " ".join(page.ids["IntergovernmentalGrouping"].split())
    assert "Межгосударственное объединение" in grouping and "without a founding treaty" in grouping
    assert "sgsh:IntergovernmentalGroupingShape" in grouping and "violation" in grouping
    assert "must be absent" in grouping and "remove `inCountry:`" in grouping
    assert "Example BRICS" in grouping and "https://w3id.org/sitegraph/id/org/brics" in page.hrefs
    assert "Domain sg:Site" in " ".join(page.ids["managedBy"].split())
    assert "<svg" in (release.path / "ontology.html").read_text(encoding="utf-8")


def test_documentation_is_the_same_from_the_cli_and_in_any_process(built, tmp_path):
    config, release = built
    files, origin = project_files(ROOT, config.path("build_dir"), DataIRIs())
    assert origin == f"release {release.version}"
    for name, content in files.items():
        assert content == (release.path / name).read_bytes(), f"{name} differs from the release's"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    command = [sys.executable, "-m", "graph.cli", "--build-dir", str(config.path("build_dir")), "docs", "--out"]
    done = subprocess.run([*command, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for name, content in files.items():
        assert (tmp_path / name).read_bytes() == content, f"{name} is not byte-stable across processes"


def test_readme_diagram_is_up_to_date():
    ontology = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        ontology.parse(path, format="turtle")
    committed = (ROOT / "docs" / "ontology.svg").read_text(encoding="utf-8")
    assert committed == diagram_svg(ontology), "regenerate: sitegraph docs --diagram docs/ontology.svg"
    assert "docs/ontology.svg" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_ontology_page_shows_diagram_constraints_and_examples(client):
    response = client.get("/ontology", headers=BROWSER)
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    page = parse(text)
    assert "<svg" in page.ids["diagram"] or "<svg" in text.split('id="diagram"', 1)[1][:3000]
    row = " ".join(page.ids["IntergovernmentalGrouping"].split())
    assert "SHACL constraints (sgsh:IntergovernmentalGroupingShape)" in row
    assert "sg:inCountry: must be absent" in row and "rdf:type: not (one of sg:InternationalOrganisation)" in row
    assert "example BRICS" in row and "/id/org/brics" in page.hrefs
    technopark = " ".join(page.ids["Technopark"].split())
    assert "subclasses sg:IndustrialTechnopark, sg:JointInternationalTechnopark" in technopark
    assert "also those of sg:Site" in technopark


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [("text/turtle", "turtle"), ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld")],
)
def test_ontology_is_negotiated_for_machines(client, accept, fmt):
    response = client.get("/ontology", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    graph = Graph().parse(data=response.data, format=fmt)
    assert (SG["IntergovernmentalGrouping"], OWL.disjointWith, SG["InternationalOrganisation"]) in graph
