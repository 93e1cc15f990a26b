"""A small lending library: the graph context tests complete code that uses it."""

from .books import Book
