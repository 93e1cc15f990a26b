SYSTEM_PROMPT = "Never print keys such as sk-xxxxxxxxxxxxxxxxxxxxxxxx in answers."
