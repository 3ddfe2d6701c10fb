"""Benchmark: this SPARQL endpoint (gunicorn, ``server/gunicorn.conf.py``) against ``oxigraph serve-read-only``.

``python -m server.bench [--duration 10] [--connections 8] [--build-dir build]``

Both servers serve copies of the same built release over loopback (a build running meanwhile changes nothing, and
RocksDB would refuse a second process on one store), with the union of all graphs as the default graph.
``--oxigraph-memory`` compares with ``oxigraph serve`` holding the data in memory instead, as this server does
for small releases (``server.store``). A load generator written here (closed loop: each connection sends a
request, waits for the whole answer, sends the next; HTTP/1.1 keep-alive where the server allows it, a new
connection where it closes) drives both with the same mix of small queries, and prints requests/s, p50/p99
latency and the servers' CPU per request side by side:

- ``small queries``: the mix, answered by both servers (this server's result cache is on, as deployed)
- ``If-None-Match``: the same requests carrying the ETag fetched first; this server answers 304, oxigraph (which
  has no ETags) answers the query
- ``result cache off``: this server with ``SITEGRAPH_CACHE_ENTRIES=0``, every query evaluated

The servers take turns (``--rounds``), so a change in the machine's other load falls on both alike. The generator
runs in separate processes (``--client-procs``) and reports the CPU it spent per request, so its own ceiling is
visible next to the numbers. It is a benchmark command, not a timed test: the numbers depend on the machine, and
its cores are shared by the servers and the generator.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import queue
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from graph.config import Config, load_config
from graph.queries import QueryFile, parse_query_file
from graph.store import current_release

from .store import MEMORY_MAX_QUADS

HOST = "127.0.0.1"
ACCEPT = "application/sparql-results+json"
SERVER_DIR = Path(__file__).resolve().parent
GUNICORN_CONF = SERVER_DIR / "gunicorn.conf.py"

PREFIXES = """PREFIX sg: <https://w3id.org/sitegraph/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
# point queries: the label of one entity, the sites of one country, a count, a yes/no question
POINT_QUERIES = {
    "label-of-entity": PREFIXES
    + "SELECT ?label WHERE { <https://w3id.org/sitegraph/id/site/chirchiq-technopark> rdfs:label ?label }",
    "sites-of-country": PREFIXES
    + """SELECT ?site ?label WHERE {
  ?site a sg:Site ; sg:inCountry <https://w3id.org/sitegraph/id/place/uzbekistan> ; rdfs:label ?label .
  FILTER(LANG(?label) = "en")
} ORDER BY ?label""",
    "count-observations": PREFIXES + "SELECT (COUNT(*) AS ?n) WHERE { ?o a sg:Observation }",
    "ask-is-site": PREFIXES + "ASK { <https://w3id.org/sitegraph/id/site/chirchiq-technopark> a sg:Site }",
}
# small questions from queries/ (parameters at their defaults, bound by ``with_defaults``). Only those the engine
# answers in well under a millisecond: the others (companies-with-foreign-capital 1.3 ms, find-by-label 7 ms …)
# are not small, and with the result cache on they would flatter this server, whose cost would stay the same.
FILE_QUERIES = ("people-and-posts",)


# ---------------------------------------------------------------- the query mix


def with_defaults(query: QueryFile) -> str:
    """The query text with its parameters bound to their defaults by a VALUES block opening the WHERE clause
    (what the CLI does with substitutions; over HTTP the query has to carry its bindings)."""
    values = query.substitutions()
    if not values:
        return query.text
    match = re.search(r"\bWHERE\s*\{", query.text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"query {query.name}: no WHERE clause to bind its parameters in")
    clause = " ".join(f"VALUES ?{variable.value} {{ {term} }}" for variable, term in values.items())
    return f"{query.text[: match.end()]} {clause}\n{query.text[match.end() :]}"


def query_mix(project: Path) -> dict[str, str]:
    """Name → SPARQL text of the small queries both servers are driven with."""
    mix = dict(POINT_QUERIES)
    for name in FILE_QUERIES:
        path = project / "queries" / f"{name}.rq"
        if path.is_file():
            mix[name] = with_defaults(parse_query_file(path))
    return mix


def request_bytes(port: int, path: str, query: str, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """One complete HTTP/1.1 GET of ``query`` (keep-alive is the HTTP/1.1 default)."""
    lines = [f"GET {path}?{urlencode({'query': query})} HTTP/1.1", f"Host: {HOST}:{port}", f"Accept: {ACCEPT}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def fetch(port: int, path: str, query: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """One request outside the measurement: (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", f"{path}?{urlencode({'query': query})}", headers={"Accept": ACCEPT, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def normalised(body: bytes) -> object:
    """SPARQL JSON results compared as a multiset of rows (servers may order unordered rows differently)."""
    data = json.loads(body)
    if "boolean" in data:
        return data["boolean"]
    rows = sorted(json.dumps(b, sort_keys=True, ensure_ascii=False) for b in data["results"]["bindings"])
    return data["head"].get("vars"), rows


# ---------------------------------------------------------------- the load generator


def parse_response(buf: bytes | bytearray) -> tuple[int, int, bool] | None:
    """(status, bytes used, server will close) of the first complete response in ``buf``, or None if it is
    not complete yet. Knows Content-Length, chunked bodies and bodiless statuses; a body delimited only by the
    end of the connection is complete when the connection ends (see ``_Generator``)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buf[:head_end]).lower()
    status = int(head[9:12])
    close = b"\r\nconnection: close" in head or head.startswith(b"http/1.0")
    body = head_end + 4
    if status in (204, 304) or status < 200:
        return status, body, close
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        line_end = head.find(b"\r\n", at + 2)
        end = body + int(head[at + 17 : line_end if line_end >= 0 else len(head)])
        return (status, end, close) if len(buf) >= end else None
    if b"\r\ntransfer-encoding: chunked" in head:
        pos = body
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
            if size == 0:
                if buf[line_end + 2 : line_end + 4] == b"\r\n":
                    return status, line_end + 4, close
                trailer_end = buf.find(b"\r\n\r\n", line_end + 2)
                return (status, trailer_end + 4, close) if trailer_end >= 0 else None
            pos = line_end + 2 + size + 2
            if pos > len(buf):
                return None
    return None  # until the server closes


class _Connection:
    __slots__ = ("buf", "next", "sent", "sock")

    def __init__(self, first: int) -> None:
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.next = first
        self.sent = 0.0


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, of the requests completed in the window
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    window: float = 0.0  # seconds measured
    cpu: float = 0.0  # CPU seconds the generator spent (all processes)
    completed: int = 0  # all requests the generator completed, warm-up included
    server_cpu: float | None = None  # CPU seconds the server used in the window
    generator_wall: float = 0.0  # seconds the generator ran, warm-up included

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.window if self.window else 0.0

    @property
    def server_cpu_per_request(self) -> float | None:
        return self.server_cpu / self.requests if self.server_cpu is not None and self.requests else None

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def merge(self, other: LoadResult) -> None:
        """Add the requests of another generator process that ran in the same window."""
        self.latencies += other.latencies
        self.errors += other.errors
        self.error_samples += other.error_samples[: max(0, 5 - len(self.error_samples))]
        self.cpu += other.cpu
        self.completed += other.completed
        self.generator_wall = max(self.generator_wall, other.generator_wall)

    @classmethod
    def sequence(cls, parts: Sequence[LoadResult]) -> LoadResult:
        """The results of consecutive windows (rounds) as one."""
        total = cls()
        for part in parts:
            total.merge(part)
            total.window += part.window
            total.generator_wall = sum(p.generator_wall for p in parts)
        cpus = [p.server_cpu for p in parts]
        total.server_cpu = None if None in cpus else sum(c or 0.0 for c in cpus)
        return total


def _generate(
    port: int,
    requests: list[bytes],
    connections: int,
    first: int,
    expected: tuple[int, ...],
    warmup: float,
    duration: float,
    timeout: float,
    sync: tuple[Any, Any, Any],
    out: Any,
) -> None:
    """One generator process: ``connections`` closed-loop connections until the window ends; puts a dict.

    ``sync`` is (ready semaphore, go event, start time): all processes start at the same moment."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends this process
    ready, go, start_at = sync
    ready.release()
    if not go.wait(timeout=60):
        return
    clock = time.perf_counter
    begin = clock() + max(0.0, start_at.value - time.time())
    measure_from, end = begin + warmup, begin + warmup + duration
    selector = selectors.DefaultSelector()
    latencies = array("d")
    errors, samples, completed = 0, [], 0

    def connect(conn: _Connection) -> None:
        if conn.sock is not None:
            selector.unregister(conn.sock)
            conn.sock.close()
        conn.sock = socket.create_connection((HOST, port), timeout=timeout)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.buf.clear()
        selector.register(conn.sock, selectors.EVENT_READ, conn)

    def send(conn: _Connection) -> None:
        conn.sent = clock()
        if conn.sock is None:
            connect(conn)
        conn.sock.sendall(requests[conn.next % len(requests)])  # type: ignore[union-attr]
        conn.next += 1

    def failed(conn: _Connection, what: str) -> None:
        nonlocal errors
        if measure_from <= clock() < end:
            errors += 1
            if len(samples) < 5:
                samples.append(what)
        if conn.sock is not None:
            selector.unregister(conn.sock)
            conn.sock.close()
            conn.sock = None

    pool = [_Connection(first + i) for i in range(connections)]
    while clock() < begin:
        time.sleep(min(0.01, begin - clock()))
    cpu_before = sum(os.times()[:2])
    for conn in pool:
        try:
            send(conn)
        except OSError as exc:
            failed(conn, f"connect: {exc}")
    while True:
        now = clock()
        if now >= end:
            break
        for key, _events in selector.select(timeout=min(0.05, end - now)):
            conn = key.data
            try:
                data = conn.sock.recv(262144)
            except OSError as exc:
                failed(conn, f"receive: {exc}")
                data = None
            if data:
                conn.buf += data
                parsed = parse_response(conn.buf)
                if parsed is None:
                    continue
                status, used, close = parsed
            elif data is not None:  # the server closed the connection
                head_end = conn.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    failed(conn, "connection closed before a complete answer")
                    status = 0
                else:
                    status, used, close = int(conn.buf[9:12]), len(conn.buf), True
            else:
                status = 0
            done = clock()
            if status:
                completed += 1
                if status in expected:
                    if measure_from <= done < end:
                        latencies.append(done - conn.sent)
                else:
                    failed(conn, f"HTTP {status}: {bytes(conn.buf[:used])[-200:]!r}")
                if close and conn.sock is not None:
                    selector.unregister(conn.sock)
                    conn.sock.close()
                    conn.sock = None
                else:
                    del conn.buf[:used]
            if done < end:
                try:
                    send(conn)
                except OSError as exc:
                    failed(conn, f"send: {exc}")
        now = clock()
        for conn in pool:  # answers that never came
            if conn.sock is not None and now - conn.sent > timeout:
                failed(conn, f"no answer in {timeout} s")
                with contextlib.suppress(OSError):
                    send(conn)
    cpu = sum(os.times()[:2]) - cpu_before
    for conn in pool:
        if conn.sock is not None:
            conn.sock.close()
    out.put(
        {
            "latencies": latencies.tobytes(),
            "errors": errors,
            "samples": samples,
            "cpu": cpu,
            "completed": completed,
            "wall": clock() - begin,
        }
    )


def run_load(
    port: int,
    requests: list[bytes],
    connections: int,
    duration: float,
    warmup: float,
    processes: int,
    expected: tuple[int, ...] = (200,),
    timeout: float = 30.0,
    server_cpu: Callable[[], float] | None = None,
) -> LoadResult:
    """Drive ``port`` with ``requests`` (round-robin; each connection starts at a different one) from
    ``processes`` generator processes sharing ``connections`` connections, for ``warmup`` + ``duration`` s.
    ``server_cpu`` (CPU seconds the server has used so far) is read at both ends of the measured window."""
    processes = max(1, min(processes, connections))
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    ready, go, start_value = context.Semaphore(0), context.Event(), context.Value("d", 0.0)
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    workers = []
    first = 0
    for share in shares:
        args = (port, requests, share, first, expected, warmup, duration, timeout, (ready, go, start_value), out)
        workers.append(context.Process(target=_generate, args=args, daemon=True))
        first += share
    result = LoadResult(window=duration)
    try:
        for worker in workers:
            worker.start()
        for _ in workers:
            if not ready.acquire(timeout=60):
                raise RuntimeError("the load generator processes did not start")
        start_at = time.time() + 0.05
        start_value.value = start_at
        go.set()
        if server_cpu is not None:
            time.sleep(max(0.0, start_at + warmup - time.time()))
            cpu_before = server_cpu()
            time.sleep(max(0.0, start_at + warmup + duration - time.time()))
            result.server_cpu = server_cpu() - cpu_before
        deadline = start_at + warmup + duration + timeout + 30
        for _ in workers:
            while True:
                try:
                    data = out.get(timeout=0.5)
                    break
                except queue.Empty:
                    dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
                    if dead or time.time() > deadline:
                        raise RuntimeError(f"the load generator failed (exit codes {dead})") from None
            part = array("d")
            part.frombytes(data["latencies"])
            result.merge(
                LoadResult(
                    list(part),
                    data["errors"],
                    data["samples"],
                    duration,
                    data["cpu"],
                    data["completed"],
                    generator_wall=data["wall"],
                )
            )
        for worker in workers:
            worker.join(timeout=10)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
    return result


# ---------------------------------------------------------------- the servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_group_cpu(group: int) -> float:
    """CPU seconds used by the live processes of a process group (Linux /proc; 0 elsewhere)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """A server process in its own session (Ctrl-C reaches only the benchmark, which then stops it)."""

    def __init__(self, name: str, argv: list[str], port: int, path: str, log: Path, env: dict | None = None) -> None:
        self.name, self.argv, self.port, self.path, self.log = name, argv, port, path, log
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, probe: str, timeout: float = 60.0) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=SERVER_DIR.parent,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _headers, body = fetch(self.port, self.path, probe)
                if status == 200:
                    return
                raise RuntimeError(f"{self.name} answers {status}: {body[:300]!r}")
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not answer in {timeout} s:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) used so far by the server's processes (its session)."""
        if self.process is None:
            return 0.0
        return process_group_cpu(self.process.pid)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # gunicorn: graceful shutdown of the workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the server and its workers only
            process.wait(timeout=10)


def load_into(port: int, nquads: Path) -> None:
    """Load an N-Quads file into an in-memory ``oxigraph serve`` (its graph store protocol, POST /store)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        conn.request("POST", "/store", body=nquads.read_bytes(), headers={"Content-Type": "application/n-quads"})
        response = conn.getresponse()
        body = response.read()
        if response.status >= 300:
            raise RuntimeError(f"oxigraph refused the data: HTTP {response.status} {body[:300]!r}")
    finally:
        conn.close()


def oxigraph_binary(given: str | None) -> str:
    if given:
        return given
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        raise SystemExit("no `oxigraph` binary: pip install oxigraph (the test extras have it), or --oxigraph PATH")
    return found


def gunicorn_server(
    config: Config, build_dir: Path, port: int, log: Path, gunicorn_args: Sequence[str], cache_entries: int | None
) -> Server:
    env = {**os.environ, "SITEGRAPH_HOST": HOST, "SITEGRAPH_PORT": str(port), "SITEGRAPH_BUILD_DIR": str(build_dir)}
    env["SITEGRAPH_PROJECT_DIR"] = str(config.project)
    if cache_entries is not None:
        env["SITEGRAPH_CACHE_ENTRIES"] = str(cache_entries)
    argv = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), *gunicorn_args, "server.wsgi:app"]
    return Server("sitegraph (gunicorn)", argv, port, "/sparql", log, env)


def granian_server(config: Config, build_dir: Path, port: int, log: Path, cache_entries: int | None) -> Server:
    """The same app under granian (a Rust HTTP server running the WSGI app), as the README's fast launch."""
    env = {**os.environ, "SITEGRAPH_BUILD_DIR": str(build_dir), "SITEGRAPH_PROJECT_DIR": str(config.project)}
    if cache_entries is not None:
        env["SITEGRAPH_CACHE_ENTRIES"] = str(cache_entries)
    argv = [*GRANIAN, "--host", HOST, "--port", str(port), *granian_options(), "server.wsgi:app"]
    return Server("sitegraph (granian)", argv, port, "/sparql", log, env)


GRANIAN = [sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws"]


def granian_options() -> list[str]:
    """Workers and threads for granian, from SITEGRAPH_WORKERS / SITEGRAPH_THREADS (default: cores, 2)."""
    workers = os.environ.get("SITEGRAPH_WORKERS") or str(len(os.sched_getaffinity(0)))
    threads = os.environ.get("SITEGRAPH_THREADS") or "2"
    return ["--workers", workers, "--blocking-threads", threads]


def gunicorn_settings(args: Sequence[str]) -> str:
    """Worker class, workers and threads as gunicorn will use them (the config file, then ``args``)."""
    from gunicorn.config import Config as GunicornConfig

    cfg = GunicornConfig()
    namespace: dict = {}
    exec(compile(GUNICORN_CONF.read_bytes(), str(GUNICORN_CONF), "exec"), namespace)
    for key, value in namespace.items():
        if key in cfg.settings and not key.startswith("_"):
            cfg.set(key, value)
    parser = cfg.parser()
    for key, value in vars(parser.parse_args([*args, "app:app"])).items():
        if value is not None and key in cfg.settings:
            cfg.set(key, value)
    kind = cfg.worker_class_str
    threads = f", {cfg.threads} threads" if kind == "gthread" else ""
    return f"{cfg.workers} {kind} workers{threads}"


# ---------------------------------------------------------------- the run


@dataclass
class Row:
    scenario: str
    server: str
    result: LoadResult
    baseline: LoadResult | None = None


def machine() -> list[str]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return [
        f"machine: {usable} usable cores ({os.cpu_count()} online) {model}, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}",
    ]


def versions(oxigraph: str) -> str:
    out = []
    for package in ("pyoxigraph", "flask", "werkzeug", "gunicorn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out.append(f"{package} {metadata.version(package)}")
    try:
        binary = subprocess.run([oxigraph, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        binary = "oxigraph ?"
    return ", ".join(out) + f"; server binary: {binary}"


def table(rows: list[Row]) -> str:
    header = ("scenario", "server", "requests", "errors", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "vs oxigraph")
    lines = []
    for row in rows:
        r = row.result
        ratio = f"{r.rate / row.baseline.rate:.2f}x" if row.baseline and row.baseline.rate else "1.00x"
        lines.append(
            (
                row.scenario,
                row.server,
                str(r.requests),
                str(r.errors),
                f"{r.rate:,.0f}",
                f"{r.percentile(50) * 1000:.2f}",
                f"{r.percentile(99) * 1000:.2f}",
                "" if r.server_cpu_per_request is None else f"{r.server_cpu_per_request * 1e6:.0f}",
                ratio,
            )
        )
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def fmt(cells: Sequence[str]) -> str:
        left = cells[:2]
        right = cells[2:]
        return "  ".join(
            [
                *(c.ljust(w) for c, w in zip(left, widths, strict=False)),
                *(c.rjust(w) for c, w in zip(right, widths[2:], strict=True)),
            ]
        )

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *(fmt(cells) for cells in lines)])


def check_same_answers(mix: dict[str, str], ox_port: int, sg_port: int) -> list[str]:
    """Every query of the mix gives the same rows from both servers; the differences, if any."""
    problems = []
    for name, query in mix.items():
        ox_status, _h, ox_body = fetch(ox_port, "/query", query)
        sg_status, _h, sg_body = fetch(sg_port, "/sparql", query)
        if ox_status != 200 or sg_status != 200:
            problems.append(f"{name}: oxigraph {ox_status}, sitegraph {sg_status}: {sg_body[:200]!r}")
        elif normalised(ox_body) != normalised(sg_body):
            problems.append(f"{name}: the servers give different answers")
    return problems


def generator_note(results: list[LoadResult], processes: int) -> str:
    """What the load generator cost: its CPU per request, so its own ceiling, and the cores it took."""
    cpu = sum(r.cpu for r in results)
    done = sum(r.completed for r in results)
    wall = sum(r.generator_wall for r in results)
    if not done or not wall:
        return "load generator: no requests completed"
    per_request = cpu / done
    return (
        f"load generator: {processes} process(es), {per_request * 1e6:.0f} µs CPU per request "
        f"(its ceiling ≈ {processes / per_request:,.0f} req/s with a core per process); "
        f"it used {cpu / wall:.2f} cores on average"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per scenario (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--build-dir", help="the build folder holding current/ (default: the setting)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds run before measuring (default 1)")
    parser.add_argument(
        "--client-procs", type=int, default=2, help="load generator processes sharing the connections (default 2)"
    )
    parser.add_argument("--oxigraph", help="the oxigraph server binary (default: beside python, or on PATH)")
    parser.add_argument("--worker-class", help="gunicorn worker class instead of server/gunicorn.conf.py's")
    parser.add_argument("--workers", type=int, help="gunicorn workers instead of server/gunicorn.conf.py's")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (gthread)")
    parser.add_argument(
        "--rounds", type=int, help="turns per scenario, servers alternating (default: one per 2 s of --duration)"
    )
    parser.add_argument(
        "--oxigraph-memory",
        action="store_true",
        help="compare with `oxigraph serve` holding the data in memory instead of serve-read-only on disk",
    )
    parser.add_argument("--no-uncached", action="store_true", help="skip the scenario with the result cache off")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.connections <= 0:
        parser.error("--duration and --connections must be positive")
    if args.rounds is None:
        args.rounds = max(1, round(args.duration / 2))
    if args.rounds <= 0:
        parser.error("--rounds must be positive")
    if args.warmup is None:
        args.warmup = min(1.0, args.duration / 2)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {"build_dir": args.build_dir} if args.build_dir else {}
    config = load_config(overrides=overrides)
    build_dir = config.path("build_dir")
    try:
        release = current_release(build_dir)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    oxigraph = oxigraph_binary(args.oxigraph)
    gunicorn_args = []
    for option, value in (
        ("--worker-class", args.worker_class),
        ("--workers", args.workers),
        ("--threads", args.threads),
    ):
        if value is not None:
            gunicorn_args += [option, str(value)]
    mix = query_mix(config.project)
    probe = next(iter(mix.values()))

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with tempfile.TemporaryDirectory(prefix="sitegraph-bench-") as tmp, contextlib.ExitStack() as stack:
            work = Path(tmp)
            # both servers get copies: a build running meanwhile cannot switch or prune what is measured
            shutil.copytree(release.store_path, work / "oxigraph-store")
            private_build = work / "build"
            shutil.copytree(release.store_path, private_build / "releases" / release.version / "store")
            shutil.copy2(release.path / "manifest.json", private_build / "releases" / release.version)
            (private_build / "current").symlink_to(Path("releases") / release.version)
            build_dir = private_build
            ox_port, sg_port = free_port(), free_port()
            if args.oxigraph_memory:
                ox_argv = [oxigraph, "serve"]
            else:
                ox_argv = [oxigraph, "serve-read-only", "--location", str(work / "oxigraph-store")]
            ox_argv += ["--bind", f"{HOST}:{ox_port}", "--union-default-graph"]
            ox = Server(f"oxigraph {ox_argv[1]}", ox_argv, ox_port, "/query", work / "oxigraph.log")
            stack.callback(ox.stop)
            ox.start(probe)
            if args.oxigraph_memory:
                load_into(ox_port, release.path / "sitegraph.nq")
            sg = gunicorn_server(config, build_dir, sg_port, work / "gunicorn.log", gunicorn_args, None)
            stack.callback(sg.stop)
            sg.start(probe)
            gr_port = free_port()
            gr = granian_server(config, build_dir, gr_port, work / "granian.log", None)
            stack.callback(gr.stop)
            gr.start(probe)

            print(*machine(), sep="\n")
            print(f"versions: {versions(oxigraph)}")
            quads = int(release.manifest.get("quads", 0))
            ours = "in memory" if quads <= MEMORY_MAX_QUADS else "on disk (RocksDB)"
            where = "in memory, loaded from sitegraph.nq" if args.oxigraph_memory else "on disk (RocksDB)"
            print(f"sitegraph: gunicorn -c server/gunicorn.conf.py {' '.join([*gunicorn_args, 'server.wsgi:app'])}")
            print(f"  ({gunicorn_settings(gunicorn_args)}), store {ours} (up to {MEMORY_MAX_QUADS:,} quads in memory)")
            print(f"sitegraph: granian --interface wsgi {' '.join(granian_options())} server.wsgi:app")
            print(f"oxigraph: {ox_argv[1]} --union-default-graph, store {where}")
            print(f"dataset {release.version} from {release.path}: {release.manifest.get('quads')} quads (copied)")
            print(f"query mix ({len(mix)} small queries, round-robin): {', '.join(mix)}")
            print(
                f"{args.connections} connections; per server and scenario {args.duration:g} s measured in "
                f"{args.rounds} round(s), servers taking turns, after {args.warmup:g} s warm-up"
            )
            for problem in [*check_same_answers(mix, ox_port, sg_port), *check_same_answers(mix, ox_port, gr_port)]:
                print(f"WARNING: {problem}")
            sys.stdout.flush()

            results: list[LoadResult] = []

            def compare(*runs: tuple[Server, list[bytes], tuple[int, ...]]) -> list[LoadResult]:
                """The servers in turns (``args.rounds`` windows each, alternating who goes first), so that a
                change in the machine's other load falls on both alike."""
                parts: list[list[LoadResult]] = [[] for _ in runs]
                for number in range(args.rounds):
                    order = list(enumerate(runs)) if number % 2 == 0 else list(enumerate(runs))[::-1]
                    for index, (server, requests, expected) in order:
                        print(f"  {server.name}, round {number + 1}/{args.rounds} …", file=sys.stderr, flush=True)
                        part = run_load(
                            server.port,
                            requests,
                            args.connections,
                            args.duration / args.rounds,
                            args.warmup if number == 0 else min(args.warmup, 0.2),
                            args.client_procs,
                            expected,
                            server_cpu=server.cpu,
                        )
                        parts[index].append(part)
                combined = [LoadResult.sequence(p) for p in parts]
                results.extend(combined)
                return combined

            rows: list[Row] = []
            ox_requests = [request_bytes(ox_port, "/query", q) for q in mix.values()]
            sg_requests = [request_bytes(sg_port, "/sparql", q) for q in mix.values()]
            gr_requests = [request_bytes(gr_port, "/sparql", q) for q in mix.values()]
            ox_small, sg_small, gr_small = compare(
                (ox, ox_requests, (200,)), (sg, sg_requests, (200,)), (gr, gr_requests, (200,))
            )
            rows += [
                Row("small queries", "oxigraph", ox_small),
                Row("small queries", "sg gunicorn", sg_small, ox_small),
                Row("small queries", "sg granian", gr_small, ox_small),
            ]

            etags = []
            for query in mix.values():
                status, headers, _body = fetch(sg_port, "/sparql", query)
                if status != 200 or "etag" not in headers:
                    raise RuntimeError(f"no ETag from sitegraph (HTTP {status})")
                etags.append(headers["etag"])
            pairs = list(zip(mix.values(), etags, strict=True))
            ox_cond = [request_bytes(ox_port, "/query", q, [("If-None-Match", e)]) for q, e in pairs]
            sg_cond = [request_bytes(sg_port, "/sparql", q, [("If-None-Match", e)]) for q, e in pairs]
            gr_cond = [request_bytes(gr_port, "/sparql", q, [("If-None-Match", e)]) for q, e in pairs]
            ox_200, sg_304, gr_304 = compare((ox, ox_cond, (200,)), (sg, sg_cond, (304,)), (gr, gr_cond, (304,)))
            rows += [
                Row("If-None-Match", "oxigraph: 200", ox_200),
                Row("If-None-Match", "sg gunicorn: 304", sg_304, ox_200),
                Row("If-None-Match", "sg granian: 304", gr_304, ox_200),
            ]

            if not args.no_uncached:
                sg.stop()
                sg = gunicorn_server(config, build_dir, sg_port, work / "gunicorn-nocache.log", gunicorn_args, 0)
                sg.name = "sitegraph (gunicorn, result cache off)"
                stack.callback(sg.stop)
                sg.start(probe)
                gr.stop()
                gr = granian_server(config, build_dir, gr_port, work / "granian-nocache.log", 0)
                gr.name = "sitegraph (granian, result cache off)"
                stack.callback(gr.stop)
                gr.start(probe)
                ox_again, sg_uncached, gr_uncached = compare(
                    (ox, ox_requests, (200,)), (sg, sg_requests, (200,)), (gr, gr_requests, (200,))
                )
                rows += [
                    Row("result cache off", "oxigraph", ox_again),
                    Row("result cache off", "sg gunicorn", sg_uncached, ox_again),
                    Row("result cache off", "sg granian", gr_uncached, ox_again),
                ]

            print()
            print(table(rows))
            print()
            print("CPU µs/req: CPU time of the server's processes in the window / requests (steadier than req/s")
            print("on a shared machine); 'vs oxigraph': req/s against the oxigraph row of the same scenario.")
            print(generator_note(results, min(args.client_procs, args.connections)))
            for row in rows:
                for sample in row.result.error_samples:
                    print(f"error ({row.scenario}, {row.server}): {sample}")
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    except (RuntimeError, OSError) as exc:
        print(f"error: {exc}\nservers stopped", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
