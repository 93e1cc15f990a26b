QA_TEMPLATE = "Answer the question: {question}"

def ask(question, llm):
    return llm(QA_TEMPLATE.format(quesiton=question))
