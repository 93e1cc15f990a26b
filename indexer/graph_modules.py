"""Map import names to the files of a repository: module names per file and import lookup.

Pure path handling for the code graph. A file is known under every suffix of its module name
(`email/mime/text.py` is "email.mime.text", "mime.text" and "text"), so an import resolves
whatever folder the repository root puts in front of the package.
"""

from __future__ import annotations

import logging
import posixpath
from collections import defaultdict
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_PACKAGE_FILES = {
    "python": ("__init__",),
    "rust": ("mod", "lib", "main"),
    "javascript": ("index",),
    "typescript": ("index",),
    "tsx": ("index",),
}
_SCRIPT_EXTENSIONS = ("", ".js", ".ts", ".tsx", ".jsx", ".mjs", ".cjs", "/index.js", "/index.ts", "/index.tsx")
# Rust path roots that name the current crate or module rather than a folder.
_RUST_ROOTS = frozenset({"crate", "self", "super"})
AMBIGUOUS_MODULE_CONFIDENCE = 0.6
"""Confidence of an import whose name matches several files; the nearest file is taken."""


@dataclass(frozen=True)
class ImportTarget:
    """Where an import points: the files of the module, and the definition inside when named.

    A Go package is a folder, so its target lists every file of the folder. `name` is None for
    a whole module, "*" for a wildcard import, else a qualified definition name.
    """

    paths: tuple[str, ...]
    name: str | None
    confidence: float


class ModuleMap:
    """The module names of every indexed file, for resolving imports."""

    def __init__(self, files: dict[str, str]) -> None:
        self._files = files
        self._by_suffix: dict[str, list[str]] = defaultdict(list)
        for path, language in sorted(files.items()):
            parts = module_parts(path, language)
            for start in range(len(parts)):
                self._by_suffix[".".join(parts[start:])].append(path)

    def package_files(self, path: str) -> tuple[str, ...]:
        """Return the files of the Go package (folder) that contains `path`."""
        return tuple(self._by_suffix.get(".".join(module_parts(path, "go")), [path])) or (path,)

    def resolve(self, importer: str, language: str, import_name: str) -> ImportTarget | None:
        """Resolve one import name of file `importer` to a target, or None when it is outside the repository."""
        if language in ("javascript", "typescript", "tsx") and import_name.startswith("."):
            return self._resolve_script_path(importer, import_name)

        parts = import_parts(importer, language, import_name)
        for size in range(len(parts), 0, -1):
            candidates = self._by_suffix.get(".".join(parts[:size]))
            if not candidates:
                continue
            rest = parts[size:]
            name = ".".join(rest) if rest else None
            if language == "go":
                return ImportTarget(tuple(candidates), name, 1.0)
            chosen, confidence = _nearest(importer, candidates)
            return ImportTarget((chosen,), name, confidence)
        return None

    def _resolve_script_path(self, importer: str, specifier: str) -> ImportTarget | None:
        base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
        found = self._existing_script(base)
        if found is not None:
            return ImportTarget((found,), None, 1.0)

        # A named import arrives joined to its module as "./api.fetchItems".
        module, dot, name = specifier.rpartition(".")
        if not dot or "/" in name or not module.strip("./"):
            return None
        found = self._existing_script(posixpath.normpath(posixpath.join(posixpath.dirname(importer), module)))
        return ImportTarget((found,), name, 1.0) if found is not None else None

    def _existing_script(self, base: str) -> str | None:
        return next((base + ext for ext in _SCRIPT_EXTENSIONS if base + ext in self._files), None)


def module_parts(path: str, language: str) -> list[str]:
    """Return the module name of a file as parts: a Go file's package folder, else the path without extension."""
    folder, _, filename = path.rpartition("/")
    folder_parts = [part for part in folder.split("/") if part]
    if language == "go":
        return folder_parts
    stem = filename.split(".", 1)[0] if language in ("javascript", "typescript", "tsx") else filename.rsplit(".", 1)[0]
    if stem in _PACKAGE_FILES.get(language, ()):
        return folder_parts
    return [*folder_parts, stem]


def import_parts(importer: str, language: str, import_name: str) -> list[str]:
    """Split an import name into module-name parts, resolving Python's leading dots against `importer`."""
    if language == "python" and import_name.startswith("."):
        level = len(import_name) - len(import_name.lstrip("."))
        package = module_parts(importer, "python")
        if not importer.endswith(("/__init__.py", "/__init__.pyi")) and importer not in ("__init__.py", "__init__.pyi"):
            package = package[:-1]
        base = package[: len(package) - (level - 1)] if level > 1 else package
        rest = [part for part in import_name[level:].split(".") if part]
        return [*base, *rest]
    if language == "rust":
        parts = [part for part in import_name.split("::") if part]
        while parts and parts[0] in _RUST_ROOTS:
            parts = parts[1:]
        return parts
    if language == "go" or language in ("javascript", "typescript", "tsx"):
        return [part for part in import_name.replace("/", ".").split(".") if part]
    return [part for part in import_name.split(".") if part]


def _nearest(importer: str, candidates: list[str]) -> tuple[str, float]:
    if len(candidates) == 1:
        return candidates[0], 1.0
    folder = importer.split("/")

    def shared(path: str) -> int:
        count = 0
        for mine, theirs in zip(folder, path.split("/")):
            if mine != theirs:
                break
            count += 1
        return count

    best = max(candidates, key=lambda path: (shared(path), -len(path)))
    return best, AMBIGUOUS_MODULE_CONFIDENCE
