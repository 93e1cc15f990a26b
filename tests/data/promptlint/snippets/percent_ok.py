PROMPT = "Summarize %(text)s in %(count)d words"

def run(text, llm):
    return llm(PROMPT % {"text": text, "count": 20})
