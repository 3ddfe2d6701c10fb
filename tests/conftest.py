"""Shared fixtures: a copy of the project to break, and one real build of the project per test session."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from graph.build import build
from graph.cli import main
from graph.config import Config, load_config
from graph.store import Release
from server import create_app
from tests.remote_servers import oxigraph_server, virtuoso_server  # noqa: F401 (fixtures: real remote stores)

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PARTS = ("ontology", "shapes", "graph/sources", "queries")


def copy_project(target: Path) -> Path:
    """The parts of the project the build reads, copied so a test can change them."""
    for part in PROJECT_PARTS:
        if (ROOT / part).exists():
            shutil.copytree(ROOT / part, target / part)
    return target


def config_for(project: Path, build_dir: Path) -> Config:
    return load_config(overrides={"project_dir": str(project), "build_dir": str(build_dir)}, environ={})


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Release]:
    """The real project, built once into a temporary build folder."""
    build_dir = tmp_path_factory.mktemp("build")
    config = config_for(ROOT, build_dir)
    _compiled, release = build(config)
    return config, release


def copy_release(release: Release, build_dir: Path) -> Path:
    """A build folder of its own holding a copy of ``release`` as its current release (for tests that write)."""
    target = build_dir / "releases" / release.version
    shutil.copytree(release.path, target)
    (build_dir / "current").symlink_to(Path("releases") / release.version)
    return build_dir


@pytest.fixture
def release_copy(built: tuple[Config, Release], tmp_path: Path) -> Config:
    """Settings for a private copy of the session's build: its own build folder and tokens file, same project."""
    config, release = built
    build_dir = copy_release(release, tmp_path / "build")
    overrides = {"build_dir": str(build_dir), "tokens_file": str(tmp_path / "tokens.toml")}
    return load_config(overrides={**config.values, **overrides}, environ={})


STORE_BACKENDS = ("embedded", "oxigraph", "virtuoso")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-backend",
        choices=STORE_BACKENDS,
        default="embedded",
        help="Store behind the `app` fixture: the embedded release, or a real oxigraph / Virtuoso server loaded "
        "with the session's build by `sitegraph push` (store = remote).",
    )


@pytest.fixture(scope="session")
def served_config(request: pytest.FixtureRequest, built: tuple[Config, Release]) -> Config:
    """The settings the `app` fixture serves with: the session's build, on the backend --store-backend names."""
    config, _release = built
    backend = request.config.getoption("--store-backend")
    if backend == "embedded":
        return config
    from tests.remote_backend import remote_config_for

    remote = request.getfixturevalue(f"{backend}_server")
    return remote_config_for(config, remote)


@pytest.fixture(scope="module")
def app(served_config: Config) -> Iterator[Flask]:
    """The server's Flask app on the session's build (application factory, as in production)."""
    app = create_app(served_config)
    yield app
    close = getattr(app.extensions["sitegraph.store"], "close", None)
    if close is not None:  # the remote backend's HTTP connections
        close()


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the sitegraph command in-process: returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A TCP listener on loopback that records every connection it accepts (its request line, when it sends one):
    the server any guarded request must never reach."""
    accepted: list[str] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    accepted.append(conn.recv(4096).decode("latin-1").split("\r\n")[0] or "(connected)")
                except OSError:
                    accepted.append("(connected)")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/", accepted
    stop.set()
    thread.join(timeout=2)
    sock.close()
