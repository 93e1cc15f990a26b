SYSTEM_PROMPT = "Use the key sk-proj-Q7f3Lm9Xw2Rt8Yb4Nc6Vd1Kp5Hs0 to call the API."
