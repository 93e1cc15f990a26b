from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template('Extract {field} and reply like {"value": 1}')
tpl.invoke({"field": "name"})
