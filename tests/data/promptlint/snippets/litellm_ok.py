import litellm

def ask(question):
    return litellm.completion(model="gpt-4o", messages=[{"role": "user", "content": f"Question: {question}"}])
