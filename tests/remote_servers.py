"""Real SPARQL stores for tests: ``oxigraph serve`` and Virtuoso, started on loopback ports in temporary folders.

Fixtures (session-scoped, registered in ``tests/conftest.py`` through ``pytest_plugins``):

- ``oxigraph_server`` -> :class:`RemoteStore` for ``oxigraph serve --union-default-graph`` (PyPI package
  ``oxigraph``, the binary beside the venv's Python). No authentication (``auth is None``).
  ``query_url`` = ``…/query``, ``update_url`` = ``…/update``, ``gsp_url`` = ``…/store``.
- ``virtuoso_server`` -> :class:`RemoteStore` for Virtuoso Open Source 7 (Debian package
  ``virtuoso-opensource``, installed by ``scripts/setup.sh --test``), run as ``virtuoso-t +foreground`` with its
  own ini file. ``query_url`` = ``…/sparql`` (anonymous, read-only), ``update_url`` = ``…/sparql-auth`` (digest),
  ``gsp_url`` = ``…/sparql-graph-crud-auth`` (digest), ``auth = "digest"``, ``user``/``password`` name an account
  granted SPARQL_UPDATE. Virtuoso's ``/sparql`` reads the union of all graphs when no graph is named.

:class:`RemoteStore` fields: ``name``, ``base_url``, ``query_url``, ``update_url``, ``gsp_url``, ``auth``
(``None`` or ``"digest"``), ``user``, ``password``, ``folder`` (its temporary data folder), ``log`` (its log file);
``log_tail()`` returns the end of the log for assertion messages. Tests share one server per session, so each test
writes its own named graphs (or clears what it uses) instead of assuming an empty store.

Start-up is bounded (``START_TIMEOUT_S``); a server that does not answer in time fails the fixture with the
command line and the tail of its log. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
VIRTUOSO_USER = "sitegraph_push"
VIRTUOSO_PASSWORD = "push-secret-1"


@dataclass(frozen=True)
class RemoteStore:
    """Where a running test store answers, and how to write to it."""

    name: str
    base_url: str
    query_url: str
    update_url: str
    gsp_url: str
    auth: str | None
    user: str | None
    password: str | None
    folder: Path
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.log, lines)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Poll ``url`` until it answers 2xx; fail with the log tail if the process dies or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} during start-up; log:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except (OSError, urllib.error.URLError) as error:
            last = str(error)
        time.sleep(0.25)
    _stop(process)
    raise RuntimeError(f"{what} did not answer {url} within {START_TIMEOUT_S:.0f} s (last: {last}); log:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def oxigraph_binary() -> str:
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        raise RuntimeError("no `oxigraph` binary beside the venv's Python: pip install -e '.[test]' installs it")
    return found


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStore]:
    """``oxigraph serve --union-default-graph`` on a free loopback port, data in a temporary folder."""
    folder = tmp_path_factory.mktemp("oxigraph")
    port = free_port()
    log = folder / "oxigraph.log"
    base = f"http://127.0.0.1:{port}"
    command = [
        oxigraph_binary(),
        "serve",
        "--location",
        str(folder / "data"),
        "--bind",
        f"127.0.0.1:{port}",
        "--union-default-graph",
        "--timeout-s",
        "60",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    try:
        _wait_http(f"{base}/query?query=ASK%7B%7D", process, log, "oxigraph serve")
        yield RemoteStore(
            name="oxigraph",
            base_url=base,
            query_url=f"{base}/query",
            update_url=f"{base}/update",
            gsp_url=f"{base}/store",
            auth=None,
            user=None,
            password=None,
            folder=folder,
            log=log,
        )
    finally:
        _stop(process)


VIRTUOSO_INI = """\
; written by tests/remote_servers.py: everything in this folder, loopback ports only, little memory
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql_port}
DisableUnixSocket = 1
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {d}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
MaxQueryMem = 200M
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 4
MaxClientConnections = 8

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}/vsp
MaxClientConnections = 8
ServerThreads = 8
EnabledDavVSP = 0
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 60
"""


def virtuoso_binaries() -> tuple[str, str]:
    server = shutil.which("virtuoso-t")
    isql = next((found for name in ("isql-vt", "isql-v", "isql") if (found := shutil.which(name))), None)
    if not server or not isql:
        raise RuntimeError(
            "Virtuoso is not installed (need virtuoso-t and isql-vt): scripts/setup.sh --test installs the Debian "
            "package virtuoso-opensource"
        )
    return server, isql


def _isql(isql: str, port: int, statements: str, log: Path) -> None:
    """Run SQL as dba through Virtuoso's isql client; a failure names the statement and isql's output."""
    result = subprocess.run(
        [isql, f"127.0.0.1:{port}", "dba", "dba", f"exec={statements}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 or "*** Error" in output:
        raise RuntimeError(f"isql failed ({statements!r}): {output.strip()}\nVirtuoso log:\n{_tail(log)}")


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStore]:
    """Virtuoso 7 in a temporary folder with a digest-auth account allowed to update (SPARQL_UPDATE)."""
    server, isql = virtuoso_binaries()
    folder = tmp_path_factory.mktemp("virtuoso")
    (folder / "vsp").mkdir()
    isql_port, http_port = free_port(), free_port()
    while http_port == isql_port:
        http_port = free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(d=folder, isql_port=isql_port, http_port=http_port), encoding="utf-8")
    log = folder / "virtuoso.log"
    console = folder / "console.log"
    base = f"http://127.0.0.1:{http_port}"
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    with console.open("wb") as out:
        process = subprocess.Popen(
            [server, "+foreground", "+configfile", str(ini)], stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=env
        )
    try:
        _wait_http(f"{base}/sparql?query=ASK%7B%7D", process, log, "virtuoso-t")
        _isql(
            isql,
            isql_port,
            f"DB.DBA.USER_CREATE('{VIRTUOSO_USER}', '{VIRTUOSO_PASSWORD}'); "
            f'GRANT SPARQL_UPDATE TO "{VIRTUOSO_USER}"; '
            f"DB.DBA.RDF_DEFAULT_USER_PERMS_SET('{VIRTUOSO_USER}', 3);",
            log,
        )
        yield RemoteStore(
            name="virtuoso",
            base_url=base,
            query_url=f"{base}/sparql",
            update_url=f"{base}/sparql-auth",
            gsp_url=f"{base}/sparql-graph-crud-auth",
            auth="digest",
            user=VIRTUOSO_USER,
            password=VIRTUOSO_PASSWORD,
            folder=folder,
            log=log,
        )
    finally:
        _stop(process)
