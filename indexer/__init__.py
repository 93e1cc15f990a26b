"""Index side of ragcoder: files to tree-sitter chunks, embeddings, SQLite and FAISS."""
