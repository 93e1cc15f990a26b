def complete(code, llm):
    prompt = f"Complete:\n{code} ".rstrip()
    return llm(prompt)
