"""Tests for `ragcoder graph` on a small indexed project (real chunker, embedder and store)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.cli import main

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "graph"


@pytest.fixture(scope="module")
def shop_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop") / "repo"
    shutil.copytree(DATA_DIR / "python", root)
    assert main(["--threads", "1", "index", str(root)]) == 0
    return root


def test_cli_graph_prints_callers_and_parents(shop_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()

    code = main(["graph", "price_of", "--repo", str(shop_repo)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines == [
        "shop/models.py::price_of",
        "  callers:",
        "    shop/models.py::Item.total  (calls, confidence 0.95, line 14)",
        "    shop/service.py::checkout  (calls, confidence 0.90, line 10)",
        "  callees: none",
        "  parents:",
        "    shop/models.py  (contains, confidence 1.00)",
        "  children: none",
        "  related:",
        "    shop/service.py  (references, confidence 1.00, line 3)",
    ]


def test_cli_graph_class_lists_children_and_base(shop_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()

    code = main(["graph", "shop/models.py", "--repo", str(shop_repo)])
    file_output = capsys.readouterr().out
    main(["graph", "Item", "--repo", str(shop_repo)])
    item_output = capsys.readouterr().out

    assert code == 0
    assert "    shop/models.py::price_of  (contains, confidence 1.00)" in file_output
    assert "    shop/models.py::Base  (inherits, confidence 0.95, line 9)" in item_output
    assert "    shop/models.py::Item.validate  (contains, confidence 1.00)" in item_output
    assert "    shop/service.py::checkout  (calls, confidence 0.90, line 7)" in item_output


def test_cli_graph_unknown_symbol_fails(shop_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()

    code = main(["graph", "no_such_symbol", "--repo", str(shop_repo)])

    assert code == 1
    assert "no symbol or file named 'no_such_symbol'" in capsys.readouterr().err
