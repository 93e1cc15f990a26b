"""Tree-sitter adapter: the only module that imports tree_sitter.

It parses source bytes, runs the `indexer/queries/<language>.scm` query once per file and
returns plain values (definitions, references, split points); the tree itself stays opaque.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

import tree_sitter
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_rust
import tree_sitter_typescript

from indexer.import_names import import_names

logger = logging.getLogger(__name__)

_GRAMMARS: dict[str, Callable[[], object]] = {
    "python": tree_sitter_python.language,
    "javascript": tree_sitter_javascript.language,
    "typescript": tree_sitter_typescript.language_typescript,
    "tsx": tree_sitter_typescript.language_tsx,
    "go": tree_sitter_go.language,
    "rust": tree_sitter_rust.language,
    "java": tree_sitter_java.language,
}
LANGUAGES: tuple[str, ...] = tuple(_GRAMMARS)

_EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
}

# Parents that belong to a definition's chunk: "always" wraps the definition whatever else
# the parent contains (decorators, `export`), "single" only when the definition is its only
# named child, as in `const f = () => {}` or `type Server struct {...}`.
_WRAPPERS: dict[str, dict[str, str]] = {
    "python": {"decorated_definition": "always"},
    "javascript": {"export_statement": "always", "lexical_declaration": "single",
                   "variable_declaration": "single"},
    "go": {"type_declaration": "single"},
    "rust": {},
    "java": {},
}
_WRAPPERS["typescript"] = _WRAPPERS["tsx"] = {**_WRAPPERS["javascript"], "ambient_declaration": "always"}

# Siblings right above a definition that belong to it: comments, Rust attributes.
_LEADING_TYPES = frozenset({"comment", "line_comment", "block_comment", "attribute_item"})

# Nodes that only group the statements or members of their parent. A cut at their start or at
# their first child would part a header ("def f():", "if x:") from its body, so neither is a
# cut point. Their later children are.
_BODY_TYPES = frozenset({
    "block", "statement_block", "statement_list", "class_body", "declaration_list",
    "field_declaration_list", "interface_body", "enum_body", "enum_body_declarations",
    "constructor_body", "switch_block", "switch_body",
})

_INHERITS_PREFIX = "; inherits:"


@dataclass(frozen=True)
class Definition:
    """A class-like or function-like definition; bytes cover its decorators and leading comments."""

    kind: str
    name: str
    start_byte: int
    end_byte: int
    receiver: str | None = None


@dataclass(frozen=True)
class Reference:
    """A call, import or base class; bytes cover the referenced name."""

    kind: str
    name: str
    start_byte: int
    end_byte: int


@dataclass(frozen=True)
class Ancestor:
    """One node on the path from the root to a leaf, seen from that leaf.

    `child_field` is the field name under which the path goes on into this node's child, and
    `child_index` that child's position among the named children that are not extras
    (comments), or -1 when the child is unnamed or an extra. `statement_count` is the number of
    those named, non-extra children.
    """

    type: str
    start_byte: int
    child_field: str | None
    child_index: int
    statement_count: int


@dataclass(frozen=True)
class LeafToken:
    """A leaf of the syntax tree with its ancestors, innermost first.

    Strings, comments and character literals count as one leaf each, so their inner parts
    (quotes, escapes, interpolations) never appear on their own.
    """

    start_byte: int
    end_byte: int
    type: str
    is_named: bool
    ancestors: tuple[Ancestor, ...]


# Named nodes that leaf_tokens() keeps whole although they have children.
_WHOLE_LEAF_TYPES = frozenset({"char_literal", "character_literal", "rune_literal", "jsx_text"})


class SyntaxTree:
    """An opaque parse tree of one file; pass it back to the functions of this module."""

    def __init__(self, tree: tree_sitter.Tree, source: bytes, language: str) -> None:
        self._tree = tree
        self.source = source
        self.language = language

    @property
    def has_errors(self) -> bool:
        """True when tree-sitter had to recover from a syntax error somewhere in the file."""
        return self._tree.root_node.has_error


def language_for_path(path: str) -> str | None:
    """Return the language name for a file path from its extension, or None if unsupported."""
    return _EXTENSIONS.get(PurePath(path).suffix.lower())


def parse(source: bytes, language: str) -> SyntaxTree:
    """Parse `source` as `language`; a syntax error gives a tree with ERROR nodes, not an exception."""
    return SyntaxTree(_parser(language).parse(source), source, language)


def top_level_spans(tree: SyntaxTree) -> list[tuple[int, int]]:
    """Return the byte spans of the root's children: a module's statements, definitions and comments."""
    return [(child.start_byte, child.end_byte) for child in tree._tree.root_node.children]


def parses_cleanly(source: bytes | str, language: str) -> bool:
    """Return True when `source` parses without any ERROR or MISSING node."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return not parse(data, language).has_errors


def error_lines(source: bytes | str, language: str) -> list[int]:
    """Return the 1-based lines where tree-sitter found ERROR or MISSING nodes, sorted."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    root = parse(data, language)._tree.root_node
    lines: set[int] = set()
    stack = [root] if root.has_error else []
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            lines.add(node.start_point.row + 1)
            continue
        stack.extend(child for child in node.children if child.has_error or child.is_missing)
    return sorted(lines)


def find_symbols(tree: SyntaxTree) -> tuple[list[Definition], list[Reference]]:
    """Run the language's query once over the tree and return its definitions and references.

    Definitions come in no particular order; references keep the order of the query's matches.
    """
    root = tree._tree.root_node
    definitions: list[Definition] = []
    references: list[Reference] = []
    main_captures = _main_captures(tree.language)
    cursor = tree_sitter.QueryCursor(_query(tree.language))
    for pattern_index, captures in cursor.matches(root):
        capture_name, is_definition, kind = main_captures[pattern_index]
        name_nodes = captures.get("name")
        if not name_nodes:
            continue
        if is_definition:
            definitions.append(_definition(tree, kind, captures[capture_name][0], name_nodes[0], captures))
        elif kind == "import":
            references.extend(_import_references(tree.language, name_nodes[0], captures))
        else:
            name_node = name_nodes[0]
            references.append(Reference(kind, _text(name_node), name_node.start_byte, name_node.end_byte))
    return definitions, references


@dataclass(frozen=True)
class NodeSpan:
    """A captured syntax node as plain values, plus an opaque handle that `parent_of` reads."""

    type: str
    start_byte: int
    end_byte: int
    handle: object = field(default=None, compare=False, repr=False)


def query_captures(tree: SyntaxTree, query_name: str) -> list[dict[str, NodeSpan]]:
    """Run `indexer/queries/<language>-<query_name>.scm` over the tree and return its matches.

    Each match maps a capture name to its first node.
    """
    cursor = tree_sitter.QueryCursor(_named_query(tree.language, query_name))
    matches: list[dict[str, NodeSpan]] = []
    for _, captures in cursor.matches(tree._tree.root_node):
        match: dict[str, NodeSpan] = {}
        for name, nodes in captures.items():
            node = nodes[0]
            match[name] = NodeSpan(node.type, node.start_byte, node.end_byte, node)
        matches.append(match)
    return matches


def parent_of(span: NodeSpan) -> NodeSpan | None:
    """Return the parent of a node captured by `query_captures`; None at the root.

    Note: tree-sitter finds a parent by descending from the root, so each call costs
    O(depth x siblings); callers walk up only as far as they need.
    """
    node = span.handle
    parent = node.parent if isinstance(node, tree_sitter.Node) else None
    if parent is None:
        return None
    return NodeSpan(parent.type, parent.start_byte, parent.end_byte, parent)


def leaf_tokens(source: bytes, language: str) -> list[LeafToken]:
    """Parse `source` and return its non-empty leaves in byte order, with their ancestors.

    Whitespace is not a leaf, so the bytes between two leaves are whitespace or, after a
    syntax error, text that no leaf covers.
    """
    root = _parser(language).parse(source).root_node
    leaves: list[LeafToken] = []
    stack: list[tuple[tree_sitter.Node, tuple[Ancestor, ...]]] = [(root, ())]
    while stack:
        node, ancestors = stack.pop()
        is_whole = node.is_named and (_is_opaque(node.type) or node.type in _WHOLE_LEAF_TYPES)
        if node.child_count == 0 or is_whole:
            if node.end_byte > node.start_byte:
                leaves.append(LeafToken(node.start_byte, node.end_byte, node.type, node.is_named, ancestors))
            continue
        stack.extend(reversed(_child_paths(node, ancestors)))
    return leaves


def _child_paths(
    node: tree_sitter.Node, ancestors: tuple[Ancestor, ...]
) -> list[tuple[tree_sitter.Node, tuple[Ancestor, ...]]]:
    children = node.children
    statement_count = sum(1 for child in children if child.is_named and not child.is_extra)
    paths = []
    named_index = 0
    for index, child in enumerate(children):
        child_index = -1
        if child.is_named and not child.is_extra:
            child_index = named_index
            named_index += 1
        step = Ancestor(node.type, node.start_byte, node.field_name_for_child(index), child_index, statement_count)
        paths.append((child, (step, *ancestors)))
    return paths


def split_points(tree: SyntaxTree, start_byte: int, end_byte: int, max_lines: int) -> list[tuple[int, int]]:
    """Return where [start_byte, end_byte) may be cut into smaller chunks, as (byte, depth) pairs.

    A cut point is the start of the line of a syntax node that begins a line inside the range.
    Depth 0 is a child of the smallest node that covers the range (the statements of a module,
    the members of a class). Nodes longer than `max_lines` and body nodes (a block, a class
    body) are opened, and their children get the next depth. Strings and comments stay closed.
    Sorted by byte; where several nodes start on one line, the lowest depth wins.
    """
    source = tree.source
    cover = tree._tree.root_node.descendant_for_byte_range(start_byte, max(start_byte, end_byte - 1))
    depth_by_byte: dict[int, int] = {}
    stack = [(cover, 0)] if cover is not None else []
    while stack:
        node, depth = stack.pop()
        children = node.named_children
        first_cut = 1 if node.type in _BODY_TYPES else 0
        for index, child in enumerate(children):
            if child.end_byte <= start_byte or child.start_byte >= end_byte:
                continue
            is_body = child.type in _BODY_TYPES
            line_start = source.rfind(b"\n", 0, child.start_byte) + 1
            is_line_start = line_start > start_byte and not source[line_start : child.start_byte].strip()
            if is_line_start and index >= first_cut and not is_body:
                depth_by_byte[line_start] = min(depth, depth_by_byte.get(line_start, depth))
            if _is_opaque(child.type):
                continue
            if is_body or child.end_point.row - child.start_point.row + 1 > max_lines:
                stack.append((child, depth + 1))
    return sorted(depth_by_byte.items())


def _is_opaque(node_type: str) -> bool:
    """Tell whether a node must stay whole: a string or comment has no statement inside."""
    return "string" in node_type or "comment" in node_type


def _definition(
    tree: SyntaxTree,
    kind: str,
    node: tree_sitter.Node,
    name_node: tree_sitter.Node,
    captures: dict[str, list[tree_sitter.Node]],
) -> Definition:
    wrappers = _WRAPPERS[tree.language]
    while (parent := node.parent) is not None and (mode := wrappers.get(parent.type)) is not None:
        if mode == "single" and parent.named_child_count != 1:
            break
        node = parent

    start_byte = _leading_start(tree.source, node)
    receiver_nodes = captures.get("receiver")
    receiver = _text(receiver_nodes[0]) if receiver_nodes else None
    return Definition(kind, _text(name_node), start_byte, node.end_byte, receiver)


def _leading_start(source: bytes, node: tree_sitter.Node) -> int:
    """Extend a definition upward over the comments and attributes directly above it."""
    start_byte = node.start_byte
    start_row = node.start_point.row
    sibling = node.prev_sibling
    while sibling is not None and sibling.type in _LEADING_TYPES and sibling.end_point.row >= start_row - 1:
        line_start = source.rfind(b"\n", 0, sibling.start_byte) + 1
        if source[line_start : sibling.start_byte].strip():
            break
        start_byte = sibling.start_byte
        start_row = sibling.start_point.row
        sibling = sibling.prev_sibling
    return start_byte


def _import_references(
    language: str, name_node: tree_sitter.Node, captures: dict[str, list[tree_sitter.Node]]
) -> list[Reference]:
    start, end = name_node.start_byte, name_node.end_byte
    module_nodes = captures.get("module")
    module_text = _text(module_nodes[0]) if module_nodes else None
    return [Reference("import", name, start, end) for name in import_names(language, _text(name_node), module_text)]


def _text(node: tree_sitter.Node) -> str:
    data = node.text
    return data.decode("utf-8", errors="replace") if data is not None else ""


_local = threading.local()


def _parser(language: str) -> tree_sitter.Parser:
    """Return this thread's parser for `language`, because a Parser must not be shared between threads."""
    parsers: dict[str, tree_sitter.Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(language)
    if parser is None:
        parser = parsers[language] = tree_sitter.Parser(_language(language))
    return parser


@functools.cache
def _language(language: str) -> tree_sitter.Language:
    grammar = _GRAMMARS.get(language)
    if grammar is None:
        raise ValueError(f"unsupported language {language!r}; expected one of {', '.join(LANGUAGES)}")
    return tree_sitter.Language(grammar())


@functools.cache
def _query(language: str) -> tree_sitter.Query:
    source = _query_source(language)
    try:
        return tree_sitter.Query(_language(language), source)
    except tree_sitter.QueryError as error:
        raise ValueError(f"query indexer/queries/{language}.scm does not compile: {error}; fix the pattern") from error


@functools.cache
def _named_query(language: str, query_name: str) -> tree_sitter.Query:
    file_name = f"{language}-{query_name}"
    try:
        return tree_sitter.Query(_language(language), _query_source(file_name))
    except FileNotFoundError:
        raise ValueError(f"no query indexer/queries/{file_name}.scm; {query_name} queries exist per language") from None
    except tree_sitter.QueryError as error:
        raise ValueError(f"query indexer/queries/{file_name}.scm does not compile: {error}; fix the pattern") from error


def _query_source(language: str) -> str:
    """Load a query file by name; a first line `; inherits: other` puts other's patterns in front."""
    text = importlib.resources.files("indexer").joinpath("queries", f"{language}.scm").read_text(encoding="utf-8")
    first_line = text.split("\n", 1)[0]
    if first_line.startswith(_INHERITS_PREFIX):
        base = first_line.removeprefix(_INHERITS_PREFIX).strip()
        return _query_source(base) + "\n" + text
    return text


@functools.cache
def _main_captures(language: str) -> tuple[tuple[str, bool, str], ...]:
    """Find each pattern's main capture as (capture name, is a definition, kind), indexed by pattern."""
    query = _query(language)
    names: list[tuple[str, bool, str]] = []
    for pattern_index in range(query.pattern_count):
        pattern_source = _pattern_text(language, query, pattern_index)
        main = [word[1:] for word in pattern_source.split() if word.startswith(("@definition.", "@reference."))]
        if len(main) != 1:
            raise ValueError(
                f"pattern {pattern_index} of indexer/queries/{language}.scm has {len(main)} main captures,"
                " expected exactly one @definition.<kind> or @reference.<kind>"
            )
        capture_name = main[0].rstrip(")")
        role, _, kind = capture_name.partition(".")
        names.append((capture_name, role == "definition", kind))
    return tuple(names)


def _pattern_text(language: str, query: tree_sitter.Query, pattern_index: int) -> str:
    source = _query_source(language).encode("utf-8")
    return source[query.start_byte_for_pattern(pattern_index) : query.end_byte_for_pattern(pattern_index)].decode()
