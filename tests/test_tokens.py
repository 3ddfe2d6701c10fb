"""Write tokens: made and listed by the CLI, stored as digests only; the server's bearer authentication."""

from __future__ import annotations

import hashlib
import stat
import tomllib
from pathlib import Path

import pytest

from graph.config import Config, load_config
from graph.errors import UsageError
from graph.store import current_release
from server import create_app
from tests.conftest import ROOT

G = "https://w3id.org/sitegraph/graph/partner/acme"
NOTE = f'INSERT DATA {{ GRAPH <{G}> {{ <https://example.org/note/1> <http://purl.org/dc/terms/description> "x" }} }}'


def test_token_add_prints_it_once_and_stores_only_its_digest(cli, release_copy: Config) -> None:
    path = release_copy.path("tokens_file")
    code, _out, err = _token(cli, release_copy, "list")
    assert code == 0 and "no tokens" in err
    code, out, err = _token(cli, release_copy, "add", "partner-a")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("sg_") and len(token) > 40
    text = path.read_text(encoding="utf-8")
    assert token not in text
    entry = tomllib.loads(text)["tokens"]["partner-a"]
    assert entry["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert entry["rights"] == "write"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    code, out, _err = _token(cli, release_copy, "add", "reader", "--read-only")
    assert code == 0
    code, out, _err = _token(cli, release_copy, "list")
    assert code == 0
    lines = sorted(line.split("\t")[:2] for line in out.strip().splitlines())
    assert lines == [["partner-a", "write"], ["reader", "read"]]
    assert token not in out

    code, _out, err = _token(cli, release_copy, "add", "partner-a")
    assert code == 2 and "exists already" in err
    code, _out, err = _token(cli, release_copy, "add", "no spaces")
    assert code == 2 and "token name" in err
    code, _out, _err = _token(cli, release_copy, "remove", "partner-a")
    assert code == 0
    assert "partner-a" not in tomllib.loads(path.read_text(encoding="utf-8"))["tokens"]
    code, _out, err = _token(cli, release_copy, "remove", "partner-a")
    assert code == 2 and "no token named 'partner-a'" in err


def _token(cli, config: Config, *args: str):
    return cli("--build-dir", str(config.path("build_dir")), *_tokens_env(config), "token", *args)


def _tokens_env(config: Config) -> list[str]:
    # the tokens file is a setting (no option of its own): pass it through a config file
    conf = config.path("tokens_file").with_suffix(".settings.toml")
    conf.write_text(f'tokens_file = "{config.path("tokens_file")}"\n', encoding="utf-8")
    return ["--config", str(conf)]


def test_the_default_tokens_file_is_ignored_by_git() -> None:
    config = load_config(environ={})
    assert config.path("tokens_file") == ROOT / "instance" / "tokens.toml"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "instance/" in ignored


def _client(config: Config):
    return create_app(config).test_client()


def _version(config: Config) -> str:
    return current_release(config.path("build_dir")).version


def test_writes_need_a_bearer_token_with_write_rights(release_copy: Config) -> None:
    from graph.tokens import add_token

    path = release_copy.path("tokens_file")
    writer = add_token(path, "writer")
    reader = add_token(path, "reader", "read")
    client = _client(release_copy)
    before = _version(release_copy)

    answer = client.post("/sparql", data={"update": NOTE}, headers={"Accept": "application/json"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.get_json()["status"] == 401

    answer = client.post("/sparql", data={"update": NOTE}, headers={"Authorization": "Bearer sg_not-a-token"})
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]

    answer = client.post("/sparql", data={"update": NOTE}, headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 403
    assert "may read but not write" in answer.get_data(as_text=True)

    # other schemes and ambient credentials are not accepted, even carrying the right token
    for headers in ({"Authorization": f"Basic {writer}"}, {"Cookie": f"token={writer}"}):
        assert client.post("/sparql", data={"update": NOTE}, headers=headers).status_code == 401
    assert client.post(f"/sparql?access_token={writer}", data={"update": NOTE}).status_code == 401
    assert _version(release_copy) == before

    # a removed token stops working without a restart
    from graph.tokens import remove_token

    remove_token(path, "reader")
    answer = client.post("/sparql", data={"update": NOTE}, headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 401

    answer = client.post("/sparql", data={"update": NOTE}, headers={"Authorization": f"Bearer {writer}"})
    assert answer.status_code == 200
    assert _version(release_copy) != before


def test_a_web_page_cannot_write_without_the_token(release_copy: Config) -> None:
    """CORS opens reads only: the preflight does not allow Authorization, and a form post without it is a 401."""
    client = _client(release_copy)
    before = _version(release_copy)
    origin = {"Origin": "https://elsewhere.example"}
    preflight = client.options(
        "/sparql",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    allowed = preflight.headers.get("Access-Control-Allow-Headers", "").lower()
    assert "authorization" not in allowed
    assert preflight.headers.get("Access-Control-Allow-Credentials") is None
    # a "simple" cross-site form post needs no preflight: it arrives without credentials and is refused
    answer = client.post("/sparql", data={"update": NOTE}, headers=origin)
    assert answer.status_code == 401
    graphs = client.options("/graphs", headers={**origin, "Access-Control-Request-Method": "PUT"})
    assert "Access-Control-Allow-Origin" not in graphs.headers
    assert _version(release_copy) == before


def test_a_missing_tokens_file_means_no_tokens_and_a_broken_one_is_named(tmp_path: Path) -> None:
    from graph.tokens import load_tokens

    assert load_tokens(tmp_path / "missing.toml") == {}
    bad = tmp_path / "bad.toml"
    bad.write_text('[tokens.x]\nsha256 = "nope"\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad\.toml: token 'x' needs a sha256"):
        load_tokens(bad)
