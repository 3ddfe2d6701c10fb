"""Questions a researcher asks of the five articles, answered by the built graph as the articles answer them.

Each test runs a query from queries/ (or a short inline one) on the built store and checks the answer
against what the article says, including how sure the article is ("more than", "about", no year given).
"""

from __future__ import annotations

from decimal import Decimal

import pyoxigraph as ox
import pytest

from graph.namespaces import DataIRIs
from graph.queries import load_queries
from graph.query import run_query

from .conftest import ROOT

ID = "https://w3id.org/sitegraph/id/"


@pytest.fixture(scope="module")
def ask(built):
    """ask(name_or_sparql, **params) -> list of rows (dict of plain values)."""
    config, release = built
    store = ox.Store.read_only(str(release.store_path))
    queries = load_queries(ROOT / "queries")
    prefixes = DataIRIs(config.base_iri).prefixes()

    def run(query: str, **params: str) -> list[dict[str, str]]:
        substitutions = None
        if query in queries:
            substitutions = queries[query].substitutions(params)
            query = queries[query].text
        results = run_query(store, query, prefixes, substitutions)
        names = [v.value for v in results.variables]
        return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in results]

    return run


def test_every_query_file_runs(ask):
    for name in load_queries(ROOT / "queries"):
        assert ask(name), f"{name} returned no rows"


def test_which_sites_are_in_uzbekistan(ask):
    rows = ask("sites-by-country")
    uzbek = {r["site"] for r in rows if r["country"] == "Uzbekistan"}
    assert {"Eltech Industrial technopark", "Chirchiq chemical-industrial technopark"} <= uzbek
    assert any("Jizzakh" in site for site in uzbek)
    assert len(uzbek) == 3


def test_how_many_technoparks_russia_has_is_a_lower_bound(ask):
    rows = [
        r for r in ask("figures-with-qualifiers") if r["about"] == "Russia" and r["measure"] == "Number of technoparks"
    ]
    assert len(rows) == 1
    [row] = rows
    assert row["value"] is None, "'over 300' must never become 300"
    assert Decimal(row["min"]) == 300
    assert "More than" in row["qualifiers"]


def test_resident_companies_of_kyrgyz_free_economic_zones(ask):
    rows = [r for r in ask("figures-with-qualifiers") if r["measure"] == "Number of resident companies"]
    kyrgyz = [r for r in rows if "Kyrgyzstan" in r["about"]]
    assert [(r["value"], Decimal(r["min"]), r["qualifiers"]) for r in kyrgyz] == [(None, 500, "More than")]


def test_russian_share_of_direct_investment_in_kyrgyzstan(ask):
    rows = [r for r in ask("figures-with-qualifiers") if r["measure"] == "Share of direct investment"]
    assert [(r["about"], Decimal(r["value"]), r["unit"], r["scope"]) for r in rows] == [
        ("Russia", 36, "percent", "Kyrgyzstan")
    ]


def test_chirchiq_was_created_with_khimgrad_and_two_parks_follow_russian_models(ask):
    rows = {(r["subject"], r["relation"], r["partner"]) for r in ask("cooperation-and-models")}
    assert ("Chirchiq chemical-industrial technopark", "created in cooperation with", "Khimgrad technopolis") in rows
    models = {partner for subject, relation, partner in rows if relation == "modelled on"}
    assert any("Alabuga" in m for m in models) and any("Master" in m for m in models)


def test_when_chirchiq_construction_started_keeps_month_precision(ask):
    [row] = ask(
        "SELECT ?d (DATATYPE(?d) AS ?t) WHERE { ?s sg:constructionStartDate ?d }",
    )
    assert row == {"d": "2022-03", "t": "http://www.w3.org/2001/XMLSchema#gYearMonth"}


def test_who_heads_what(ask):
    rows = {(r["person"], r["role"], r["organisation"]) for r in ask("people-and-posts")}
    assert ("Sapar Asanov", "President", "Legprom Association") in rows
    assert any(p == "Mikhail Labudin" and r == "Director" and "Clusters, Technoparks" in o for p, r, o in rows)
    assert any(p == "Dias Safin" and r == "General director" and "Idea" in o for p, r, o in rows)


def test_memorandum_parties_and_place_of_signing(ask):
    rows = [r for r in ask("agreements") if "Memorandum" in r["kinds"]]
    assert len(rows) == 1
    [memo] = rows
    assert "Ministry of Digital Development" in memo["parties"]
    assert "Central Asia Capital Investment Fund" in memo["parties"]
    assert memo["signedIn"] == "Bishkek"
    assert memo["signedOn"] is None, "the article gives no date"
    assert "innovation" in memo["providesFor"].lower() and "hub" in memo["providesFor"].lower()


def test_the_first_technology_town_keeps_both_locations_the_article_gives(ask):
    rows = ask("contradictions")
    pairs = {(r["value"], r["otherValue"]) for r in rows if "first" in r["subject"]}
    assert pairs == {("Osh", "Bishkek"), ("Bishkek", "Osh")}
    assert all(r["quote"] and r["otherQuote"] for r in rows)


def test_companies_with_russian_capital_in_kyrgyzstan(ask):
    rows = ask("companies-with-foreign-capital")
    assert len(rows) == 5
    forms = {r["company"]: r["legalForm"] for r in rows}
    assert forms["Gazprom Neft Asia LLC"] == "Limited liability company"
    assert forms["Kyrgyzavtomash OJSC"] == "Open joint-stock company"
    assert {r["operatesIn"] for r in rows} == {"Kyrgyzstan"}


@pytest.mark.parametrize("spelling", ["Chirchik", "Chirchiq", "Чирчик", "чирчик"])
def test_one_site_under_every_spelling(ask, spelling: str):
    rows = ask("find-by-label", text=spelling)
    assert {r["entity"] for r in rows} == {ID + "site/chirchiq-technopark"}


def test_evidence_quote_behind_a_fact(ask):
    rows = ask("evidence-for-fact", entity=ID + "site/chirchiq-technopark")
    khimgrad = [r for r in rows if r["value"] == ID + "site/khimgrad"]
    assert len(khimgrad) == 1
    assert "Химград" in khimgrad[0]["quote"]
    assert int(khimgrad[0]["end"]) - int(khimgrad[0]["start"]) == len(khimgrad[0]["quote"])


def test_every_document_contributed_and_dates_stay_honest(ask):
    rows = {r["document"]: r for r in ask("document-contributions")}
    assert len(rows) == 5
    assert all(int(r["facts"]) > 10 for r in rows.values())
    assert rows["000_c3aad023444686e5.txt"]["published"] == "2024-08-14"
    assert rows["002_6544c72101c7cdf5.txt"]["published"] == "--02-02", "day and month, no year"
    assert rows["001_45c80ffeedecd271.txt"]["published"] is None, "'10/11' is ambiguous and has no year"
    assert rows["001_45c80ffeedecd271.txt"]["dateStatus"] == "Ambiguous"


def test_the_kazanforum_panel_session(ask):
    rows = [r for r in ask("events") if r["kinds"] == "Panel session"]
    assert len(rows) == 1
    assert "KazanForum" in rows[0]["partOf"]
    assert "Clusters, Technoparks" in rows[0]["organisers"]
    assert "Dias Safin" in rows[0]["participants"] and "Mikhail Labudin" in rows[0]["participants"]


def test_what_russia_takes_part_in_abroad(ask):
    rows = ask("country-activity-abroad", country=ID + "place/russia")
    where = {r["where"] for r in rows}
    assert {"China", "Kyrgyzstan", "Uzbekistan"} <= where
    assert "Russia" not in where


def test_parameters_are_bound_not_spliced(ask):
    hostile = 'x")) } UNION { ?entity ?p ?matched } #'
    assert ask("find-by-label", text=hostile) == []
