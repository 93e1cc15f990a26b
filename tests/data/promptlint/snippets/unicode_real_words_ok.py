SYSTEM_PROMPT = "Answer in Russian when asked: привет means hello, and café is fine."
