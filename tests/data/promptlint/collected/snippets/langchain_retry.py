from langchain_openai import ChatOpenAI
from langchain_core.prompts import PromptTemplate

template = PromptTemplate.from_template("tell me a joke about {topic}.")
model = ChatOpenAI(temperature=0.5)

# Good
chain = template | model.with_retry()

# Bad
chain = template | model
