"""Template rules: unfilled and unknown placeholders, literal braces, a missing f prefix,
trailing whitespace and leaking indentation."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from assistant.promptlint.discovery import Prompt, Template
from assistant.promptlint.facts import FileFacts
from assistant.promptlint.finding import RULES, Finding, Fix, TextEdit, finding
from assistant.promptlint.templates import (
    Placeholder,
    TemplateSyntax,
    format_placeholders,
    placeholders_for,
)

logger = logging.getLogger(__name__)

# A template assigned to such a name is formatted elsewhere, so `{name}` in it is no missing f.
TEMPLATE_NAME = re.compile(r"template|tmpl|tpl|fmt|format", re.IGNORECASE)
# Names of prompt parts that other text follows, such as the user turn after a system message.
MESSAGE_PART_NAME = re.compile(r"system|instruction|persona|preamble", re.IGNORECASE)
MIN_LEAKED_INDENT = 2
_STRING_EXPRESSIONS = frozenset({"string", "concatenated_string", "template_string"})


def check_fills(template: Template) -> Iterator[Finding]:
    """RCP001 and RCP002: compare placeholders with the fills and declarations seen in the file."""
    placeholders = [(prompt, item) for prompt in template.prompts
                    for item in placeholders_for(template.syntax, prompt.text.text, prompt.text.fields)]
    if any(item.name == "" for _, item in placeholders):
        return
    names = {item.name for _, item in placeholders}
    used = names | template.message_variables
    reported: set[str] = set()
    for site in template.fill_sites:
        if site.names is None:
            continue
        filled = site.names | template.partial_names
        for prompt, item in placeholders:
            if item.name not in filled and item.name not in reported:
                reported.add(item.name)
                passed = ", ".join(sorted(site.names)) or "nothing"
                message = (f"placeholder {{{item.name}}} is never filled: {site.description} "
                           f"passes {passed}; pass {item.name} there or remove the placeholder")
                start, end = prompt.text.source_span(item.start, item.end)
                yield Finding("RCP001", RULES["RCP001"].severity, message, start, end,
                              related=(site.start_byte, site.start_byte))
        for name, start, end in site.name_spans:
            if name not in used:
                message = (f"{site.description} fills {name}, which the template does not use "
                           f"(placeholders: {', '.join(sorted(names)) or 'none'}); rename it or drop it")
                yield finding("RCP002", message, start, end)
    yield from _check_declared(template, placeholders, used, reported)


def _check_declared(template: Template, placeholders: list[tuple[Prompt, Placeholder]], names: set[str],
                    reported: set[str]) -> Iterator[Finding]:
    if template.declared is None or template.declared_span is None:
        return
    declared = template.declared | template.partial_names
    for prompt, item in placeholders:
        if item.name not in declared and item.name not in reported:
            reported.add(item.name)
            message = (f"placeholder {{{item.name}}} is missing from input_variables "
                       f"({', '.join(sorted(template.declared)) or 'empty'}); add it there or remove the placeholder")
            yield _at_text(prompt, "RCP001", message, item.start, item.end)
    for name in sorted(template.declared - names):
        message = f"input variable {name} has no placeholder {{{name}}} in the template; remove it or add the placeholder"
        yield finding("RCP002", message, *template.declared_span)


def check_braces(source: bytes, prompt: Prompt) -> Iterator[Finding]:
    """RCP003: braces that str.format or an f-string would read as a field."""
    if prompt.syntax.uses_format_braces:
        for problem in format_placeholders(prompt.text.text, prompt.text.fields)[1]:
            snippet = _clip(prompt.text.text[problem.start:problem.end])
            kind = "LangChain template" if prompt.syntax is TemplateSyntax.LANGCHAIN_FSTRING else "str.format template"
            message = (f"{kind} contains {problem.reason} in {snippet!r}, which raises or fills the wrong value "
                       "at run time; double the braces ({{ and }}) to write them literally")
            start, end = prompt.text.source_span(problem.start, problem.end)
            yield finding("RCP003", message, start, end, _escape_fix(source, start, end))
    elif prompt.syntax is TemplateSyntax.FSTRING:
        for field in prompt.text.fields:
            if field.expression_type in _STRING_EXPRESSIONS or any(q in field.format_spec for q in "\"'"):
                snippet = _clip(prompt.text.text[field.start:field.end])
                message = (f"f-string reads {snippet!r} as an expression, not literal braces; "
                           "double the braces ({{ and }}) to write them literally")
                start, end = prompt.text.source_span(field.start, field.end)
                yield finding("RCP003", message, start, end, _escape_fix(source, start, end))


def _escape_fix(source: bytes, start: int, end: int) -> Fix:
    text = source[start:end].decode("utf-8", errors="replace")
    return Fix("Escape the braces", (TextEdit(start, end, text.replace("{", "{{").replace("}", "}}")),))


def check_missing_prefix(facts: FileFacts | None, prompt: Prompt) -> Iterator[Finding]:
    """RCP004: `{name}` (Python) or `${name}` (JavaScript quotes) where `name` is in scope."""
    if facts is None or prompt.syntax is not TemplateSyntax.PLAIN or prompt.is_file:
        return
    if prompt.target and TEMPLATE_NAME.search(prompt.target):
        return
    if facts.language == "python":
        placeholders, problems = format_placeholders(prompt.text.text)
        pattern = "{%s}"
    else:
        placeholders = [Placeholder(m.group(1), m.start(), m.end()) for m in re.finditer(r"\$\{([A-Za-z_$][\w$]*)\}", prompt.text.text)]
        problems = []
        pattern = "${%s}"
    in_scope = [item for item in placeholders if item.name and facts.is_defined_at(item.name, prompt.start_byte)]
    if not in_scope:
        return
    fix = None if problems else _prefix_fix(facts, prompt)
    kind = "an f prefix" if facts.language == "python" else "backticks (a template literal)"
    for item in in_scope:
        message = (f"{pattern % item.name} is sent literally although {item.name} is a variable in scope; "
                   f"the string needs {kind}")
        start, end = prompt.text.source_span(item.start, item.end)
        yield finding("RCP004", message, start, end, fix)


def _prefix_fix(facts: FileFacts, prompt: Prompt) -> Fix | None:
    edits: list[TextEdit] = []
    for part in prompt.parts:
        quote_start = part.body_start_byte - len(part.quote.encode())
        if facts.language == "python":
            prefix_start = quote_start - len(part.prefix.encode())
            edits.append(TextEdit(prefix_start, quote_start, "f" + part.prefix))
        else:
            if "`" in facts.source[part.body_start_byte:part.body_end_byte].decode("utf-8", "replace"):
                return None
            edits.append(TextEdit(quote_start, part.body_start_byte, "`"))
            edits.append(TextEdit(part.body_end_byte, part.body_end_byte + len(part.quote), "`"))
    title = "Add the f prefix" if facts.language == "python" else "Make it a template literal"
    return Fix(title, tuple(edits))


def check_trailing_whitespace(prompt: Prompt) -> Iterator[Finding]:
    """RCP005: a prompt sent whole that ends in spaces or tabs, which split the next token badly.

    A string known only by a name such as `DEFAULT_SYSTEM_MESSAGE` is one part of a prompt, so
    a space at its end may separate it from the next part.
    """
    if not prompt.is_llm_prompt or not prompt.is_whole or prompt.is_chat_message or prompt.is_file or prompt.is_stripped:
        return
    if prompt.is_named_only and prompt.target and MESSAGE_PART_NAME.search(prompt.target.rpartition(".")[2]):
        return
    text = prompt.text.text
    stripped = text.rstrip(" \t")
    if stripped == text or any(field.end > len(stripped) for field in prompt.text.fields):
        return
    is_quote_indent = stripped.endswith("\n") and any(part.is_triple_quoted for part in prompt.parts)
    if prompt.is_dedented or is_quote_indent:
        # Spaces before closing triple quotes are code indentation, which RCP006 reports.
        return
    start, end = prompt.text.source_span(len(stripped), len(text))
    ending = text[len(stripped):]
    message = (f"prompt ends in {ending!r} after {_clip(stripped[-20:])!r}; "
               "a trailing space makes the model start the next token oddly, so strip it")
    yield finding("RCP005", message, start, end, Fix("Strip the trailing whitespace", (TextEdit(start, end, ""),)))


def check_indentation(prompt: Prompt) -> Iterator[Finding]:
    """RCP006: the indentation of a triple-quoted prompt ends up in the text sent to the model."""
    if prompt.is_file or prompt.is_dedented or not prompt.is_llm_prompt:
        return
    if not any(part.is_triple_quoted for part in prompt.parts):
        return
    lines = prompt.text.text.split("\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    body = [(offset, line) for offset, line in zip(offsets[1:], lines[1:]) if line.strip()]
    if len(body) < 2:
        return
    indent = min(len(line) - len(line.lstrip(" \t")) for _, line in body)
    if indent < MIN_LEAKED_INDENT:
        return
    edits = tuple(TextEdit(*prompt.text.source_span(offset, offset + indent), "") for offset, _ in body)
    start, end = prompt.text.source_span(body[0][0], body[0][0] + indent)
    message = (f"every line after the first starts with {indent} characters of code indentation, which the "
               "model receives too; dedent the text or wrap it in textwrap.dedent()")
    yield finding("RCP006", message, start, end, Fix("Dedent the prompt text", edits))


def _at_text(prompt: Prompt, code: str, message: str, start: int, end: int) -> Finding:
    source_start, source_end = prompt.text.source_span(start, end)
    return finding(code, message, source_start, source_end)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
