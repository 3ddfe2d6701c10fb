"""Settings, in layers: defaults in code, then an optional TOML file, then ``SITEGRAPH_*`` variables.

Every setting has a name, a default and one line of help; the README's settings table is checked against
``SETTINGS`` by a test, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .namespaces import DEFAULT_BASE

ENV_PREFIX = "SITEGRAPH_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    minimum: float | None = None  # numbers below it are refused when the settings are read

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _project_root() -> Path:
    """The checkout this package lives in (where ``ontology/`` and ``shapes/`` are)."""
    return Path(__file__).resolve().parent.parent


SETTINGS: tuple[Setting, ...] = (
    Setting("project_dir", str(_project_root()), "Folder holding ontology/, shapes/, graph/sources/ and queries/."),
    Setting("build_dir", "build", "Where `sitegraph build` writes the store and dumps (relative to the project)."),
    Setting("base_iri", DEFAULT_BASE, "Base of data IRIs: entities are <base>id/<kind>/<slug>."),
    Setting("corpus_dir", "../shared/corpus", "Folder with the article texts, for `sitegraph verify`."),
    Setting("host", "127.0.0.1", "Address `sitegraph serve` listens on."),
    Setting("port", 8000, "Port `sitegraph serve` listens on."),
    Setting("default_graph", "union", "Default graph of queries: `union` of all graphs, or `empty` (use GRAPH)."),
    Setting("cors_origins", "*", "Origins allowed to read query results cross-site (`*`, a list, or empty for none)."),
    Setting("max_body_bytes", 1_000_000, "Largest request body accepted (bytes); larger gets 413.", minimum=1),
    Setting("max_query_chars", 100_000, "Longest SPARQL query accepted (characters); longer gets 413.", minimum=1),
    Setting(
        "max_nesting", 200, "Deepest nesting of brackets accepted in a query (guards the parser's stack).", minimum=1
    ),
    Setting("cache_entries", 2048, "Answers kept in memory per process (keyed by dataset version, query, format)."),
    Setting("tokens_file", "instance/tokens.toml", "Write tokens by name, as SHA-256 digests (`sitegraph token`)."),
    Setting(
        "query_workers", 2, "Query worker processes per server process (each query runs in one; killable).", minimum=1
    ),
    Setting(
        "query_memory_mb",
        2048,
        "Address-space limit of each query worker (MB); a query past it ends its worker and gets a 503.",
        minimum=1024,  # an idle worker reserves about 600 MB of address space (engine threads, allocator arenas)
    ),
    Setting(
        "query_timeout",
        10.0,
        "Seconds a query may run when it asks for no `timeout=`; then it is stopped.",
        minimum=0.1,
    ),
    Setting(
        "max_query_timeout", 60.0, "Largest `timeout=` (seconds) a request may ask for; more gets 400.", minimum=0.1
    ),
    Setting(
        "max_result_rows",
        100_000,
        "Most rows (or triples) in one answer; longer answers are cut and say so.",
        minimum=1,
    ),
    Setting(
        "max_result_bytes", 50_000_000, "Largest answer body (bytes); longer answers are cut and say so.", minimum=1
    ),
    Setting("service_allow", (), "SPARQL endpoints SERVICE may call (IRIs, comma-separated); empty: none."),
    Setting("store", "embedded", "Where queries run: `embedded` (the built release) or `remote` (a SPARQL 1.1 store)."),
    Setting("remote_query_url", "", "Query endpoint of the remote store (store = remote), e.g. http://h:7878/query."),
    Setting("remote_update_url", "", "Update endpoint of the remote store (for writes and `sitegraph push`)."),
    Setting("remote_gsp_url", "", "Graph Store Protocol endpoint of the remote store (for `sitegraph push`)."),
    Setting("remote_auth", "none", "Authentication to the remote store: none, basic, digest or bearer."),
    Setting("remote_user", "", "User name for basic or digest authentication to the remote store."),
    Setting("remote_password", "", "Password for the remote store (give it in the environment, not in a file)."),
    Setting("remote_token", "", "Bearer token for the remote store (give it in the environment, not in a file)."),
    Setting("remote_timeout", 30, "Seconds one request to the remote store may take (it has its own limit too)."),
    Setting("remote_refresh_seconds", 5, "Seconds the remote's dataset version is trusted before it is checked again."),
    Setting("remote_digest_max_quads", 50_000, "Up to this size the remote's version digests content, else counts."),
    Setting("access_log", "json", "Access log: `json` (one JSON object per request on stderr) or `off`."),
)


@dataclass(frozen=True)
class Config:
    values: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def project(self) -> Path:
        return Path(self.values["project_dir"]).resolve()

    def path(self, name: str) -> Path:
        """A path setting, resolved against the project folder when relative."""
        path = Path(self.values[name]).expanduser()
        return path if path.is_absolute() else self.project / path


def load_config(
    file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the settings once: defaults, then ``file`` (or ``$SITEGRAPH_CONFIG``), then the environment,
    then explicit ``overrides`` (command-line options)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    known = {s.name for s in SETTINGS}
    file = file or environ.get(ENV_PREFIX + "CONFIG")
    if file:
        try:
            data = tomllib.loads(Path(file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"config file {file}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"config file {file}: {exc}") from exc
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"config file {file}: unknown setting(s) {', '.join(unknown)}; known: {sorted(known)}")
        values.update(data)
    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.name] = environ[setting.env]
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    for setting in SETTINGS:
        if isinstance(setting.default, int) and not isinstance(values[setting.name], int):
            try:
                values[setting.name] = int(values[setting.name])
            except (TypeError, ValueError):
                raise UsageError(f"setting {setting.name} ({setting.env}) must be a whole number") from None
        elif isinstance(setting.default, float) and not isinstance(values[setting.name], float):
            try:
                values[setting.name] = float(values[setting.name])
            except (TypeError, ValueError):
                raise UsageError(f"setting {setting.name} ({setting.env}) must be a number") from None
        elif isinstance(setting.default, tuple):
            value = values[setting.name]
            items = value.replace(",", " ").split() if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
                raise UsageError(f"setting {setting.name} ({setting.env}) must be a list of strings")
            values[setting.name] = tuple(items)
        if setting.minimum is not None and values[setting.name] < setting.minimum:
            raise UsageError(
                f"setting {setting.name} ({setting.env}) is {values[setting.name]}; "
                f"the least allowed is {setting.minimum:g}"
            )
    return Config(values)
