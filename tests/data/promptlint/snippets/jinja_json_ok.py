from langchain_core.prompts import PromptTemplate

tpl = PromptTemplate.from_template('Return {"key": "{{ value }}"}', template_format="jinja2")
tpl.format(value="x")
