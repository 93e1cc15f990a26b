PROMPT_TEMPLATE = "Translate {text} into {language}."

def translate(text, llm):
    return llm(PROMPT_TEMPLATE.format(text=text, language="French"))
