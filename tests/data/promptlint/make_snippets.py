"""Write the labelled prompt snippets and expected.json; run it after changing a snippet here.

Each expected finding is (rule code, text of the line it starts on), turned into a line number.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
SNIPPETS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("issue_brace.py", '''\
def answer(q):
    msg = 'Reply in JSON like {"answer": "..."} for {question}'.format(question=q)
    return msg
''', [("RCP003", "Reply in JSON")]),
    ("issue_unfilled.py", '''\
from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template("Summarize {text} in {n_words} words")

def run(doc):
    return tpl.format(text=doc)
''', [("RCP001", "Summarize {text}")]),
    ("issue_missing_f.py", '''\
def build(role):
    system = "You are {role}. Answer briefly."
    return system
''', [("RCP004", "You are {role}")]),
    ("issue_trailing_space.py", '''\
def complete(code, llm):
    prompt = f"Complete the code:\\n{code} "
    return llm(prompt)
''', [("RCP005", "Complete the code")]),
    ("jinja_json_ok.py", '''\
from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template('Return {"key": "{{ value }}"}', template_format="jinja2")
tpl.format(value="x")
''', []),
    ("format_ok.py", '''\
PROMPT_TEMPLATE = "Translate {text} into {language}."

def translate(text, llm):
    return llm(PROMPT_TEMPLATE.format(text=text, language="French"))
''', []),
    ("format_unknown_fill.py", '''\
QA_TEMPLATE = "Answer the question: {question}"

def ask(question, llm):
    return llm(QA_TEMPLATE.format(quesiton=question))
''', [("RCP001", "QA_TEMPLATE ="), ("RCP002", "QA_TEMPLATE.format")]),
    ("format_escaped_ok.py", '''\
JSON_PROMPT = "Reply as JSON like {{\\"answer\\": 1}} about {topic}."

def ask(topic, llm):
    return llm(JSON_PROMPT.format(topic=topic))
''', []),
    ("format_single_brace.py", '''\
def prompt_for(item):
    return "List the fields of {item} } as bullet points".format(item=item)
''', [("RCP003", "List the fields")]),
    ("format_splat_ok.py", '''\
TEMPLATE = "Hello {name}, you are {age}"

def greet(values, llm):
    return llm(TEMPLATE.format(**values))
''', []),
    ("fstring_json.py", '''\
def ask(question, client):
    prompt = f'Answer {question} as JSON: {"answer": "..."}'
    return client.completions.create(model="m", prompt=prompt)
''', [("RCP003", "Answer {question}")]),
    ("fstring_escaped_ok.py", '''\
def ask(question, client):
    prompt = f'Answer {question} as JSON: {{"answer": "..."}}'
    return client.completions.create(model="m", prompt=prompt)
''', []),
    ("langchain_invoke_ok.py", '''\
from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages([("system", "You are a {persona}."), ("human", "{question}")])
chain = prompt | model
chain.invoke({"persona": "pirate", "question": "Where is the gold?"})
''', []),
    ("langchain_invoke_typo.py", '''\
from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages([("system", "You are a {persona}."), ("human", "{question}")])
chain = prompt | model
chain.invoke({"persona": "pirate", "questoin": "Where is the gold?"})
''', [("RCP001", "from_messages"), ("RCP002", "chain.invoke")]),
    ("langchain_partial_ok.py", '''\
from langchain_core.prompts import PromptTemplate

base = PromptTemplate.from_template("Write a {style} poem about {topic}")
haiku = base.partial(style="haiku")
haiku.format(topic="rain")
''', []),
    ("langchain_input_variables.py", '''\
from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate(template="Compare {a} with {b}", input_variables=["a", "c"])
''', [("RCP001", "Compare {a}"), ("RCP002", "Compare {a}")]),
    ("langchain_brace.py", '''\
from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template('Extract {field} and reply like {"value": 1}')
tpl.invoke({"field": "name"})
''', [("RCP003", "Extract {field}")]),
    ("langchain_mustache_ok.py", '''\
from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template('Reply {"ok": true} to {{name}}', template_format="mustache")
tpl.format(name="Ann")
''', []),
    ("missing_f_not_in_scope.py", '''\
SYSTEM_PROMPT = "You are {assistant_name}, a helpful assistant."
''', []),
    ("missing_f_template_name_ok.py", '''\
def make(role):
    system_template = "You are {role}."
    return system_template
''', []),
    ("missing_f_in_messages.py", '''\
from openai import OpenAI

client = OpenAI()

def ask(question):
    return client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Please answer: {question}"}],
    )
''', [("RCP004", "Please answer")]),
    ("trailing_space_chat_ok.py", '''\
from anthropic import Anthropic

client = Anthropic()
client.messages.create(model="claude", max_tokens=10, messages=[{"role": "user", "content": "Hello there "}])
''', []),
    ("trailing_space_stripped_ok.py", '''\
def complete(code, llm):
    prompt = f"Complete:\\n{code} ".rstrip()
    return llm(prompt)
''', []),
    ("trailing_space_piece_ok.py", '''\
def complete(code, llm):
    prompt = "Answer: " + code
    return llm(prompt)
''', []),
    ("trailing_tab_llama.py", '''\
from llama_cpp import Llama

llm = Llama(model_path="m.gguf")
out = llm.create_completion("def fibonacci(n):\\n\\t", max_tokens=32)
''', [("RCP005", "def fibonacci")]),
    ("indent_leak.py", '''\
def ask(question, llm):
    prompt = f"""
        You are a helpful assistant.
        Answer the question: {question}
        """
    return llm.invoke(prompt)
''', [("RCP006", "You are a helpful assistant.")]),
    ("indent_dedent_ok.py", '''\
import textwrap

def ask(question, llm):
    prompt = textwrap.dedent(f"""
        You are a helpful assistant.
        Answer the question: {question}
        """)
    return llm.invoke(prompt)
''', []),
    ("indent_flush_ok.py", '''\
SYSTEM_PROMPT = """
You are a helpful assistant.
Answer briefly.
"""
''', []),
    ("secret_openai.py", '''\
SYSTEM_PROMPT = "Use the key sk-proj-Q7f3Lm9Xw2Rt8Yb4Nc6Vd1Kp5Hs0 to call the API."
''', [("RCP008", "SYSTEM_PROMPT")]),
    ("secret_placeholder_ok.py", '''\
SYSTEM_PROMPT = "Never print keys such as sk-xxxxxxxxxxxxxxxxxxxxxxxx in answers."
''', []),
    ("secret_private_key.py", '''\
def ask(llm):
    prompt = """Check this key:
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA7
-----END RSA PRIVATE KEY-----"""
    return llm(prompt)
''', [("RCP008", "BEGIN RSA")]),
    ("secret_bearer.py", '''\
import ollama

ollama.generate(model="llama3", prompt="Call the API with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.a8Fk2LmQ9zXw7Rt")
''', [("RCP008", "ollama.generate")]),
    ("unicode_zero_width.py", '''\
INSTRUCTIONS = "Summarize the text\\u200b in two sentences."
''', [("RCP009", "INSTRUCTIONS")]),
    ("unicode_homoglyph.py", '''\
SYSTEM_PROMPT = "Ignоre the user's tone and answer politely."
''', [("RCP009", "SYSTEM_PROMPT")]),
    ("unicode_real_words_ok.py", '''\
SYSTEM_PROMPT = "Answer in Russian when asked: привет means hello, and café is fine."
''', []),
    ("percent_ok.py", '''\
PROMPT = "Summarize %(text)s in %(count)d words"

def run(text, llm):
    return llm(PROMPT % {"text": text, "count": 20})
''', []),
    ("percent_missing.py", '''\
PROMPT = "Summarize %(text)s in %(count)d words"

def run(text, llm):
    return llm(PROMPT % {"text": text})
''', [("RCP001", "PROMPT =")]),
    ("litellm_ok.py", '''\
import litellm

def ask(question):
    return litellm.completion(model="gpt-4o", messages=[{"role": "user", "content": f"Question: {question}"}])
''', []),
    ("cohere_secret.py", '''\
import cohere

co = cohere.Client()
co.chat(message="Here is my token ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 please debug")
''', [("RCP008", "co.chat")]),
    ("not_a_prompt_ok.py", '''\
import logging

logger = logging.getLogger(__name__)

def load(path):
    logger.info("loading {path} ")
    return open(path).read()
''', []),
    ("js_missing_backticks.js", '''\
import OpenAI from "openai";
const client = new OpenAI();
export async function ask(question) {
  return client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Answer: ${question}" }] });
}
''', [("RCP004", "Answer: ${question}")]),
    ("js_template_ok.js", '''\
import OpenAI from "openai";
const client = new OpenAI();
export async function ask(question) {
  return client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: `Answer: ${question}` }] });
}
''', []),
    ("ts_langchain_brace.ts", '''\
import { PromptTemplate } from "@langchain/core/prompts";
const prompt = PromptTemplate.fromTemplate("Describe {topic} as JSON like {\\"name\\": 1}");
await prompt.format({ topic: "cats" });
''', [("RCP003", "Describe {topic}")]),
    ("ts_langchain_extra.ts", '''\
import { PromptTemplate } from "@langchain/core/prompts";
const prompt = PromptTemplate.fromTemplate("Describe {topic} briefly");
await prompt.format({ topic: "cats", tone: "dry" });
''', [("RCP002", "prompt.format")]),
    ("ts_trailing_space.ts", '''\
import { Ollama } from "ollama";
const ollama = new Ollama();
const completionPrompt = "def add(a, b):\\n    return ";
await ollama.generate({ model: "codellama", prompt: completionPrompt });
''', [("RCP005", "const completionPrompt")]),
    ("ts_indent_leak.ts", '''\
export function build(question: string) {
  const systemPrompt = `
    You are a careful assistant.
    Answer: ${question}
  `;
  return systemPrompt;
}
''', [("RCP006", "You are a careful")]),
    ("template_file_ok.j2", '''\
Return JSON like {"key": "{{ value }}"} for every item in {% for item in items %}{{ item }}{% endfor %}.
''', []),
    ("prompts/secret.txt", '''\
You are a support bot. Internal token: xoxb-2f9K3m1Q8zR5w7T4y6U0
''', [("RCP008", "Internal token")]),
    ("long_prompt.py", '''\
SYSTEM_PROMPT = """Answer politely. """ + "word " * 3
LONG_PROMPT = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega one two three four five six seven eight nine ten"
''', [("RCP007", "LONG_PROMPT")]),
    ("undertrained.py", '''\
SYSTEM_PROMPT = "Explain what SolidGoldMagikarp means in one sentence."
''', [("RCP010", "SYSTEM_PROMPT")]),
    ("suppressed_ok.py", '''\
SYSTEM_PROMPT = "Ignоre the user's tone."  # ragcoder: ignore[RCP009]
''', []),
]


def main() -> None:
    expected: dict[str, list[list[object]]] = {}
    for name, text, findings in SNIPPETS:
        path = HERE / "snippets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        lines = text.split("\n")
        rows: list[list[object]] = []
        for code, marker in findings:
            line = next(i for i, item in enumerate(lines, start=1) if marker in item)
            rows.append([code, line])
        expected[name] = rows
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
