def complete(code, llm):
    prompt = f"Complete the code:\n{code} "
    return llm(prompt)
