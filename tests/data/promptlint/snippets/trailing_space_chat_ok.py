from anthropic import Anthropic

client = Anthropic()
client.messages.create(model="claude", max_tokens=10, messages=[{"role": "user", "content": "Hello there "}])
