"""Settings: layered (defaults, file, environment, options) and every one documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.config import SETTINGS, load_config
from graph.errors import UsageError

from .conftest import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.env}`" in readme, f"{setting.env} is not in the README's settings table"


def test_layers_apply_in_order(tmp_path: Path):
    file = tmp_path / "sitegraph.toml"
    file.write_text('build_dir = "from-file"\nbase_iri = "https://example.org/file/"\n', encoding="utf-8")
    config = load_config(file, environ={"SITEGRAPH_BASE_IRI": "https://example.org/env/"})
    assert config.build_dir == "from-file"
    assert config.base_iri == "https://example.org/env/"
    config = load_config(file, overrides={"build_dir": "from-option"}, environ={})
    assert config.build_dir == "from-option"
    assert load_config(environ={}).build_dir == "build"


def test_unknown_setting_in_file_is_named(tmp_path: Path):
    file = tmp_path / "sitegraph.toml"
    file.write_text("bild_dir = 'x'\n", encoding="utf-8")
    with pytest.raises(UsageError, match="bild_dir"):
        load_config(file, environ={})


@pytest.mark.parametrize(("name", "value"), [("query_workers", "0"), ("query_timeout", "0"), ("max_result_rows", "-5")])
def test_numbers_below_their_minimum_are_refused(name: str, value: str):
    with pytest.raises(UsageError, match=f"setting {name} \\(SITEGRAPH_{name.upper()}\\) is .*least allowed"):
        load_config(environ={f"SITEGRAPH_{name.upper()}": value})
