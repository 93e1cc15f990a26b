"""Tests of the FAISS adapter against the brute-force numpy index on small random data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from indexer.vector_index import FILE_MAGIC, FaissIndex, NumpyIndex, VectorIndex

DIMENSION = 16


def random_vectors(count: int, seed: int = 0) -> npt.NDArray[np.float32]:
    matrix = np.random.default_rng(seed).standard_normal((count, DIMENSION)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def random_ids(count: int, seed: int = 1) -> npt.NDArray[np.int64]:
    return np.random.default_rng(seed).choice(10_000, size=count, replace=False).astype(np.int64)


def both_indexes(ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> tuple[FaissIndex, NumpyIndex]:
    reference = NumpyIndex(DIMENSION)
    reference.add(ids, vectors)
    return FaissIndex.from_vectors(ids, vectors), reference


def assert_same_hits(actual: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [chunk_id for chunk_id, _ in actual] == [chunk_id for chunk_id, _ in expected]
    np.testing.assert_allclose([s for _, s in actual], [s for _, s in expected], rtol=1e-5, atol=1e-5)


def test_faiss_search_matches_brute_force() -> None:
    ids, vectors = random_ids(200), random_vectors(200)
    faiss_index, reference = both_indexes(ids, vectors)

    for query in random_vectors(20, seed=7):
        assert_same_hits(faiss_index.search(query, 10), reference.search(query, 10))


def test_faiss_search_scores_are_inner_products() -> None:
    ids, vectors = random_ids(50), random_vectors(50)
    faiss_index = FaissIndex.from_vectors(ids, vectors)
    query = random_vectors(1, seed=3)[0]

    hits = faiss_index.search(query, 5)

    by_id = dict(zip(ids.tolist(), vectors))
    for chunk_id, score in hits:
        assert score == pytest.approx(float(by_id[chunk_id] @ query), abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


@pytest.mark.parametrize("index_class", [FaissIndex, NumpyIndex])
def test_search_k_larger_than_index_returns_all(index_class: type[FaissIndex] | type[NumpyIndex]) -> None:
    index: VectorIndex = index_class(DIMENSION)
    index.add(random_ids(3), random_vectors(3))

    hits = index.search(random_vectors(1, seed=9)[0], 10)

    assert len(hits) == 3
    assert all(chunk_id >= 0 for chunk_id, _ in hits)


@pytest.mark.parametrize("index_class", [FaissIndex, NumpyIndex])
def test_search_empty_index_returns_nothing(index_class: type[FaissIndex] | type[NumpyIndex]) -> None:
    index: VectorIndex = index_class(DIMENSION)

    assert index.search(random_vectors(1)[0], 5) == []
    assert len(index) == 0


@pytest.mark.parametrize("index_class", [FaissIndex, NumpyIndex])
def test_search_k_zero_returns_nothing(index_class: type[FaissIndex] | type[NumpyIndex]) -> None:
    index: VectorIndex = index_class(DIMENSION)
    index.add(random_ids(3), random_vectors(3))

    assert index.search(random_vectors(1)[0], 0) == []


def test_faiss_remove_matches_brute_force() -> None:
    ids, vectors = random_ids(100), random_vectors(100)
    faiss_index, reference = both_indexes(ids, vectors)
    removed = np.concatenate([ids[::3], np.array([99_999], dtype=np.int64)])

    faiss_index.remove(removed)
    reference.remove(removed)

    assert len(faiss_index) == len(reference) == 100 - len(ids[::3])
    for query in random_vectors(10, seed=5):
        hits = faiss_index.search(query, 100)
        assert_same_hits(hits, reference.search(query, 100))
        assert not set(removed.tolist()) & {chunk_id for chunk_id, _ in hits}


def test_faiss_add_existing_id_replaces_vector() -> None:
    ids, vectors = random_ids(20), random_vectors(20)
    faiss_index, reference = both_indexes(ids, vectors)
    replacement = -vectors[:5]

    faiss_index.add(ids[:5], replacement)
    reference.add(ids[:5], replacement)

    assert len(faiss_index) == len(reference) == 20
    for query in [vectors[0], *random_vectors(5, seed=11)]:
        assert_same_hits(faiss_index.search(query, 20), reference.search(query, 20))


def test_faiss_add_after_remove_matches_brute_force() -> None:
    ids, vectors = random_ids(60), random_vectors(60)
    faiss_index, reference = both_indexes(ids[:40], vectors[:40])
    for index in (faiss_index, reference):
        index.remove(ids[:10])
        index.add(ids[40:], vectors[40:])

    assert len(faiss_index) == len(reference) == 50
    for query in random_vectors(10, seed=13):
        assert_same_hits(faiss_index.search(query, 15), reference.search(query, 15))


@pytest.mark.parametrize("index_class", [FaissIndex, NumpyIndex])
def test_add_wrong_shape_raises(index_class: type[FaissIndex] | type[NumpyIndex]) -> None:
    index: VectorIndex = index_class(DIMENSION)

    with pytest.raises(ValueError, match="one row per id"):
        index.add(random_ids(3), random_vectors(4))
    with pytest.raises(ValueError, match="one row per id"):
        index.add(random_ids(3), np.zeros((3, DIMENSION + 1), dtype=np.float32))


@pytest.mark.parametrize("index_class", [FaissIndex, NumpyIndex])
def test_add_duplicate_ids_raises(index_class: type[FaissIndex] | type[NumpyIndex]) -> None:
    index: VectorIndex = index_class(DIMENSION)

    with pytest.raises(ValueError, match="duplicates"):
        index.add(np.array([1, 1], dtype=np.int64), random_vectors(2))


@pytest.mark.parametrize("index_class", [FaissIndex, NumpyIndex])
def test_search_wrong_query_shape_raises(index_class: type[FaissIndex] | type[NumpyIndex]) -> None:
    index: VectorIndex = index_class(DIMENSION)

    with pytest.raises(ValueError, match="query has shape"):
        index.search(np.zeros(DIMENSION + 1, dtype=np.float32), 3)


def test_faiss_from_vectors_without_columns_raises() -> None:
    with pytest.raises(ValueError, match="at least one column"):
        FaissIndex.from_vectors(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))


def test_faiss_save_load_round_trip(tmp_path: Path) -> None:
    ids, vectors = random_ids(80), random_vectors(80)
    original = FaissIndex.from_vectors(ids, vectors)
    path = tmp_path / "vectors.faiss"

    original.save(path, generation=7)
    loaded = FaissIndex.load(path, expected_generation=7)

    assert loaded is not None
    assert loaded.dimension == DIMENSION
    assert len(loaded) == 80
    for query in random_vectors(5, seed=17):
        assert_same_hits(loaded.search(query, 10), original.search(query, 10))
    assert list(tmp_path.iterdir()) == [path]


def test_faiss_loaded_index_supports_updates(tmp_path: Path) -> None:
    ids, vectors = random_ids(30), random_vectors(30)
    path = tmp_path / "vectors.faiss"
    FaissIndex.from_vectors(ids, vectors).save(path, generation=1)
    loaded = FaissIndex.load(path, expected_generation=1)
    reference = NumpyIndex(DIMENSION)
    reference.add(ids, vectors)
    assert loaded is not None

    for index in (loaded, reference):
        index.add(ids[:3], -vectors[:3])
        index.remove(ids[3:6])

    assert len(loaded) == len(reference) == 27
    assert_same_hits(loaded.search(vectors[0], 30), reference.search(vectors[0], 30))


def test_faiss_save_replaces_older_file(tmp_path: Path) -> None:
    path = tmp_path / "vectors.faiss"
    FaissIndex.from_vectors(random_ids(5), random_vectors(5)).save(path, generation=1)

    FaissIndex.from_vectors(random_ids(9, seed=2), random_vectors(9, seed=2)).save(path, generation=2)
    loaded = FaissIndex.load(path, expected_generation=2)

    assert loaded is not None
    assert len(loaded) == 9
    assert FaissIndex.load(path, expected_generation=1) is None


def test_faiss_load_stale_generation_returns_none(tmp_path: Path) -> None:
    path = tmp_path / "vectors.faiss"
    FaissIndex.from_vectors(random_ids(5), random_vectors(5)).save(path, generation=3)

    assert FaissIndex.load(path, expected_generation=4) is None


def test_faiss_load_missing_file_returns_none(tmp_path: Path) -> None:
    assert FaissIndex.load(tmp_path / "vectors.faiss", expected_generation=0) is None


def corrupt_copies(data: bytes) -> dict[str, bytes]:
    header_end = data.index(b"\n", len(FILE_MAGIC)) + 1
    flipped = bytearray(data)
    flipped[-1] ^= 0xFF
    header = json.loads(data[len(FILE_MAGIC):header_end])
    header["crc32"] = 0
    return {
        "garbage": bytes(range(256)) * 8,
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "flipped byte": bytes(flipped),
        "bad header json": FILE_MAGIC + b"{not json\n" + data[header_end:],
        "wrong checksum": FILE_MAGIC + json.dumps(header).encode() + b"\n" + data[header_end:],
        "header only": data[:header_end],
    }


@pytest.mark.parametrize("case", ["garbage", "empty", "truncated", "flipped byte", "bad header json",
                                  "wrong checksum", "header only"])
def test_faiss_load_corrupt_file_returns_none(tmp_path: Path, case: str) -> None:
    path = tmp_path / "vectors.faiss"
    FaissIndex.from_vectors(random_ids(20), random_vectors(20)).save(path, generation=5)
    path.write_bytes(corrupt_copies(path.read_bytes())[case])

    assert FaissIndex.load(path, expected_generation=5) is None


def test_faiss_load_directory_path_returns_none(tmp_path: Path) -> None:
    (tmp_path / "vectors.faiss").mkdir()

    assert FaissIndex.load(tmp_path / "vectors.faiss", expected_generation=0) is None
