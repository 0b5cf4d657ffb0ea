"""gradcheck's own contract where mutation testing found it unpinned: the default tolerances
catch a real error, an input the output ignores has gradient zero, and its messages."""

import numpy as np
import pytest

from tinygrad_rnn import GradcheckError, Tensor, gradcheck
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
