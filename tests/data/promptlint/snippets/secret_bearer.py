import ollama

ollama.generate(model="llama3", prompt="Call the API with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.a8Fk2LmQ9zXw7Rt")
