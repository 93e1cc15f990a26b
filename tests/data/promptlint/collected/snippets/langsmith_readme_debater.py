
client = wrap_openai(openai.Client())


@traceable
def argument_generator(query: str, additional_description: str = "") -> str:
    return (
        client.chat.completions.create(
            model="gpt-5.4",
            messages=[
                {
                    "role": "system",
                    "content": "You are a debater making an argument on a topic."
                    f"{additional_description}"
                    f" The current time is {datetime.now()}",
                },
                {"role": "user", "content": f"The discussion topic is {query}"},
            ],
        )
        .choices[0]
        .message.content
    )
