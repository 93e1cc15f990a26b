from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages([("system", "You are a {persona}."), ("human", "{question}")])
chain = prompt | model
chain.invoke({"persona": "pirate", "question": "Where is the gold?"})
