"""An HTTP client for remote SPARQL 1.1 stores: query, update and the graph store protocol (GSP).

Used by ``sitegraph push`` and by the server's remote-store backend. One :class:`RemoteConfig` says where the
store answers (query, update and graph-store URLs) and how to authenticate (HTTP basic, digest or a bearer token);
:class:`RemoteClient` sends the requests::

    config = RemoteConfig("https://partner.example/sparql", auth="digest", user="u", password=secret)
    with RemoteClient(config) as remote:
        remote.update("DROP SILENT GRAPH <https://example.org/g>")
        remote.gsp_put("https://example.org/g", b"<s> <p> <o> .\\n")
        n = remote.count_triples("https://example.org/g")

Transient failures are retried with exponential backoff: connection refused or reset, 502/503/504, and 429 (a
``Retry-After`` header is honoured, up to ``max_backoff_s``). A request that may already have reached the server
(a read timeout, a dropped connection mid-answer, a 502 or 504 from a gateway) is retried only when it is
idempotent: queries, GSP GET, PUT and DELETE always; updates and GSP POST only when the caller says so
(``idempotent=True``; ``INSERT DATA`` without blank nodes and ``DROP`` are). Everything else fails at once with
a :class:`RemoteError` that names the method, the URL (without credentials), the HTTP status and the start of
the server's message; :class:`RemoteAuthError` for 401/403, :class:`RemoteUnavailable` when retries ran out.

A request may carry its own time limit (``timeout_s=``, as the server's ``/sparql`` does with the query's limit):
it is then an overall deadline for that attempt — connecting, waiting and reading the whole answer, checked
between the chunks of the body — and not httpx's per-read timeout, which a slowly trickling answer never trips.
One client (one connection pool) serves every limit.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from . import __version__

AuthKind = Literal["basic", "digest", "bearer"]
AUTH_KINDS: tuple[str, ...] = ("basic", "digest", "bearer")

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"
#: Accept headers of :meth:`RemoteClient.query` by query form: results as JSON (XML second), graphs as N-Triples
#: (``text/plain`` is the older name some stores still answer with). One combined header is not enough: Virtuoso
#: answers a CONSTRUCT asked with it as a JSON result set.
RESULTS_ACCEPT = f"{SPARQL_JSON}, {SPARQL_XML};q=0.9"
GRAPH_ACCEPT = f"{N_TRIPLES}, text/plain;q=0.9"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MESSAGE_CHARS = 500

log = logging.getLogger(__name__)


class RemoteError(Exception):
    """A request to the remote store failed; ``status`` is the HTTP status, or None when no answer came."""

    def __init__(self, method: str, url: str, status: int | None, message: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.message = message
        where = f"{method} {url}"
        super().__init__(f"{where}: HTTP {status}: {message}" if status is not None else f"{where}: {message}")


class RemoteAuthError(RemoteError):
    """The store refused the credentials (401) or the account may not do this (403)."""


class RemoteUnavailable(RemoteError):
    """No usable answer after all retries: connection errors, timeouts, or 429/502/503/504 until the end."""


@dataclass(frozen=True)
class RemoteConfig:
    """Where a remote SPARQL store answers and how to talk to it.

    ``update_url`` defaults to ``query_url`` (Virtuoso, Fuseki and GraphDB take both on one endpoint);
    ``gsp_url`` is None when the store has no graph store protocol endpoint. Secrets are kept out of ``repr``.
    """

    query_url: str
    update_url: str | None = None
    gsp_url: str | None = None
    auth: AuthKind | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    user_agent: str = f"sitegraph/{__version__}"

    def __post_init__(self) -> None:
        if self.auth not in (None, *AUTH_KINDS):
            raise ValueError(f"unknown auth kind {self.auth!r}: use one of {', '.join(AUTH_KINDS)}")
        if self.auth in ("basic", "digest") and (self.user is None or self.password is None):
            raise ValueError(f"{self.auth} authentication needs a user and a password")
        if self.auth == "bearer" and not self.token:
            raise ValueError("bearer authentication needs a token")
        for name in ("query_url", "update_url", "gsp_url"):
            url = getattr(self, name)
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"{name} must be an http(s) URL, got {url!r}")

    @property
    def effective_update_url(self) -> str:
        return self.update_url or self.query_url


@dataclass(frozen=True)
class QueryResult:
    """The body of a query answer as the store sent it, with its media type (parameters stripped)."""

    body: bytes
    content_type: str

    def json(self) -> dict:
        """The SPARQL JSON results document (raises ValueError when the store answered in another format)."""
        if self.content_type != SPARQL_JSON and not self.content_type.endswith("json"):
            raise ValueError(f"expected {SPARQL_JSON}, the store answered {self.content_type or 'no content type'}")
        return json.loads(self.body)


@dataclass(frozen=True)
class RetryEvent:
    """One retry about to happen: what failed, which attempt comes next, and the wait before it."""

    method: str
    url: str
    reason: str
    attempt: int
    retries: int
    delay_s: float

    def __str__(self) -> str:
        return f"{self.method} {self.url}: {self.reason}; retry {self.attempt}/{self.retries} in {self.delay_s:.1f} s"


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def _auth(config: RemoteConfig) -> httpx.Auth | None:
    if config.auth == "basic":
        return httpx.BasicAuth(config.user or "", config.password or "")
    if config.auth == "digest":
        return httpx.DigestAuth(config.user or "", config.password or "")
    if config.auth == "bearer":
        return BearerAuth(config.token or "")
    return None


def redact(url: str) -> str:
    """The URL without user:password, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def server_message(response: httpx.Response) -> str:
    """The start of the server's error text, tags and runs of white space collapsed."""
    text = response.content[: MESSAGE_CHARS * 4].decode("utf-8", errors="replace")
    if "html" in response.headers.get("content-type", ""):
        text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    if not text:
        text = response.reason_phrase or "(no message)"
    return text[:MESSAGE_CHARS] + ("…" if len(text) > MESSAGE_CHARS else "")


def retry_after_s(response: httpx.Response) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date), None when absent or bad."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _graph_params(graph: str | None) -> dict[str, str]:
    """GSP addressing (SPARQL 1.1 Graph Store Protocol §4): ``?graph=<iri>``, or ``?default`` when None."""
    return {"default": ""} if graph is None else {"graph": graph}


class RemoteClient:
    """Requests to one remote store, over one pooled HTTP connection set; use as a context manager or close().

    ``on_retry`` is called before each retry (the default logs a warning on this module's logger);
    ``transport`` and ``sleep`` exist for tests.
    """

    def __init__(
        self,
        config: RemoteConfig,
        *,
        on_retry: Callable[[RetryEvent], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._on_retry = on_retry or (lambda event: log.warning("%s", event))
        self._sleep = sleep
        self._http = httpx.Client(
            auth=_auth(config),
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            headers={"User-Agent": config.user_agent},
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- SPARQL protocol -------------------------------------------------------------------------------------

    def query(self, query: str, *, accept: str | None = None) -> QueryResult:
        """Run a query (POST, form-encoded); SELECT/ASK answer as SPARQL JSON or XML, CONSTRUCT/DESCRIBE as
        N-Triples unless ``accept`` asks otherwise."""
        if accept is None:
            accept = GRAPH_ACCEPT if query_form(query) in ("CONSTRUCT", "DESCRIBE") else RESULTS_ACCEPT
        response = self._send(
            "POST",
            self.config.query_url,
            idempotent=True,
            data={"query": query},
            headers={"Accept": accept},
        )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return QueryResult(response.content, content_type)

    def select(self, query: str) -> list[dict[str, dict[str, str]]]:
        """The bindings of a SELECT query, as in SPARQL JSON results (``[{var: {"type": …, "value": …}}]``)."""
        return self.query(query, accept=SPARQL_JSON).json()["results"]["bindings"]

    def ask(self, query: str) -> bool:
        return bool(self.query(query, accept=SPARQL_JSON).json()["boolean"])

    def count_triples(self, graph: str | None) -> int:
        """Triples in a named graph (or, with None, what the store's default graph holds; some stores answer
        with the union of all graphs there)."""
        pattern = "{ ?s ?p ?o }" if graph is None else f"{{ GRAPH <{check_iri(graph)}> {{ ?s ?p ?o }} }}"
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {pattern}")
        try:
            return int(rows[0]["n"]["value"])
        except (IndexError, KeyError, ValueError) as error:
            raise RemoteError(
                "POST", redact(self.config.query_url), None, f"no count in the answer: {rows!r}"
            ) from error

    def update(self, update: str, *, idempotent: bool = False) -> None:
        """Run a SPARQL update (POST, form-encoded) at the update URL."""
        self._send("POST", self.config.effective_update_url, idempotent=idempotent, data={"update": update})

    # -- Graph store protocol --------------------------------------------------------------------------------

    def gsp_get(self, graph: str | None, *, accept: str = N_TRIPLES) -> QueryResult:
        """The content of a named graph (None: the default graph)."""
        response = self._send(
            "GET", self._gsp_url(), idempotent=True, params=_graph_params(graph), headers={"Accept": accept}
        )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return QueryResult(response.content, content_type)

    def gsp_put(self, graph: str | None, data: bytes, *, content_type: str = N_TRIPLES) -> None:
        """Replace a graph's content with ``data``."""
        self._send(
            "PUT",
            self._gsp_url(),
            idempotent=True,
            params=_graph_params(graph),
            content=data,
            headers={"Content-Type": content_type},
        )

    def gsp_post(
        self, graph: str | None, data: bytes, *, content_type: str = N_TRIPLES, idempotent: bool = False
    ) -> None:
        """Add ``data`` to a graph (merging: blank nodes in ``data`` become new nodes on every POST)."""
        self._send(
            "POST",
            self._gsp_url(),
            idempotent=idempotent,
            params=_graph_params(graph),
            content=data,
            headers={"Content-Type": content_type},
        )

    def gsp_delete(self, graph: str | None, *, missing_ok: bool = False) -> None:
        """Delete a graph; with ``missing_ok`` a 404 (no such graph) is not an error."""
        try:
            self._send("DELETE", self._gsp_url(), idempotent=True, params=_graph_params(graph))
        except RemoteError as error:
            if not (missing_ok and error.status == 404):
                raise

    # -- plumbing --------------------------------------------------------------------------------------------

    def _gsp_url(self) -> str:
        if not self.config.gsp_url:
            raise RemoteError(
                "GSP", redact(self.config.query_url), None, "no graph store URL configured for this store"
            )
        return self.config.gsp_url

    def _send(
        self, method: str, url: str, *, idempotent: bool, timeout_s: float | None = None, **kwargs: object
    ) -> httpx.Response:
        """One request with retries; returns a 2xx response or raises a RemoteError. With ``timeout_s``, each
        attempt must be answered completely within that many seconds (see the module docstring)."""
        shown = redact(url)
        limit = self.config.timeout_s if timeout_s is None else timeout_s
        retries = max(0, self.config.retries)
        attempt = 0
        while True:
            reason: str
            wait: float | None = None
            status: int | None = None
            try:
                if timeout_s is None:
                    response = self._http.request(method, url, **kwargs)  # type: ignore[arg-type]
                else:
                    response = self._request_within(method, url, timeout_s, kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                reason = f"cannot connect ({error or type(error).__name__})"
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as error:
                reason = f"no answer within {limit:g} s ({type(error).__name__})"
                if not idempotent:
                    raise RemoteUnavailable(
                        method, shown, None, reason + "; not retried (the request may have been applied)"
                    ) from error
            except httpx.TransportError as error:
                reason = f"connection failed ({error or type(error).__name__})"
                if not idempotent:
                    raise RemoteUnavailable(
                        method, shown, None, reason + "; not retried (the request may have been applied)"
                    ) from error
            else:
                if response.is_success:
                    return response
                status = response.status_code
                message = server_message(response)
                if status in (401, 403):
                    what = "credentials refused" if status == 401 else "not allowed for this account"
                    raise RemoteAuthError(method, shown, status, f"{what}: {message}")
                if 300 <= status < 400 and response.headers.get("location"):
                    message = f"redirected to {redact(response.headers['location'])}: use that URL"
                if status not in RETRY_STATUSES:
                    raise RemoteError(method, shown, status, message)
                if status in (502, 504) and not idempotent:  # a gateway may have passed the request on
                    raise RemoteUnavailable(method, shown, status, f"{message}; not retried (it may have been applied)")
                reason = f"HTTP {status} ({message[:120]})"
                wait = retry_after_s(response)
            attempt += 1
            if attempt > retries:
                raise RemoteUnavailable(method, shown, status, f"{reason}; gave up after {retries} retries")
            delay = self.config.backoff_s * 2 ** (attempt - 1)
            if wait is not None:
                delay = max(delay, wait)
            delay = min(delay, self.config.max_backoff_s)
            self._on_retry(RetryEvent(method, shown, reason, attempt, retries, delay))
            self._sleep(delay)

    def _request_within(self, method: str, url: str, seconds: float, kwargs: dict[str, object]) -> httpx.Response:
        """The request, answered completely within ``seconds`` (else ``httpx.ReadTimeout``), body read."""
        deadline = time.monotonic() + seconds
        request = self._http.build_request(
            method, url, timeout=httpx.Timeout(seconds, connect=min(seconds, self.config.connect_timeout_s)), **kwargs
        )  # type: ignore[arg-type]
        response = self._http.send(request, stream=True)
        chunks: list[bytes] = []
        try:
            for chunk in response.iter_raw():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"the answer took longer than {seconds:g} s", request=request)
        finally:
            response.close()
        # a response holding the raw body: reading it decodes any Content-Encoding, as httpx would have
        return httpx.Response(response.status_code, headers=response.headers, content=b"".join(chunks), request=request)


def check_iri(iri: str) -> str:
    """An IRI safe to put between ``<`` and ``>`` in a query (no spaces, quotes, angle brackets or braces)."""
    if not iri or re.search(r'[\x00-\x20<>"{}|^`\\]', iri):
        raise ValueError(f"not a usable IRI: {iri!r}")
    return iri


_NOT_KEYWORDS = re.compile(
    "|".join(
        (
            r"<[^<>\s]*>",  # IRIs
            r'"""[\s\S]*?"""',  # long strings
            r"'''[\s\S]*?'''",
            r'"(?:[^"\\\n]|\\.)*"',  # short strings
            r"'(?:[^'\\\n]|\\.)*'",
            r"#[^\n]*",  # comments
        )
    )
)
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


def query_form(query: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first such keyword outside IRIs, strings and comments."""
    match = _FORM.search(_NOT_KEYWORDS.sub(" ", query))
    return match.group(1).upper() if match else None
