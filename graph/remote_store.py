"""A remote SPARQL 1.1 store (``store = "remote"``) behind the same small interface as the embedded store.

The server and the CLI use a handful of ``pyoxigraph.Store`` methods: ``query`` (with ``prefixes``,
``substitutions`` and the dataset options) and ``quads_for_pattern``. ``RemoteStore`` offers exactly those over
the SPARQL 1.1 Protocol, and returns real pyoxigraph result objects (``QuerySolutions``, ``QueryBoolean``,
``QueryTriples``), so every caller works unchanged.

How each piece maps onto the protocol:

- **Syntax and query form.** Each query is first prepared on an empty in-memory store (parsing only: pyoxigraph
  evaluates lazily), so a malformed query fails with the same ``SyntaxError`` as on the embedded store, and the
  result type tells SELECT/ASK from CONSTRUCT/DESCRIBE, which chooses the Accept header.
- **Dataset.** The union default graph is sent explicitly: ``default-graph-uri`` and ``named-graph-uri`` name
  each graph of the dataset (the remote's graphs under ``<base>graph/``). That works the same on any SPARQL
  store, needs no server option, and keeps other graphs of the remote (Virtuoso's system graphs, a partner's own
  data) out of the answers. A query's own ``FROM``/``FROM NAMED`` are sent as those parameters too (same meaning;
  ``oxigraph serve --union-default-graph`` ignores ``FROM`` in the text but honours the parameters).
- **Parameters** (``substitutions``) become ``BIND(term AS ?var)`` at the start of the query's WHERE group and
  of each sub-SELECT's WHERE group (there it means what a one-row ``VALUES`` means), with the terms written in
  N-Triples syntax by pyoxigraph: user text is never spliced in unescaped. Binding inside every sub-SELECT gives
  what pyoxigraph's substitution gives: the value holds everywhere the variable is used, not just where the
  outer pattern joins it.
- **Prefixes** become ``PREFIX`` lines in front of the query, for the names the query does not declare itself.
- **CONSTRUCT/DESCRIBE** answers come as N-Triples and are handed back as a real ``QueryTriples`` (read back from
  a small in-memory store), so code that checks ``isinstance(results, ox.QueryTriples)`` needs no change.
- **Blank nodes** cannot be named in a SPARQL query. Patterns with a blank node are answered from the quads that
  have a blank subject or object, fetched once per dataset version (here: OWL class expressions).

Failures: a remote that does not answer, times out, refuses the credentials or fails with a 5xx raises
``RemoteUnavailable`` naming the URL (the server answers 503 with problem JSON); a query the remote rejects
with 400 raises ``SyntaxError`` with the remote's message, as the embedded engine would.

``dataset_state`` gives the remote's per-graph triple counts and a version: for stores up to
``remote_digest_max_quads`` quads, the same digest of canonical N-Quads that ``sitegraph build`` computes (so a
remote holding exactly the pushed release has the release's version); above that, a digest of the counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from .errors import SitegraphError, UsageError
from .query import dataset_clauses
from .remote_http import (
    GRAPH_ACCEPT,
    RESULTS_ACCEPT,
    QueryResult,
    RemoteAuthError,
    RemoteClient,
    RemoteConfig,
    RemoteError,
    check_iri,
    redact,
)
from .store import Release, canonical_quads, current_release, dataset_version, dump_nquads, open_read_only

AUTH_MODES = ("none", "basic", "digest", "bearer")
GENID = ".well-known/genid/"  # skolem IRIs (RDF 1.1 §3.5), as `sitegraph push` and `export` write them
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
EMPTY_GRAPH = "urn:x-sitegraph:no-graph"  # named where the dataset must be empty (no such graph exists)
_RESULT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
_GRAPH_TYPES = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/ntriples": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
# strings, IRIs and comments: blanked (same length) before looking for keywords and brackets
_OPAQUE = re.compile(
    r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>|\#[^\n]*""",
    re.DOTALL,
)
_KEYWORD = re.compile(r"(?<![\w?$:])(SELECT|CONSTRUCT|ASK|DESCRIBE|WHERE|FROM)(?![\w:])", re.IGNORECASE)
_PREFIX_DECL = re.compile(r"(?<![\w?$:])PREFIX\s+([A-Za-z][\w.-]*)?:", re.IGNORECASE)
_EMPTY = ox.Store()  # prepares queries: parsed, never evaluated


class RemoteStoreError(SitegraphError):
    """Something is wrong with the remote store or its settings (exit code 2)."""

    exit_code = 2


class RemoteStoreUnavailable(RemoteStoreError):
    """The remote store did not answer usefully: down, too slow, refused the credentials, or failed."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


@dataclass(frozen=True)
class RemoteSettings:
    """Where the remote store answers and how to authenticate (settings ``remote_*``)."""

    query_url: str
    update_url: str = ""
    gsp_url: str = ""
    auth: str = "none"
    user: str = ""
    password: str = ""
    token: str = ""
    timeout: float = 30.0
    refresh_seconds: float = 5.0
    digest_max_quads: int = 50_000

    @classmethod
    def from_config(cls, config: Any) -> RemoteSettings:
        """The settings of ``config`` (a ``graph.config.Config``); a clear error when one is missing or wrong."""
        if not config.remote_query_url:
            raise UsageError("store = remote needs remote_query_url (SITEGRAPH_REMOTE_QUERY_URL)")
        auth = str(config.remote_auth or "none").lower()
        if auth not in AUTH_MODES:
            raise UsageError(f"remote_auth is {auth!r}; choose one of {', '.join(AUTH_MODES)}")
        if auth in ("basic", "digest") and not config.remote_user:
            raise UsageError(f"remote_auth = {auth} needs remote_user and remote_password (SITEGRAPH_REMOTE_PASSWORD)")
        if auth == "bearer" and not config.remote_token:
            raise UsageError("remote_auth = bearer needs remote_token (SITEGRAPH_REMOTE_TOKEN)")
        try:
            timeout = float(config.remote_timeout)
            refresh = float(config.remote_refresh_seconds)
        except (TypeError, ValueError):
            raise UsageError("remote_timeout and remote_refresh_seconds must be numbers of seconds") from None
        return cls(
            query_url=config.remote_query_url,
            update_url=config.remote_update_url or "",
            gsp_url=config.remote_gsp_url or "",
            auth=auth,
            user=config.remote_user or "",
            password=config.remote_password or "",
            token=config.remote_token or "",
            timeout=timeout,
            refresh_seconds=refresh,
            digest_max_quads=int(config.remote_digest_max_quads),
        )

    def client_config(self, timeout: float | None = None) -> RemoteConfig:
        """The HTTP client's configuration: one retry (a request waits for it), then a clear error."""
        try:
            return RemoteConfig(
                self.query_url,
                update_url=self.update_url or None,
                gsp_url=self.gsp_url or None,
                auth=None if self.auth == "none" else self.auth,  # type: ignore[arg-type]
                user=self.user or None,
                password=self.password or None,
                token=self.token or None,
                timeout_s=self.timeout if timeout is None else timeout,
                connect_timeout_s=min(5.0, self.timeout),
                retries=1,
                backoff_s=0.2,
                max_backoff_s=1.0,
            )
        except ValueError as exc:
            raise UsageError(f"remote store settings: {exc}") from exc


@dataclass(frozen=True)
class DatasetState:
    """What the remote holds now: triples per dataset graph, their total, and a version."""

    graphs: dict[str, int]
    quads: int
    version: str
    exact: bool  # True: the version is the digest of the content; False: of the counts only


# ---------------------------------------------------------------- query text


def blank_opaque(query: str) -> str:
    """``query`` with strings, IRIs and comments replaced by spaces (same length, so offsets still match)."""
    return _OPAQUE.sub(lambda m: " " * len(m.group(0)), query)


def has_own_dataset(query: str) -> bool:
    """Whether the query says FROM / FROM NAMED itself."""
    return any(m.group(1).upper() == "FROM" for m in _KEYWORD.finditer(blank_opaque(query)))


def where_groups(query: str) -> list[int]:
    """Offsets of the ``{`` opening the WHERE group of the query and of each sub-SELECT."""
    plain = blank_opaque(query)
    keywords = {m.start(): m.group(1).upper() for m in _KEYWORD.finditer(plain)}
    found: list[int] = []
    pending: list[tuple[str, int]] = []  # (SELECT|CONSTRUCT, paren depth) waiting for their WHERE group
    depth = 0
    skip_template = False
    i = 0
    while i < len(plain):
        word = keywords.get(i)
        if word in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE"):
            pending.append((word, depth))
            skip_template = word == "CONSTRUCT"
        elif word == "WHERE":
            skip_template = False
        char = plain[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "{" and pending and pending[-1][1] == depth:
            kind, _ = pending[-1]
            if kind == "CONSTRUCT" and skip_template:
                skip_template = False
                i = _matching_brace(plain, i)
                continue
            pending.pop()
            found.append(i)
        i += 1
    return found


def _matching_brace(plain: str, start: int) -> int:
    level = 0
    for j in range(start, len(plain)):
        if plain[j] == "{":
            level += 1
        elif plain[j] == "}":
            level -= 1
            if level == 0:
                return j + 1
    return len(plain)


def bind_values(query: str, substitutions: Mapping[ox.Variable, Any] | None) -> str:
    """``query`` with ``BIND(t1 AS ?a) BIND(t2 AS ?b)`` opening its WHERE group and each sub-SELECT's.

    At the start of a group, ``BIND`` means what a one-row ``VALUES`` block means."""
    if not substitutions:
        return query
    block = " " + " ".join(f"BIND({_term(t)} AS {v})" for v, t in substitutions.items()) + " "
    out = query
    for offset in sorted(where_groups(query), reverse=True):
        out = out[: offset + 1] + block + out[offset + 1 :]
    return out


def with_prefixes(query: str, prefixes: Mapping[str, str] | None) -> str:
    """``PREFIX`` lines for the names ``query`` does not declare, in front of it."""
    if not prefixes:
        return query
    declared = {m.group(1) or "" for m in _PREFIX_DECL.finditer(blank_opaque(query))}
    lines = [f"PREFIX {name}: <{ns}>" for name, ns in prefixes.items() if name not in declared]
    return "\n".join([*lines, query]) if lines else query


def _term(term: Any) -> str:
    """A term in N-Triples syntax (escaped by pyoxigraph); simple literals with their ``xsd:string`` written out,
    which is the same term (RDF 1.1) and keeps Virtuoso 7 from turning non-ASCII characters into question marks."""
    if isinstance(term, ox.Literal) and term.datatype.value == XSD_STRING:
        return f"{term}^^<{XSD_STRING}>"
    if isinstance(term, ox.NamedNode | ox.Literal):
        return str(term)
    raise RemoteStoreError(f"a parameter bound to {term!r} cannot be sent to a remote store (IRIs and literals only)")


# ---------------------------------------------------------------- the store

Dataset = tuple[list[str], list[str]]  # (default-graph-uri values, named-graph-uri values)


class _DatasetClient(RemoteClient):
    """``RemoteClient`` that also sends the protocol's ``default-graph-uri`` / ``named-graph-uri``.

    Protocol parameters, not ``FROM`` clauses: ``oxigraph serve --union-default-graph`` ignores a query's
    ``FROM`` (the union option wins) but honours the parameters.
    """

    def query_with_dataset(
        self, query: str, accept: str, dataset: Dataset | None, timeout: float | None = None
    ) -> QueryResult:
        data: dict[str, Any] = {"query": query}
        if dataset is not None:
            data["default-graph-uri"], data["named-graph-uri"] = dataset
        # idempotent=False: a query that ran out of time is not sent again (it would take as long); a refused
        # connection is still retried once
        response = self._send(
            "POST", self.config.query_url, idempotent=False, timeout_s=timeout, data=data, headers={"Accept": accept}
        )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return QueryResult(response.content, content_type)


class RemoteStore:
    """The subset of ``pyoxigraph.Store`` that sitegraph uses, answered by a remote SPARQL 1.1 endpoint."""

    def __init__(self, settings: RemoteSettings, base_iri: str) -> None:
        self.settings = settings
        self.base_iri = base_iri if base_iri.endswith("/") else base_iri + "/"
        self.graph_namespace = self.base_iri + "graph/"
        self.genid = self.base_iri + GENID
        self._lock = threading.Lock()
        self._http: _DatasetClient | None = None  # one client (one connection pool) for every time limit
        self.graphs: list[str] = []  # the dataset's graphs, set by dataset_state()
        self._patterns: OrderedDict[tuple, list[ox.Quad]] = OrderedDict()
        self._blank: list[ox.Quad] | None = None

    @classmethod
    def from_config(cls, config: Any) -> RemoteStore:
        """The remote store that ``config`` (``store = "remote"``, ``remote_*`` settings) describes."""
        return cls(RemoteSettings.from_config(config), config.base_iri)

    def close(self) -> None:
        with self._lock:
            client, self._http = self._http, None
        if client is not None:
            client.close()

    def __del__(self) -> None:  # the CLI opens a store for one command and never closes it explicitly
        with contextlib.suppress(Exception):  # at interpreter exit, modules may already be gone
            self.close()

    def _client(self) -> _DatasetClient:
        with self._lock:
            if self._http is None:
                self._http = _DatasetClient(self.settings.client_config())
            return self._http

    # --- the protocol -------------------------------------------------------------------------------------

    def request(
        self, query: str, accept: str, dataset: Dataset | None = None, timeout: float | None = None
    ) -> QueryResult:
        """POST ``query`` to the query endpoint, answered completely within ``timeout`` seconds (default
        ``remote_timeout``; the remote's own limit applies too); failures as ``RemoteStoreUnavailable`` or
        ``SyntaxError``."""
        url = redact(self.settings.query_url)
        seconds = self.settings.timeout if timeout is None else float(timeout)
        try:
            return self._client().query_with_dataset(query, accept, dataset, seconds)
        except RemoteAuthError as exc:
            raise RemoteStoreUnavailable(
                f"the remote SPARQL store at {url} refused the credentials (HTTP {exc.status}): {exc.message}; "
                f"check remote_auth ({self.settings.auth}) and remote_user / remote_password / remote_token",
                url,
            ) from exc
        except RemoteError as exc:
            if exc.status == 400:
                raise SyntaxError(f"the remote store at {url} rejected the query: {exc.message}") from exc
            status = f" (HTTP {exc.status})" if exc.status is not None else ""
            raise RemoteStoreUnavailable(
                f"the remote SPARQL store at {url} failed{status}: {exc.message}", url
            ) from exc

    def query(
        self,
        query: str,
        *,
        use_default_graph_as_union: bool = False,
        default_graph: Any = None,
        named_graphs: Any = None,
        substitutions: Mapping[ox.Variable, Any] | None = None,
        prefixes: Mapping[str, str] | None = None,
        base_iri: str | None = None,
        timeout: float | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Like ``pyoxigraph.Store.query``, evaluated by the remote (``timeout`` seconds at most, by default
        ``remote_timeout``)."""
        prepared = _EMPTY.query(
            query,
            use_default_graph_as_union=use_default_graph_as_union,
            default_graph=default_graph,
            named_graphs=named_graphs,
            substitutions=substitutions,
            prefixes=prefixes,
            base_iri=base_iri,
        )
        dataset = self._dataset(query, use_default_graph_as_union, default_graph, named_graphs, prefixes)
        text = with_prefixes(bind_values(query, substitutions), prefixes)
        if base_iri:
            text = f"BASE <{check_iri(base_iri)}>\n{text}"
        if isinstance(prepared, ox.QueryTriples):
            answer = self.request(text, GRAPH_ACCEPT, dataset, timeout)
            return _as_query_triples(self._parse_graph(answer))
        answer = self.request(text, RESULTS_ACCEPT, dataset, timeout)
        return self._parse_results(answer)

    def _dataset(
        self, query: str, union: bool, default_graph: Any, named_graphs: Any, prefixes: Mapping[str, str] | None
    ) -> Dataset:
        """(default graphs, named graphs) to send as protocol parameters.

        The query's own ``FROM`` / ``FROM NAMED`` are sent that way too (unless the caller chose graphs): it means
        the same, and ``oxigraph serve --union-default-graph`` would otherwise ignore them."""
        if default_graph is None and named_graphs is None and has_own_dataset(query):
            from_default, from_named = dataset_clauses(query, dict(prefixes or {}))
            return list(from_default) or [EMPTY_GRAPH], list(from_named) or [EMPTY_GRAPH]
        if default_graph is not None:
            defaults = [g.value for g in _as_list(default_graph) if isinstance(g, ox.NamedNode)]
        elif union:
            defaults = list(self.graphs)
        else:
            defaults = []
        # the store's own default graph holds nothing: an unknown graph stands for it (an empty list would mean
        # "the remote's default", which is the union of everything on Virtuoso)
        defaults = defaults or [EMPTY_GRAPH]
        named = [g.value for g in _as_list(named_graphs)] if named_graphs is not None else list(self.graphs)
        return defaults, named or [EMPTY_GRAPH]

    def _parse_results(self, answer: QueryResult) -> ox.QuerySolutions | ox.QueryBoolean:
        url = redact(self.settings.query_url)
        fmt = _RESULT_TYPES.get(answer.content_type)
        if fmt is None:
            raise RemoteStoreUnavailable(
                f"the remote store at {url} answered {answer.content_type or 'no content type'}, not SPARQL results",
                url,
            )
        body = self._deskolemise_json(answer.body) if fmt == ox.QueryResultsFormat.JSON else answer.body
        try:
            return ox.parse_query_results(body, fmt)
        except SyntaxError as exc:
            raise RemoteStoreUnavailable(
                f"the remote store at {url} sent results that do not parse: {exc}", url
            ) from exc

    def _parse_graph(self, answer: QueryResult) -> list[ox.Triple]:
        url = redact(self.settings.query_url)
        fmt = _GRAPH_TYPES.get(answer.content_type, ox.RdfFormat.N_TRIPLES)
        try:
            triples = [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(answer.body, format=fmt)]
        except SyntaxError as exc:
            raise RemoteStoreUnavailable(
                f"the remote store at {url} sent a graph that does not parse: {exc}", url
            ) from exc
        return [ox.Triple(self._blank_of(t.subject), t.predicate, self._blank_of(t.object)) for t in triples]

    # --- skolem IRIs --------------------------------------------------------------------------------------

    def _blank_of(self, term: Any) -> Any:
        """A skolem IRI (``<base>.well-known/genid/x``, as ``sitegraph push`` writes blank nodes) as ``_:x``."""
        if isinstance(term, ox.NamedNode) and term.value.startswith(self.genid):
            return ox.BlankNode(term.value[len(self.genid) :])
        return term

    def _skolem_of(self, term: Any) -> Any:
        if isinstance(term, ox.BlankNode):
            return ox.NamedNode(self.genid + term.value)
        return term

    def _deskolemise_json(self, body: bytes) -> bytes:
        if self.genid.encode() not in body:
            return body
        data = json.loads(body)
        for row in data.get("results", {}).get("bindings", []):
            for cell in row.values():
                if cell.get("type") == "uri" and cell.get("value", "").startswith(self.genid):
                    cell["type"], cell["value"] = "bnode", cell["value"][len(self.genid) :]
        return json.dumps(data).encode()

    # --- quads --------------------------------------------------------------------------------------------

    def quads_for_pattern(self, subject: Any, predicate: Any, object: Any, graph_name: Any = None) -> Iterator[ox.Quad]:
        """Like ``pyoxigraph.Store.quads_for_pattern`` over the dataset's graphs (answers kept per version)."""
        key = (subject, predicate, object, graph_name)
        with self._lock:
            found = self._patterns.get(key)
            if found is not None:
                self._patterns.move_to_end(key)
        if found is None:
            found = self._match(subject, predicate, object, graph_name)
            with self._lock:
                self._patterns[key] = found
                while len(self._patterns) > 4096:
                    self._patterns.popitem(last=False)
        return iter(found)

    def _match(self, s: Any, p: Any, o: Any, g: Any) -> list[ox.Quad]:
        if isinstance(g, ox.DefaultGraph):
            return []  # everything is in named graphs
        if isinstance(g, ox.NamedNode) and g.value not in self.graphs:
            return []
        if isinstance(s, ox.BlankNode) or isinstance(o, ox.BlankNode):
            found = self._quads(self._pattern_query(self._skolem_of(s), p, self._skolem_of(o), g), s, p, o, g)
            if found:  # the blank node came from a skolem IRI
                return found
            return [q for q in self._blank_quads() if _matches(q, s, p, o, g)]
        return self._quads(self._pattern_query(s, p, o, g), s, p, o, g)

    @staticmethod
    def _pattern_query(s: Any, p: Any, o: Any, g: Any) -> str:
        pattern = " ".join(_term(t) if t is not None else f"?{n}" for t, n in ((s, "s"), (p, "p"), (o, "o")))
        graph = str(g) if g is not None else "?g"
        return f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH {graph} {{ {pattern} }} }}"

    def _blank_quads(self) -> list[ox.Quad]:
        """Quads with a blank subject or object as the remote labels them (data loaded without skolem IRIs)."""
        if self._blank is None:
            self._blank = self._quads(
                "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) } }"
            )
        return self._blank

    def _quads(self, query: str, s: Any = None, p: Any = None, o: Any = None, g: Any = None) -> list[ox.Quad]:
        dataset = ([EMPTY_GRAPH], list(self.graphs) or [EMPTY_GRAPH])
        solutions = self._parse_results(self.request(query, RESULTS_ACCEPT, dataset))
        assert isinstance(solutions, ox.QuerySolutions)
        return [ox.Quad(r["s"] or s, r["p"] or p, r["o"] or o, r["g"] or g) for r in solutions]

    def all_quads(self) -> list[ox.Quad]:
        """Every quad of the dataset's graphs (one SELECT)."""
        return self._quads("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")

    def __len__(self) -> int:
        """Quads in the dataset's graphs (a COUNT by the remote)."""
        return sum(self.dataset_state(recheck_content=False, counts_only=True).graphs.values())

    # --- what the remote holds ----------------------------------------------------------------------------

    def dataset_state(
        self, previous: DatasetState | None = None, recheck_content: bool = True, counts_only: bool = False
    ) -> DatasetState:
        """Triples per graph under the graph namespace, and the dataset version (see the module docstring).

        With ``previous`` and equal counts, the content digest is recomputed only when ``recheck_content``."""
        namespace = str(ox.Literal(self.graph_namespace))
        query = (
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {namespace})) }} GROUP BY ?g"
        )
        solutions = self._parse_results(self.request(query, RESULTS_ACCEPT))  # no dataset: all graphs, filtered
        graphs = {r["g"].value: int(r["n"].value) for r in solutions}  # type: ignore[union-attr]
        if not graphs:
            url = redact(self.settings.query_url)
            raise RemoteStoreUnavailable(
                f"the remote SPARQL store at {url} holds no graphs under {self.graph_namespace}: "
                "push a release to it first (`sitegraph push`)",
                url,
            )
        if counts_only:
            return DatasetState(graphs, sum(graphs.values()), "", False)
        if previous is not None and graphs == previous.graphs and not recheck_content:
            return previous
        with self._lock:
            self.graphs = sorted(graphs)
        total = sum(graphs.values())
        if total <= self.settings.digest_max_quads:
            version, exact = dataset_version(dump_nquads(canonical_quads(self.all_quads()))), True
        else:
            counts = "\n".join(f"{g} {n}" for g, n in sorted(graphs.items()))
            version, exact = "c" + hashlib.sha256(counts.encode()).hexdigest()[:15], False
        if previous is not None and version == previous.version:
            return previous
        self.forget()
        return DatasetState(graphs, total, version, exact)

    def forget(self) -> None:
        """Drop the answers kept for quads_for_pattern (after a write; when the version changes)."""
        with self._lock:
            self._patterns.clear()
            self._blank = None


# ---------------------------------------------------------------- the command line


def open_query_store(config: Any) -> tuple[ox.Store | RemoteStore, Release]:
    """The store ``sitegraph query`` and ``sitegraph stats`` run on, with a ``Release`` describing it.

    ``store = embedded``: the current release, read-only. ``store = remote``: the remote store, and a release whose
    version and triple counts are the remote's (its path and other manifest entries come from the local build
    when there is one)."""
    build_dir = config.path("build_dir")
    if config.store == "embedded":
        return open_read_only(build_dir)
    if config.store != "remote":
        raise UsageError(f"setting store is {config.store!r}; choose embedded or remote")
    store = RemoteStore.from_config(config)
    state = store.dataset_state()
    try:
        local = current_release(build_dir)
        path, manifest = local.path, local.manifest
    except UsageError:
        path, manifest = build_dir, {}
    manifest = {**manifest, "graphs": state.graphs, "quads": state.quads, "version": state.version}
    return store, Release(path, state.version, manifest)


# ---------------------------------------------------------------- helpers


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _matches(quad: ox.Quad, s: Any, p: Any, o: Any, g: Any) -> bool:
    return (
        (s is None or quad.subject == s)
        and (p is None or quad.predicate == p)
        and (o is None or quad.object == o)
        and (g is None or quad.graph_name == g)
    )


def _as_query_triples(triples: list[ox.Triple]) -> ox.QueryTriples:
    """A real ``QueryTriples`` holding ``triples`` (read back from a small in-memory store)."""
    store = ox.Store()
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    results = store.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert isinstance(results, ox.QueryTriples)
    return results
