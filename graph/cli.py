"""The ``sitegraph`` command: a thin shell over the build, query and verify functions.

Exit codes: 0 success; 1 the data does not conform (SHACL violations, quotes that do not match the corpus);
2 usage or input error (bad options, malformed source files, nothing built yet, bad SPARQL).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import click

from . import __version__
from .config import SETTINGS, load_config
from .errors import SitegraphError, UsageError, VerificationFailed

EXIT_CODES = """\b
Exit codes:
  0  success
  1  the data does not conform (SHACL violations; quotes that do not match the corpus;
     after a push, a remote triple count that differs from the local one)
  2  usage or input error (bad options, malformed source files, nothing built yet, bad SPARQL)"""


def _progress(message: str) -> None:
    click.echo(f"  {message}", err=True)


@click.group(epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="sitegraph")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file (or $SITEGRAPH_CONFIG)."
)
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False),
    help="Project folder (ontology/, shapes/, graph/sources/).",
)
@click.option(
    "--build-dir", "build_dir", type=click.Path(file_okay=False), help="Build folder (default: build/ in the project)."
)
@click.option("--base", "base_iri", help="Base of data IRIs (default https://w3id.org/sitegraph/).")
@click.pass_context
def cli(ctx: click.Context, config_file, project_dir, build_dir, base_iri) -> None:
    """sitegraph: a knowledge graph of technoparks, economic zones and the cooperation around them."""
    ctx.obj = load_config(config_file, {"project_dir": project_dir, "build_dir": build_dir, "base_iri": base_iri})


@cli.command(epilog=EXIT_CODES)
@click.option("--quiet", "-q", is_flag=True, help="Print only errors and the final line.")
@click.option(
    "--discard-writes", is_flag=True, help="Drop the writes committed over HTTP instead of applying them again."
)
@click.pass_obj
def build(config, quiet: bool, discard_writes: bool) -> None:
    """Build the graph: read sources, infer, validate with SHACL, write the store and dumps.

    Nothing is written when validation fails: the previous build stays in place and servable. Writes committed
    since (SPARQL Update, Graph Store) are applied again on top of the sources and validated with them.
    """
    from .build import build as run_build

    started = time.perf_counter()
    compiled, release = run_build(config, None if quiet else _progress, discard_writes)
    _print_warnings(compiled.report.warnings)
    graphs = release.manifest["graphs"]
    writes = release.manifest.get("changes", 0)
    kept = f", {writes} committed write{'s' if writes != 1 else ''} applied again" if writes else ""
    click.echo(
        f"built {release.version}: {release.manifest['quads']} quads in {len(graphs)} graphs, 0 violations, "
        f"{len(compiled.report.warnings)} warnings{kept}, {time.perf_counter() - started:.1f} s -> {release.path}"
    )


@cli.command(epilog=EXIT_CODES)
@click.pass_obj
def validate(config) -> None:
    """Check sources and SHACL conformance without writing anything."""
    from .build import compile_dataset
    from .errors import ValidationFailed

    compiled = compile_dataset(config, _progress)
    _print_warnings(compiled.report.warnings)
    if not compiled.report.conforms:
        raise ValidationFailed(compiled.report.violations)
    triples = sum(len(g) for g in compiled.dataset.graphs())
    click.echo(f"valid: {triples} triples, 0 violations, {len(compiled.report.warnings)} warnings")


@cli.command(epilog=EXIT_CODES)
@click.argument("query")
@click.option(
    "--format",
    "-f",
    "fmt",
    default="table",
    show_default=True,
    type=click.Choice(["table", "csv", "tsv", "json", "xml", "turtle", "ntriples", "jsonld"]),
    help="Output format (turtle/ntriples/jsonld/xml for CONSTRUCT and DESCRIBE).",
)
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="A parameter of a query file.")
@click.pass_obj
def query(config, query: str, fmt: str, params: tuple[str, ...]) -> None:
    """Run QUERY: SPARQL text, a path to an .rq file, or the name of a query in queries/.

    The default graph is the union of all graphs; the project prefixes (sg:, sector:, schema: …) are known.
    Query files declare parameters in their #+ header; --param binds them as RDF terms of the declared type.
    """
    from .namespaces import DataIRIs
    from .queries import parse_query_file
    from .query import format_results, run_query
    from .remote_store import open_query_store

    named = config.project / "queries" / f"{query}.rq"
    path = named if re.fullmatch(r"[a-z0-9-]+", query) and named.is_file() else Path(query)
    substitutions = None
    if query.endswith(".rq") or path == named:
        if not path.is_file():
            raise UsageError(f"query file {query} not found")
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("#+"):
            query_file = parse_query_file(path)
            query, substitutions = query_file.text, query_file.substitutions(dict(_split_param(p) for p in params))
        elif params:
            raise UsageError(f"{path} declares no parameters (no #+ params header)")
        else:
            query = text
    elif params:
        raise UsageError("--param applies to query files (.rq) with a #+ params header")
    store, _release = open_query_store(config)  # the built release, or the remote store (setting `store`)
    prefixes = DataIRIs(config.base_iri).prefixes()
    results = run_query(store, query, prefixes, substitutions)
    click.echo(format_results(results, fmt, prefixes).rstrip("\n"))


def _split_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--param {text!r}: write NAME=VALUE")
    return name, value


@cli.command(epilog=EXIT_CODES)
@click.option("--format", "-f", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
@click.pass_obj
def stats(config, fmt: str) -> None:
    """Entities per class and triples per graph of the built store."""
    import json

    from .namespaces import DataIRIs
    from .query import compact
    from .remote_store import open_query_store

    store, release = open_query_store(config)  # the built release, or the remote store (setting `store`)
    prefixes = DataIRIs(config.base_iri).prefixes()
    per_class = (
        "SELECT ?class (COUNT(DISTINCT ?e) AS ?n) WHERE { GRAPH ?g { ?e a ?class } "
        "FILTER(STRSTARTS(STR(?class), STR(sg:)) && ?g != graph:ontology) } GROUP BY ?class ORDER BY DESC(?n) ?class"
    )
    classes = [(compact(s["class"], prefixes), int(s["n"].value)) for s in store.query(per_class, prefixes=prefixes)]
    graphs = sorted(release.manifest["graphs"].items())
    if fmt == "json":
        click.echo(json.dumps({"version": release.version, "classes": dict(classes), "graphs": dict(graphs)}, indent=2))
        return
    click.echo(f"dataset version {release.version}\n\nentities per class")
    width = max(len(c) for c, _ in classes) if classes else 10
    for cls, n in classes:
        click.echo(f"  {cls.ljust(width)}  {n:>6}")
    click.echo("\ntriples per graph")
    width = max(len(compact_graph(g, prefixes)) for g, _ in graphs)
    for graph, n in graphs:
        click.echo(f"  {compact_graph(graph, prefixes).ljust(width)}  {n:>6}")
    click.echo(f"  {'total'.ljust(width)}  {release.manifest['quads']:>6}")


def compact_graph(iri: str, prefixes: dict[str, str]) -> str:
    base = prefixes["graph"]
    return "graph:" + iri[len(base) :] if iri.startswith(base) else iri


@cli.command(epilog=EXIT_CODES)
@click.option(
    "--corpus", "corpus_dir", type=click.Path(), help="Folder with the article texts (or $SITEGRAPH_CORPUS_DIR)."
)
@click.pass_obj
def verify(config, corpus_dir) -> None:
    """Check every evidence quote and offset against the article texts and their checksums."""
    from .verify import verify_corpus

    corpus = Path(corpus_dir) if corpus_dir else config.path("corpus_dir")
    result = verify_corpus(config.project / "graph" / "sources", corpus, config.project)
    if result.problems:
        raise VerificationFailed(result.problems)
    click.echo(f"verified: {result.quotes} quotes in {result.documents} documents match the corpus in {corpus}")


@cli.command(epilog=EXIT_CODES)
@click.option("--host", help="Address to listen on (default 127.0.0.1, or $SITEGRAPH_HOST).")
@click.option("--port", type=int, help="Port to listen on (default 8000, or $SITEGRAPH_PORT).")
@click.pass_obj
def serve(config, host: str | None, port: int | None) -> None:
    """Serve the built graph over HTTP for development (Flask's server, threaded).

    For production use gunicorn with the config in server/gunicorn.conf.py (see the README).
    """
    from server import create_app

    from .store import current_release

    current_release(config.path("build_dir"))  # fail early, with the usual message, when nothing is built
    app = create_app(config)
    host = host or config.host
    port = port or config.port
    click.echo(f"sitegraph serving {config.path('build_dir')} on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@cli.command("export", epilog=EXIT_CODES)
@click.option(
    "--out", required=True, type=click.Path(), help="Folder to write (created, or replaced if it holds an export)."
)
@click.option(
    "--format",
    "-f",
    "formats",
    multiple=True,
    type=click.Choice(["turtle", "ntriples", "nquads", "trig", "jsonld", "rdfxml"], case_sensitive=False),
    help="A dump format (repeatable; default: all). Turtle, N-Triples and RDF/XML carry the union of all graphs.",
)
@click.option(
    "--profile",
    default="full",
    show_default=True,
    type=click.Choice(["full", "flat", "schema.org"]),
    help="full: named graphs with provenance; flat: the union as plain triples; schema.org: schema.org terms only.",
)
@click.option("--gzip", "compress", is_flag=True, help="Write the dumps gzip-compressed (.gz, deterministic).")
@click.option(
    "--previous", type=click.Path(file_okay=False), help="A previous export folder: CHANGES.md lists what changed."
)
@click.option("--issued", help="Release date for the catalog, YYYY-MM-DD (default: the day the release was built).")
@click.pass_obj
def export(config, out: str, formats: tuple[str, ...], profile: str, compress: bool, previous, issued) -> None:
    """Export the current release as a release folder: dumps, catalog.ttl, manifest.json, CHANGES.md, SHA256SUMS.

    Reads the built release (not the sources). Blank nodes become stable IRIs under <base>.well-known/genid/, so
    equal data gives byte-identical files. The folder is written elsewhere first and renamed into place.
    """
    from .export import export_release

    previous_dir = Path(previous) if previous else None
    chosen = [f.lower() for f in formats] or None
    result = export_release(config, Path(out), chosen, profile, compress, previous_dir, issued)
    for dump in result.dumps:
        unit = "quads" if dump.fmt.quads else "triples"
        click.echo(f"  {dump.name:<20} {dump.size:>9} bytes  {dump.statements:>6} {unit}")
    changes = result.changes
    summary = (
        "first release"
        if changes["first_release"]
        else f"{changes['triples']['added']} triples added, {changes['triples']['removed']} removed "
        f"since {changes['previous_version']}"
    )
    click.echo(
        f"exported {result.version} (profile {result.profile}, issued {result.issued}, {summary}): "
        f"{len(result.files)} files -> {result.path}"
    )


@cli.command(epilog=EXIT_CODES)
@click.option("--to", "query_url", help="The store's SPARQL query endpoint URL (default: remote_query_url).")
@click.option("--gsp", "gsp_url", help="Its graph store protocol URL (e.g. …/store, …/sparql-graph-crud-auth).")
@click.option("--update", "update_url", help="Its SPARQL update URL (default: remote_update_url, or the query URL).")
@click.option(
    "--auth", type=click.Choice(["basic", "digest", "bearer"]), help="HTTP authentication (default: remote_auth)."
)
@click.option("--user", help="User name for basic or digest authentication.")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the password.")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the bearer token.")
@click.option(
    "--from", "from_path", type=click.Path(), help="An export folder or .nq/.nq.gz file (default: the current build)."
)
@click.option(
    "--method",
    type=click.Choice(["gsp", "update", "auto"]),
    default="auto",
    show_default=True,
    help="gsp: PUT/POST to the graph store; update: DROP + INSERT DATA; auto: gsp if the store has it.",
)
@click.option("--chunk-triples", type=int, default=5000, show_default=True, help="Triples per request.")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True, help="Seconds per request.")
@click.option("--retries", type=int, default=4, show_default=True, help="Retries of a request on transient failures.")
@click.pass_obj
def push(config, query_url, gsp_url, update_url, auth, user, password_env, token_env, from_path, **options) -> None:
    """Push the release into a partner's SPARQL store, one named graph at a time, then compare triple counts.

    Each graph is replaced (pushing twice changes nothing); blank nodes are sent as skolem IRIs under the base.
    Exits 1 when a remote count differs from the local one. Secrets come from environment variables only.
    Without --to, the store is the remote_* settings' (URLs, authentication, password or token).
    """
    import os

    from .push import push_release, with_remote_settings

    given = {"query_url": query_url, "gsp_url": gsp_url, "update_url": update_url, "auth": auth, "user": user}
    given.update(password_env=password_env, token_env=token_env)
    chosen, environ = with_remote_settings(config, given, os.environ)
    push_release(config, **chosen, from_path=Path(from_path) if from_path else None, environ=environ, **options)


@cli.group(epilog=EXIT_CODES)
def token() -> None:
    """Access tokens for writing (SPARQL Update, Graph Store): stored as SHA-256 digests in the tokens file."""


@token.command("add", epilog=EXIT_CODES)
@click.argument("name")
@click.option("--read-only", is_flag=True, help="A token that authenticates but may not write.")
@click.pass_obj
def token_add(config, name: str, read_only: bool) -> None:
    """Make a token called NAME and print it (the only time it is shown)."""
    from .tokens import add_token

    path = config.path("tokens_file")
    secret = add_token(path, name, "read" if read_only else "write")
    click.echo(secret)
    click.echo(f"token {name!r} ({'read' if read_only else 'write'}) saved in {path}; it is not shown again", err=True)


@token.command("list", epilog=EXIT_CODES)
@click.pass_obj
def token_list(config) -> None:
    """The tokens by name, with their rights and creation time (never the tokens themselves)."""
    from .tokens import load_tokens

    path = config.path("tokens_file")
    tokens = load_tokens(path)
    if not tokens:
        click.echo(f"no tokens in {path}", err=True)
    for item in sorted(tokens.values(), key=lambda t: t.name):
        click.echo(f"{item.name}\t{item.rights}\t{item.created}")


@token.command("remove", epilog=EXIT_CODES)
@click.argument("name")
@click.pass_obj
def token_remove(config, name: str) -> None:
    """Remove the token NAME: it stops working at once (the server reads the file again)."""
    from .tokens import remove_token

    remove_token(config.path("tokens_file"), name)
    click.echo(f"token {name!r} removed")


@cli.command(epilog=EXIT_CODES)
@click.option("--format", "-f", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
@click.pass_obj
def changes(config, fmt: str) -> None:
    """The writes committed to the current release since the sources were built (its changes.jsonl); with
    store = remote, the writes committed on the remote store (its change log graph)."""
    import json

    from .store import current_release
    from .writes import read_changes, read_remote_changes

    if config.store == "remote":
        from .remote_store import RemoteStore

        log = read_remote_changes(RemoteStore.from_config(config))
    else:
        log = read_changes(current_release(config.path("build_dir")))
    if fmt == "json":
        click.echo(json.dumps(log, indent=2, ensure_ascii=False))
        return
    if not log:
        click.echo("no committed writes in the current release")
    for r in log:
        click.echo(f"{r['seq']:>4}  {r['time']}  {r['token']:<16} {r['operation']:<40} +{r['added']} -{r['removed']}")


@cli.command("settings")
def settings_command() -> None:
    """List the settings, their environment variables and defaults."""
    for setting in SETTINGS:
        click.echo(f"{setting.env:<26} {setting.help} (default: {setting.default})")


def _print_warnings(warnings) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map errors to exit codes."""
    try:
        cli.main(args=argv, prog_name="sitegraph", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.Abort:
        click.echo("aborted", err=True)
        return 2
    except SitegraphError as exc:
        problems = getattr(exc, "problems", None)
        kind = {1: "does not conform", 2: "error"}[exc.exit_code]
        if problems:
            click.echo(f"sitegraph: {len(problems)} problem{'s' if len(problems) != 1 else ''} ({kind}):", err=True)
            for problem in problems:
                click.echo(f"  {problem}", err=True)
            if exc.exit_code == 1 and exc.__class__.__name__ == "ValidationFailed":
                click.echo("nothing was written; the previous build is unchanged", err=True)
        else:
            click.echo(f"sitegraph: {exc}", err=True)
        return exc.exit_code
    return 0


# The ontology editors' commands (reason, lint, diff, docs) live in their own module.
from .editors.cli_editors import COMMANDS  # noqa: E402

for _command in COMMANDS:
    _command.epilog = EXIT_CODES
    cli.add_command(_command)

if __name__ == "__main__":
    sys.exit(main())
