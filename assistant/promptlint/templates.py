"""Template syntaxes of prompts and the placeholders and brace problems each one has."""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.promptlint.literals import Field

logger = logging.getLogger(__name__)


class TemplateSyntax(str, enum.Enum):
    """The template syntax that decides how a prompt's placeholders are written and filled."""

    PLAIN = "plain"
    FSTRING = "f-string"
    TEMPLATE_LITERAL = "template-literal"
    FORMAT = "str.format"
    PERCENT = "percent"
    LANGCHAIN_FSTRING = "langchain-f-string"
    JINJA = "jinja"
    MUSTACHE = "mustache"

    @property
    def uses_format_braces(self) -> bool:
        """True when `{name}` is a placeholder and a literal brace must be doubled."""
        return self in (TemplateSyntax.FORMAT, TemplateSyntax.LANGCHAIN_FSTRING)


@dataclass(frozen=True)
class Placeholder:
    """A placeholder in text coordinates; `name` is the root name (`user` for `{user.name}`), "" if positional."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class BraceProblem:
    """Braces that str.format would misread, in text coordinates."""

    start: int
    end: int
    reason: str


_FIELD_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\]\"']+\])*")
_POSITIONAL = re.compile(r"\d*")
_PERCENT = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<kind>[diouxXeEfFgGcrsa%])")
_JINJA_EXPRESSION = re.compile(r"\{\{-?\s*(?P<body>.*?)\s*-?\}\}|\{%-?\s*(?P<statement>.*?)\s*-?%\}", re.DOTALL)
_JINJA_NAME = re.compile(r"(?<![\w.'\"])([A-Za-z_]\w*)")
_JINJA_RESERVED = frozenset({
    "and", "or", "not", "in", "is", "if", "else", "elif", "endif", "for", "endfor", "set", "endset",
    "true", "false", "none", "True", "False", "None", "loop", "range", "block", "endblock", "extends",
    "include", "import", "from", "as", "with", "endwith", "macro", "endmacro", "call", "endcall",
    "filter", "endfilter", "raw", "endraw", "recursive", "without", "context", "ignore", "missing",
    "namespace", "super", "self", "varargs", "kwargs", "caller", "dict", "lipsum", "cycler", "joiner",
})
_MUSTACHE_TAG = re.compile(r"\{\{\{\s*(?P<raw>[^}]+?)\s*\}\}\}|\{\{\s*(?P<sigil>[#^/!>&]?)\s*(?P<name>[^}]*?)\s*\}\}")
_JINJA_MARKERS = re.compile(r"\{%-?\s*\w|\{\{-?\s*[\w.]+\s*(\||-?\}\})")


def format_placeholders(text: str, fields: Sequence[Field] = ()) -> tuple[list[Placeholder], list[BraceProblem]]:
    """Scan a str.format template; text inside `fields` (f-string interpolations) is skipped."""
    placeholders: list[Placeholder] = []
    problems: list[BraceProblem] = []
    skip = {field.start: field.end for field in fields}
    index = 0
    while index < len(text):
        if index in skip:
            index = skip[index]
            continue
        char = text[index]
        if char not in "{}":
            index += 1
            continue
        if text[index + 1:index + 2] == char:
            index += 2
            continue
        if char == "}":
            problems.append(BraceProblem(index, index + 1, "a single '}'"))
            index += 1
            continue
        end = _matching_brace(text, index)
        if end < 0:
            problems.append(BraceProblem(index, index + 1, "a '{' without a closing '}'"))
            index += 1
            continue
        name = _field_root(text[index + 1:end])
        if name is None:
            problems.append(BraceProblem(index, end + 1, "braces around text that is not a field name"))
        else:
            placeholders.append(Placeholder(name, index, end + 1))
        index = end + 1
    return placeholders, problems


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _field_root(content: str) -> str | None:
    """Return the root name of a format field (`""` when positional), or None if it is no field."""
    name = re.split(r"[!:]", content, maxsplit=1)[0]
    if _POSITIONAL.fullmatch(name):
        return ""
    if _FIELD_NAME.fullmatch(name):
        return re.split(r"[.\[]", name, maxsplit=1)[0]
    return None


def percent_placeholders(text: str) -> list[Placeholder]:
    """Scan a %-template; a positional `%s` gets the name ""."""
    found: list[Placeholder] = []
    for match in _PERCENT.finditer(text):
        if match.group("kind") == "%":
            continue
        found.append(Placeholder(match.group("name") or "", match.start(), match.end()))
    return found


def jinja_placeholders(text: str) -> list[Placeholder]:
    """List the variables a Jinja template reads from its context (names bound by for/set are left out)."""
    bound: set[str] = set()
    for match in _JINJA_EXPRESSION.finditer(text):
        statement = match.group("statement") or ""
        loop = re.match(r"for\s+([\w\s,]+?)\s+in\b", statement)
        if loop:
            bound.update(name.strip() for name in loop.group(1).split(","))
        assigned = re.match(r"set\s+(\w+)", statement)
        if assigned:
            bound.add(assigned.group(1))

    found: list[Placeholder] = []
    for match in _JINJA_EXPRESSION.finditer(text):
        group = "body" if match.group("body") is not None else "statement"
        body = match.group(group)
        for name_match in _JINJA_NAME.finditer(_without_strings(body)):
            name = name_match.group(1)
            before = body[:name_match.start()].rstrip()
            if name in _JINJA_RESERVED or name in bound or before.endswith(("|", "for")):
                continue
            found.append(Placeholder(name, match.start(), match.end()))
    return found


def _without_strings(text: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", lambda m: " " * len(m.group(0)), text)


def mustache_placeholders(text: str) -> list[Placeholder]:
    """List the top-level names a mustache template reads (`{{name}}`, `{{#section}}`, `{{{raw}}}`)."""
    found: list[Placeholder] = []
    for match in _MUSTACHE_TAG.finditer(text):
        sigil = match.group("sigil") or ""
        name = match.group("raw") or match.group("name") or ""
        if sigil in ("/", "!", ">") or name in ("", "."):
            continue
        found.append(Placeholder(name.lstrip("&").strip().split(".")[0], match.start(), match.end()))
    return found


def placeholders_for(syntax: TemplateSyntax, text: str, fields: Sequence[Field] = ()) -> list[Placeholder]:
    """Return the placeholders of `text` written in `syntax`; plain text and f-strings have none to fill."""
    if syntax.uses_format_braces:
        return format_placeholders(text, fields)[0]
    if syntax is TemplateSyntax.PERCENT:
        return percent_placeholders(text)
    if syntax is TemplateSyntax.JINJA:
        return jinja_placeholders(text)
    if syntax is TemplateSyntax.MUSTACHE:
        return mustache_placeholders(text)
    return []


def guess_file_syntax(text: str, suffix: str) -> TemplateSyntax:
    """Guess the syntax of a prompt template file from its extension and content."""
    if suffix in (".j2", ".jinja", ".jinja2"):
        return TemplateSyntax.JINJA
    if suffix == ".mustache":
        return TemplateSyntax.MUSTACHE
    if "{%" in text or _JINJA_MARKERS.search(text):
        return TemplateSyntax.JINJA
    if "{{" in text:
        return TemplateSyntax.MUSTACHE
    if format_placeholders(text)[0]:
        return TemplateSyntax.FORMAT
    return TemplateSyntax.PLAIN
