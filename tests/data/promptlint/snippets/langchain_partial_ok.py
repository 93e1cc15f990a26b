from langchain_core.prompts import PromptTemplate

base = PromptTemplate.from_template("Write a {style} poem about {topic}")
haiku = base.partial(style="haiku")
haiku.format(topic="rain")
