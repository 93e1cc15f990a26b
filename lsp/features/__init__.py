"""LSP feature handlers, one module per feature group."""
