from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate(template="Compare {a} with {b}", input_variables=["a", "c"])
