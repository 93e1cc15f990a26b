def prompt_for(item):
    return "List the fields of {item} } as bullet points".format(item=item)
