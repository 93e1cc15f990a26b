def ask(question, llm):
    prompt = f"""
        You are a helpful assistant.
        Answer the question: {question}
        """
    return llm.invoke(prompt)
