def ask(llm):
    prompt = """Check this key:
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA7
-----END RSA PRIVATE KEY-----"""
    return llm(prompt)
