"""jit's tracing (compiler/trace.py) and its driver (compiler/compiled.py): the details that
tests/test_compiler.py and tests/test_compiler_mutants.py do not reach.

Each test here fails on a change mutation testing made that every other test survived. Expected
values are worked out by hand from the function's definition, or are the eager engine's.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import Tensor, jit


def test_a_compiled_function_called_inside_another_ones_trace_is_inlined():
    """Inside a trace the inner jit runs fn as written (its ops become the outer program's):
    it traces nothing of its own, and the outer program computes the inner step anew at every
    call (not the values it had at trace time)."""
    inner = jit(lambda x: x * 2.0)
    outer = jit(lambda x: inner(x) + 1.0)
    np.testing.assert_array_equal(outer(Tensor(np.array([1.0, 2.0]))).data, [3.0, 5.0])
    np.testing.assert_array_equal(outer(Tensor(np.array([4.0, -1.0]))).data, [9.0, -1.0])
    assert inner.traces == 0 and outer.traces == 1
