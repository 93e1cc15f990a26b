"""Tests of the repository walker on small trees built in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import IndexSettings
from assistant.errors import InvalidInput
from indexer.walk import SkippedFile, walk_repository

SUPPORTED_SUFFIXES = (".py", ".js", ".go")


def is_supported(path: str) -> bool:
    return path.endswith(SUPPORTED_SUFFIXES)


def write(root: Path, rel_path: str, content: str | bytes = "x = 1\n") -> Path:
    path = root / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def walk_paths(root: Path, settings: IndexSettings | None = None) -> list[str]:
    files, _ = walk_repository(root, settings or IndexSettings(), is_supported)
    return [item.path for item in files]


def skip_reasons(root: Path, settings: IndexSettings | None = None) -> dict[str, str]:
    _, skipped = walk_repository(root, settings or IndexSettings(), is_supported)
    return {item.path: item.reason for item in skipped}


def test_walk_plain_tree_lists_supported_files_sorted(tmp_path: Path) -> None:
    for rel_path in ["b.py", "a/z.go", "a.py", "a/b/c.js", "README.md", "data.json"]:
        write(tmp_path, rel_path)

    files, skipped = walk_repository(tmp_path, IndexSettings(), is_supported)

    assert [item.path for item in files] == ["a.py", "a/b/c.js", "a/z.go", "b.py"]
    assert skipped == []


def test_walk_source_file_fields_match_stat(tmp_path: Path) -> None:
    path = write(tmp_path, "pkg/mod.py", "def f():\n    return 1\n")

    (source,) = walk_repository(tmp_path, IndexSettings(), is_supported)[0]

    assert source.path == "pkg/mod.py"
    assert source.abs_path == path.resolve()
    assert source.abs_path.is_absolute()
    assert source.size_bytes == path.stat().st_size
    assert source.mtime_ns == path.stat().st_mtime_ns


def test_walk_root_gitignore_skips_files_and_prunes_directories(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.gen.py\nscratch/\n/top_only.py\n")
    for rel_path in ["keep.py", "x.gen.py", "scratch/a.py", "sub/scratch/b.py", "top_only.py", "sub/top_only.py"]:
        write(tmp_path, rel_path)

    paths = walk_paths(tmp_path)

    assert paths == ["keep.py", "sub/top_only.py"]
    assert skip_reasons(tmp_path) == {}


def test_walk_negation_reincludes_file(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.py\n!keep.py\n")
    write(tmp_path, "keep.py")
    write(tmp_path, "drop.py")
    write(tmp_path, "sub/keep.py")

    assert walk_paths(tmp_path) == ["keep.py", "sub/keep.py"]


def test_walk_negation_inside_ignored_directory_has_no_effect(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "logs/\n!logs/keep.py\n")
    write(tmp_path, "logs/keep.py")
    write(tmp_path, "main.py")

    assert walk_paths(tmp_path) == ["main.py"]


def test_walk_nested_gitignore_applies_below_its_directory(tmp_path: Path) -> None:
    write(tmp_path, "pkg/.gitignore", "local_*.py\n/anchored.py\n")
    for rel_path in ["local_a.py", "anchored.py", "pkg/local_b.py", "pkg/anchored.py", "pkg/deep/local_c.py",
                     "pkg/deep/anchored.py", "pkg/main.py"]:
        write(tmp_path, rel_path)

    assert walk_paths(tmp_path) == ["anchored.py", "local_a.py", "pkg/deep/anchored.py", "pkg/main.py"]


def test_walk_nested_negation_overrides_parent_pattern(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "secret_*.py\n")
    write(tmp_path, "sub/.gitignore", "!secret_ok.py\n")
    for rel_path in ["secret_a.py", "secret_ok.py", "sub/secret_b.py", "sub/secret_ok.py"]:
        write(tmp_path, rel_path)

    assert walk_paths(tmp_path) == ["sub/secret_ok.py"]


def test_walk_git_info_exclude_is_honoured(tmp_path: Path) -> None:
    write(tmp_path, ".git/info/exclude", "private.py\n")
    write(tmp_path, ".git/hooks/hook.py")
    write(tmp_path, "private.py")
    write(tmp_path, "public.py")

    assert walk_paths(tmp_path) == ["public.py"]


def test_walk_gitignore_overrides_git_info_exclude(tmp_path: Path) -> None:
    write(tmp_path, ".git/info/exclude", "*.py\n")
    write(tmp_path, ".gitignore", "!wanted.py\n")
    write(tmp_path, "wanted.py")
    write(tmp_path, "other.py")

    assert walk_paths(tmp_path) == ["wanted.py"]


def test_walk_ragcoderignore_skips_files(tmp_path: Path) -> None:
    write(tmp_path, ".ragcoderignore", "fixtures/\n*_slow.py\n")
    write(tmp_path, "fixtures/big.py")
    write(tmp_path, "sub/test_slow.py")
    write(tmp_path, "sub/test_fast.py")

    assert walk_paths(tmp_path) == ["sub/test_fast.py"]


def test_walk_ragcoderignore_negation_overrides_gitignore(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "schema.py\n")
    write(tmp_path, ".ragcoderignore", "!schema.py\n")
    write(tmp_path, "schema.py")

    assert walk_paths(tmp_path) == ["schema.py"]


def test_walk_exclude_setting_skips_matching_paths(tmp_path: Path) -> None:
    for rel_path in ["src/app.py", "src/legacy/old.py", "tests/test_app.py", "examples/demo.js"]:
        write(tmp_path, rel_path)
    settings = IndexSettings(exclude=["tests/", "src/legacy/**", "*.js"])

    assert walk_paths(tmp_path, settings) == ["src/app.py"]


def test_walk_git_and_index_directories_are_not_listed(tmp_path: Path) -> None:
    write(tmp_path, ".git/objects/x.py")
    write(tmp_path, ".ragcoder/cache.py")
    write(tmp_path, "nested/.ragcoder/cache.py")
    write(tmp_path, "__pycache__/m.py")
    write(tmp_path, "main.py")

    files, skipped = walk_repository(tmp_path, IndexSettings(), is_supported)

    assert [item.path for item in files] == ["main.py"]
    assert skipped == []


def test_walk_index_directory_given_as_path_is_pruned(tmp_path: Path) -> None:
    write(tmp_path, "cache/ragcoder/stale.py")
    write(tmp_path, "cache/keep.py")
    write(tmp_path, "other/ragcoder/keep.py")

    by_relative = walk_paths(tmp_path, IndexSettings(dir_name="cache/ragcoder"))
    by_absolute = walk_paths(tmp_path, IndexSettings(dir_name=str(tmp_path / "cache" / "ragcoder")))

    assert by_relative == ["cache/keep.py", "other/ragcoder/keep.py"]
    assert by_absolute == ["cache/keep.py", "other/ragcoder/keep.py"]


def test_walk_vendored_and_build_directories_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "web/node_modules/lib/index.js")
    write(tmp_path, "vendor/github.com/x/y.go")
    write(tmp_path, "third_party/lib.py")
    write(tmp_path, "build/lib/pkg/m.py")
    write(tmp_path, "target/gen.js")
    write(tmp_path, "env/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path, "env/lib/python3.11/site-packages/pkg.py")
    write(tmp_path, "app.py")

    files, skipped = walk_repository(tmp_path, IndexSettings(), is_supported)

    assert [item.path for item in files] == ["app.py"]
    assert skipped == [
        SkippedFile("build/", "build output"),
        SkippedFile("env/", "vendored"),
        SkippedFile("target/", "build output"),
        SkippedFile("third_party/", "vendored"),
        SkippedFile("vendor/", "vendored"),
        SkippedFile("web/node_modules/", "vendored"),
    ]


def test_walk_gitignored_vendored_directory_is_silent(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "node_modules/\n")
    write(tmp_path, "node_modules/lib/index.js")
    write(tmp_path, "app.js")

    assert skip_reasons(tmp_path) == {}


def test_walk_directory_named_venv_without_marker_is_walked(tmp_path: Path) -> None:
    write(tmp_path, "venv/__init__.py")

    assert walk_paths(tmp_path) == ["venv/__init__.py"]


def test_walk_binary_file_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "blob.py", b"x = 1\n\x00\x01\x02")

    assert skip_reasons(tmp_path) == {"blob.py": "binary"}


def test_walk_non_utf8_file_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "latin.py", "name = 'café'\n".encode("latin-1"))

    reasons = skip_reasons(tmp_path)

    assert list(reasons) == ["latin.py"]
    assert reasons["latin.py"].startswith("not UTF-8")


@pytest.mark.parametrize("rel_path", ["api_pb2.py", "api_pb2_grpc.py", "api.pb.go"])
def test_walk_generated_file_name_is_skipped(tmp_path: Path, rel_path: str) -> None:
    write(tmp_path, rel_path, "x = 1\n")

    assert skip_reasons(tmp_path) == {rel_path: "generated"}


@pytest.mark.parametrize(
    "header",
    [
        "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage api\n",
        "# -*- coding: utf-8 -*-\n# Autogenerated by Sphinx\ntopics = {}\n",
        "/*\n * @generated\n */\nexport const x = 1;\n",
    ],
)
def test_walk_generated_header_comment_is_skipped(tmp_path: Path, header: str) -> None:
    write(tmp_path, "gen.go", header)

    assert skip_reasons(tmp_path) == {"gen.go": "generated"}


def test_walk_generated_words_outside_comments_are_kept(tmp_path: Path) -> None:
    write(tmp_path, "parse.py", '"""Parser engine for the grammar tables generated by pgen."""\n')
    write(tmp_path, "late.py", "x = 1\n" * 10 + "# Generated by hand, do not edit\n")

    assert walk_paths(tmp_path) == ["late.py", "parse.py"]


def test_walk_minified_file_name_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "static/app.min.js", "var a=1;\n")

    assert skip_reasons(tmp_path) == {"static/app.min.js": "minified"}


def test_walk_long_line_is_skipped_as_minified(tmp_path: Path) -> None:
    write(tmp_path, "bundle.js", "var a=1;" * 200 + "\n")
    write(tmp_path, "ok.js", "var a = 1;\n")

    reasons = skip_reasons(tmp_path, IndexSettings(max_line_chars=1000))

    assert reasons == {"bundle.js": "minified (a line of 1600 characters > 1000 max_line_chars)"}


def test_walk_oversized_file_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "big.py", "x = 1\n" * 250_000)
    write(tmp_path, "small.py", "x = 1\n")

    reasons = skip_reasons(tmp_path, IndexSettings(max_file_bytes=1_000_000))

    assert reasons == {"big.py": "too large (1.5 MB > 1.0 MB max_file_bytes)"}


def test_walk_unsupported_skipped_kinds_are_silent(tmp_path: Path) -> None:
    write(tmp_path, "image.png", b"\x89PNG\x00\x00")
    write(tmp_path, "lib.min.css", "a{}")

    files, skipped = walk_repository(tmp_path, IndexSettings(), is_supported)

    assert files == []
    assert skipped == []


def test_walk_symlink_to_file_inside_root_is_listed(tmp_path: Path) -> None:
    write(tmp_path, "real.py")
    (tmp_path / "alias.py").symlink_to(tmp_path / "real.py")

    assert walk_paths(tmp_path) == ["alias.py", "real.py"]


def test_walk_symlink_to_file_outside_root_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = write(tmp_path, "outside/secret.py")
    write(root, "main.py")
    (root / "link.py").symlink_to(outside)

    files, skipped = walk_repository(root, IndexSettings(), is_supported)

    assert [item.path for item in files] == ["main.py"]
    assert [item.path for item in skipped] == ["link.py"]
    assert "outside the repository" in skipped[0].reason


def test_walk_symlinked_directory_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, "pkg/mod.py")
    write(tmp_path, "outside/other.py")
    (root / "linked").symlink_to(root / "pkg", target_is_directory=True)
    (root / "linked_out").symlink_to(tmp_path / "outside", target_is_directory=True)

    files, skipped = walk_repository(root, IndexSettings(), is_supported)

    assert [item.path for item in files] == ["pkg/mod.py"]
    assert skipped == []


def test_walk_symlinked_directory_with_source_suffix_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "pkg/mod.py")
    (tmp_path / "pkg.py").symlink_to(tmp_path / "pkg", target_is_directory=True)

    assert skip_reasons(tmp_path) == {"pkg.py": "symlink to a directory"}


def test_walk_broken_symlink_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "gone.py").symlink_to(tmp_path / "missing.py")

    assert skip_reasons(tmp_path) == {"gone.py": "broken symlink"}


def test_walk_fifo_is_ignored_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    write(tmp_path, "main.py")

    assert walk_paths(tmp_path) == ["main.py"]


def test_walk_missing_root_raises_invalid_input(tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    with pytest.raises(InvalidInput, match="does not exist") as raised:
        walk_repository(missing, IndexSettings(), is_supported)

    assert str(missing) in str(raised.value)


def test_walk_file_root_raises_invalid_input(tmp_path: Path) -> None:
    path = write(tmp_path, "main.py")

    with pytest.raises(InvalidInput, match="is not a directory"):
        walk_repository(path, IndexSettings(), is_supported)


def test_walk_relative_root_gives_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "repo/main.py")
    monkeypatch.chdir(tmp_path)

    (source,) = walk_repository(Path("repo"), IndexSettings(), is_supported)[0]

    assert source.abs_path == (tmp_path / "repo" / "main.py").resolve()
