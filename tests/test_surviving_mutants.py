"""The list of unobservable mutants stays true to the code it describes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.surviving_mutants import SURVIVORS

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_rnn"


def _function_source(file: str, function: str) -> str:
    """The source of `function` ("Class.method" or "name") in tinygrad_rnn/<file>."""
    source = (PACKAGE / file).read_text()
    scope: list[ast.stmt] = ast.parse(source).body
    node = None
    for part in function.split("."):
        node = next((n for n in scope if getattr(n, "name", None) == part), None)
        assert node is not None, f"{file}: no {part!r} (from {function!r})"
        scope = getattr(node, "body", [])
    # Whole lines: the segment of the node would end before a comment on its last line.
    return "\n".join(source.splitlines()[node.lineno - 1 : node.end_lineno])


@pytest.mark.parametrize("entry", SURVIVORS, ids=lambda s: f"{s.file}:{s.function}")
def test_each_listed_survivor_still_matches_its_function(entry):
    stripped = {line.strip() for line in _function_source(entry.file, entry.function).splitlines()}
    for line in entry.original.split("\n"):
        assert line in stripped, f"{entry.file} {entry.function}: {line!r} is gone; update or drop the entry"
    assert entry.mutant != entry.original
    assert len(entry.why.split()) >= 5, "say why no call can tell the two apart"


def test_no_survivor_is_listed_twice():
    keys = [(s.file, s.function, s.original, s.mutant) for s in SURVIVORS]
    assert len(keys) == len(set(keys))
