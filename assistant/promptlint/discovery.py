"""Find the prompts of a source file or template file, with their syntax and the fills visible in the file."""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass
from pathlib import PurePath

from assistant.promptlint.facts import MODULE_SCOPE, Call, FileFacts, collect_facts
from assistant.promptlint.fills import (
    FillSite,
    message_variables,
    template_fill_sites,
    value_fill_site,
)
from assistant.promptlint.literals import (
    LiteralPart,
    PromptText,
    decode_literal,
    join_texts,
    split_literal,
)
from assistant.promptlint.templates import TemplateSyntax, guess_file_syntax
from assistant.promptlint.usage import CallKind, Usage, trace
from indexer.parse import NodeSpan

logger = logging.getLogger(__name__)

# Languages whose source files are searched for prompts; template files are read in any folder.
SOURCE_LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx"})
# Names that mark a string as a prompt (`SYSTEM_PROMPT`, `self.instructions`, `qa_template`).
PROMPT_NAME = re.compile(r"prompt|template|instruction|system|preamble|persona", re.IGNORECASE)
TEMPLATE_FILE_SUFFIXES = frozenset({".prompt", ".j2", ".jinja", ".jinja2", ".mustache"})
PROMPT_FOLDER_SUFFIXES = frozenset({".md", ".txt", ".prompt", ".j2", ".jinja", ".jinja2", ".mustache", ""})


@dataclass(frozen=True)
class Prompt:
    """A prompt found in a file; bytes cover the whole literal (all parts of `"a" "b"`) or file."""

    start_byte: int
    end_byte: int
    text: PromptText
    syntax: TemplateSyntax
    origin: str
    parts: tuple[LiteralPart, ...] = ()
    is_llm_prompt: bool = True
    is_named_only: bool = False
    is_whole: bool = True
    is_chat_message: bool = False
    is_dedented: bool = False
    is_stripped: bool = False
    target: str | None = None
    template_key: int | None = None

    @property
    def is_file(self) -> bool:
        """True for a whole template file, which has no quotes or prefix."""
        return not self.parts


@dataclass(frozen=True)
class Template:
    """A template object or formatted string: its prompts, the fills seen in the file and declared names."""

    key: int
    syntax: TemplateSyntax
    prompts: tuple[Prompt, ...]
    fill_sites: tuple[FillSite, ...]
    declared: frozenset[str] | None = None
    declared_span: tuple[int, int] | None = None
    partial_names: frozenset[str] = frozenset()
    message_variables: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Discovery:
    """The prompts and templates of one file, plus the facts the scope-aware rules need."""

    prompts: tuple[Prompt, ...]
    templates: tuple[Template, ...]
    facts: FileFacts | None = None


def is_template_file(path: str) -> bool:
    """Tell whether `path` is a prompt template file: `*.prompt`, `*.j2`, `*.jinja`, `*.mustache`, or in `prompts/`."""
    pure = PurePath(path)
    suffix = pure.suffix.lower()
    return suffix in TEMPLATE_FILE_SUFFIXES or ("prompts" in pure.parts[:-1] and suffix in PROMPT_FOLDER_SUFFIXES)


def discover_file_template(path: str, text: str) -> Discovery:
    """Treat a whole template file as one prompt."""
    data = text.encode("utf-8")
    prompt_text = decode_literal(data, LiteralPart("", "", 0, len(data)), [])
    syntax = guess_file_syntax(prompt_text.text, PurePath(path).suffix.lower())
    prompt = Prompt(0, len(data), prompt_text, syntax, "template file")
    return Discovery((prompt,), ())


def discover(source: bytes, language: str) -> Discovery:
    """Find the prompts of a Python, JavaScript or TypeScript file."""
    return discover_in(collect_facts(source, language))


def discover_in(facts: FileFacts) -> Discovery:
    """Find the prompts described by the facts of a file or of some of its top-level statements."""
    traced = [(span, usage) for span in facts.strings if (usage := trace(facts, span)) is not None]
    targets = {usage.target for _, usage in traced if usage.target}
    ref_uses: dict[str, dict[tuple[int, int], list[Usage]]] = {}
    for ref in facts.refs:
        name = facts.text(ref)
        if name in targets and (usage := trace(facts, ref)) is not None:
            ref_uses.setdefault(name, {}).setdefault(facts.scope_at(ref.start_byte), []).append(usage)

    prompts: list[Prompt] = []
    format_sites: dict[int, tuple[FillSite, ...]] = {}
    for span, usage in traced:
        uses = [usage]
        if usage.target:
            uses += _visible_uses(facts, usage.target, facts.scope_at(span.start_byte), ref_uses.get(usage.target, {}))
        prompt, sites = _build_prompt(facts, span, uses)
        if prompt is not None:
            prompts.append(prompt)
            if sites:
                format_sites[prompt.start_byte] = sites
    return Discovery(tuple(prompts), _templates(facts, prompts, format_sites), facts)


def _visible_uses(facts: FileFacts, name: str, scope: tuple[int, int],
                  uses_by_scope: dict[tuple[int, int], list[Usage]]) -> list[Usage]:
    """Return the uses of the variable `name` bound in `scope`.

    A module variable is used from every function that does not bind the name itself.
    """
    if scope != MODULE_SCOPE:
        return list(uses_by_scope.get(scope, ()))
    bound = set(facts.defined.get(name, ()))
    return [use for use_scope, uses in uses_by_scope.items() if use_scope == scope or use_scope not in bound for use in uses]


def _build_prompt(facts: FileFacts, span: NodeSpan, uses: list[Usage]) -> tuple[Prompt | None, tuple[FillSite, ...]]:
    parts = _literal_parts(facts, span)
    if not parts:
        return None, ()
    usage = uses[0]
    syntax, template_key, sites, is_sent = _template_role(facts, span, uses, parts)
    text = _decode(facts, parts)
    is_named = bool(usage.target and PROMPT_NAME.search(usage.target.rpartition(".")[2]) and text.text.strip().count(" ") >= 1)
    is_llm_prompt = is_sent or is_named or template_key is not None
    if not is_llm_prompt and syntax not in (TemplateSyntax.FORMAT, TemplateSyntax.PERCENT):
        return None, ()
    prompt = Prompt(
        span.start_byte, span.end_byte, text, syntax, _origin(usage, is_named), tuple(parts),
        is_llm_prompt=is_llm_prompt,
        is_named_only=is_named and not is_sent and template_key is None,
        is_whole=not any(use.is_piece for use in uses),
        is_chat_message=any(use.is_chat_message for use in uses),
        is_dedented=any(use.is_dedented for use in uses),
        is_stripped=any(use.is_stripped for use in uses),
        target=usage.target,
        template_key=template_key,
    )
    return prompt, tuple(sites)


def _template_role(facts: FileFacts, span: NodeSpan, uses: list[Usage],
                   parts: list[LiteralPart]) -> tuple[TemplateSyntax, int | None, list[FillSite], bool]:
    """Find a literal's template syntax, its LangChain template call, its fill sites and whether an LLM call gets it.

    A piece of a concatenation (`"{name:<" + width + "}"`) is no template on its own, so the
    `.format` of the whole string gives it neither format syntax nor fill sites.
    """
    usage = uses[0]
    syntax = TemplateSyntax.TEMPLATE_LITERAL if parts[0].quote == "`" else (
        TemplateSyntax.FSTRING if any(part.is_fstring for part in parts) else TemplateSyntax.PLAIN)
    is_piece = any(use.is_piece for use in uses)
    template_key: int | None = None
    sites: list[FillSite] = []
    is_sent = False
    for use in uses:
        is_sent = is_sent or use.is_prompt_argument
        if use.call is not None and use.call_kind is CallKind.TEMPLATE and use.is_prompt_argument:
            template_key = use.call.span.start_byte
            syntax = _langchain_syntax(facts, use.call)
        if use.format_call is not None and not is_piece:
            syntax = TemplateSyntax.FORMAT
            sites.append(value_fill_site(facts, use.format_call, None))
        if use.percent_operand is not None and not is_piece:
            syntax = TemplateSyntax.PERCENT
            sites.append(value_fill_site(facts, None, use.percent_operand))
    if usage.target and syntax is not TemplateSyntax.FSTRING and template_key is None and not is_piece:
        for call in facts.calls_on(usage.target, facts.scope_at(span.start_byte)):
            if call.method in ("format", "format_map"):
                syntax = TemplateSyntax.FORMAT
                sites.append(value_fill_site(facts, call, None))
    return syntax, template_key, sites, is_sent


def _literal_parts(facts: FileFacts, span: NodeSpan) -> list[LiteralPart]:
    if span.type == "concatenated_string":
        first = bisect.bisect_left(facts.string_starts, span.start_byte)
        last = bisect.bisect_left(facts.string_starts, span.end_byte)
        inside = [item for item in facts.strings[first:last] if item.type == "string" and item.end_byte <= span.end_byte]
        # Only the direct parts: a string nested in an f-string interpolation lies inside a part.
        spans = [item for item in inside if not any(o.start_byte < item.start_byte and item.end_byte <= o.end_byte for o in inside)]
    else:
        spans = [span]
    parts = [split_literal(facts.source, item.start_byte, item.end_byte) for item in spans]
    if any(part is None for part in parts):
        return []
    return [part for part in parts if part is not None]


def _decode(facts: FileFacts, parts: list[LiteralPart]) -> PromptText:
    texts = []
    for part in parts:
        fields = []
        if part.is_fstring:
            first = bisect.bisect_left(facts.interpolation_starts, part.body_start_byte)
            last = bisect.bisect_left(facts.interpolation_starts, part.body_end_byte)
            fields = [facts.interpolations[start] for start in facts.interpolation_starts[first:last]]
        texts.append(decode_literal(facts.source, part, fields))
    return join_texts(texts)


def _langchain_syntax(facts: FileFacts, call: Call) -> TemplateSyntax:
    option = call.keywords.get("template_format") or call.keywords.get("templateFormat")
    value = facts.text(option).strip("'\"`") if option is not None else ""
    if value == "jinja2":
        return TemplateSyntax.JINJA
    if value == "mustache":
        return TemplateSyntax.MUSTACHE
    return TemplateSyntax.LANGCHAIN_FSTRING


def _origin(usage: Usage, is_named: bool) -> str:
    if usage.call is not None:
        return f"argument of {usage.call.callee}"
    if usage.format_call is not None or usage.percent_operand is not None:
        return "formatted string"
    if usage.target is not None:
        return f"value of {usage.target}" if is_named else f"value of {usage.target}, passed on later"
    return "string"


def _templates(facts: FileFacts, prompts: list[Prompt], format_sites: dict[int, tuple[FillSite, ...]]) -> tuple[Template, ...]:
    """Group prompts into templates: one per LangChain template call, one per formatted string."""
    templates = [Template(p.start_byte, p.syntax, (p,), sites) for p in prompts
                 if p.template_key is None and (sites := format_sites.get(p.start_byte))]
    by_call: dict[int, list[Prompt]] = {}
    for prompt in prompts:
        if prompt.template_key is not None:
            by_call.setdefault(prompt.template_key, []).append(prompt)
    for key, members in by_call.items():
        call = facts.calls[key]
        sites, declared, declared_span, partial_names = template_fill_sites(facts, call)
        templates.append(Template(key, members[0].syntax, tuple(members), sites, declared, declared_span, partial_names,
                                  message_variables(facts, call)))
    return tuple(templates)
