"""Tests for the settings tree: merging, validation and repository files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from assistant.config import SETTING_BOUNDS, DefaultModel, Settings, load_repository_settings, merge, settings_table
from assistant.errors import InvalidInput


def test_merge_nested_values_applied() -> None:
    settings = merge(Settings(), {"model": {"n_ctx": 2048, "default": "smollm2-135m"}}, "test")

    assert settings.model.n_ctx == 2048
    assert settings.model.default is DefaultModel.SMOLLM2_135M
    assert Settings().model.n_ctx == 4096


def test_merge_unknown_key_names_key_and_source() -> None:
    with pytest.raises(InvalidInput) as caught:
        merge(Settings(), {"model": {"n_cxt": 10}}, "initializationOptions")

    assert "model.n_cxt" in str(caught.value)
    assert "initializationOptions" in str(caught.value)


def test_merge_wrong_type_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        merge(Settings(), {"completion": {"max_tokens": "many"}}, "test")

    assert "completion.max_tokens" in str(caught.value)


def test_merge_bool_is_not_int() -> None:
    with pytest.raises(InvalidInput):
        merge(Settings(), {"completion": {"max_tokens": True}}, "test")


def test_merge_bad_enum_lists_choices() -> None:
    with pytest.raises(InvalidInput) as caught:
        merge(Settings(), {"model": {"default": "gpt-9"}}, "test")

    assert "gemma3-270m" in str(caught.value)


def test_repository_settings_dotfile_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ragcoder.retrieval]\ntop_k = 3\nrrf_k = 10\n")
    (tmp_path / ".ragcoder.toml").write_text("[retrieval]\ntop_k = 5\n")

    settings = load_repository_settings(tmp_path)

    assert settings.retrieval.top_k == 5
    assert settings.retrieval.rrf_k == 10


def test_repository_settings_invalid_toml_names_file(tmp_path: Path) -> None:
    (tmp_path / ".ragcoder.toml").write_text("[retrieval\n")

    with pytest.raises(InvalidInput) as caught:
        load_repository_settings(tmp_path)

    assert ".ragcoder.toml" in str(caught.value)


def test_settings_table_lists_every_leaf() -> None:
    keys = [row[0] for row in settings_table()]

    assert "model.path" in keys
    assert "completion.debounce_ms" in keys
    assert len(keys) == len(set(keys))


def test_defaults_within_setting_bounds() -> None:
    # Every default must pass the bounds a settings file is checked against.
    for key, (low, high) in SETTING_BOUNDS.items():
        table, name = key.split(".")
        default = getattr(getattr(Settings(), table), name)
        assert low is None or default >= low, key
        assert high is None or default <= high, key


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"retrieval": {"top_k": 0}}, "retrieval.top_k"),
        ({"pathrag": {"alpha": 0}}, "pathrag.alpha"),
        ({"model": {"n_ctx": 16}}, "model.n_ctx"),
        ({"model": {"n_threads": -2}}, "model.n_threads"),
        ({"completion": {"max_lines": 0}}, "completion.max_lines"),
        ({"completion": {"max_tokens": -1}}, "completion.max_tokens"),
    ],
)
def test_out_of_range_setting_named(values: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidInput, match=rf"setting {re.escape(key)} in x\.toml is .*; pass a number"):
        merge(Settings(), values, "x.toml")
