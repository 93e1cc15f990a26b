from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template('Reply {"ok": true} to {{name}}', template_format="mustache")
tpl.format(name="Ann")
