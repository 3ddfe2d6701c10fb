"""The pages as a person uses them: headless Chromium (Debian's, driven by Playwright) against a live server on
127.0.0.1 that each test module starts on a free port and stops at the end.

Chromium is installed by ``bash scripts/setup.sh --test``; without it these tests fail and say so (no skips).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

import pytest
from flask import Flask
from werkzeug.serving import make_server

from graph.config import Config
from graph.namespaces import DataIRIs
from graph.store import Release
from server import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route

CHROMIUM = os.environ.get("SITEGRAPH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000
CHIRCHIQ = "Chirchiq chemical-industrial technopark"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


class LiveServer:
    """A Flask app served by werkzeug in a thread on 127.0.0.1 and a free port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def sparql_json(self, query: str) -> list[dict]:
        request = Request(
            self.url + "/sparql",
            data=query.encode("utf-8"),
            headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        )
        with urlopen(request, timeout=20) as response:
            return json.loads(response.read())["results"]["bindings"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is missing ({CHROMIUM}): the browser tests need Debian's chromium package; "
            "`bash scripts/setup.sh --test` installs it (or: apt-get install -y chromium)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def quiet_server_log() -> Iterator[None]:
    log = logging.getLogger("werkzeug")
    level = log.level
    log.setLevel(logging.WARNING)
    yield
    log.setLevel(level)


@pytest.fixture(scope="module")
def live(built: tuple[Config, Release], quiet_server_log: None) -> Iterator[LiveServer]:
    config, _release = built
    with LiveServer(create_app(config)) as server:
        yield server


@pytest.fixture(scope="module")
def live_without_assets(
    built: tuple[Config, Release], quiet_server_log: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    config, _release = built
    app = create_app(config)
    app.config["SITEGRAPH_YASGUI_DIR"] = str(tmp_path_factory.mktemp("no-node-modules") / "yasgui" / "build")
    with LiveServer(app) as server:
        yield server


class Recorder:
    """Every request a page makes; anything not addressed to loopback is recorded and aborted."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []

    def attach(self, context: BrowserContext) -> None:
        context.on("request", lambda request: self.requests.append(request.url))
        context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith("data:"):
            route.continue_()
        else:
            route.abort()

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)

    def outside(self, server: LiveServer) -> list[str]:
        origin = urlsplit(server.url)
        return [
            url
            for url in self.requests
            if not url.startswith("data:")
            and (urlsplit(url).hostname, urlsplit(url).port) != (origin.hostname, origin.port)
        ]


@pytest.fixture
def session(browser: Browser) -> Iterator[tuple[Page, Recorder]]:
    """A fresh browser context (no stored tabs), its page, and the request recorder."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=False)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    recorder = Recorder()
    recorder.attach(context)
    page = context.new_page()
    recorder.watch(page)
    try:
        yield page, recorder
    finally:
        context.close()


def _active(page: Page) -> Locator:
    return page.locator(".yasgui .tabPanel.active")


def test_run_an_example_query_and_see_its_rows(live: LiveServer, session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    page.goto(live.url + "/", wait_until="load")
    page.wait_for_selector(".yasgui .tabPanel.active .CodeMirror")
    page.get_by_role("button", name="Sites by country", exact=True).click()
    tab = page.locator(".yasgui .tabsList .tab.active")
    assert "Sites by country" in tab.inner_text()
    editor = page.evaluate("window.sitegraphYasgui.getTab().getYasqe().getValue()")
    assert "#+ title: Sites by country" in editor and "sg:inCountry" in editor
    with page.expect_response(lambda r: r.url == live.url + "/sparql" and r.request.method == "POST") as answer:
        _active(page).locator(".yasqe_queryButton").click()
    assert answer.value.status == 200
    sent = parse_qs(answer.value.request.post_data or "")
    assert "sg:inCountry" in sent["query"][0]
    table = _active(page).locator(".yasr table.dataTable")
    table.locator("tbody tr").first.wait_for()
    page.wait_for_function(
        "text => document.querySelector('.yasgui .tabPanel.active .yasr table.dataTable').innerText.includes(text)",
        arg=CHIRCHIQ,
    )
    text = table.inner_text()
    assert CHIRCHIQ in text and "Uzbekistan" in text
    assert [h.strip() for h in table.locator("thead th").all_inner_texts() if h.strip()][-5:] == [
        "country",
        "site",
        "kinds",
        "status",
        "place",
    ]
    assert not recorder.outside(live), f"requests left the server: {recorder.outside(live)}"
    assert any(url.startswith(live.url + "/assets/yasgui/yasgui.min.js") for url in recorder.requests)
    assert live.url + "/sparql" in recorder.requests
    assert not recorder.errors, recorder.errors


def test_editor_knows_the_prefixes_and_asks_nobody_else(live: LiveServer, session: tuple[Page, Recorder]) -> None:
    """Typing a prefixed name adds its PREFIX line (the project's prefixes, not prefix.cc's list); the places
    where YASQE would ask prefix.cc or LOV for suggestions ask nothing; parameters arrive as VALUES lines."""
    page, recorder = session
    page.goto(live.url + "/", wait_until="load")
    page.wait_for_selector(".yasgui .tabPanel.active .CodeMirror")
    page.evaluate("window.sitegraphYasgui.getTab().getYasqe().setValue('')")
    _active(page).locator(".CodeMirror").click()
    page.keyboard.type("SELECT ?s WHERE { ?s a sg:Technopark ; sg:inCountry ?c . ?c rdfs:label ?l . ?s a ", delay=10)
    page.keyboard.press("Control+Space")  # the class autocompleter's position (LOV in stock YASQE)
    page.keyboard.type("?x ; skos:", delay=10)
    page.keyboard.press("Control+Space")  # the property autocompleter's position
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    text = page.evaluate("window.sitegraphYasgui.getTab().getYasqe().getValue()")
    assert "PREFIX sg: <https://w3id.org/sitegraph/ontology#>" in text, text
    assert "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>" in text, text
    page.get_by_role("button", name="Find entities by name", exact=True).click()
    text = page.evaluate("window.sitegraphYasgui.getTab().getYasqe().getValue()")
    assert 'VALUES ?text { "Chirchik" }' in text
    page.get_by_role("button", name="Run: Find entities by name").click()
    _active(page).locator(".yasr table.dataTable tbody tr").first.wait_for()
    # entity IRIs in the results link to this server's pages
    hrefs = _active(page).locator(".yasr table.dataTable a[href]").evaluate_all("els => els.map(e => e.href)")
    assert live.url + "/id/site/chirchiq-technopark" in hrefs, hrefs
    assert not recorder.outside(live), f"requests left the server: {recorder.outside(live)}"
    assert not recorder.errors, recorder.errors


def test_follow_a_link_from_an_entity_page_to_a_neighbour(live: LiveServer, session: tuple[Page, Recorder]) -> None:
    """Contract of the linked-data pages: HTML at /id/<kind>/<slug>, an <h1> with the label, and <a href> links
    to the neighbours' /id/… pages."""
    page, recorder = session
    response = page.goto(live.url + "/id/site/chirchiq-technopark", wait_until="load")
    assert response is not None and response.status == 200, (
        f"/id/site/chirchiq-technopark answered {response.status if response else None}: entity pages missing?"
    )
    assert "text/html" in response.headers.get("content-type", "")
    assert CHIRCHIQ in page.locator("h1").first.inner_text()
    wanted = ["/id/site/khimgrad", "/id/place/tashkent-region", "/id/place/uzbekistan"]
    links = page.locator("a[href]").evaluate_all("els => els.map(e => e.href)")
    paths = [urlsplit(url).path if urlsplit(url).netloc == urlsplit(live.url).netloc else None for url in links]
    target = next((w for w in wanted if w in paths), None)
    assert target, f"no link to {wanted} on the page; links: {links}"
    page.locator("a[href]").nth(paths.index(target)).click()
    page.wait_for_url(live.url + target)
    iri = DataIRIs(live.app.config["SITEGRAPH"].base_iri).entity(target.removeprefix("/id/"))
    labels = [b["l"]["value"] for b in live.sparql_json(f"SELECT ?l WHERE {{ <{iri}> <{RDFS_LABEL}> ?l }}")]
    assert labels, f"{iri} has no label"
    heading = page.locator("h1").first.inner_text()
    assert any(label in heading for label in labels), (heading, labels)
    assert not recorder.outside(live), f"requests left the server: {recorder.outside(live)}"


def test_ontology_documentation_page(live: LiveServer, session: tuple[Page, Recorder]) -> None:
    """The generated documentation at /ontology: the class diagram, a class with its constraints and an example,
    and a link through to one term's page."""
    page, recorder = session
    response = page.goto(live.url + "/ontology", wait_until="load")
    assert response is not None and response.status == 200
    assert page.locator("svg").count() >= 1, "the class diagram is shown"
    row = page.locator("#Technopark")
    assert row.count() == 1
    assert "Технопарк" in row.inner_text() or "Technopark" in row.inner_text()
    assert page.locator("#Site .constraints").count() >= 1, "the SHACL constraints of sg:Site are listed"
    page.locator('a[href="/ontology/ChemicalIndustrialTechnopark"]').first.click()
    page.wait_for_url(live.url + "/ontology/ChemicalIndustrialTechnopark")
    assert "Chemical" in page.locator("h1").first.inner_text()
    assert page.locator('a[href="/id/site/chirchiq-technopark"]').count() >= 1, "instances are linked"
    assert not recorder.outside(live), f"requests left the server: {recorder.outside(live)}"


def test_plain_form_works_without_the_editor_files(
    live_without_assets: LiveServer, session: tuple[Page, Recorder]
) -> None:
    page, recorder = session
    live = live_without_assets
    page.goto(live.url + "/", wait_until="load")
    assert "The query editor (YASGUI) is not installed" in page.locator("h2").first.inner_text()
    install = page.locator("#install").inner_text()
    assert "bash scripts/run.sh" in install and "npm ci" in install
    page.get_by_role("link", name="Sites by country", exact=True).click()
    page.wait_for_url("**/?example=sites-by-country")
    assert "sg:inCountry" in page.locator("textarea[name=query]").input_value()
    page.select_option("select[name=format]", "json")
    with page.expect_navigation():
        page.get_by_role("button", name="Run query").click()
    assert urlsplit(page.url).path == "/sparql" and "format=json" in page.url
    answer = json.loads(page.locator("body").inner_text())
    assert CHIRCHIQ in {b["site"]["value"] for b in answer["results"]["bindings"]}
    assert not recorder.outside(live), f"requests left the server: {recorder.outside(live)}"
    assert not recorder.errors, recorder.errors
