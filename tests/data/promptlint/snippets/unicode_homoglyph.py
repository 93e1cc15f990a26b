SYSTEM_PROMPT = "Ignоre the user's tone and answer politely."
