from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template("Summarize {text} in {n_words} words")

def run(doc):
    return tpl.format(text=doc)
