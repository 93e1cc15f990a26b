"""Tests for reading the names near a completion cursor from tree-sitter leaves."""

from __future__ import annotations

from assistant.graph_names import NameUse, callee_at_cursor, names_near_cursor


def _pairs(uses: list[NameUse]) -> set[tuple[str | None, str]]:
    return {(use.receiver, use.name) for use in uses}


def test_names_near_cursor_reads_member_chains() -> None:
    uses = names_near_cursor("x = os.path.join(a)\ny = self.store.save(", ")\n", "python")

    assert {("os", "path"), ("os.path", "join"), ("self", "store"), ("self.store", "save"), (None, "os")} <= _pairs(uses)


def test_names_near_cursor_super_call_is_receiver() -> None:
    uses = names_near_cursor("        super().close(", ")", "python")

    assert ("super", "close") in _pairs(uses)


def test_names_near_cursor_call_result_ends_chain() -> None:
    uses = names_near_cursor("value = make().run(", ")", "python")

    assert (None, "run") in _pairs(uses)
    assert ("make", "run") not in _pairs(uses)


def test_names_near_cursor_nearest_first_and_unique() -> None:
    uses = names_near_cursor("far = 1\nsave(far)\nnear(", ")\nafter()\n", "python")

    names = [use.name for use in uses]
    assert names[:2] == ["near", "after"]
    assert names.count("far") == 1


def test_callee_at_cursor_skips_closed_calls() -> None:
    callee = callee_at_cursor("result = store.put(key, compute(a, b), ", "python")

    assert callee is not None
    assert (callee.receiver, callee.name) == ("store", "put")


def test_callee_at_cursor_outside_call_is_none() -> None:
    assert callee_at_cursor("result = store.put(key)\n", "python") is None
    assert callee_at_cursor("items = [store.put(", "python") is not None
    assert callee_at_cursor("items = [", "python") is None


def test_callee_at_cursor_javascript_member() -> None:
    callee = callee_at_cursor("const user = await this.api.fetchUser(id, ", "javascript")

    assert callee is not None
    assert (callee.receiver, callee.name) == ("this.api", "fetchUser")
