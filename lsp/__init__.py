"""Language server adapter: converts LSP requests into calls to the assistant package."""
