"""Document helpers for the feature handlers: position encodings, snapshots of open
documents and the tickets that tell a running completion it has gone stale."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls import uris
from pygls.workspace import Workspace

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"

logger = logging.getLogger(__name__)

# LSP counts only these three sequences as line ends; str.splitlines() also splits at
# form feeds, U+2028 and others, which would shift every later line number.
_LINE_END = re.compile(r"\r\n|\r|\n")

# Indexer language names by LSP language id.
_LANGUAGE_BY_ID = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
}


@dataclass(frozen=True)
class DocumentSnapshot:
    """An open document's text and a cursor in it, taken when a request arrived.

    `text` has "\n" line ends only. `line` and `column` count code points; `encoding` is the negotiated LSP position
    encoding that the client's columns use.
    """

    uri: str
    path: str
    version: int | None
    language: str | None
    text: str
    line: int
    column: int
    line_text: str
    encoding: str


def _code_units(char: str, encoding: str) -> int:
    if encoding == UTF8:
        return len(char.encode("utf-8"))
    if encoding == UTF16:
        return 2 if ord(char) > 0xFFFF else 1
    return 1


def encoding_name(encoding: types.PositionEncodingKind | str | None) -> str:
    """Normalise a negotiated position encoding; LSP's default is UTF-16."""
    if encoding is None:
        return UTF16
    return str(getattr(encoding, "value", encoding))


def to_code_points(line_text: str, character: int, encoding: str) -> int:
    """Convert a client column (code units of `encoding`) into a code point column.

    A column past the end of the line is clamped to the line's end. A column that
    falls inside a character (half of a UTF-16 surrogate pair) rounds down to its start.
    """
    if encoding == UTF32:
        return max(0, min(character, len(line_text)))

    units = 0
    for index, char in enumerate(line_text):
        width = _code_units(char, encoding)
        if units + width > character:
            return index
        units += width
    return len(line_text)


def to_client_units(line_text: str, column: int, encoding: str) -> int:
    """Convert a code point column into the client's code units of `encoding`."""
    return sum(_code_units(char, encoding) for char in line_text[:column])


def split_lines(text: str) -> list[str]:
    """Split `text` at LSP line ends; the result has one entry per LSP line."""
    return _LINE_END.split(text)


def language_for(language_id: str | None) -> str | None:
    """Map an LSP language id to an indexer language name; None lets the assistant
    infer the language from the file name."""
    if language_id is None:
        return None
    return _LANGUAGE_BY_ID.get(language_id)


def request_path(uri: str, root: Path | None) -> str:
    """Name the document for the assistant: a repository-relative POSIX path when the
    file is inside `root`, else its absolute path, else the URI (unsaved buffers)."""
    fs_path = uris.to_fs_path(uri)
    if fs_path is None:
        return uri

    path = Path(fs_path)
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def take_snapshot(
    workspace: Workspace, uri: str, position: types.Position, root: Path | None
) -> DocumentSnapshot | None:
    """Copy an open document's text and convert `position` to code points; None when
    the client never opened the document or the line is outside it."""
    document = workspace.text_documents.get(uri)
    if document is None:
        return None

    # The assistant splits lines at "\n" only, so other LSP line ends are normalised.
    lines = split_lines(document.source)
    text = "\n".join(lines)
    if not 0 <= position.line < len(lines):
        logger.warning("position line %d is outside %s (%d lines); no completion", position.line, uri, len(lines))
        return None
    line = position.line
    encoding = encoding_name(workspace.position_encoding)
    column = to_code_points(lines[line], position.character, encoding)

    path = request_path(uri, root)
    return DocumentSnapshot(
        uri=uri,
        path=path,
        version=document.version,
        language=language_for(document.language_id),
        text=text,
        line=line,
        column=column,
        line_text=lines[line],
        encoding=encoding,
    )


def client_position(snapshot: DocumentSnapshot, column: int) -> types.Position:
    """Convert a code point column on the snapshot's cursor line to an LSP position."""
    return types.Position(
        line=snapshot.line, character=to_client_units(snapshot.line_text, column, snapshot.encoding)
    )


class Ticket:
    """One completion request in flight; `is_cancelled` may be called from any thread.

    It turns true when the request is cancelled, when a newer request for the same
    document supersedes it, when the server shuts down, or when the document's version
    differs from the version the request was made against.
    """

    def __init__(
        self,
        uri: str,
        version: int | None,
        current_version: Callable[[str], int | None],
        closing: threading.Event,
    ) -> None:
        self.uri = uri
        self.version = version
        self._current_version = current_version
        self._closing = closing
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Mark the request as cancelled."""
        self._cancelled.set()

    def is_cancelled(self) -> bool:
        """Tell whether the result of this request is no longer wanted."""
        if self._cancelled.is_set() or self._closing.is_set():
            return True
        return self._current_version(self.uri) != self.version


class PendingCompletions:
    """The latest completion request per document; starting a newer one cancels the older."""

    def __init__(self, current_version: Callable[[str], int | None], closing: threading.Event) -> None:
        self._current_version = current_version
        self._closing = closing
        self._latest: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def start(self, uri: str, version: int | None) -> Ticket:
        """Register a new request for `uri` and cancel the one it supersedes."""
        ticket = Ticket(uri, version, self._current_version, self._closing)
        with self._lock:
            previous = self._latest.get(uri)
            self._latest[uri] = ticket
        if previous is not None:
            previous.cancel()
        return ticket

    def finish(self, ticket: Ticket) -> None:
        """Forget `ticket` unless a newer request has already replaced it."""
        with self._lock:
            if self._latest.get(ticket.uri) is ticket:
                del self._latest[ticket.uri]


def workspace_version_reader(workspace_getter: Callable[[], Workspace]) -> Callable[[str], int | None]:
    """Build a function that returns an open document's current version, or None once
    it is closed. Worker threads call it, so it reads a single dict entry and no text."""

    def current_version(uri: str) -> int | None:
        document = workspace_getter().text_documents.get(uri)
        return None if document is None else document.version

    return current_version
