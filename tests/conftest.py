"""Shared fixtures: a real standard-library repository indexed once per test session."""

from __future__ import annotations

import logging
import shutil
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.service import Assistant

STDLIB_PACKAGES = ("json", "email", "asyncio")


def stdlib_dir() -> Path:
    """Return the folder of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(autouse=True)
def restore_root_logging() -> Iterator[None]:
    """Undo the logging setup of in-process CLI calls, whose stream pytest closes after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def stdlib_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the standard library's json, email and asyncio packages: real code nobody here wrote."""
    root = tmp_path_factory.mktemp("stdlib_repo")
    for name in STDLIB_PACKAGES:
        shutil.copytree(
            stdlib_dir() / name,
            root / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return root


@pytest.fixture(scope="session")
def indexed_stdlib(stdlib_repo: Path) -> Iterator[Assistant]:
    """The standard-library copy indexed with the real embedder, and an assistant over it."""
    assistant = Assistant(stdlib_repo, Settings())
    assistant.index()
    yield assistant
    assistant.close()
