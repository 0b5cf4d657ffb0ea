"""The mutants that `make mutants` leaves alive, each with why no test can observe it.

mutmut changes one thing at a time in the engine, the ops, gradcheck, the steps, the layers,
the losses and the optimizers (a `+` for a `-`, `None` for an argument, a dropped keyword, ...)
and runs the tests that reach the changed function. A change that no test notices is a missing
test, unless nothing a caller can do tells the two versions apart. Each entry below is one of
those: the file and function, the original line and the mutant's line (both stripped), and
the reason. tools/mutation_report.py (run by `make mutants`) fails on a survivor missing here;
tests/test_surviving_mutants.py checks that every original line still exists, so the list
follows the code.
"""

from __future__ import annotations

from typing import NamedTuple


class Survivor(NamedTuple):
    file: str  # under tinygrad_rnn/
    function: str  # "Class.method" or "function"
    original: str  # the line as written, stripped ("\n" between lines if several)
    mutant: str  # the line as mutmut changed it, stripped
    why: str  # why no call can tell the two apart


SURVIVORS: list[Survivor] = [
]
