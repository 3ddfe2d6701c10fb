"""The outbound guard reads SPARQL as the engine does: what pyoxigraph would send to another server is refused.

The guard (``graph.query``) looks for SERVICE and LOAD in the query's tokens, so its idea of where a string, a
comment or an IRI starts and ends must be the engine's. Each case here is run through the guard and, where the
guard lets it pass, through pyoxigraph itself against a store with data, with a listener on loopback standing
for the server the query must not reach: no case may both pass the guard and reach the listener. Known tricks
(escaped quotes in long strings, a carriage return ending a comment, keywords glued to other words, a quote in
something that looks like an IRI) come first, then generated combinations of the same pieces.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from graph.errors import UsageError
from graph.query import nesting_depth, refuse_load_and_service, refuse_outbound


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[str, list[int]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    received: list[int] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            received.append(1)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"<http://127.0.0.1:{server.getsockname()[1]}/sparql>", received
    stop.set()
    thread.join(2)
    server.close()


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p"), ox.Literal("1")))
    return store


def _reaches(store: ox.Store, query: str, received: list[int]) -> bool:
    """Whether pyoxigraph, given ``query``, connects to the listener."""
    before = len(received)
    with contextlib.suppress(SyntaxError, OSError, ValueError):
        list(store.query(query))
    time.sleep(0.05)
    return len(received) > before


def _guard_refuses(query: str) -> bool:
    try:
        refuse_outbound(query)
    except UsageError:
        return True
    return False


KNOWN = {
    "plain": "SELECT * WHERE {{ ?s ?p ?o SERVICE {e} {{ ?a ?b ?c }} }}",
    "escaped quote in a long string": (
        "SELECT * WHERE {{ ?s ?p ?o BIND('''a\\'''' AS ?x) SERVICE {e} {{ ?a ?b ?c }} }} # '"
    ),
    "escaped quote, double": 'SELECT * WHERE {{ ?s ?p ?o BIND("""a\\"""" AS ?x) SERVICE {e} {{ ?a ?b ?c }} }} # "',
    "carriage return ends a comment": "SELECT * WHERE {{ ?s ?p ?o # note\rSERVICE {e} {{ ?a ?b ?c }} }}",
    "number glued": "SELECT * WHERE {{ ?s ?p ?o . ?s ?p 1SERVICE {e} {{ ?a ?b ?c }} }}",
    "SERVICESILENT": "SELECT * WHERE {{ ?s ?p ?o SERVICESILENT {e} {{ ?a ?b ?c }} }}",
    "boolean glued": "SELECT * WHERE {{ ?s ?p ?o . ?s ?p trueSERVICE {e} {{ ?a ?b ?c }} }}",
    "string glued": "SELECT * WHERE {{ ?s ?p ?o . ?s ?p '1'SERVICE {e} {{ ?a ?b ?c }} }}",
    "prefix named SERVICE": "PREFIX : {e} SELECT * WHERE {{ ?s ?p ?o SERVICE:x {{ ?a ?b ?c }} }}",
    "quote in a less-than": "SELECT * WHERE {{ ?s ?p ?o FILTER(?o<'>') SERVICE {e} {{ ?a ?b ?c }} }} # '",
    "blank node glued": "SELECT * WHERE {{ ?s ?p ?o . ?s ?p []SERVICE {e} {{ ?a ?b ?c }} }}",
    "lower case": "SELECT * WHERE {{ ?s ?p ?o sErViCe {e} {{ ?a ?b ?c }} }}",
}


@pytest.mark.parametrize("case", KNOWN)
def test_known_tricks_are_refused(case: str, listener) -> None:
    endpoint, _received = listener
    query = KNOWN[case].format(e=endpoint)
    assert _guard_refuses(query), f"the guard let through: {query!r}"


def test_the_control_the_engine_does_follow_these(listener, store) -> None:
    """Without the guard most of these do reach the listener: the test above is about real requests."""
    endpoint, received = listener
    reached = [case for case, query in KNOWN.items() if _reaches(store, query.format(e=endpoint), received)]
    assert {"plain", "escaped quote in a long string", "carriage return ends a comment", "SERVICESILENT"} <= set(
        reached
    ), reached


PIECES = [
    "'a'",
    "'''a\\''''",
    "'''a''b'''",
    '"a\\""',
    '"""a""b"""',
    "'x\\'",
    "# c\r",
    "# c\n",
    "#'\n",
    "1",
    "1.5e3",
    "true",
    "<http://example.org/x>",
    "?o<1",
    "?o>0",
    "(",
    ")",
    " ",
    ".",
    "'",
    '"',
    "'''",
    "?v",
    "ex:a",
]


def test_generated_combinations_never_pass_and_reach(listener, store) -> None:
    """Random pieces around a SERVICE clause: whatever pyoxigraph would send, the guard refuses."""
    endpoint, received = listener
    rng = random.Random(20261122)
    passed_and_reached = []
    for _ in range(400):
        before = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 4)))
        after = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 4)))
        glue = rng.choice(["", " ", "\r", "\n"])
        query = (
            "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ?p ?o . FILTER(true) "
            f"{before}{glue}SERVICE {endpoint} {{ ?a ?b ?c }}{after} }}"
        )
        if not _guard_refuses(query) and _reaches(store, query, received):
            passed_and_reached.append(query)
    assert passed_and_reached == []


def test_words_that_only_mention_service_pass() -> None:
    for query in (
        'SELECT * { ?s ?p ?o FILTER(CONTAINS(STR(?o), "SERVICE LOAD")) }',
        "SELECT * { ?s <http://www.w3.org/ns/sparql-service-description#endpoint> ?o }",
        "SELECT ?service { ?service ?p ?o } # SERVICE <http://example.org/> {}",
        "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> SELECT * { ?s a sd:Service }",
        "SELECT * { ?s ?p ?o FILTER(?o<3 && ?o>1) }",
    ):
        refuse_outbound(query)


@pytest.mark.parametrize(
    "update",
    [
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "LOADSILENT <http://127.0.0.1:9/data.ttl>",
        "INSERT DATA { <http://a/b> <http://a/c> '''x\\'''' } ; LOAD <file:///etc/passwd> # '",
        "INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    ],
)
def test_updates_cannot_load_or_call_out(update: str) -> None:
    with pytest.raises(UsageError):
        refuse_load_and_service(update)


def test_nesting_is_counted_where_the_engine_sees_brackets() -> None:
    deep = "(" * 5000 + "1" + ")" * 5000
    hidden_by_a_string = "SELECT * WHERE { BIND('''a\\'''' AS ?x) FILTER(" + deep + ") } # '"
    assert nesting_depth(hidden_by_a_string) > 5000
    in_a_less_than = "SELECT * WHERE { ?s ?p ?o FILTER(?o<" + deep + ">0) }"
    assert nesting_depth(in_a_less_than) > 5000
    closed_first = "SELECT * WHERE { ?s <http://x/" + ")" * 5000 + "> ?o FILTER(" + deep + ") }"
    assert nesting_depth(closed_first) > 5000


def test_lexing_stays_linear_on_unclosed_strings() -> None:
    for text in ("'" + "\\'" * 50_000, "'''" + "a\\" * 50_000, "a-" * 50_000, '"' * 100_000, "''\\" * 30_000):
        started = time.perf_counter()
        nesting_depth(text)
        assert time.perf_counter() - started < 2.0, text[:20]


def test_query_workers_have_no_network_unless_service_allow_names_endpoints(built, listener) -> None:
    """Defence in depth: a SERVICE that got past the guard (here the job goes to the pool directly) finds no
    network in a worker; only a pool for `service_allow` endpoints keeps it (the control)."""
    from server import query_pool

    _config, release = built
    endpoint, received = listener
    job = query_pool.Job(
        release_path=str(release.path),
        version=release.version,
        query=f"SELECT * WHERE {{ SERVICE {endpoint} {{ ?a ?b ?c }} }}",
        results_format="json",
    )
    isolated, connected = query_pool.QueryPool(1, network=False), query_pool.QueryPool(1, network=True)
    try:
        before = len(received)
        with pytest.raises(query_pool.QueryFailed, match="unreachable"):
            isolated.run(job, 20)
        time.sleep(0.2)
        assert len(received) == before, "an isolated worker reached the listener"
        with pytest.raises(query_pool.QueryFailed):  # the listener closes at once: the call fails, but it was made
            connected.run(job, 20)
        time.sleep(0.2)
        assert len(received) == before + 1
    finally:
        isolated.close()
        connected.close()
