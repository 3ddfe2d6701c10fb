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
    Setting("max_body_bytes", 1_000_000, "Largest request body accepted (bytes); larger gets 413."),
    Setting("max_query_chars", 100_000, "Longest SPARQL query accepted (characters); longer gets 413."),
    Setting("max_nesting", 200, "Deepest nesting of brackets accepted in a query (guards the parser's stack)."),
    Setting("cache_entries", 2048, "Answers kept in memory per process (keyed by dataset version, query, format)."),
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
    return Config(values)
