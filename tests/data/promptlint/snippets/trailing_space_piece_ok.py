def complete(code, llm):
    prompt = "Answer: " + code
    return llm(prompt)
