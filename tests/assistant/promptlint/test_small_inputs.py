"""Small inputs from the prompt linting specification and variations of them, each with the
rule codes and 1-based lines it must produce (an empty list: no finding)."""

from __future__ import annotations

import pytest

from assistant.promptlint import lint_text

CASES = [
    # The specification's inputs.
    ("brace_error.py", '''\
def answer(q):
    msg = 'Reply in JSON like {"answer": "..."} for {question}'.format(question=q)
''', [("RCP003", 2)]),
    ("unfilled.py", '''\
tpl = PromptTemplate.from_template("Summarize {text} in {n_words} words")
tpl.format(text=doc)
''', [("RCP001", 1)]),
    ("missing_f.py", '''\
def build(role):
    system = "You are {role}. Answer briefly."
''', [("RCP004", 2)]),
    ("trailing_space.py", '''\
def complete(code):
    prompt = f"Complete the code:\\n{code} "
''', [("RCP005", 2)]),
    ("jinja_json.py", '''\
t = PromptTemplate.from_template('{"key": "{{ value }}"}', template_format="jinja2")
t.format(value=1)
''', []),
    # Variations: the fixed forms of the inputs above.
    ("brace_escaped.py", '''\
def answer(q):
    msg = 'Reply in JSON like {{"answer": "..."}} for {question}'.format(question=q)
''', []),
    ("filled_by_partial.py", '''\
tpl = PromptTemplate.from_template("Summarize {text} in {n_words} words")
short = tpl.partial(n_words=50)
short.format(text=doc)
''', []),
    ("missing_f_not_in_scope.py", '''\
def build():
    system = "You are {role}. Answer briefly."
''', []),
    ("trailing_newline.py", '''\
def complete(code, llm):
    return llm(f"Complete the code:\\n{code}\\n")
''', []),
    # Variations: other spellings of the same defects.
    ("unknown_fill.py", '''\
tpl = PromptTemplate.from_template("Summarize {text}")
tpl.invoke({"text": doc, "lenght": 5})
''', [("RCP002", 2)]),
    ("fstring_json.py", '''\
def ask(q, llm):
    return llm(f'Reply as {"answer": 1} to {q}')
''', [("RCP003", 2)]),
    ("trailing_tab.py", '''\
def complete(code, llm):
    return llm.create_completion(prompt=f"{code}\\t")
''', [("RCP005", 2)]),
    ("bytes_prompt.py", '''\
prompt = b"Q: Name the planets in the solar system? A: "
''', [("RCP005", 1)]),
    ("js_missing_backticks.js", '''\
function greet(llm, name) {
  const prompt = "Say hello to ${name} ";
  return llm.invoke(prompt);
}
''', [("RCP004", 2), ("RCP005", 2)]),
    # Variations: look-alikes that are no defect.
    ("format_pieces.py", '''\
fmt = "{name:<" + str(width) + "} : {prompt}"
text = fmt.format(name=name, prompt=prompt)
''', []),
    ("messages_placeholder.py", '''\
prompt = ChatPromptTemplate.from_messages([("system", "You help."), MessagesPlaceholder("history"), ("human", "{question}")])
prompt.invoke({"history": [], "question": "why?"})
''', []),
    ("system_message_part.py", '''\
DEFAULT_SYSTEM_MESSAGE = "A chat between a user and an assistant. "
''', []),
    ("mustache.py", '''\
t = PromptTemplate.from_template("Hi {{name}}, {\\"a\\": 1}", template_format="mustache")
t.invoke({"name": "Ada"})
''', []),
]


@pytest.mark.parametrize(("name", "source", "expected"), CASES, ids=[case[0] for case in CASES])
def test_small_input_findings(name: str, source: str, expected: list[tuple[str, int]]) -> None:
    found = [(item.finding.code, item.line + 1) for item in lint_text(name, source)]
    assert found == expected
