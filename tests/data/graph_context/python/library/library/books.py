"""Books and the records they are stored as."""


class Record:
    """A stored record."""

    def save(self, store):
        """Write the record to `store` and return its key."""
        key = store.next_key()
        store.put(key, self)
        store.flush()
        store.log("saved", key)
        store.count += 1
        return key


class Book(Record):
    """A book on a shelf."""

    def __init__(self, title, pages):
        self.title = title
        self.pages = pages

    def summary(self):
        return f"{self.title} ({self.pages} pages)"


def shelve(book, shelf):
    """Put `book` on `shelf`."""
    shelf.append(book)
