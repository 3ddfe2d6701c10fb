"""Graceful shutdown of the production launch: on SIGTERM, requests in flight finish, then the server exits.

The server is started as ``scripts/run.sh`` starts it (granian, the same options, one worker) on the session's
build, on a free port of 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest

from graph.config import Config
from graph.store import Release

from .conftest import ROOT

RUN_SH = ROOT / "scripts" / "run.sh"
SHUTDOWN_TIMEOUT = 20  # what run.sh gives requests in flight by default (SITEGRAPH_GRACEFUL_TIMEOUT)
GRANIAN_OPTIONS = [
    "--interface",
    "wsgi",
    "--no-ws",
    "--blocking-threads",
    "2",
    "--workers-kill-timeout",
    str(SHUTDOWN_TIMEOUT),
]
# 6,285 quads x 1,500 rows to count: a couple of seconds of work with a 200-byte answer
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . { SELECT ?a WHERE { ?a ?b ?c } LIMIT 1500 } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    """One request on a new connection (so that several workers can take turns)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def granian(build_dir: Path, workers: int = 1) -> Iterator[tuple[subprocess.Popen, int, list[str]]]:
    """The production server on ``build_dir``: (process, port, its output lines so far)."""
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="sitegraph-metrics-test-")
    env = {
        **os.environ,
        "SITEGRAPH_BUILD_DIR": str(build_dir),
        "SITEGRAPH_PROJECT_DIR": str(ROOT),
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
    }
    argv = [sys.executable, "-m", "granian", *GRANIAN_OPTIONS, "--workers", str(workers)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "server.wsgi:app"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(port, "/health", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, f"granian exited with {proc.returncode}:\n{''.join(output)}"
            assert time.monotonic() < deadline, f"granian did not answer in 30 s:\n{''.join(output)}"
            time.sleep(0.1)
        yield proc, port, output
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(SHUTDOWN_TIMEOUT + 10)
        with contextlib.suppress(ProcessLookupError):  # anything of this server still running (its workers)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        reader.join(10)
        proc.stdout.close()  # type: ignore[union-attr]
        for name in os.listdir(metrics_dir):
            os.unlink(os.path.join(metrics_dir, name))
        os.rmdir(metrics_dir)


def test_run_sh_launches_granian_with_these_options():
    script = RUN_SH.read_text(encoding="utf-8")
    for option in ("--interface wsgi", "--no-ws", "--blocking-threads", "--workers-kill-timeout", "server.wsgi:app"):
        assert option in script, f"scripts/run.sh no longer passes {option}: update this test's launch"
    assert "PROMETHEUS_MULTIPROC_DIR" in script


@pytest.mark.parametrize("group", [False, True], ids=["main process", "process group"])
def test_sigterm_lets_the_request_in_flight_finish(built: tuple[Config, Release], group: bool):
    """SIGTERM to granian's main process (``kill PID``, ``docker stop``) or to all its processes at once (systemd's
    default ``KillMode=control-group``; the query workers get it too)."""
    config, release = built
    with granian(config.path("build_dir")) as (proc, port, output):
        answer: dict = {}

        def slow_request() -> None:
            path = "/sparql?" + urlencode({"query": SLOW_QUERY})
            answer["status"], answer["body"] = get(port, path, {"Accept": "application/sparql-results+json"}, 60)
            answer["at"] = time.monotonic()

        client = threading.Thread(target=slow_request)
        client.start()
        time.sleep(0.5)  # the request has reached the worker and is being evaluated
        assert "status" not in answer, "the slow query finished before the signal: make it slower"
        signalled = time.monotonic()
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with pytest.raises(ConnectionRefusedError):  # no new connections while the last request finishes
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        client.join(60)
        assert proc.wait(SHUTDOWN_TIMEOUT + 10) == 0, "".join(output)
        exited = time.monotonic()

    assert answer.get("status") == 200, f"the request in flight got {answer}:\n{''.join(output)}"
    assert answer["at"] > signalled  # it was still running when the signal came
    rows = json.loads(answer["body"])["results"]["bindings"]
    assert int(rows[0]["n"]["value"]) == release.manifest["quads"] * 1500
    assert exited - signalled < SHUTDOWN_TIMEOUT
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    log = [json.loads(line) for line in output if line.startswith("{")]
    assert any(e["route"] == "/sparql" and e["status"] == 200 for e in log), "the access log has the slow request"


def test_sigterm_lets_a_write_in_flight_commit(built: tuple[Config, Release], tmp_path: Path):
    """A write is never cut in half by a shutdown: the write that was running when SIGTERM came commits whole."""
    from graph.store import current_release
    from graph.tokens import add_token

    from .conftest import copy_release

    _config, release = built
    build_dir = copy_release(release, tmp_path / "build")
    token = add_token(tmp_path / "tokens.toml", "shutdown-test")
    graph = "https://w3id.org/sitegraph/graph/partner/shutdown"
    site = "https://w3id.org/sitegraph/id/site/chirchiq-technopark"
    count = 6000  # enough that the write (parse, infer, validate, write a release) takes a few seconds
    body = "".join(
        f'<{site}> <http://www.w3.org/2004/02/skos/core#altLabel> "shutdown label {n}"@en .\n' for n in range(count)
    ).encode()
    os.environ["SITEGRAPH_TOKENS_FILE"] = str(tmp_path / "tokens.toml")
    os.environ["SITEGRAPH_MAX_BODY_BYTES"] = str(len(body) + 1000)
    try:
        with granian(build_dir) as (proc, port, output):
            answer: dict = {}

            def write() -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                try:
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/n-triples"}
                    conn.request("PUT", "/graphs?" + urlencode({"graph": graph}), body=body, headers=headers)
                    response = conn.getresponse()
                    answer["status"], answer["body"] = response.status, response.read()
                    answer["at"] = time.monotonic()
                finally:
                    conn.close()

            client = threading.Thread(target=write)
            client.start()
            time.sleep(1.0)  # the body is sent and the write is being evaluated
            assert "status" not in answer, f"the write finished before the signal: make it larger ({answer})"
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            client.join(120)
            assert proc.wait(SHUTDOWN_TIMEOUT + 10) == 0, "".join(output)
    finally:
        del os.environ["SITEGRAPH_TOKENS_FILE"], os.environ["SITEGRAPH_MAX_BODY_BYTES"]

    assert answer.get("status") in (200, 201, 204), f"the write in flight got {answer}:\n{''.join(output)}"
    assert answer["at"] > signalled
    committed = current_release(build_dir)
    assert committed.version != release.version
    assert committed.manifest["graphs"][graph] == count  # all of it, not a part
    assert committed.manifest["changes"] == 1
