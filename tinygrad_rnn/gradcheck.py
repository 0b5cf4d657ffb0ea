"""Central finite differences: the independent check of every analytic gradient."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinygrad_rnn.tensor import Tensor, no_grad

__all__ = ["gradcheck", "numerical_grad", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree (the message names where)."""


def numerical_grad(
    fn: Callable[..., Tensor], inputs: Sequence[Tensor], index: int, eps: float = 1e-6
) -> np.ndarray:
    """d sum(fn(*inputs)) / d inputs[index] by central differences.

    dL/dx_k ~ (L(x + eps e_k) - L(x - eps e_k)) / (2 eps), error O(eps**2).
    Each entry of the input is nudged in place and restored afterwards.
    """
    x = inputs[index].data
    grad = np.zeros_like(x, dtype=np.float64)
    with no_grad():
        for k in np.ndindex(*x.shape):
            original = x[k]
            x[k] = original + eps
            plus = float(np.sum(fn(*inputs).data, dtype=np.float64))
            x[k] = original - eps
            minus = float(np.sum(fn(*inputs).data, dtype=np.float64))
            x[k] = original
            grad[k] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Compare backward() of ``fn(*inputs).sum()`` with central differences.

    Every input with requires_grad=True is checked; an entry passes when
    |analytic - numerical| <= atol + rtol * |numerical|. Returns True, or raises
    GradcheckError naming the input, the index and both values of the worst entry.
    Use float64 inputs: float32 cannot resolve a difference quotient at eps=1e-6.
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    saved = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    try:
        out = fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        out.sum().backward()
        analytic = {
            i: inputs[i].grad if inputs[i].grad is not None else np.zeros_like(inputs[i].data)
            for i in checked
        }
    finally:
        for i, g in zip(checked, saved):
            inputs[i].grad = g
    for i in checked:
        numeric = numerical_grad(fn, inputs, i, eps)
        excess = np.abs(analytic[i] - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and excess.max() > 0:
            k = np.unravel_index(np.argmax(excess), excess.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {inputs[i].shape}) at index {tuple(int(j) for j in k)}: "
                f"analytic {float(analytic[i][k])!r} vs numerical {float(numeric[k])!r} "
                f"(|diff| = {abs(analytic[i][k] - numeric[k]):.3e} > atol {atol} + rtol {rtol} * |numerical|)"
            )
    return True
