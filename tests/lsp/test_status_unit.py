"""Unit tests of the parts of `ragcoder.status` that read settings and the index on disk."""

from __future__ import annotations

from pathlib import Path

from assistant.config import DefaultModel, ModelSettings, Settings
from indexer.store import DATABASE_NAME, IndexStore
from lsp.features.commands import index_status, model_file_name


def test_model_file_name_configured_path_gives_file_name() -> None:
    settings = Settings(model=ModelSettings(path="~/models/coder-1b.Q8_0.gguf"))

    assert model_file_name(settings) == "coder-1b.Q8_0.gguf"


def test_model_file_name_smollm2_default_gives_shipped_file() -> None:
    settings = Settings(model=ModelSettings(default=DefaultModel.SMOLLM2_135M))

    assert model_file_name(settings) == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_model_file_name_gemma_default_names_gguf() -> None:
    name = model_file_name(Settings())

    assert name.endswith(".gguf")
    assert "gemma" in name.lower()


def test_index_status_no_index_is_missing(tmp_path: Path) -> None:
    assert index_status(tmp_path, Settings()) == {"state": "missing"}


def test_index_status_empty_index_is_ready(tmp_path: Path) -> None:
    IndexStore.open(tmp_path / ".ragcoder", create=True).close()

    assert index_status(tmp_path, Settings()) == {"state": "ready", "files": 0, "chunks": 0}


def test_index_status_unreadable_file_is_invalid(tmp_path: Path) -> None:
    index_dir = tmp_path / ".ragcoder"
    index_dir.mkdir()
    (index_dir / DATABASE_NAME).write_bytes(b"this is not an SQLite database" * 100)

    status = index_status(tmp_path, Settings())

    assert status["state"] == "invalid"
    assert "rebuild" in status["message"]
