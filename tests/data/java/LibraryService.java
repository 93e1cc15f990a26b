package org.example.library;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Lends books to members. */
public class LibraryService extends BaseService implements AutoCloseable {
    private final List<Book> books = new ArrayList<>();

    public LibraryService(String name) {
        super(name);
    }

    public void addBook(Book book) {
        books.add(book);
        log("added " + book.title());
    }

    public Optional<Book> findByTitle(String title) {
        return books.stream().filter(book -> book.title().equals(title)).findFirst();
    }

    @Override
    public void close() {
        books.clear();
    }

    public record Book(String title, String author) {}

    interface Listener {
        void onLend(Book book);
    }
}

enum Genre {
    FICTION,
    SCIENCE;

    String label() {
        return name().toLowerCase();
    }
}
