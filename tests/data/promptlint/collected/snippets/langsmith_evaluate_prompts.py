import functools
import openai
from langsmith.evaluation import evaluate
from langsmith.wrappers import wrap_openai
oai_client = openai.Client()
wrapped_client = wrap_openai(oai_client)
prompt_1 = "You are a helpful assistant."
prompt_2 = "You are an exceedingly helpful assistant."
def predict(inputs: dict, prompt: str) -> dict:
    completion = wrapped_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": prompt},
            {
                "role": "user",
                "content": f"Context: {inputs['context']}\n\ninputs['question']",
            },
        ],
    )
    return {"output": completion.choices[0].message.content}
