"""Content rules: secrets pasted into a prompt and invisible or confusable Unicode characters."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator

from assistant.promptlint.discovery import Prompt
from assistant.promptlint.finding import Finding, Fix, TextEdit, finding

logger = logging.getLogger(__name__)

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("Stripe secret key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}")),
    ("bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/\-]{20,}=*")),
)

# Zero-width and other invisible format characters, and bidirectional controls (CVE-2021-42574).
INVISIBLE = {
    "\u200b": "zero-width space", "\u200c": "zero-width non-joiner", "\u200d": "zero-width joiner",
    "\u2060": "word joiner", "\ufeff": "zero-width no-break space", "\u00ad": "soft hyphen",
    "\u180e": "Mongolian vowel separator", "\u2061": "function application", "\u2062": "invisible times",
    "\u2063": "invisible separator", "\u2064": "invisible plus", "\u200e": "left-to-right mark",
    "\u200f": "right-to-left mark", "\u061c": "Arabic letter mark", "\u202a": "left-to-right embedding",
    "\u202b": "right-to-left embedding", "\u202c": "pop directional formatting",
    "\u202d": "left-to-right override", "\u202e": "right-to-left override", "\u2066": "left-to-right isolate",
    "\u2067": "right-to-left isolate", "\u2068": "first strong isolate", "\u2069": "pop directional isolate",
}
_INVISIBLE_PATTERN = re.compile("[" + "".join(INVISIBLE) + "]")
# Cyrillic and Greek letters that look like Latin ones, with the Latin letter they imitate.
CONFUSABLES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "ο": "o", "α": "a",
    "ν": "v", "ρ": "p", "τ": "t", "ι": "i", "κ": "k", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
_WORD = re.compile(r"\w+")
_MIN_DISTINCT_CHARS = 8


def check_secrets(prompt: Prompt) -> Iterator[Finding]:
    """RCP008: API keys, private key blocks and bearer tokens inside a prompt."""
    text = prompt.text.text
    for kind, pattern in SECRET_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(0)
            if not _looks_random(value) and kind != "private key block":
                continue
            redacted = value[:7] + "..."
            message = (f"{kind} {redacted!r} is pasted into the prompt, so the model and its logs see it; "
                       "remove it and keep the credential out of prompts")
            yield finding("RCP008", message, *prompt.text.source_span(match.start(), match.end()))
            break


def _looks_random(value: str) -> bool:
    """Reject placeholders such as `sk-xxxxxxxxxxxxxxxxxxxxxxxx` or `sk-YOUR_KEY_HERE...`."""
    token = re.split(r"[-_\s]", value, maxsplit=1)[-1]
    return (len(set(token)) >= _MIN_DISTINCT_CHARS and any(c.isdigit() for c in token)
            and "YOUR" not in value.upper() and "EXAMPLE" not in value.upper())


def check_unicode(prompt: Prompt) -> Iterator[Finding]:
    """RCP009: invisible characters, bidirectional controls and Cyrillic or Greek look-alikes in Latin words."""
    text = prompt.text.text
    if text.isascii():
        return
    for match in _INVISIBLE_PATTERN.finditer(text):
        char = match.group(0)
        start, end = prompt.text.source_span(match.start(), match.end())
        message = (f"invisible character U+{ord(char):04X} ({INVISIBLE[char]}) in the prompt changes how the "
                   "model reads the text without showing it; remove it")
        yield finding("RCP009", message, start, end, Fix(f"Remove U+{ord(char):04X}", (TextEdit(start, end, ""),)))
    for word in _WORD.finditer(text):
        yield from _check_word(prompt, word.group(0), word.start())


def _check_word(prompt: Prompt, word: str, offset: int) -> Iterator[Finding]:
    if word.isascii() or not any(c.isascii() and c.isalpha() for c in word):
        return
    foreign = [(i, c) for i, c in enumerate(word) if not c.isascii() and _script(c) in ("CYRILLIC", "GREEK")]
    if not foreign:
        return
    fixable = all(c in CONFUSABLES for _, c in foreign)
    start, end = prompt.text.source_span(offset, offset + len(word))
    replaced = "".join(CONFUSABLES.get(c, c) for c in word)
    letters = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?').title()}" for _, c in foreign[:3])
    message = f"word {word!r} mixes Latin with look-alike letters ({letters}); write {replaced!r} in Latin"
    fix = Fix(f"Replace with {replaced!r}", (TextEdit(start, end, replaced),)) if fixable and _is_plain(prompt, offset, word) else None
    yield finding("RCP009", message, start, end, fix)


def _is_plain(prompt: Prompt, offset: int, word: str) -> bool:
    """True when the word's source bytes are the word itself, so replacing them keeps escapes intact."""
    starts = prompt.text.starts
    return starts[offset + len(word)] - starts[offset] == len(word.encode("utf-8"))


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ", 1)[0]
