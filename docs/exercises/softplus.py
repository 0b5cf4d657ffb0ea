"""Exercise 1, a reference solution: add an op, softplus, and check its calculus.

    y = log(1 + exp(x)),   dy/dx = exp(x) / (1 + exp(x)) = sigmoid(x).

An op is a subclass of ``Function`` with ``forward`` (numpy arrays in, an array
out) and ``backward`` (g = dL/dy in, dL/dx out). The first paragraph of the docstring
reads ``forward formula;  dL/dx = ...``: ``viz.op_math`` splits it, and the graph
demo prints it beside the gradient the op really sent.

Run ``python docs/exercises/softplus.py`` to check it.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import Function, Tensor, gradcheck, gradgradcheck
from tinygrad_rnn.ops import exp


class Softplus(Function):
    """y = log(1 + exp(x));  dL/dx = g * sigmoid(x) = g * exp(x - y)."""

    def forward(self, x):
        # log(1 + exp(x)) as written overflows for x > 709 (float64); this form never does:
        # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), and e^-|x| lies in (0, 1].
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, g):
        # sigmoid(x) = e^x / (1 + e^x) = exp(x - y), using the saved output y. x - y <= 0, so
        # exp cannot overflow. Only operators that numpy arrays and Tensors share, and ops.exp
        # (which takes both), are used: with create_graph=True, self.inputs and self.output are
        # Tensors, so this line is recorded and can be differentiated again.
        (x,) = self.inputs
        return g * exp(x - self.output)


def softplus(x: Tensor) -> Tensor:
    return Softplus.apply(x)


if __name__ == "__main__":
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)  # float64
    print("values equal np.logaddexp(0, x):", np.allclose(softplus(x).data, np.logaddexp(0, x.data)))
    print("gradcheck:", gradcheck(softplus, [x]))
    print("gradgradcheck:", gradgradcheck(softplus, [x]))
