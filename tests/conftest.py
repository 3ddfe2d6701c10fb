"""Shared fixtures: a copy of the project to break, and one real build of the project per test session."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from graph.build import build
from graph.cli import main
from graph.config import Config, load_config
from graph.store import Release
from server import create_app

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


@pytest.fixture(scope="module")
def app(built: tuple[Config, Release]) -> Flask:
    """The server's Flask app on the session's build (application factory, as in production)."""
    config, _release = built
    return create_app(config)


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
