def build(role):
    system = "You are {role}. Answer briefly."
    return system
