TEMPLATE = "Hello {name}, you are {age}"

def greet(values, llm):
    return llm(TEMPLATE.format(**values))
