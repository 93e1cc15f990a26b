def make(role):
    system_template = "You are {role}."
    return system_template
