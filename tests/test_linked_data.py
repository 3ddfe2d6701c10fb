"""Linked data through the Flask test client: entity pages (HTML and RDF), the ontology, the vocabularies,
the search box, 404s and conditional requests. RDF answers are parsed back with rdflib, not compared as text."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from graph.namespaces import SECTOR, SG, DataIRIs

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"}
SITE = "/id/site/chirchiq-technopark"
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}
SUFFIXES = {".ttl": ("text/turtle", "turtle"), ".jsonld": ("application/ld+json", "json-ld"),
            ".nt": ("application/n-triples", "nt"), ".rdf": ("application/rdf+xml", "xml")}  # fmt: skip
INJECTION = 'x") } UNION { ?s ?p ?o } #'


class Sections(HTMLParser):
    """The text of each <section id=…> of a page, and every href."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.hrefs: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "section":
            self._stack.append(attrs.get("id", ""))
            self.sections.setdefault(self._stack[-1], "")

    def handle_endtag(self, tag):
        if tag == "section" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        for name in self._stack:
            self.sections[name] += data


def parse_html(text: str) -> Sections:
    parser = Sections()
    parser.feed(text)
    return parser


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def iris(built) -> DataIRIs:
    config, release = built
    return DataIRIs(release.manifest.get("base_iri", config.base_iri))


@pytest.fixture(scope="module")
def dataset(built) -> Dataset:
    _config, release = built
    data = Dataset()
    data.parse(release.path / "sitegraph.nq", format="nquads")
    return data


def test_site_page_shows_labels_neighbours_quotes_and_figures(client):
    response = client.get(SITE, headers=BROWSER)
    assert response.status_code == 200
    assert response.mimetype == "text/html" and response.mimetype_params["charset"] == "utf-8"
    assert "Accept" in response.headers["Vary"]
    text = response.get_data(as_text=True)
    page = parse_html(text)
    assert re.search(r"<h1>\s*Chirchiq chemical-industrial technopark\s*</h1>", text)
    names = squash(page.sections["names"])
    assert "Chirchiq chemical-industrial technopark" in names and "Химико-индустриальный технопарк «Чирчик»" in names
    assert "Chirchik" in names and "Чирчик" in names  # alternative labels
    assert "/id/place/tashkent-region" in page.hrefs  # a neighbour, as a local link
    assert "/ontology/ChemicalIndustrialTechnopark" in page.hrefs  # its kind
    assert "(inferred)" in text  # Technopark follows from the hierarchy
    sources = squash(page.sections["sources"])
    assert "В марте 2022 года в Ташкентской области Узбекистана началось строительство" in sources
    assert "1651–1878" in sources and "002_6544c72101c7cdf5.txt" in sources
    figures = squash(page.sections["figures"])
    assert "Number of resident companies" in figures
    assert "lower bound 10" in figures and "More than" in figures  # the qualifier, never a bare 10
    assert "30 000 000" in figures.replace("\u2009", " ") and "USD" in figures
    assert "более десяти компаний" in figures  # the wording of the source
    assert f"{SITE}.ttl" in page.hrefs and f"{SITE}.jsonld" in page.hrefs  # raw formats
    assert 'name="q"' in text  # the search box


def test_page_language_follows_accept_language_and_lang(client):
    russian = client.get(SITE, headers={**BROWSER, "Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert re.search(r"<h1>\s*Химико-индустриальный технопарк «Чирчик»\s*</h1>", russian.get_data(as_text=True))
    assert "Accept-Language" in russian.headers["Vary"]
    english = client.get(SITE + "?lang=en", headers={**BROWSER, "Accept-Language": "ru"})
    assert re.search(r"<h1>\s*Chirchiq chemical-industrial technopark\s*</h1>", english.get_data(as_text=True))


def test_pages_make_no_external_requests(client):
    text = client.get(SITE, headers=BROWSER).get_data(as_text=True)
    assert not re.search(r"<(script|img|iframe)\b", text)
    for tag in re.findall(r"<link\b[^>]*>", text):
        assert 'href="/' in tag, tag
    with client.get("/static/sitegraph.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"


def _own_triples(dataset: Dataset, subject: URIRef) -> set:
    return {(s, p, o) for s, p, o, _g in dataset.quads((subject, None, None, None))}


@pytest.mark.parametrize("accept", list(RDF_TYPES))
def test_rdf_by_accept_parses_and_holds_the_entity(client, iris, dataset, accept):
    response = client.get(SITE, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == accept
    assert response.headers["Content-Location"].startswith(SITE + ".")
    graph = Graph().parse(data=response.data, format=RDF_TYPES[accept])
    site = URIRef(iris.entity("site/chirchiq-technopark"))
    own = _own_triples(dataset, site)
    assert own and own <= set(graph)  # every triple about it, from all graphs, once
    assert (site, RDF.type, SG["ChemicalIndustrialTechnopark"]) in graph
    region = URIRef(iris.entity("place/tashkent-region"))
    assert (region, RDFS.label, Literal("Tashkent Region", lang="en")) in graph  # a neighbour's label
    assertions = set(graph.subjects(SG["statedSubject"], site))
    assert assertions, "the assertions about the entity are included"
    quotes = {q for a in assertions for q in graph.objects(a, SG["evidence"])}
    assert any(graph.value(q, SG["quoteText"]) for q in quotes)
    assert any(graph.value(q, SG["startOffset"]) is not None for q in quotes)


@pytest.mark.parametrize("suffix", list(SUFFIXES))
def test_rdf_by_suffix(client, iris, dataset, suffix):
    media_type, rdflib_format = SUFFIXES[suffix]
    response = client.get(SITE + suffix, headers=BROWSER)  # the suffix wins over a browser's Accept
    assert response.status_code == 200 and response.mimetype == media_type
    graph = Graph().parse(data=response.data, format=rdflib_format)
    site = URIRef(iris.entity("site/chirchiq-technopark"))
    assert _own_triples(dataset, site) <= set(graph)
    by_accept = Graph().parse(data=client.get(SITE, headers={"Accept": media_type}).data, format=rdflib_format)
    assert len(graph) == len(by_accept)


def test_nested_ids_dereference(client):
    quote = client.get("/id/quote/uz-eltech-industrial/chirchiq-start", headers=BROWSER)
    assert quote.status_code == 200
    assert "В марте 2022 года" in squash(quote.get_data(as_text=True))  # the source has a no-break space
    observation = client.get("/id/observation/uz-eltech-industrial-chirchiq-residents", headers=BROWSER)
    figures = squash(parse_html(observation.get_data(as_text=True)).sections["figures"])
    assert "lower bound 10" in figures and "More than" in figures
    document = client.get("/id/document/uz-eltech-industrial", headers=BROWSER)
    assert document.status_code == 200 and "002_6544c72101c7cdf5.txt" in document.get_data(as_text=True)
    turtle = Graph().parse(data=client.get(SITE, headers={"Accept": "text/turtle"}).data, format="turtle")
    assertion = next(iter(turtle.subjects(RDF.type, SG["Assertion"])))
    path = "/id/" + str(assertion).split("/id/", 1)[1]
    assert client.get(path, headers=BROWSER).status_code == 200
    assert client.get("/id/post/mikhail-labudin-director-actp-rf", headers=BROWSER).status_code == 200


def test_listings_of_kinds(client):
    sites = client.get("/id/site", headers=BROWSER)
    assert sites.status_code == 200 and SITE in parse_html(sites.get_data(as_text=True)).hrefs
    kinds = client.get("/id/", headers=BROWSER)
    assert kinds.status_code == 200 and "/id/site" in parse_html(kinds.get_data(as_text=True)).hrefs


def test_unknown_iri_is_a_404_page_for_browsers_and_a_problem_for_json(client):
    page = client.get("/id/site/no-such-technopark", headers=BROWSER)
    assert page.status_code == 404 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Not found" in text and 'name="q"' in text
    problem = client.get("/id/site/no-such-technopark", headers={"Accept": "application/json"})
    assert problem.status_code == 404 and problem.mimetype == "application/problem+json"
    body = json.loads(problem.data)
    assert body["status"] == 404 and body["type"].endswith("/not-found")
    assert client.get("/id/site/no-such-technopark", headers={"Accept": "text/turtle"}).status_code == 404
    assert client.get("/id/nothing-of-this-kind", headers=BROWSER).status_code == 404
    assert client.get("/ontology/NoSuchTerm", headers=BROWSER).status_code == 404
    assert client.get("/vocab/sector/no-such-sector", headers=BROWSER).status_code == 404


def test_ontology_page_and_graph(client):
    page = client.get("/ontology", headers=BROWSER)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="Technopark"' in text and 'id="managedBy"' in text
    assert "Технопарк" in text and "premises, equipment and services" in text  # labels en/ru, definitions
    assert "/vocab/sector" in parse_html(text).hrefs  # concept schemes
    for response in (client.get("/ontology", headers={"Accept": "text/turtle"}), client.get("/ontology.ttl")):
        assert response.status_code == 200 and response.mimetype == "text/turtle"
        graph = Graph().parse(data=response.data, format="turtle")
        assert (SG["Technopark"], RDF.type, OWL.Class) in graph
        assert (SECTOR["textiles"], SKOS.prefLabel, Literal("Textiles", lang="en")) in graph
        assert len(graph) > 1000


def test_ontology_term(client, iris):
    page = client.get("/ontology/Technopark", headers=BROWSER)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    parsed = parse_html(text)
    assert "Технопарк" in squash(parsed.sections["names"])
    term = squash(parsed.sections["term"])
    assert "superclasses" in term and "subclasses" in term and "instances" in term
    assert "/ontology/Site" in parsed.hrefs and "/ontology/IndustrialTechnopark" in parsed.hrefs
    assert SITE in parsed.hrefs  # an instance, by inference
    graph = Graph().parse(data=client.get("/ontology/Technopark", headers={"Accept": "text/turtle"}).data)
    assert (SG["Technopark"], RDFS.subClassOf, SG["Site"]) in graph
    prop = parse_html(client.get("/ontology/concerns", headers=BROWSER).get_data(as_text=True))
    assert "domain" in prop.sections["term"] and "/ontology/Event" in prop.hrefs  # a union domain, unfolded


def test_vocabulary_concepts_and_schemes(client):
    page = client.get("/vocab/sector/textiles", headers=BROWSER)
    assert page.status_code == 200
    parsed = parse_html(page.get_data(as_text=True))
    assert "Текстильная промышленность" in parsed.sections["names"]
    assert "/vocab/sector/light-industry" in parsed.hrefs and "/vocab/sector" in parsed.hrefs
    graph = Graph().parse(data=client.get("/vocab/sector/textiles.ttl").data, format="turtle")
    assert (SECTOR["textiles"], SKOS.broader, SECTOR["light-industry"]) in graph
    scheme = client.get("/vocab/sector", headers=BROWSER)
    assert scheme.status_code == 200 and "/vocab/sector/textiles" in parse_html(scheme.get_data(as_text=True)).hrefs


@pytest.mark.parametrize("text", ["Chirchik", "Чирчик", "chirchiq", "ЧИРЧИК"])
def test_search_finds_by_any_label_in_any_case(client, text):
    page = client.get("/search", query_string={"q": text}, headers=BROWSER)
    assert page.status_code == 200
    assert SITE in parse_html(page.get_data(as_text=True)).hrefs
    answer = json.loads(client.get("/search", query_string={"q": text}, headers={"Accept": "application/json"}).data)
    assert answer["results"][0]["href"] == SITE


def test_search_text_is_a_parameter_not_query_text(client):
    answer = client.get("/search", query_string={"q": INJECTION}, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert json.loads(answer.data) == {"q": INJECTION, "total": 0, "results": []}
    page = client.get("/search", query_string={"q": INJECTION}, headers=BROWSER)
    assert page.status_code == 200 and "Nothing has a name containing" in page.get_data(as_text=True)
    script = client.get("/search", query_string={"q": "<script>alert(1)</script>"}, headers=BROWSER)
    assert "<script>" not in script.get_data(as_text=True) and "&lt;script&gt;" in script.get_data(as_text=True)
    assert client.get("/search", query_string={"q": "x" * 500}).status_code == 400


def test_conditional_requests(client):
    first = client.get(SITE, headers=BROWSER)
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"] and "Accept" in first.headers["Vary"]
    again = client.get(SITE, headers={**BROWSER, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    turtle = client.get(SITE, headers={"Accept": "text/turtle"})
    assert turtle.headers["ETag"] != etag  # the format is part of the tag
    assert client.get(SITE, headers={"Accept": "text/turtle", "If-None-Match": etag}).status_code == 200
    since = client.get(SITE, headers={**BROWSER, "If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    search_tag = client.get("/search?q=Chirchik", headers=BROWSER).headers["ETag"]
    assert client.get("/search?q=Chirchik", headers={**BROWSER, "If-None-Match": search_tag}).status_code == 304


def test_links_follow_the_mount_point(client):
    """Behind a proxy that mounts the app under a path, local links keep that path."""
    page = client.get(SITE, headers=BROWSER, base_url="http://localhost/sitegraph/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    hrefs = parse_html(text).hrefs
    assert "/sitegraph/id/place/tashkent-region" in hrefs and 'action="/sitegraph/search"' in text
    assert "/sitegraph/id/site/chirchiq-technopark.ttl" in hrefs
    assert not [h for h in hrefs if h.startswith("/id/")]
