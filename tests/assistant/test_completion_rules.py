"""Each post-processing rule of inline completion, on cases that fail without the rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from assistant.completion import complete_at, trim_to_tokens
from assistant.completion_rules import (
    allows_multiline,
    cut_at_block_end,
    cut_to_first_line,
    detect_indent_unit,
    drop_blank,
    finish_completion,
    fit_to_word_after,
    fix_body_indentation,
    is_inside_indentation,
    make_cursor,
    trim_right_overlap,
    trim_suffix_repeat,
)
from assistant.config import CompletionSettings
from assistant.fim import FimFormat, FimTokens
from assistant.prompt_parts import PromptParts


class FakeGenerator:
    """A Generator that returns canned text; one token per character."""

    model_id = "fake"
    n_ctx = 4096
    fim_format: FimFormat | None = None
    fim_tokens: FimTokens | None = None
    chat_template: str | None = None

    def __init__(self, output: str) -> None:
        self.output = output
        self.prompts: list[list[int]] = []
        self.heal_tokens: list[int] = []

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        return [ord(char) for char in text]

    def detokenize(self, ids: Sequence[int]) -> str:
        return "".join(chr(token_id) for token_id in ids)

    def count_tokens(self, text: str) -> int:
        return len(text)

    def generate(
        self,
        prompt: str | list[int] | PromptParts,
        max_tokens: int,
        temperature: float,
        stop: list[str],
        is_cancelled: Callable[[], bool] | None = None,
        heal_tokens: int = 0,
        cache_key: str | None = None,
    ) -> Iterator[str]:
        if isinstance(prompt, PromptParts):
            prompt = prompt.text
        self.prompts.append(list(prompt) if isinstance(prompt, list) else self.tokenize(prompt))
        self.heal_tokens.append(heal_tokens)
        text = self.output
        for stop_text in stop:
            if stop_text in text:
                text = text[: text.index(stop_text)]
        yield from (text[start : start + 3] for start in range(0, len(text), 3))


def cursor_at(document: str, max_next_lines: int = 20):
    prefix, suffix = document.split("|", 1)
    return make_cursor(prefix, suffix, max_next_lines)


def test_cut_to_first_line_right_text_stops_line() -> None:
    cursor = cursor_at("x = foo(|)\ny = 2\n")
    completion = finish_completion("a, b\nz = 3", cursor, max_lines=8)
    assert completion == "a, b"


def test_cut_to_first_line_leading_break_kept() -> None:
    assert cut_to_first_line("\n    y = 2\n    z = 3", allow_leading_break=True) == "\n    y = 2"
    assert cut_to_first_line("\n    y = 2\n    z = 3", allow_leading_break=False) == ""


def test_allows_multiline_plain_statement_end_is_single_line() -> None:
    cursor = cursor_at("def f(x):\n    y = x|\n    return y\n")
    assert not allows_multiline(cursor)
    assert finish_completion(" + 1\n    z = 3", cursor, max_lines=8) == " + 1"


def test_allows_multiline_block_opener_keeps_body() -> None:
    cursor = cursor_at("def f(x):|\n\ndef g():\n    pass\n")
    assert allows_multiline(cursor)
    completion = finish_completion("\n    y = x + 1\n    return y", cursor, max_lines=8)
    assert completion == "\n    y = x + 1\n    return y"


def test_allows_multiline_blank_line_in_body_keeps_lines() -> None:
    cursor = cursor_at("def f(x):\n    y = 1\n    |\n")
    assert allows_multiline(cursor)
    assert finish_completion("z = 2\n    return y + z", cursor, max_lines=8) == "z = 2\n    return y + z"


def test_allows_multiline_c_like_brace_opener() -> None:
    cursor = cursor_at("int f(int x) {|\n}\n")
    assert allows_multiline(cursor)
    completion = finish_completion("\n    int y = x;\n    return y;\n}", cursor, max_lines=8)
    assert completion == "\n    int y = x;\n    return y;"


def test_cut_at_block_end_dedented_line_ends_completion() -> None:
    cursor = cursor_at("class A:\n    def f(self):|\n")
    text = "\n        return 1\n\n    def g(self):\n        return 2"
    kept, is_cut = cut_at_block_end(text, cursor, max_lines=8)
    assert kept == "\n        return 1\n"
    assert is_cut


def test_cut_at_block_end_max_lines_limits_completion() -> None:
    cursor = cursor_at("def f():\n    |\n")
    text = "a = 1\n    b = 2\n    c = 3\n    d = 4"
    kept, is_cut = cut_at_block_end(text, cursor, max_lines=2)
    assert kept == "a = 1\n    b = 2"
    assert is_cut


def test_cut_at_block_end_streaming_skips_partial_line() -> None:
    cursor = cursor_at("def f():\n    |\n")
    kept, is_cut = cut_at_block_end("a = 1\n  ", cursor, max_lines=8, is_final=False)
    assert kept == "a = 1\n  "
    assert not is_cut


def test_trim_suffix_repeat_cuts_where_next_line_starts() -> None:
    cursor = cursor_at("def f(x):\n    |\n    return y\n")
    kept, is_cut = trim_suffix_repeat("y = x * 2\n    return y", cursor)
    assert kept == "y = x * 2"
    assert is_cut


def test_trim_suffix_repeat_whole_line_repeat_is_dropped() -> None:
    cursor = cursor_at("def f(x):\n    |\n\n    return y\n")
    assert finish_completion("return y", cursor, max_lines=8) == ""


def test_trim_suffix_repeat_partial_final_line_is_cut() -> None:
    cursor = cursor_at("def f(x):\n    |\n    return result_value\n")
    kept, _ = trim_suffix_repeat("y = 1\n    return res", cursor)
    assert kept == "y = 1"


def test_trim_right_overlap_drops_duplicated_closer() -> None:
    cursor = cursor_at("x = foo(|)\n")
    assert trim_right_overlap("a, b)", cursor) == "a, b"


def test_trim_right_overlap_keeps_closer_of_own_call() -> None:
    cursor = cursor_at("x = foo(|)\n")
    assert trim_right_overlap("bar(a)", cursor) == "bar(a)"


def test_trim_right_overlap_quote_and_bracket() -> None:
    cursor = cursor_at('print("|")\n')
    assert trim_right_overlap('hello")', cursor) == "hello"
    cursor = cursor_at("x = [|]\n")
    assert trim_right_overlap("1, 2]", cursor) == "1, 2"


def test_trim_right_overlap_plain_text_tail() -> None:
    cursor = cursor_at("y = a if b| else 0\n")
    assert trim_right_overlap(" and c else 0", cursor) == " and c"


def test_fix_body_indentation_unindented_body_is_shifted() -> None:
    cursor = cursor_at("class A:\n    def f(self):|\n")
    assert fix_body_indentation("\nreturn 1", cursor) == "\n        return 1"


def test_fix_body_indentation_correct_body_is_unchanged() -> None:
    cursor = cursor_at("def f():|\n")
    text = "\n  if x:\n      return 1"
    assert fix_body_indentation(text, cursor) == text


def test_detect_indent_unit_two_spaces() -> None:
    assert detect_indent_unit("def f():\n  if x:\n    return 1\n") == "  "
    assert detect_indent_unit("def f():\n\tpass\n") == "\t"


def test_drop_blank_whitespace_only_is_empty() -> None:
    cursor = cursor_at("def f():\n    |\n")
    assert drop_blank("  \n   ", cursor) == ""
    assert finish_completion("\n\n   ", cursor, max_lines=8) == ""


def test_trim_to_tokens_keeps_last_whole_lines() -> None:
    generator = FakeGenerator("")
    text = "line one\nline two\nline three\n"
    assert trim_to_tokens(text, generator, 21, keep_end=True) == "line two\nline three\n"
    assert trim_to_tokens(text, generator, 18, keep_end=False) == "line one\nline two\n"


def test_trim_to_tokens_prefix_start_stays_while_typing() -> None:
    generator = FakeGenerator("")
    document = "".join(f"value_{index:02d} = 1\n" for index in range(40))
    line_chars = len("value_00 = 1\n")
    budget = 30 * line_chars

    before = trim_to_tokens(document + "res", generator, budget, keep_end=True)
    after = trim_to_tokens(document + "result = value_3", generator, budget, keep_end=True)

    assert before.startswith("value_16 = 1\n")
    assert after.startswith("value_16 = 1\n")
    assert after.endswith("result = value_3")


def test_complete_at_fake_generator_applies_rules() -> None:
    generator = FakeGenerator("total + 1)\n    return total")
    settings = CompletionSettings()
    completion = complete_at("def f(total):\n    x = g(", ")\n    return x\n", "", generator, settings)
    assert completion == "total + 1"


def test_complete_at_context_comes_first_in_prompt() -> None:
    generator = FakeGenerator("1")
    complete_at("x = ", "\n", "def helper(): pass", generator, CompletionSettings(), language="python")
    prompt = generator.detokenize(generator.prompts[0])
    assert prompt.index("def helper(): pass") < prompt.index("x = ")
    assert prompt.endswith("x = ")


def test_allows_multiline_blank_line_before_same_block_is_single_line() -> None:
    prefix = "def load(s):\n    if isinstance(s, str):\n        s = s.strip()\n    else:\n        "
    suffix = "\n        s = s.decode()\n    return s\n"
    cursor = make_cursor(prefix, suffix, max_next_lines=5)

    assert not allows_multiline(cursor)


def test_allows_multiline_blank_line_at_block_end_keeps_lines() -> None:
    prefix = "def load(s):\n    if isinstance(s, str):\n        s = s.strip()\n        "
    suffix = "\n    return s\n"
    cursor = make_cursor(prefix, suffix, max_next_lines=5)

    assert allows_multiline(cursor)


def test_complete_at_fim_model_gets_psm_prompt() -> None:
    generator = FakeGenerator("b")
    generator.fim_tokens = FimTokens(prefix_id=1, suffix_id=2, middle_id=3)
    complete_at("x = a + ", "\nprint(x)\n", "", generator, CompletionSettings())
    prompt = generator.prompts[0]
    assert prompt[0] == 1
    assert generator.detokenize(prompt[1 : prompt.index(2)]) == "x = a + "
    assert generator.detokenize(prompt[prompt.index(2) + 1 : -1]) == "\nprint(x)\n"
    assert prompt[-1] == 3
    assert generator.heal_tokens == [0]


def test_complete_at_plain_model_heals_one_token() -> None:
    generator = FakeGenerator("b")
    complete_at("x = a + ", "\n", "", generator, CompletionSettings())
    assert generator.heal_tokens == [1]


def test_finish_completion_next_method_is_cut_at_block_end() -> None:
    cursor = cursor_at("class A:\n    def f(self):|\n")
    text = "\n        return 1\n\n    def g(self):\n        return 2"
    assert finish_completion(text, cursor, max_lines=8) == "\n        return 1"


def test_finish_completion_unindented_body_keeps_block_indentation() -> None:
    cursor = cursor_at("class A:\n    def f(self):|\n")
    assert finish_completion("\nreturn 1", cursor, max_lines=8) == "\n        return 1"


def test_finish_completion_doubled_closer_is_dropped() -> None:
    cursor = cursor_at("x = foo(|)\n")
    assert finish_completion("a, b)", cursor, max_lines=8) == "a, b"


def test_trim_right_overlap_text_past_closer_is_cut() -> None:
    cursor = cursor_at("x = [|]\n")
    assert trim_right_overlap("1, 2])", cursor) == "1, 2"
    cursor = cursor_at('print("|")\n')
    assert trim_right_overlap('hi") + name', cursor) == "hi"
    cursor = cursor_at("x = foo(|)\n")
    assert trim_right_overlap("bar(a)) or b", cursor) == "bar(a)"


def test_trim_right_overlap_balanced_text_past_quote_is_kept() -> None:
    cursor = cursor_at('f("|")\n')
    assert trim_right_overlap('a", "b', cursor) == 'a", "b'


def test_is_inside_indentation_before_code_blocks() -> None:
    # The cursor between two runs of spaces before `self.x = 0` (column 4 of 8).
    cursor = make_cursor("class A:\n    def f(self):\n    ", "    self.x = 0\n", 20)
    assert is_inside_indentation(cursor)
    assert not is_inside_indentation(make_cursor("def f():\n    ", "\n", 20))
    assert not is_inside_indentation(make_cursor("def f():\n    return", " x\n", 20))


def test_fit_to_word_after_replaces_continued_word() -> None:
    cursor = make_cursor("    self._loo", "p.call_soon(cb)\n", 20)
    assert fit_to_word_after("ps", cursor) == ("ps", 1)
    # Code follows the word, so only a longer word fits, not a new statement.
    assert fit_to_word_after("p_name = self._name", cursor) is None
    # At the end of the line the word may go on into a call.
    assert fit_to_word_after("nt(x)", make_cursor("    pri", "nt\n", 20)) == ("nt(x)", 2)


def test_fit_to_word_after_drops_split_word() -> None:
    cursor = make_cursor("    self._name = ", "f'Task-{n}'\n", 20)
    assert fit_to_word_after("name", cursor) is None
    assert fit_to_word_after("f", cursor) is None
    assert fit_to_word_after("x)", make_cursor("print(", ")\n", 20)) == ("x)", 0)
