from llama_cpp import Llama

llm = Llama(model_path="m.gguf")
out = llm.create_completion("def fibonacci(n):\n\t", max_tokens=32)
