def ask(question, client):
    prompt = f'Answer {question} as JSON: {{"answer": "..."}}'
    return client.completions.create(model="m", prompt=prompt)
