"""The lending desk; the tests open this file as the document being edited."""

from library import Book
from library.books import shelve
import library.books as books


class Desk:
    """A desk that lends books."""

    def lend(self, title):
        book = Book(title, 100)
        shelve(book, self.shelf)
        return book.summary()
