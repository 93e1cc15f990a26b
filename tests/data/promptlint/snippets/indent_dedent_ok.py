import textwrap

def ask(question, llm):
    prompt = textwrap.dedent(f"""
        You are a helpful assistant.
        Answer the question: {question}
        """)
    return llm.invoke(prompt)
