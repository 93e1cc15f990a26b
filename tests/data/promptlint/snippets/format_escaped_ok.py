JSON_PROMPT = "Reply as JSON like {{\"answer\": 1}} about {topic}."

def ask(topic, llm):
    return llm(JSON_PROMPT.format(topic=topic))
