"""Pushing a release into a partner's SPARQL store, one named graph at a time, and checking what arrived.

``sitegraph push`` is a thin shell over this module. The source is an N-Quads dump: the current build's
``sitegraph.nq`` by default, or a folder written by ``sitegraph export`` (``sitegraph.nq`` or ``*.nq.gz``, with
its ``manifest.json``), or one ``.nq``/``.nq.gz`` file.

Each graph is *replaced*, so pushing the same release twice leaves the remote as after one push:

- **gsp** (SPARQL 1.1 Graph Store Protocol): ``PUT ?graph=<g>`` with the first chunk, ``POST`` with the others.
- **update** (SPARQL 1.1 Update): ``DROP SILENT GRAPH <g> ; INSERT DATA { GRAPH <g> { … } }`` with the first
  chunk (one request, so the graph is never seen empty between the two), ``INSERT DATA`` with the others.
- **auto**: GSP when a graph store URL is given and the store takes the first PUT; when it answers 404, 405,
  415 or 501 (no graph store there), update for that graph and all that follow.

Blank nodes are skolemised before sending: each becomes ``<base>.well-known/genid/<digest>``, the same IRIs that
``sitegraph export`` writes (``graph.export.formats.skolemise``: the digest hashes what the node says and where
it hangs). Chunks can then be cut anywhere: a blank node split over two requests would otherwise become two
different nodes, because each request (GSP POST, INSERT DATA) gets fresh blank nodes. Skolem IRIs also make
every request idempotent (set semantics), so one interrupted by a dropped connection can be retried safely, and
Virtuoso, which refuses blank nodes in ``INSERT DATA`` (SP031), takes the data. The price: the remote holds IRIs
where the release has blank nodes (``?x a owl:Restriction`` still matches; ``isBlank(?x)`` does not).

After sending, :func:`verify` asks the remote for each graph's triple count and compares it with the local one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import click
import pyoxigraph as ox

from .config import Config
from .errors import SitegraphError, UsageError
from .remote_http import N_TRIPLES, RemoteClient, RemoteConfig, RemoteError, check_iri, redact

Method = Literal["gsp", "update", "auto"]
METHODS: tuple[str, ...] = ("gsp", "update", "auto")
DEFAULT_CHUNK_TRIPLES = 5000
#: Answers to a GSP PUT meaning "no graph store protocol here": fall back to SPARQL Update.
NO_GSP_STATUSES = frozenset({404, 405, 415, 501})
DEFAULT_GRAPH_LABEL = "(default graph)"


class PushFailed(SitegraphError):
    """The remote could not be reached, refused the credentials or rejected a request (exit 2)."""

    exit_code = 2


class CountsDiffer(SitegraphError):
    """After the push, the remote's triple count differs from the local one for some graph (exit 1)."""

    exit_code = 1

    def __init__(self, checks: list[GraphCheck]) -> None:
        self.checks = [c for c in checks if not c.ok]
        names = ", ".join(f"{c.name} (local {c.local}, remote {c.remote})" for c in self.checks)
        super().__init__(f"remote triple counts differ for {len(self.checks)} graph(s): {names}")


@dataclass(frozen=True)
class PushSource:
    """An N-Quads dump to push, with the base and version its manifest gives (or defaults)."""

    files: tuple[Path, ...]
    base_iri: str
    version: str
    manifest: dict | None

    @property
    def label(self) -> str:
        return ", ".join(str(f) for f in self.files)


@dataclass(frozen=True)
class GraphCheck:
    """One row of the verification report."""

    graph: str | None  # None: the default graph
    local: int
    remote: int

    @property
    def ok(self) -> bool:
        return self.remote == self.local

    @property
    def name(self) -> str:
        return self.graph or DEFAULT_GRAPH_LABEL


def find_source(from_path: Path | None, build_dir: Path, base_iri: str) -> PushSource:
    """The dump to push: ``from_path`` (a folder or a file), else the current release's ``sitegraph.nq``."""
    if from_path is None:
        from .store import current_release

        release = current_release(build_dir)
        folder = release.path
        files = [folder / "sitegraph.nq"]
        if not files[0].exists():
            raise UsageError(f"release {release.version} in {folder} has no sitegraph.nq: run `sitegraph build`")
    elif from_path.is_file():
        folder, files = from_path.parent, [from_path]
        if not from_path.name.endswith((".nq", ".nq.gz")):
            raise UsageError(f"--from {from_path}: expected an N-Quads file (.nq or .nq.gz)")
    elif from_path.is_dir():
        folder = from_path
        plain = folder / "sitegraph.nq"
        zipped = folder / "sitegraph.nq.gz"
        if plain.exists():
            files = [plain]
        elif zipped.exists():
            files = [zipped]
        else:
            files = sorted(folder.glob("*.nq")) + sorted(folder.glob("*.nq.gz"))
        if not files:
            raise UsageError(f"--from {from_path}: no N-Quads dump there (sitegraph.nq, or *.nq / *.nq.gz files)")
    else:
        raise UsageError(f"--from {from_path}: no such file or folder")
    manifest = _read_manifest(folder / "manifest.json")
    base = (manifest or {}).get("base_iri") or base_iri
    version = (manifest or {}).get("version") or _digest(files)
    return PushSource(tuple(files), str(base), str(version), manifest)


def _read_manifest(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: not readable as JSON ({error})") from error
    return data if isinstance(data, dict) else None


def _digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def read_graphs(source: PushSource) -> dict[str | None, list[str]]:
    """The dump's triples as N-Triples lines per graph (None: the default graph), blank nodes skolemised,
    duplicates removed, graphs and lines sorted."""
    from .export.formats import skolemise

    quads: list[ox.Quad] = []
    for file in source.files:
        try:
            data = gzip.decompress(file.read_bytes()) if file.name.endswith(".gz") else file.read_bytes()
            quads.extend(ox.parse(data, format=ox.RdfFormat.N_QUADS))
        except (OSError, SyntaxError, EOFError, gzip.BadGzipFile) as error:
            raise UsageError(f"{file}: not readable as N-Quads ({error})") from error
    if any(isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode) for q in quads):
        quads = skolemise(quads, source.base_iri)
    graphs: dict[str | None, set[str]] = {}
    for quad in quads:
        name = None if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
        graphs.setdefault(name, set()).add(f"{quad.triple} .")
    return {g: sorted(graphs[g]) for g in sorted(graphs, key=lambda g: (g is not None, g or ""))}


def check_against_manifest(source: PushSource, local: dict[str | None, int]) -> None:
    """Refuse a dump whose triple counts per graph disagree with its manifest (a truncated or swapped file)."""
    listed = (source.manifest or {}).get("graphs")
    if not isinstance(listed, dict):
        return
    expected = {None if name == "default" else name: count for name, count in listed.items()}
    if expected != local:
        differ = sorted(
            (g or DEFAULT_GRAPH_LABEL for g in set(expected) | set(local) if expected.get(g) != local.get(g)),
        )
        raise UsageError(
            f"{source.label} does not match its manifest.json (triples per graph differ for: {', '.join(differ[:5])}"
            f"{' …' if len(differ) > 5 else ''}); nothing was pushed"
        )


def chunks(lines: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(lines), size):
        yield lines[start : start + size]


class Pusher:
    """Sends graphs to one remote with replace semantics; ``method_used`` says what "auto" settled on."""

    def __init__(self, client: RemoteClient, method: Method = "auto", chunk_triples: int = DEFAULT_CHUNK_TRIPLES):
        if method not in METHODS:
            raise UsageError(f"unknown push method {method!r}: use one of {', '.join(METHODS)}")
        if chunk_triples < 1:
            raise UsageError(f"--chunk-triples must be at least 1, got {chunk_triples}")
        if method == "gsp" and not client.config.gsp_url:
            raise UsageError("--method gsp needs the store's graph store URL (--gsp URL)")
        self.client = client
        self.chunk_triples = chunk_triples
        self.method_used: str = method if method != "auto" else ("gsp" if client.config.gsp_url else "update")
        self._settled = method != "auto" or not client.config.gsp_url

    def send(self, graph: str | None, lines: list[str], advance: Callable[[int], None] = lambda n: None) -> None:
        """Replace ``graph`` on the remote with ``lines`` (N-Triples), calling ``advance(n)`` after each chunk."""
        if graph is not None:
            check_iri(graph)
        if self.method_used == "gsp":
            try:
                self._send_gsp(graph, lines, advance)
                self._settled = True
                return
            except RemoteError as error:
                if self._settled or error.status not in NO_GSP_STATUSES:
                    raise
                self.method_used = "update"
                self._settled = True
        self._send_update(graph, lines, advance)

    def _send_gsp(self, graph: str | None, lines: list[str], advance: Callable[[int], None]) -> None:
        if not lines:
            self.client.gsp_put(graph, b"", content_type=N_TRIPLES)
            return
        for index, chunk in enumerate(chunks(lines, self.chunk_triples)):
            body = ("\n".join(chunk) + "\n").encode("utf-8")
            if index == 0:
                self.client.gsp_put(graph, body, content_type=N_TRIPLES)
            else:
                self.client.gsp_post(graph, body, content_type=N_TRIPLES, idempotent=True)
            advance(len(chunk))

    def _send_update(self, graph: str | None, lines: list[str], advance: Callable[[int], None]) -> None:
        drop = "DROP SILENT DEFAULT" if graph is None else f"DROP SILENT GRAPH <{graph}>"
        if not lines:
            self.client.update(drop, idempotent=True)
            return
        for index, chunk in enumerate(chunks(lines, self.chunk_triples)):
            triples = "\n".join(chunk)
            data = triples if graph is None else f"GRAPH <{graph}> {{\n{triples}\n}}"
            insert = f"INSERT DATA {{\n{data}\n}}"
            self.client.update(f"{drop} ;\n{insert}" if index == 0 else insert, idempotent=True)
            advance(len(chunk))


def verify(client: RemoteClient, local: dict[str | None, int]) -> list[GraphCheck]:
    """Each graph's triple count on the remote next to the local one.

    The default graph (a ``flat`` export) is counted from a GSP GET of ``?default`` when the store has a graph
    store: a ``SELECT (COUNT(*) …) { ?s ?p ?o }`` would count the union of all graphs on stores that query the
    union by default (``oxigraph serve --union-default-graph``, Virtuoso).
    """
    return [GraphCheck(graph, count, _remote_count(client, graph)) for graph, count in local.items()]


def _remote_count(client: RemoteClient, graph: str | None) -> int:
    if graph is None and client.config.gsp_url:
        body = client.gsp_get(None, accept=N_TRIPLES).body.decode("utf-8")
        return len({line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#")})
    return client.count_triples(graph)


def report_table(checks: list[GraphCheck]) -> str:
    """The verification report as aligned text columns: graph, local, remote, ok."""
    width = max([len("graph")] + [len(c.name) for c in checks])
    rows = [f"{'graph':<{width}}  {'local':>8}  {'remote':>8}  ok"]
    for check in checks:
        rows.append(f"{check.name:<{width}}  {check.local:>8}  {check.remote:>8}  {'yes' if check.ok else 'NO'}")
    return "\n".join(rows)


def remote_config(
    query_url: str,
    *,
    gsp_url: str | None,
    update_url: str | None,
    auth: str | None,
    user: str | None,
    password_env: str | None,
    token_env: str | None,
    timeout_s: float,
    retries: int,
    environ: Mapping[str, str],
) -> RemoteConfig:
    """The client configuration from the command's options; secrets are read from the named variables."""
    password = token = None
    if auth in ("basic", "digest"):
        if not user or not password_env:
            raise UsageError(f"--auth {auth} needs --user and --password-env VAR (the variable holding the password)")
        password = environ.get(password_env)
        if password is None:
            raise UsageError(f"--password-env {password_env}: that environment variable is not set")
    elif auth == "bearer":
        if not token_env:
            raise UsageError("--auth bearer needs --token-env VAR (the variable holding the token)")
        token = environ.get(token_env)
        if not token:
            raise UsageError(f"--token-env {token_env}: that environment variable is not set")
    elif user or password_env or token_env:
        raise UsageError("--user, --password-env and --token-env need --auth basic|digest|bearer")
    if timeout_s <= 0 or retries < 0:
        raise UsageError("--timeout must be positive and --retries at least 0")
    try:
        return RemoteConfig(
            query_url,
            update_url=update_url,
            gsp_url=gsp_url,
            auth=auth,  # type: ignore[arg-type]
            user=user,
            password=password,
            token=token,
            timeout_s=timeout_s,
            retries=retries,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error


PASSWORD_VARIABLE = "SITEGRAPH_REMOTE_PASSWORD"
TOKEN_VARIABLE = "SITEGRAPH_REMOTE_TOKEN"


def with_remote_settings(config: Config, options: dict, environ: Mapping[str, str]) -> tuple[dict, dict[str, str]]:
    """``sitegraph push``'s options with the ``remote_*`` settings filling in what the command line left out.

    ``--to`` defaults to ``remote_query_url``; ``--gsp``, ``--update``, ``--auth``, ``--user`` and the secret
    default to the settings only when the target is that store (an explicit other ``--to`` gets none of them).
    Returns the options and the environment to read secrets from (the settings' password or token included,
    under ``SITEGRAPH_REMOTE_PASSWORD`` / ``SITEGRAPH_REMOTE_TOKEN``, when no ``--password-env``/``--token-env``)."""
    options = dict(options)
    env = dict(environ)
    if not options.get("query_url"):
        if not config.remote_query_url:
            raise UsageError("push needs --to URL (or the remote_query_url setting)")
        options["query_url"] = config.remote_query_url
    if options["query_url"] != config.remote_query_url:
        return options, env
    options["gsp_url"] = options.get("gsp_url") or config.remote_gsp_url or None
    options["update_url"] = options.get("update_url") or config.remote_update_url or None
    configured = str(config.remote_auth or "none").lower()
    if not options.get("auth") and configured != "none":
        options["auth"] = configured
    if options.get("auth") == configured:
        if configured in ("basic", "digest"):
            options["user"] = options.get("user") or config.remote_user or None
            if not options.get("password_env") and config.remote_password:
                env[PASSWORD_VARIABLE] = str(config.remote_password)
                options["password_env"] = PASSWORD_VARIABLE
        elif configured == "bearer" and not options.get("token_env") and config.remote_token:
            env[TOKEN_VARIABLE] = str(config.remote_token)
            options["token_env"] = TOKEN_VARIABLE
    return options, env


def push_release(
    config: Config,
    *,
    query_url: str,
    gsp_url: str | None = None,
    update_url: str | None = None,
    auth: str | None = None,
    user: str | None = None,
    password_env: str | None = None,
    token_env: str | None = None,
    from_path: Path | None = None,
    method: Method = "auto",
    chunk_triples: int = DEFAULT_CHUNK_TRIPLES,
    timeout_s: float = 60.0,
    retries: int = 4,
    environ: Mapping[str, str] | None = None,
) -> list[GraphCheck]:
    """``sitegraph push``: send every graph with a progress bar on stderr, verify, print the report on stdout.

    Raises PushFailed (exit 2) when the remote cannot be reached or rejects a request, CountsDiffer (exit 1)
    when a remote count differs after the push.
    """
    settings = remote_config(
        query_url,
        gsp_url=gsp_url,
        update_url=update_url,
        auth=auth,
        user=user,
        password_env=password_env,
        token_env=token_env,
        timeout_s=timeout_s,
        retries=retries,
        environ=os.environ if environ is None else environ,
    )
    source = find_source(from_path, config.path("build_dir"), config.base_iri)
    graphs = read_graphs(source)
    local = {graph: len(lines) for graph, lines in graphs.items()}
    check_against_manifest(source, local)
    started = time.perf_counter()
    click.echo(
        f"pushing {sum(local.values())} triples in {len(graphs)} graphs from {source.label} to {redact(query_url)}",
        err=True,
    )
    with RemoteClient(settings, on_retry=lambda event: click.echo(f"retry: {event}", err=True)) as client:
        try:
            pusher = Pusher(client, method, chunk_triples)
            for graph, lines in graphs.items():
                label = graph or DEFAULT_GRAPH_LABEL
                with click.progressbar(length=len(lines), label=label, file=sys.stderr) as bar:
                    pusher.send(graph, lines, bar.update)
            checks = verify(client, local)
        except RemoteError as error:
            raise PushFailed(f"push to {redact(query_url)} failed: {error}") from error
    click.echo(report_table(checks))
    click.echo(
        f"pushed {sum(local.values())} triples in {len(graphs)} graph{'s' if len(graphs) != 1 else ''} "
        f"by {pusher.method_used} "
        f"in {time.perf_counter() - started:.1f} s; "
        + ("all remote counts match" if all(c.ok for c in checks) else "remote counts DIFFER")
    )
    if not all(c.ok for c in checks):
        raise CountsDiffer(checks)
    return checks
