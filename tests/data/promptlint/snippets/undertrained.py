SYSTEM_PROMPT = "Explain what SolidGoldMagikarp means in one sentence."
