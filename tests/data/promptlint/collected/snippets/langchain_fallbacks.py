from langchain_core.prompts import PromptTemplate
from langchain_core.output_parser import StrOutputParser
from langchain_core.runnables import RunnableLambda


def when_all_is_lost(inputs):
    return (
        "Looks like our LLM providers are down. "
        "Here's a nice 🦜️ emoji for you instead."
    )


chain_with_fallback = (
    PromptTemplate.from_template("Tell me a joke about {topic}")
    | model
    | StrOutputParser()
).with_fallbacks([RunnableLambda(when_all_is_lost)])
