"""Token alignment: back off the prompt's last tokens and constrain generation to re-create them.

A cursor inside a word, right after a space or inside indentation leaves the prompt ending in a
token that the model rarely saw in that position. Backing off the last prompt tokens and letting
the model re-spell their text, token by token, lets it pick the token boundaries it learned.
The technique is known as token healing (one token) or token alignment (several).
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

# The back-off grows past the requested token count, up to this many tokens, while a token could
# span the cut (see `plan_healing`). Each backed-off token costs one constrained decode step.
MAX_BACKOFF_TOKENS = 6
# Distinct remaining prefixes whose allowed tokens are kept. One completion looks up one prefix per
# constrained token, and typing repeats the same few prefixes.
MASK_CACHE_ENTRIES = 512
# Non-blank lines above the cursor whose indentation counts as an indentation level in use.
INDENT_CONTEXT_LINES = 20
_WHITESPACE_BYTES = frozenset(b" \t\n\r\f\v")
_INDENT_BYTES = b" \t"
_BLOCK_OPENERS = (b":", b"{")
# How many bytes before a cut a token that spans it may start; longer spans are not looked for.
_SPAN_CHECK_BYTES = 32


class VocabularyIndex:
    """The byte pieces of a vocabulary sorted for prefix lookups, with a cache of allowed tokens.

    Build it once per model: enumerating and sorting 262k pieces takes about 0.3-0.4 s, a lookup
    about 0.05 ms (measured on a 2-core AMD EPYC with Gemma 3's vocabulary). Safe to share
    between threads.
    """

    def __init__(self, pieces: Sequence[bytes | None]) -> None:
        """Index `pieces[token_id]`.

        A None or empty piece marks a token that alignment must never produce, so it is left
        out of every lookup. Pass None for control tokens (BOS, EOS, fill-in-the-middle markers).
        User-defined tokens, such as Gemma 3's `<div>` or `<start_of_image>`, keep their text,
        because llama.cpp's tokenizer produces them from plain text too.
        """
        self._pieces = [piece or b"" for piece in pieces]
        order = sorted((token_id for token_id, piece in enumerate(self._pieces) if piece), key=self._pieces.__getitem__)
        self._sorted_pieces = [self._pieces[token_id] for token_id in order]
        self._sorted_ids = np.asarray(order, dtype=np.int32)
        self._allowed_cache: OrderedDict[tuple[bytes, bytes], npt.NDArray[np.int32]] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def n_vocab(self) -> int:
        """Number of token ids, indexed or not."""
        return len(self._pieces)

    def piece(self, token_id: int) -> bytes:
        """Return the byte text of a token; empty for a control token."""
        return self._pieces[token_id]

    def ids_starting_with(self, prefix: bytes) -> npt.NDArray[np.int32]:
        """Return the ids of every token whose piece starts with `prefix`."""
        low = bisect.bisect_left(self._sorted_pieces, prefix)
        upper = _next_prefix(prefix)
        if upper is None:
            high = len(self._sorted_pieces)
        else:
            high = bisect.bisect_left(self._sorted_pieces, upper, lo=low)
        return self._sorted_ids[low:high]

    def ids_prefixing(self, text: bytes) -> list[int]:
        """Return the ids of every token whose piece is a proper, non-empty prefix of `text`."""
        found: list[int] = []
        for end in range(1, len(text)):
            low = bisect.bisect_left(self._sorted_pieces, text[:end])
            high = bisect.bisect_right(self._sorted_pieces, text[:end], lo=low)
            found.extend(int(token_id) for token_id in self._sorted_ids[low:high])
        return found

    def allowed_ids(self, remaining: bytes, forbidden_next: bytes = b"") -> npt.NDArray[np.int32]:
        """Return the tokens that keep generated text consistent with `remaining` bytes.

        A token is allowed when its piece starts with `remaining` (the constraint ends with it)
        or is a proper prefix of `remaining` (more constrained tokens follow). A proper prefix
        that ends inside a word is left out when some token starts with all of `remaining`.
        A token whose byte right after `remaining` is one of `forbidden_next` is left out too.
        Results are cached per argument pair, least recently used first out.
        """
        key = (remaining, forbidden_next)
        with self._cache_lock:
            cached = self._allowed_cache.get(key)
            if cached is not None:
                self._allowed_cache.move_to_end(key)
                return cached

        starting = self.ids_starting_with(remaining)
        if forbidden_next:
            excluded = [self.ids_starting_with(remaining + bytes([byte])) for byte in forbidden_next]
            starting = np.setdiff1d(starting, np.concatenate(excluded)).astype(np.int32)
        prefixing = self.ids_prefixing(remaining)
        if len(starting):
            # Greedy decoding can take a short piece such as "c" for "count", which starts many
            # words, and then spell the rest unlike the tokenizer (seen with Gemma 3 on "count").
            prefixing = [
                token_id for token_id in prefixing
                if not _splits_word(remaining, len(self._pieces[token_id]))
            ]
        allowed = np.concatenate([starting, np.asarray(prefixing, dtype=np.int32)]) if prefixing else starting

        with self._cache_lock:
            self._allowed_cache[key] = allowed
            while len(self._allowed_cache) > MASK_CACHE_ENTRIES:
                self._allowed_cache.popitem(last=False)
        return allowed

    def cached_prefix_count(self) -> int:
        """Count the (remaining, forbidden_next) pairs whose allowed tokens are cached."""
        with self._cache_lock:
            return len(self._allowed_cache)


def _next_prefix(prefix: bytes) -> bytes | None:
    """Return the smallest byte string greater than every string that starts with `prefix`."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


@dataclass(frozen=True)
class HealingPlan:
    """A prompt with its last tokens backed off, and the bytes the output must start with.

    `backed_off_tokens` is how many prompt tokens were removed. Generating their text again
    takes up to one decode step per removed token, so callers add it to their token limit.
    """

    prompt_ids: list[int]
    required_bytes: bytes
    backed_off_tokens: int = 0


def plan_healing(prompt_ids: Sequence[int], index: VocabularyIndex, max_tokens: int) -> HealingPlan:
    """Back off `max_tokens` trailing prompt tokens, and more while the cut splits a unit of text.

    The back-off continues past `max_tokens`, up to `MAX_BACKOFF_TOKENS`, while the cut splits
    the bytes of one UTF-8 character. It also continues while the cut splits one identifier,
    one run of punctuation, punctuation and the word after it, or the run of whitespace that the
    cursor sits in, if a vocabulary token starts with the text around the cut. A tokenizer may
    then merge both sides into one token, so the model must be free to choose that token. A token without text (a
    control token such as BOS or a fill-in-the-middle marker) stops the back-off, because the
    model must see it as it is. At least one prompt token always stays.
    """
    if max_tokens <= 0:
        return HealingPlan(prompt_ids=list(prompt_ids), required_bytes=b"")
    count = 0
    while count < max_tokens and _can_back_off(prompt_ids, index, count):
        count += 1
    removed = b"".join(index.piece(token_id) for token_id in prompt_ids[len(prompt_ids) - count :])
    limit = max(max_tokens, MAX_BACKOFF_TOKENS)
    while 0 < count < limit and _can_back_off(prompt_ids, index, count):
        kept_end = len(prompt_ids) - count
        kept_tail = b"".join(index.piece(token_id) for token_id in prompt_ids[max(0, kept_end - 8) : kept_end])
        if not _splits_unit(kept_tail[-_SPAN_CHECK_BYTES:], removed, index):
            break
        removed = index.piece(prompt_ids[kept_end - 1]) + removed
        count += 1
    if count == 0:
        return HealingPlan(prompt_ids=list(prompt_ids), required_bytes=b"")
    kept = list(prompt_ids[: len(prompt_ids) - count])
    return HealingPlan(prompt_ids=kept, required_bytes=removed, backed_off_tokens=count)


def _can_back_off(prompt_ids: Sequence[int], index: VocabularyIndex, count: int) -> bool:
    """Tell whether the token before the last `count` ones has text and is not the first token."""
    return count + 1 < len(prompt_ids) and bool(index.piece(prompt_ids[len(prompt_ids) - 1 - count]))


def _splits_unit(before: bytes, after: bytes, index: VocabularyIndex) -> bool:
    """Tell whether a tokenizer may merge the end of the text `before` with the start of `after`."""
    if not before or not after:
        return False
    if _is_continuation_byte(after[0]):
        return True
    last, first = before[-1], after[0]
    is_one_run = (
        (_is_word_byte(last) and _is_word_byte(first))
        or (_is_punctuation_byte(last) and (_is_punctuation_byte(first) or _is_word_byte(first)))
        or (last in _WHITESPACE_BYTES and all(byte in _WHITESPACE_BYTES for byte in after))
    )
    if not is_one_run:
        return False
    # Without a token that spans the cut, such as Gemma 3's separate line break and indentation
    # tokens, backing off further only costs decode steps. The spanning token may start before
    # the last kept token, as "atch" does in "nam" + "emat" + "c" for "namematch".
    return any(len(index.ids_starting_with(before[start:] + after[:1])) for start in range(len(before)))


def _splits_word(text: bytes, position: int) -> bool:
    """Tell whether `position` falls between two word bytes of `text`."""
    return 0 < position < len(text) and _is_word_byte(text[position - 1]) and _is_word_byte(text[position])


def _is_continuation_byte(byte: int) -> bool:
    return 0x80 <= byte < 0xC0


def _is_punctuation_byte(byte: int) -> bool:
    return byte < 0x80 and byte not in _WHITESPACE_BYTES and not _is_word_byte(byte)


def _is_word_byte(byte: int) -> bool:
    # Any byte of a non-ASCII character counts: identifiers may contain letters beyond ASCII.
    return byte >= 0x80 or chr(byte).isalnum() or byte == ord("_")


class HealingLogitsProcessor:
    """A llama-cpp-python logits processor that masks tokens breaking a `HealingPlan`.

    It is called once per generated token with every token id so far; the ids past
    `prompt_length` tell how many required bytes are already produced. Once they are all
    produced, or if generation left the plan, the scores pass through unchanged.

    When the required bytes end with the cursor line's indentation, and that indentation is a
    level used by one of the `INDENT_CONTEXT_LINES` non-blank lines above, the byte after the
    required bytes must not be a space or tab. The user chose that level (an editor's
    auto-indent or a dedent), so alignment may re-spell it, as byte-level BPE needs, but not
    deepen it. Indentation of another width, or no deeper than a block opener (a line ending
    with ":" or "{") right above, is partial, and the model may complete it.
    """

    def __init__(self, index: VocabularyIndex, prompt_length: int, required_bytes: bytes) -> None:
        self._index = index
        self._prompt_length = prompt_length
        self._required = required_bytes
        self._forbidden_next: bytes | None = None

    def remaining_bytes(self, input_ids: Sequence[int] | npt.NDArray[np.intc]) -> bytes:
        """Return the required bytes not yet produced after the prompt in `input_ids`."""
        produced = self._produced(input_ids)
        if len(produced) >= len(self._required) or not self._required.startswith(produced):
            return b""
        return self._required[len(produced) :]

    def __call__(self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        if self._forbidden_next is None:
            self._forbidden_next = _INDENT_BYTES if self._keeps_indentation(input_ids) else b""
        produced = self._produced(input_ids)
        if not self._required.startswith(produced[: len(self._required)]):
            return scores
        if len(produced) < len(self._required):
            allowed = self._index.allowed_ids(self._required[len(produced) :], self._forbidden_next)
            if not len(allowed):
                # No token spells even the first byte of the rest, as in a vocabulary without byte tokens.
                logger.debug("no token continues the alignment prefix; generating without it")
                return scores
            masked = np.full_like(scores, -np.inf)
            masked[allowed] = scores[allowed]
            return masked
        if len(produced) == len(self._required) and self._forbidden_next:
            masked = scores.copy()
            for byte in self._forbidden_next:
                masked[self._index.ids_starting_with(bytes([byte]))] = -np.inf
            return masked
        return scores

    def _produced(self, input_ids: Sequence[int] | npt.NDArray[np.intc]) -> bytes:
        """Return the generated bytes, stopping once they are longer than the required bytes."""
        produced = b""
        for token_id in input_ids[self._prompt_length :]:
            produced += self._index.piece(int(token_id))
            if len(produced) > len(self._required):
                break
        return produced

    def _keeps_indentation(self, input_ids: Sequence[int] | npt.NDArray[np.intc]) -> bool:
        """Tell whether the required bytes end with indentation of a level used above the cursor."""
        if not self._required or self._required[-1] not in _INDENT_BYTES:
            return False
        tail = self._required
        position = self._prompt_length
        while tail.count(b"\n") <= INDENT_CONTEXT_LINES and position > 0:
            position -= 1
            tail = self._index.piece(int(input_ids[position])) + tail
        lines = tail.split(b"\n")
        cursor_line = lines[-1]
        if len(lines) < 2 or cursor_line.strip(_INDENT_BYTES):
            return False
        above = [line for line in lines[:-1] if line.strip()]
        levels = {line[: len(line) - len(line.lstrip(_INDENT_BYTES))] for line in above}
        if above and above[-1].rstrip().endswith(_BLOCK_OPENERS):
            # A block body is deeper than its opener, so a shallower cursor is still indenting.
            opener_width = len(above[-1]) - len(above[-1].lstrip(_INDENT_BYTES))
            return cursor_line in levels and len(cursor_line) > opener_width
        return cursor_line in levels
