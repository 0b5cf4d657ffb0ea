"""gradcheck's own contract where mutation testing found it unpinned: the default tolerances
catch a real error, an input the output ignores has gradient zero, and its messages."""

import numpy as np
import pytest

from tinygrad_rnn import GradcheckError, Tensor, gradcheck
from tinygrad_rnn.gradcheck import numerical_grad
from tinygrad_rnn.tensor import Function


class ScaledIdentity(Function):
    """y = x with a backward off by a relative 1e-3: dL/dx = 1.001 g instead of g."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return 1.001 * g


def test_default_tolerances_catch_a_relative_error_of_one_in_a_thousand():
    # |1.001 - 1| = 1e-3 > atol 1e-5 + rtol 1e-4 * 1: the defaults must see it.
    with pytest.raises(GradcheckError, match=r"^gradcheck: input 0"):
        gradcheck(ScaledIdentity.apply, [Tensor(np.ones(3), requires_grad=True)])


def test_an_input_the_output_ignores_has_gradient_zero_and_passes():
    used, ignored = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    assert gradcheck(lambda u, _: u * 2.0, [used, ignored]) is True
    assert ignored.grad is None  # left as it was found


def test_errors_name_gradcheck_and_what_was_wrong():
    with pytest.raises(ValueError, match=r"^gradcheck: no input has requires_grad=True"):
        gradcheck(lambda t: t * 2, [Tensor(np.ones(2))])
    with pytest.raises(TypeError, match=r"^gradcheck: fn must return a Tensor, got ndarray$"):
        gradcheck(lambda t: t.data * 2, [Tensor(np.ones(2), requires_grad=True)])


class ShiftedIdentity(Function):
    """y = x with a backward off by exactly 0.25: dL/dx = g + 0.25."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g + 0.25


def test_an_entry_exactly_at_the_tolerance_passes():
    """The documented rule is |analytic - numerical| <= atol + rtol |numerical| (<=, not <).
    With x = 1 and eps = 2**-10 every number is exact in binary: numerical = 1.0, analytic = 1.25,
    so the difference 0.25 sits exactly on the bound, whether atol or rtol makes it."""
    x = Tensor(np.array([1.0]), requires_grad=True)
    assert gradcheck(ShiftedIdentity.apply, [x], eps=2.0**-10, atol=0.25, rtol=0.0) is True
    assert gradcheck(ShiftedIdentity.apply, [x], eps=2.0**-10, atol=0.0, rtol=0.25) is True
    with pytest.raises(GradcheckError, match=r"analytic 1\.25 vs numerical 1\.0 "):
        gradcheck(ShiftedIdentity.apply, [x], eps=2.0**-10, atol=0.125, rtol=0.0)


def test_an_input_read_around_the_graph_is_reported_with_analytic_gradient_zero():
    """w enters the output only through its array (w.data), so backward gives it no gradient:
    gradcheck must compare 0 with the numerical 3 entry by entry and name that entry."""
    u, w = Tensor(np.ones(2), requires_grad=True), Tensor(np.array([1.0, 0.5]), requires_grad=True)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a, b: a * 2.0 + Tensor(b.data) * 3.0, [u, w], eps=2.0**-10)
    # with eps a power of two the differences of 2 + 3 w are exact: numerical 3.0 at both entries
    assert str(caught.value).startswith(
        "gradcheck: input 1 (shape (2,)) at index (0,): analytic 0.0 vs numerical 3.0 "
    )


def test_gradcheck_puts_back_the_gradients_it_found():
    """gradcheck runs its own backward; afterwards every .grad is the object it was before."""
    x, y = Tensor(np.array([0.5, -1.0]), requires_grad=True), Tensor(np.array([2.0]), requires_grad=True)
    before = np.array([7.0, 8.0])
    x.grad = before
    assert gradcheck(lambda a, b: a * b, [x, y]) is True
    assert x.grad is before and np.array_equal(before, [7.0, 8.0])
    assert y.grad is None


def test_gradcheck_differences_with_the_eps_it_is_given():
    """Central differences of x**3 are 3 x**2 + eps**2 exactly: at x = 1 with eps = 0.25,
    ((1.25)**3 - (0.75)**3) / 0.5 = 3.0625, which the default tolerances must reject."""
    x = Tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"analytic 3\.0 vs numerical 3\.0625 "):
        gradcheck(lambda t: t * t * t, [x], eps=0.25)
    assert gradcheck(lambda t: t * t * t, [x], eps=2.0**-10) is True  # eps**2 ~ 1e-6 < atol + rtol * 3


def test_numerical_grad_sums_the_output_in_float64_and_returns_float64():
    """A float32 output [2**24, x] (each entry exact in float32) summed in float32 would round:
    with x = 1 and eps = 0.5, 2**24 + 1.5 rounds to 2**24 + 2 and 2**24 + 0.5 to 2**24, giving a
    slope of 2. Summed in float64 the difference quotient is (1.5 - 0.5) / 1 = 1 exactly, and the
    result is a float64 array even though the input is float32."""
    x = Tensor(np.array([1.0], dtype=np.float32))
    pick = Tensor(np.array([0.0, 1.0], dtype=np.float32))
    offset = Tensor(np.array([2.0**24, 0.0], dtype=np.float32))
    numeric = numerical_grad(lambda t: t * pick + offset, [x], 0, eps=0.5)
    assert numeric.dtype == np.float64
    np.testing.assert_array_equal(numeric, [1.0])
    np.testing.assert_array_equal(x.data, np.array([1.0], dtype=np.float32))  # put back
