"""Query side of ragcoder: retrieval, context packing, prompts and generation."""
