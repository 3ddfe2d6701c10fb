"""Queries run in worker processes that can be killed: the only way to stop a pyoxigraph query in time.

``Store.query`` has no timeout and no cancellation, and a query holds its thread until the engine is done — a
cartesian product of the data with itself can run for hours. So each server process keeps a small pool of
worker processes (``query_workers``, started on the first query) and sends every query that is not answered
from a cache to one of them: a ``Job`` names the release (path and version), the query, its dataset, the
negotiated formats and the caps on rows and bytes. The worker opens the release's store (a copy in memory for
small releases, as ``server.store.open_release_store`` does; kept per version), evaluates, writes the answer
with the capped writers of ``graph.results`` and sends back the bytes.

The web side waits for the answer up to the query's time limit. Past it, the worker is killed (SIGKILL: the
engine checks no flag) and a new one is started in its place, and the client gets a 503 (``QueryTimeout``)
with ``Retry-After``. A query that finds every worker busy waits at most as long, then gets a 503 too: a request
never hangs. Workers end with the server process: they read their job pipe, which closes when the server dies,
and check the parent's pid while idle; ``close_all`` (at exit, and in tests) kills them.

Each worker limits its own address space to ``query_memory_mb`` (``RLIMIT_AS``), so a query that would take the
host's memory (a huge ``GROUP_CONCAT``, a sorted cartesian product) ends its worker instead — the server answers
503 (``WorkerLost``) and starts a replacement — rather than leaving the kernel's OOM killer to pick a process,
maybe the web one.

Run as ``python -m server.query_pool --fd N --parent PID [--memory-mb M]``: that is how the pool starts a worker.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import json
import logging
import math
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

import pyoxigraph as ox

log = logging.getLogger("sitegraph.server")

STARTUP_SECONDS = 30.0  # a worker that has not said "ready" by then is killed
STARTUP_WAIT = 15.0  # extra wait for a free worker while workers are (re)starting: their start is not the query's
STORES_PER_WORKER = 2  # releases a worker keeps open (the current one and the one before a switch)
ROOT = Path(__file__).resolve().parent.parent

GRAPH_KINDS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


@dataclass(frozen=True)
class Job:
    """One query for a worker: everything it needs, nothing of the web process's state."""

    release_path: str
    version: str
    query: str
    default_graphs: tuple[str, ...] | None = None  # None: the default graph is chosen by union_default
    named_graphs: tuple[str, ...] | None = None
    union_default: bool = True
    query_dataset: bool = False  # the query has FROM / FROM NAMED: they choose the dataset unless the request does
    results_format: str | None = None  # key of the negotiated format for SELECT/ASK (None: none acceptable)
    graphs_format: str | None = None  # key of the negotiated format for CONSTRUCT/DESCRIBE
    max_rows: int | None = None
    max_bytes: int | None = None
    prefixes: dict[str, str] | None = None
    substitutions: dict[str, Any] = field(default_factory=dict)  # variable name -> pyoxigraph term


@dataclass(frozen=True)
class Answer:
    body: bytes
    kind: str  # "results" (SELECT/ASK) or "graphs" (CONSTRUCT/DESCRIBE)
    rows: int
    truncated: str | None  # "rows=N" / "bytes=N" when a cap cut the answer
    seconds: float  # time the worker spent on it


class QuerySyntax(Exception):
    """The engine refused the query text (the message says where)."""


class NoAcceptableFormat(Exception):
    """The query's form has no format the client accepts (``args[0]``: "results" or "graphs")."""


class QueryFailed(Exception):
    """The engine failed on the query (not a syntax error); the message is the engine's."""


class QueryStopped(Exception):
    """The query ran past its limit and its worker was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the query was stopped after {seconds:g} s")
        self.seconds = seconds


class PoolBusy(Exception):
    """No worker became free in time."""


class WorkerLost(Exception):
    """The worker ended while it held the query (it crashed, or was killed from outside)."""


# ---------------------------------------------------------------- the web side


class _Worker:
    def __init__(self, memory_mb: int | None = None, network: bool = False) -> None:
        ours, theirs = Pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        command = [
            sys.executable,
            "-m",
            "server.query_pool",
            "--fd",
            str(theirs.fileno()),
            "--parent",
            str(os.getpid()),
        ]
        if memory_mb is not None:
            command += ["--memory-mb", str(memory_mb)]
        if not network:
            command.append("--no-network")
        self.process = subprocess.Popen(command, pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn: Connection = ours

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("query worker %s did not end after SIGKILL", self.pid)
        self.conn.close()


class QueryPool:
    """``size`` worker processes; ``run(job, timeout)`` evaluates a job in one of them, killing it at the limit.
    ``memory_mb``: each worker's address-space limit (None: no limit). ``network``: whether its workers may reach
    the network at all (only when ``service_allow`` names endpoints); otherwise each worker moves into a network
    namespace of its own with no interfaces up, so even a SERVICE the guard missed cannot connect anywhere."""

    def __init__(self, size: int, memory_mb: int | None = None, network: bool = False) -> None:
        if size < 1:
            raise ValueError(f"query_workers is {size}; at least 1 worker is needed")
        self.size = size
        self.memory_mb = memory_mb
        self.network = network
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()  # starting, idle or busy
        self._starting = 0
        self._lock = threading.Lock()
        self._closed = False
        self.pid = os.getpid()

    # -- workers

    def _fill(self) -> None:
        """Start workers until there are ``size`` of them."""
        with self._lock:
            while not self._closed and len(self._workers) < self.size:
                worker = _Worker(self.memory_mb, self.network)
                self._workers.add(worker)
                self._starting += 1
                threading.Thread(target=self._await_ready, args=(worker,), daemon=True).start()

    def _await_ready(self, worker: _Worker) -> None:
        ready = False
        with contextlib.suppress(OSError, EOFError):
            ready = worker.conn.poll(STARTUP_SECONDS) and worker.conn.recv() == ("ready", worker.pid)
        with self._lock:
            self._starting -= 1
        if ready and not self._closed:
            self._idle.put(worker)
        else:
            if not self._closed:
                log.error("query worker %s did not start; it is replaced on the next query", worker.pid)
            self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)

    def _acquire(self, timeout: float) -> _Worker:
        deadline = time.monotonic() + timeout
        extended = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not extended and self._starting:
                deadline, extended = time.monotonic() + STARTUP_WAIT, True  # workers are starting: wait for them
                remaining = STARTUP_WAIT
            if remaining <= 0:
                raise PoolBusy(f"all {self.size} query workers stayed busy for {timeout:g} s")
            try:
                worker = self._idle.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                self._fill()  # a worker that failed to start is replaced here
                continue
            if worker.alive():
                return worker
            self._discard(worker)
            self._fill()

    # -- queries

    def run(self, job: Job, timeout: float) -> Answer:
        """The worker's answer to ``job``; QueryStopped past ``timeout`` seconds (the worker is killed and
        replaced), PoolBusy when no worker is free within ``timeout``; QuerySyntax, NoAcceptableFormat and
        QueryFailed as the worker reports them."""
        if self._closed:
            raise PoolBusy("the query workers are shut down")
        self._fill()
        worker = self._acquire(timeout)
        try:
            worker.conn.send(job)
            reply = worker.conn.recv() if worker.conn.poll(timeout) else None
        except (OSError, EOFError) as exc:
            self._discard(worker)
            self._fill()
            raise WorkerLost(f"the query worker (pid {worker.pid}) ended while evaluating the query") from exc
        except BaseException:
            # anything else between sending and the reply (a job or an answer that does not pickle, MemoryError,
            # KeyboardInterrupt): the worker's state is unknown, so it is replaced, never left counted but unused
            self._discard(worker)
            self._fill()
            raise
        if reply is None:
            log.warning("query stopped after %g s; worker %s killed", timeout, worker.pid)
            self._discard(worker)
            self._fill()
            raise QueryStopped(timeout)
        self._idle.put(worker)
        status, payload = reply
        if status == "ok":
            return payload
        if status == "syntax":
            raise QuerySyntax(payload)
        if status == "not-acceptable":
            raise NoAcceptableFormat(payload)
        raise QueryFailed(payload)

    def stats(self) -> dict[str, Any]:
        """Workers by state, and their pids (for tests and /metrics)."""
        with self._lock:
            pids = sorted(w.pid for w in self._workers if w.alive())
            return {
                "size": self.size,
                "alive": len(pids),
                "idle": self._idle.qsize(),
                "starting": self._starting,
                "pids": pids,
            }

    def close(self) -> None:
        """Kill every worker (at exit, and when a test is done with the pool)."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            self._discard(worker)
        with contextlib.suppress(queue.Empty):
            while True:
                self._idle.get_nowait()


_pools: dict[tuple[int, int | None], QueryPool] = {}
_pools_lock = threading.Lock()


def get_pool(size: int, memory_mb: int | None = None, network: bool = False) -> QueryPool:
    """This process's pool of ``size`` workers limited to ``memory_mb`` each, started lazily; a forked child never
    uses its parent's pool. Without ``memory_mb``, the pool of ``size`` workers already started if any (tests look
    at the server's pool that way), else one without a memory limit."""
    with _pools_lock:
        for key, pool in list(_pools.items()):
            if pool.pid != os.getpid() or pool._closed:
                del _pools[key]
        if memory_mb is None:
            same_size = [pool for (n, _mb, _net), pool in _pools.items() if n == size]
            if same_size:
                return same_size[-1]
        pool = _pools.get((size, memory_mb, network))
        if pool is None:
            pool = _pools[(size, memory_mb, network)] = QueryPool(size, memory_mb, network)
        return pool


def close_all() -> None:
    """Kill the workers of every pool of this process."""
    with _pools_lock:
        pools = [p for p in _pools.values() if p.pid == os.getpid()]
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_all)


# ---------------------------------------------------------------- the worker side


def _open_store(job: Job, stores: OrderedDict[str, ox.Store]) -> ox.Store:
    store = stores.get(job.version)
    if store is None:
        from graph.store import Release

        from .store import open_release_store

        path = Path(job.release_path)
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        store = stores[job.version] = open_release_store(Release(path, job.version, manifest))
        while len(stores) > STORES_PER_WORKER:
            stores.popitem(last=False)
    stores.move_to_end(job.version)
    return store


def evaluate(job: Job, store: ox.Store) -> tuple[str, Any]:
    """The reply to ``job`` on ``store``: ("ok", Answer), ("syntax", message), ("not-acceptable", kind) or
    ("failed", message)."""
    from graph.results import write_results, write_triples

    started = time.monotonic()
    kwargs: dict[str, Any] = {}
    if job.named_graphs is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    if job.default_graphs is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
    elif job.named_graphs is None and job.query_dataset:
        pass  # the query's FROM / FROM NAMED (SPARQL Protocol: the request's graphs would override them)
    else:
        kwargs["use_default_graph_as_union"] = job.union_default
    if job.prefixes:
        kwargs["prefixes"] = job.prefixes
    if job.substitutions:
        kwargs["substitutions"] = {ox.Variable(name): term for name, term in job.substitutions.items()}
    try:
        results = store.query(job.query, **kwargs)
        if isinstance(results, ox.QueryTriples):
            if job.graphs_format is None:
                return "not-acceptable", "graphs"
            written = write_triples(results, GRAPH_KINDS[job.graphs_format], job.max_rows, job.max_bytes)
            kind = "graphs"
        else:
            if job.results_format is None:
                return "not-acceptable", "results"
            written = write_results(results, job.results_format, job.max_rows, job.max_bytes)
            kind = "results"
    except SyntaxError as exc:
        return "syntax", str(exc)
    except Exception as exc:  # the engine's evaluation errors (a failed SERVICE call, a store error)
        return "failed", f"{type(exc).__name__}: {exc}"
    return "ok", Answer(written.body, kind, written.rows, written.truncated, time.monotonic() - started)


def serve(conn: Connection, parent: int) -> None:
    """The worker's loop: answer jobs until the pipe closes or the parent is gone."""
    stores: OrderedDict[str, ox.Store] = OrderedDict()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            if not conn.poll(1.0):
                if os.getppid() != parent:
                    return
                continue
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = evaluate(job, _open_store(job, stores))
        except Exception as exc:  # the release could not be opened (removed meanwhile …)
            reply = ("failed", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except OSError:
            return
        except Exception as exc:  # the reply could not be pickled: say so instead
            conn.send(("failed", f"the answer could not be sent: {exc}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A sitegraph query worker (started by the server's query pool).")
    parser.add_argument("--fd", type=int, required=True, help="file descriptor of the job pipe")
    parser.add_argument("--parent", type=int, required=True, help="pid of the server process")
    parser.add_argument("--memory-mb", type=int, default=None, help="address-space limit of this worker (MB)")
    parser.add_argument("--no-network", action="store_true", help="move into a network namespace with no interfaces")
    args = parser.parse_args(argv)
    if args.no_network and not leave_network():
        print(
            f"query worker {os.getpid()}: could not leave the network (unshare refused); the SERVICE guard is the "
            "only barrier",
            file=sys.stderr,
        )
    if args.memory_mb is not None:
        limit_memory(args.memory_mb)
    # Ctrl-C and a SIGTERM to the whole process group (systemd's default) reach the server, which finishes the
    # requests in flight (their queries run here) and then ends the workers; a worker ends with its pipe anyway
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Connection(args.fd), args.parent)


def leave_network() -> bool:
    """Move this (single-threaded, just started) process into a new network namespace, where no interface is up:
    every connection fails with "network unreachable". Root may do that directly; others through a new user
    namespace where the kernel allows it. False when neither is permitted."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet, clone_newuser = 0x40000000, 0x10000000
    return libc.unshare(clone_newnet) == 0 or libc.unshare(clone_newuser | clone_newnet) == 0


def limit_memory(megabytes: int) -> None:
    """Limit this process's address space (``RLIMIT_AS``) to ``megabytes``: past it, allocations fail and the
    engine aborts, which ends the worker and not the host's other processes. Never raises the hard limit."""
    wanted = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def timeout_seconds(raw: str | None, default: float, maximum: float) -> float:
    """The ``timeout=`` of a request as seconds; ValueError with a message naming the parameter."""
    if raw is None or raw == "":
        return min(default, maximum)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"timeout={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"timeout={raw!r} must be a positive number of seconds")
    if value > maximum:
        raise ValueError(f"timeout={raw!r} is above the maximum of {maximum:g} s (setting max_query_timeout)")
    return value


if __name__ == "__main__":
    # run the imported module, not this __main__ copy: answers must pickle as server.query_pool classes
    from server.query_pool import main as _main

    _main()
