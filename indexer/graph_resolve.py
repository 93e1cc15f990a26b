"""Resolve references to definitions and produce the typed, weighted edges of the code graph.

Scope and imports come first (`self.save()` looks in the enclosing class and its bases, a bare
name in the file and its imports); a unique or nearly unique definition name anywhere in the
repository is the fallback, with a lower confidence. Pure logic over in-memory records.
"""

from __future__ import annotations

import builtins
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from indexer.graph_facts import ATTRIBUTE_REF, EXPRESSION_RECEIVER, RefFact
from indexer.graph_modules import ImportTarget, ModuleMap

logger = logging.getLogger(__name__)

CONTAINS, CALLS, IMPORTS, INHERITS, OVERRIDES, REFERENCES = (
    "contains", "calls", "imports", "inherits", "overrides", "references",
)
EDGE_TYPES = (CONTAINS, CALLS, IMPORTS, INHERITS, OVERRIDES, REFERENCES)

# Confidences by how a reference was resolved. Scope and imports are nearly certain; a name
# found only by searching the whole repository is a guess that shrinks with each candidate.
SCOPE_CONFIDENCE = 0.95
IMPORT_CONFIDENCE = 0.9
BASE_CLASS_CONFIDENCE = 0.85
FALLBACK_CONFIDENCE = 0.4
# A call through an attribute typed by a constructor call in the class's own file: the attribute
# may be reassigned elsewhere, so it ranks below a direct import.
ATTRIBUTE_CONFIDENCE = 0.9
MAX_FALLBACK_CANDIDATES = 3
MAX_BASE_DEPTH = 6
MAX_REEXPORT_DEPTH = 3
SELF_RECEIVERS = frozenset({"self", "this", "cls", "Self"})
SUPER_RECEIVERS = frozenset({"super"})
# Methods of Python's built-in types: `items.append(x)` on an unknown receiver is far more often
# a list than a repository method named `append`, so such names get no fallback edge.
PYTHON_BUILTIN_METHODS = frozenset(
    name for kind in (list, dict, set, str, bytes, tuple, int, float, object, frozenset) for name in dir(kind)
)
# Python's built-in functions and classes: a bare `print()` or `str()` that scope and imports do
# not resolve is the built-in, not a repository function that happens to share its name.
PYTHON_BUILTIN_NAMES = frozenset(dir(builtins))
# Languages where a bare call inside a method may mean a method of the same class.
_IMPLICIT_THIS = frozenset({"java"})
_CLASS_TYPES = frozenset({"class", "struct", "interface", "enum", "trait", "impl", "record"})


@dataclass(frozen=True)
class DefRecord:
    """A definition node: a "def" symbol with its file's language."""

    path: str
    name: str
    symbol_type: str
    parent: str | None
    language: str


@dataclass(frozen=True)
class Edge:
    """A directed, typed graph edge between node keys; `path` is the file whose facts produced it."""

    source: str
    target: str
    edge_type: str
    confidence: float
    path: str
    lineno: int


def def_key(path: str, name: str) -> str:
    """Return the node key of a definition; a file's node key is its path."""
    return f"{path}::{name}"


def short_name(name: str) -> str:
    """Return the last part of a qualified name ("Warehouse.add" gives "add")."""
    return name.rsplit(".", 1)[-1]


class Resolver:
    """Global lookup tables of one repository, built from all definitions and files."""

    def __init__(self, files: dict[str, str], defs: Iterable[DefRecord]) -> None:
        self.files = files
        self.modules = ModuleMap(files)
        self.defs_by_path: dict[str, dict[str, DefRecord]] = defaultdict(dict)
        self.defs_by_short: dict[str, list[DefRecord]] = defaultdict(list)
        for record in defs:
            self.defs_by_path[record.path].setdefault(record.name, record)
            self.defs_by_short[short_name(record.name)].append(record)
        self.bases: dict[str, list[tuple[str, float]]] = {}
        self._bindings: dict[str, dict[str, ImportTarget]] = {}
        self._wildcards: dict[str, list[ImportTarget]] = {}
        self._named_imports: dict[str, list[tuple[ImportTarget, int]]] = {}
        self._imported_paths: dict[str, frozenset[str]] = {}

    def contains_edges(self, path: str) -> list[Edge]:
        """Return the edges from a file to its top-level definitions and from classes to members."""
        edges: list[Edge] = []
        for name, record in self.defs_by_path.get(path, {}).items():
            parent_key = self._parent_key(record)
            edges.append(Edge(parent_key or path, def_key(path, name), CONTAINS, 1.0, path, 0))
        return edges

    def _parent_key(self, record: DefRecord) -> str | None:
        if record.parent is None:
            return None
        scope = self.modules.package_files(record.path) if record.language == "go" else (record.path,)
        for path in scope:
            if record.parent in self.defs_by_path.get(path, {}):
                return def_key(path, record.parent)
        return None

    def bind_imports(self, path: str, language: str, facts: list[RefFact]) -> list[Edge]:
        """Record the names a file's imports bind, and return its import edges (file to file)."""
        bindings: dict[str, ImportTarget] = {}
        wildcards: list[ImportTarget] = []
        named: list[tuple[ImportTarget, int]] = []
        edges: dict[str, Edge] = {}
        for fact in facts:
            if fact.ref_type != "import":
                continue
            target = self.modules.resolve(path, language, fact.name)
            if target is None:
                continue
            for target_path in target.paths:
                if target_path != path:
                    edges.setdefault(target_path, Edge(path, target_path, IMPORTS, target.confidence, path, fact.lineno))
            if target.name == "*":
                wildcards.append(target)
                continue
            if target.name is not None:
                named.append((target, fact.lineno))
            for local in bound_names(language, fact, target):
                bindings.setdefault(local, target)
        self._bindings[path] = bindings
        self._wildcards[path] = wildcards
        self._named_imports[path] = named
        self._imported_paths[path] = frozenset(edges)
        return list(edges.values())

    def reference_edges(self, path: str) -> list[Edge]:
        """Return an edge from a file to each definition it imports by name; call after every `bind_imports`."""
        edges: dict[str, Edge] = {}
        for target, lineno in self._named_imports.get(path, []):
            key = self._module_member(target.paths, target.name or "", MAX_REEXPORT_DEPTH)
            if key is not None:
                edges.setdefault(key, Edge(path, key, REFERENCES, target.confidence, path, lineno))
        return list(edges.values())

    def _module_member(self, paths: tuple[str, ...], member: str, depth: int) -> str | None:
        """Find a definition in a module, following the module's own imports (a package's
        `__init__` re-exporting `from .case import TestCase`) up to `depth` times."""
        if not member:
            return None
        for path in paths:
            if member in self.defs_by_path.get(path, {}):
                return def_key(path, member)
        if depth <= 0:
            return None

        head, _, rest = member.partition(".")
        for path in paths:
            binding = self._bindings.get(path, {}).get(head)
            if binding is not None and binding.paths != paths:
                inner = ".".join(part for part in (binding.name, rest) if part)
                found = self._module_member(binding.paths, inner, depth - 1)
                if found is not None:
                    return found
            for wildcard in self._wildcards.get(path, []):
                found = self._module_member(wildcard.paths, member, depth - 1)
                if found is not None:
                    return found
        return None

    def resolve_bases(self, path: str, facts: list[RefFact]) -> list[Edge]:
        """Resolve a file's base classes, record them for member lookup, and return the inherits edges."""
        edges: list[Edge] = []
        for fact in facts:
            if fact.ref_type != "inherits" or fact.owner is None:
                continue
            receiver, _, name = fact.name.replace("::", ".").rpartition(".")
            owner_key = def_key(path, fact.owner)
            for target, confidence in self._resolve_name(path, fact.owner, receiver or None, name, class_only=True):
                if target == owner_key:
                    continue
                self.bases.setdefault(owner_key, []).append((target, confidence))
                edges.append(Edge(owner_key, target, INHERITS, confidence, path, fact.lineno))
        return edges

    def call_edges(self, path: str, facts: list[RefFact]) -> list[Edge]:
        """Resolve a file's calls; call `bind_imports` and `resolve_bases` for every file first."""
        edges: list[Edge] = []
        for fact, targets in self.resolve_calls(path, facts):
            source = def_key(path, fact.owner) if fact.owner else path
            for target, confidence in targets:
                if target != source:
                    edges.append(Edge(source, target, CALLS, confidence, path, fact.lineno))
        return edges

    def resolve_calls(self, path: str, facts: list[RefFact]) -> list[tuple[RefFact, list[tuple[str, float]]]]:
        """Resolve each call fact of one file, using the file's typed attributes (`self.lock = Lock()`)."""
        attribute_types = self._attribute_types(path, facts)
        return [
            (fact, self._resolve_through_attribute(fact, attribute_types) or self.resolve_call(fact))
            for fact in facts
            if fact.ref_type == "call"
        ]

    def _attribute_types(self, path: str, facts: list[RefFact]) -> dict[tuple[str, str], tuple[str, float]]:
        """Map (scope key, name) to the class that the file's code assigns to that name.

        The scope of "self.NAME" is the enclosing class, that of a local NAME the enclosing
        definition (or the file). A name assigned instances of two different classes, or
        anything but a class, is left out.
        """
        found: dict[tuple[str, str], tuple[str, float] | None] = {}
        for fact in facts:
            if fact.ref_type != ATTRIBUTE_REF or fact.receiver is None:
                continue
            scope = self._name_scope(path, fact.owner, fact.receiver)
            if scope is None:
                continue
            receiver, _, name = fact.name.rpartition(".")
            targets = self._resolve_name(path, fact.owner, receiver or None, name, class_only=True)
            target = targets[0] if len(targets) == 1 and self._is_class(targets[0][0]) else None
            key = (scope, fact.receiver)
            earlier = found.get(key, target)
            found[key] = target if earlier is not None and target is not None and earlier[0] == target[0] else None
        return {key: value for key, value in found.items() if value is not None}

    def _resolve_through_attribute(
        self, fact: RefFact, attribute_types: dict[tuple[str, str], tuple[str, float]]
    ) -> list[tuple[str, float]]:
        """Resolve `self.NAME.method()` or `NAME.method()` through the class assigned to the name; empty when unknown."""
        if not attribute_types or fact.receiver is None or fact.receiver.count(".") > 1:
            return []
        if "." in fact.receiver and fact.receiver.partition(".")[0] != "self":
            return []
        scope = self._name_scope(fact.path, fact.owner, fact.receiver)
        typed = attribute_types.get((scope or "", fact.receiver))
        if typed is None:
            return []
        found = self._find_member(typed[0], fact.name, typed[1] * ATTRIBUTE_CONFIDENCE, MAX_BASE_DEPTH)
        return [found] if found else []

    def _is_class(self, key: str) -> bool:
        path, _, name = key.partition("::")
        record = self.defs_by_path.get(path, {}).get(name)
        return record is not None and record.symbol_type in _CLASS_TYPES

    def _name_scope(self, path: str, owner: str | None, name: str) -> str | None:
        """Return the key of the scope a typed name belongs to: the class for "self.NAME"."""
        if name.startswith("self."):
            return self._enclosing_class(path, self.defs_by_path.get(path, {}).get(owner or ""))
        return def_key(path, owner) if owner else path

    def resolve_call(self, fact: RefFact) -> list[tuple[str, float]]:
        """Return the definitions one call may reach, with confidences; empty when it stays unresolved.

        Scope and imports give at most one target. The by-name fallback gives up to
        `MAX_FALLBACK_CANDIDATES`, each with `FALLBACK_CONFIDENCE` shared among them.
        """
        return self._resolve_name(fact.path, fact.owner, fact.receiver, fact.name)

    def override_edges(self, path: str) -> list[Edge]:
        """Return an edge from each method of the file to the base-class method it overrides."""
        edges: list[Edge] = []
        for name, record in self.defs_by_path.get(path, {}).items():
            if record.parent is None or record.symbol_type != "method":
                continue
            class_key = self._parent_key(record)
            if class_key is None:
                continue
            for base, confidence in self.bases.get(class_key, []):
                found = self._find_member(base, short_name(name), confidence, MAX_BASE_DEPTH)
                if found is not None:
                    edges.append(Edge(def_key(path, name), found[0], OVERRIDES, found[1], path, 0))
                    break
        return edges

    def _resolve_name(
        self, path: str, owner: str | None, receiver: str | None, name: str, class_only: bool = False
    ) -> list[tuple[str, float]]:
        record = self.defs_by_path.get(path, {}).get(owner) if owner else None
        language = self.files.get(path, "")
        class_key = self._enclosing_class(path, record)

        if receiver in SELF_RECEIVERS or receiver in SUPER_RECEIVERS:
            if class_key is None:
                return []
            if receiver in SUPER_RECEIVERS:
                found = self._find_in_bases(class_key, name, BASE_CLASS_CONFIDENCE, MAX_BASE_DEPTH)
            else:
                found = self._find_member(class_key, name, SCOPE_CONFIDENCE, MAX_BASE_DEPTH)
            return [found] if found else self._fallback(path, name, methods_only=True)

        if receiver is None:
            found = self._resolve_bare(path, language, class_key, name)
        elif receiver == EXPRESSION_RECEIVER:
            found = None
        else:
            found = self._resolve_qualified(path, language, class_key, receiver, name)
        if found is not None:
            return [found]
        if language == "python" and name in (PYTHON_BUILTIN_METHODS if receiver is not None else PYTHON_BUILTIN_NAMES):
            return []
        if receiver is not None and self._is_module_receiver(path, receiver):
            # `struct.pack()` on an imported module that defines no `pack`: the function is
            # native or made at run time, so a same-named method elsewhere would be a wrong guess.
            return []
        if receiver is None and not class_only:
            return self._fallback(path, name, functions_only=True)
        return self._fallback(path, name, methods_only=not class_only, class_only=class_only)

    def _is_module_receiver(self, path: str, receiver: str) -> bool:
        """Tell whether a receiver is, or starts with, a module that the file imports whole."""
        bindings = self._bindings.get(path, {})
        binding = bindings.get(receiver) or bindings.get(receiver.partition(".")[0])
        return binding is not None and binding.name is None

    def _enclosing_class(self, path: str, record: DefRecord | None) -> str | None:
        if record is None:
            return None
        if record.symbol_type in _CLASS_TYPES:
            return def_key(path, record.name)
        return self._parent_key(record)

    def _resolve_bare(self, path: str, language: str, class_key: str | None, name: str) -> tuple[str, float] | None:
        if language in _IMPLICIT_THIS and class_key is not None:
            found = self._find_member(class_key, name, SCOPE_CONFIDENCE, MAX_BASE_DEPTH)
            if found is not None:
                return found
        scope = self.modules.package_files(path) if language == "go" else (path,)
        for scope_path in scope:
            if name in self.defs_by_path.get(scope_path, {}):
                return def_key(scope_path, name), SCOPE_CONFIDENCE

        binding = self._bindings.get(path, {}).get(name)
        if binding is not None and binding.name not in (None, "*"):
            key = self._module_member(binding.paths, binding.name or "", MAX_REEXPORT_DEPTH)
            if key is not None:
                return key, IMPORT_CONFIDENCE * binding.confidence
        for wildcard in self._wildcards.get(path, []):
            key = self._module_member(wildcard.paths, name, MAX_REEXPORT_DEPTH)
            if key is not None:
                return key, IMPORT_CONFIDENCE * wildcard.confidence
        return None

    def _resolve_qualified(
        self, path: str, language: str, class_key: str | None, receiver: str, name: str
    ) -> tuple[str, float] | None:
        bindings = self._bindings.get(path, {})
        head, _, rest = receiver.partition(".")
        binding, suffix = (bindings[receiver], "") if receiver in bindings else (bindings.get(head), rest)
        if binding is not None:
            member = ".".join(part for part in (binding.name, suffix, name) if part)
            key = self._module_member(binding.paths, member, MAX_REEXPORT_DEPTH)
            if key is not None:
                return key, IMPORT_CONFIDENCE * binding.confidence
            if binding.name is not None:
                # `Class.method()` on an imported class: the method may be inherited.
                class_key = self._module_member(binding.paths, binding.name, MAX_REEXPORT_DEPTH)
                if class_key is not None:
                    return self._find_in_bases(class_key, name, IMPORT_CONFIDENCE, MAX_BASE_DEPTH)
            return None

        if receiver in self.defs_by_path.get(path, {}):
            return self._find_member(def_key(path, receiver), name, SCOPE_CONFIDENCE, MAX_BASE_DEPTH)
        if language == "go" and class_key is not None and "." not in receiver:
            # A Go method calls its siblings through the receiver variable, whose name varies.
            return self._find_member(class_key, name, BASE_CLASS_CONFIDENCE, MAX_BASE_DEPTH)
        return None

    def _find_member(self, class_key: str, member: str, confidence: float, depth: int) -> tuple[str, float] | None:
        path, _, class_name = class_key.partition("::")
        language = self.files.get(path, "")
        scope = self.modules.package_files(path) if language == "go" else (path,)
        qualified = f"{class_name}.{member}"
        for scope_path in scope:
            if qualified in self.defs_by_path.get(scope_path, {}):
                return def_key(scope_path, qualified), confidence
        return self._find_in_bases(class_key, member, confidence, depth)

    def _find_in_bases(self, class_key: str, member: str, confidence: float, depth: int) -> tuple[str, float] | None:
        if depth <= 0:
            return None
        for base, base_confidence in self.bases.get(class_key, []):
            found = self._find_member(base, member, min(confidence, base_confidence), depth - 1)
            if found is not None:
                return found
        return None

    def _fallback(
        self, path: str, name: str, methods_only: bool = False, class_only: bool = False, functions_only: bool = False
    ) -> list[tuple[str, float]]:
        """Find definitions of `name` by name alone, for a reference in file `path`.

        A name with more than `MAX_FALLBACK_CANDIDATES` definitions in the repository gets
        none. Of the others, only definitions that `path` can reach count: in the file itself,
        in its folder or in a file it imports. `functions_only` takes functions and classes,
        which a bare call can reach, and leaves out methods, which need a receiver.
        """
        candidates = [
            record
            for record in self.defs_by_short.get(name, [])
            if (not methods_only or record.symbol_type == "method")
            and (not class_only or record.symbol_type in _CLASS_TYPES)
            and (not functions_only or record.symbol_type != "method")
        ]
        if not candidates or len(candidates) > MAX_FALLBACK_CANDIDATES:
            return []
        folder = path.rpartition("/")[0]
        imported = self._imported_paths.get(path, frozenset())
        reachable = [
            record for record in candidates
            if record.path == path or record.path.rpartition("/")[0] == folder or record.path in imported
        ]
        if not reachable:
            return []
        confidence = FALLBACK_CONFIDENCE / len(reachable)
        return [(def_key(record.path, record.name), confidence) for record in reachable]


def bound_names(language: str, fact: RefFact, target: ImportTarget) -> list[str]:
    """Return the local names an import binds: its alias, its last part, and for Python `import a.b` the dotted name."""
    if fact.alias:
        return [fact.alias]
    if language in ("javascript", "typescript", "tsx") and target.name is None:
        return []
    separator = "::" if language == "rust" else "/" if language == "go" else "."
    name = fact.name.lstrip(".")
    names = [name.rsplit(separator, 1)[-1]]
    if language == "python" and target.name is None and "." in name:
        names.append(name)
    return names


def resolve_all(
    resolver: Resolver, facts_by_path: dict[str, list[RefFact]], call_paths: Iterable[str] | None = None
) -> list[Edge]:
    """Produce the graph edges; calls, contains and overrides only for `call_paths` (None: every file).

    Imports and base classes of every file are always resolved, because member lookup through
    a base class in another file needs them.
    """
    edges: list[Edge] = []
    selected = set(resolver.files) if call_paths is None else set(call_paths) & set(resolver.files)
    for path, language in resolver.files.items():
        import_edges = resolver.bind_imports(path, language, facts_by_path.get(path, []))
        if path in selected:
            edges.extend(import_edges)
    for path in resolver.files:
        base_edges = resolver.resolve_bases(path, facts_by_path.get(path, []))
        if path in selected:
            edges.extend(base_edges)
    for path in sorted(selected):
        edges.extend(resolver.reference_edges(path))
        edges.extend(resolver.contains_edges(path))
        edges.extend(resolver.call_edges(path, facts_by_path.get(path, [])))
        edges.extend(resolver.override_edges(path))
    return _deduplicated(edges)


def _deduplicated(edges: list[Edge]) -> list[Edge]:
    """Keep one edge per (source, target, type), the most confident, because a repeated call
    would otherwise take a larger share of the flow in path search."""
    best: dict[tuple[str, str, str], Edge] = {}
    for edge in edges:
        key = (edge.source, edge.target, edge.edge_type)
        kept = best.get(key)
        if kept is None or edge.confidence > kept.confidence:
            best[key] = edge
    return list(best.values())
