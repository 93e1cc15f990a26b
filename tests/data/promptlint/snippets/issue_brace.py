def answer(q):
    msg = 'Reply in JSON like {"answer": "..."} for {question}'.format(question=q)
    return msg
