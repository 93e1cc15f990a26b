"""Turn the text of an import that a query captured into the full names it imports.

Pure text handling, kept apart from the tree-sitter adapter so it can be tested on strings.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")


def import_names(language: str, name_text: str, module_text: str | None) -> list[str]:
    """Return the full names that one captured import brings in, as the language writes them.

    Args:
        language: a language name from `indexer.parse.LANGUAGES`.
        name_text: the text of the import's `@name` capture.
        module_text: the text of its `@module` capture (Python `from` module, JavaScript
            module specifier), or None when the pattern has none.

    Returns:
        Python "os.path.join" and ".utils", JavaScript "react.useState" and "./api",
        Go "net/http", Rust "std::io::Write", Java "java.util.List" and "java.io.*".
    """
    if language == "rust":
        return expand_use_tree(name_text)

    if language == "java":
        return [_java_import_path(name_text)]

    name = _WHITESPACE.sub("", name_text)
    if not module_text:
        return [name]

    module = _WHITESPACE.sub("", module_text)
    # A relative Python module such as "." or ".." ends in a dot already.
    separator = "" if module.endswith(".") else "."
    return [module + separator + name]


def expand_use_tree(text: str) -> list[str]:
    """Expand a Rust use tree into one path per imported item.

    `crate::a::{b::{c, d as e}, self}` becomes "crate::a::b::c", "crate::a::b::d" and
    "crate::a"; an alias keeps the original path, and `self` names the enclosing module.
    """
    normalized = _WHITESPACE.sub(" ", text).replace(" ::", "::").replace(":: ", "::")
    return _expand(normalized, prefix="")


def _expand(tree: str, prefix: str) -> list[str]:
    tree = tree.strip()
    if not tree:
        return []

    brace = tree.find("{")
    if brace == -1:
        path = tree.split(" as ", 1)[0].strip()
        if path == "self":
            return [prefix.removesuffix("::") or "self"]
        return [prefix + path]

    head = tree[:brace].strip()
    close = tree.rfind("}")
    inner = tree[brace + 1 : close if close > brace else len(tree)]
    names: list[str] = []
    for item in _split_top_level(inner):
        names.extend(_expand(item, prefix + head))
    return names


def _split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside braces."""
    items: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return items


def _java_import_path(declaration: str) -> str:
    body = declaration.strip().removeprefix("import").strip()
    if body.startswith("static") and body[len("static") : len("static") + 1].isspace():
        body = body[len("static") :]
    return _WHITESPACE.sub("", body.rstrip().removesuffix(";"))
