SYSTEM_PROMPT = "You are {assistant_name}, a helpful assistant."
