INSTRUCTIONS = "Summarize the text\u200b in two sentences."
