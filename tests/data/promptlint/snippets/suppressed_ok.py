SYSTEM_PROMPT = "Ignоre the user's tone."  # ragcoder: ignore[RCP009]
