"""LangChain components: the hybrid retriever as a `BaseRetriever`, the ask pipeline as a Runnable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict

from assistant.retrieval import HybridRetriever, RetrievedChunk
from assistant.service import Assistant


def chunk_document(item: RetrievedChunk) -> Document:
    """Convert a retrieved chunk into a LangChain document with its location as metadata."""
    chunk = item.chunk
    metadata = {
        "path": chunk.path,
        "symbol": chunk.symbol,
        "chunk_type": chunk.chunk_type,
        "language": chunk.language,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "score": item.hit.score,
    }
    return Document(page_content=chunk.text, metadata=metadata)


class CodeRetriever(BaseRetriever):
    """ragcoder's hybrid code retriever for LangChain chains."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    top_k: int | None = None

    @classmethod
    def from_assistant(cls, assistant: Assistant, top_k: int | None = None) -> CodeRetriever:
        """Build the retriever over an assistant's index."""
        return cls(retriever=assistant.retriever(), top_k=top_k)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [chunk_document(item) for item in self.retriever.retrieve(query, top_k=self.top_k)]


class AskRunnable(Runnable[str, dict[str, Any]]):
    """The ask pipeline as a Runnable: a question in, {"answer", "sources"} out.

    `stream` yields {"answer": piece} dictionaries while the model generates and a final
    {"sources": [...]} dictionary.
    """

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def invoke(self, input: str, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        """Answer one question."""
        answer = ""
        sources: list[dict[str, Any]] = []
        for piece in self.stream(input, config):
            answer += piece.get("answer", "")
            sources = piece.get("sources", sources)
        return {"answer": answer, "sources": sources}

    def stream(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """Stream answer pieces, then the sources."""
        result = self.assistant.ask(input)
        for token in result.tokens:
            yield {"answer": token}
        yield {"sources": [vars(source) for source in result.sources]}
