"""Central finite differences: the independent check of every analytic gradient.

gradcheck compares backward() with differences of the function's value;
gradgradcheck compares the recorded backward (create_graph=True) with
differences of the first-order gradient, which checks every second derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_rnn.autograd import grad
from tinygrad_rnn.tensor import Tensor, no_grad

__all__ = ["gradcheck", "gradgradcheck", "numerical_grad", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree (the message names where)."""


def numerical_grad(
    fn: Callable[..., Tensor], inputs: Sequence[Tensor], index: int, eps: float = 1e-6
) -> np.ndarray:
    """d sum(fn(*inputs)) / d inputs[index] by central differences.

    dL/dx_k ~ (L(x + eps e_k) - L(x - eps e_k)) / (2 eps), error O(eps**2).
    Each entry of the input is nudged in place and restored afterwards.
    """
    with no_grad():
        return _central_differences(
            lambda: float(np.sum(fn(*inputs)._data, dtype=np.float64)), inputs[index], eps
        )


def _central_differences(value: Callable[[], float], x: Tensor, eps: float) -> np.ndarray:
    """d value() / dx, entry by entry, nudging x's own array (no graph sees these writes)."""
    array = x._data
    result = np.zeros_like(array, dtype=np.float64)
    for k in np.ndindex(*array.shape):
        original = array[k]
        array[k] = original + eps
        plus = value()
        array[k] = original - eps
        minus = value()
        array[k] = original
        result[k] = (plus - minus) / (2 * eps)
    return result


def _checked_inputs(inputs: list, caller: str) -> list[int]:
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError(f"{caller}: no input has requires_grad=True, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"{caller}: input {i} is {inputs[i].dtype}; central differences need float64. A difference "
                "quotient (L(x + eps) - L(x - eps)) / (2 eps) with eps = 1e-6 cancels about six of the "
                "seven digits that float32 keeps, so a right gradient would look wrong. Check with "
                "Tensor(x, dtype=np.float64, requires_grad=True)"
            )
    return checked


def _compare(
    analytic: np.ndarray, numeric: np.ndarray, i: int, shape: tuple, atol: float, rtol: float, caller: str
) -> None:
    """Raise GradcheckError at the worst entry where |analytic - numerical| > atol + rtol |numerical|."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if excess.size and excess.max() > 0:
        k = np.unravel_index(np.argmax(excess), excess.shape)
        raise GradcheckError(
            f"{caller}: input {i} (shape {shape}) at index {tuple(int(j) for j in k)}: "
            f"analytic {float(analytic[k])!r} vs numerical {float(numeric[k])!r} "
            f"(|diff| = {abs(analytic[k] - numeric[k]):.3e} > atol {atol} + rtol {rtol} * |numerical|)"
        )


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Compare backward() of ``fn(*inputs).sum()`` with central differences.

    ``inputs`` is a list of Tensors (or one Tensor, ``fn``'s only argument). Every input
    with requires_grad=True is checked; an entry passes when
    |analytic - numerical| <= atol + rtol * |numerical|. Returns True, or raises
    GradcheckError naming the input, the index and both values of the worst entry.
    Use float64 inputs: float32 cannot resolve a difference quotient at eps=1e-6.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)  # one Tensor, as torch's gradcheck
    checked = _checked_inputs(inputs, "gradcheck")
    saved = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    try:
        out = fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        out.sum().backward()
        analytic = {
            i: inputs[i].grad if inputs[i].grad is not None else np.zeros_like(inputs[i]._data)
            for i in checked
        }
    finally:
        for i, g in zip(checked, saved):
            inputs[i].grad = g
    for i in checked:
        _compare(analytic[i], numerical_grad(fn, inputs, i, eps), i, inputs[i].shape, atol, rtol, "gradcheck")
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> bool:
    """Compare second derivatives of ``fn(*inputs).sum()`` with central differences of its gradient.

    With g = dL/dx (all checked inputs) and a fixed random direction v, the
    recorded backward gives d<g, v>/dx = H v (a Hessian-vector product); the
    check is H v against (<g(x + eps e_k), v> - <g(x - eps e_k), v>) / (2 eps),
    computed from plain first-order gradients. Returns True, or raises
    GradcheckError naming the input, the index and both values of the worst entry.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)  # one Tensor, as torch's gradcheck
    checked = _checked_inputs(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    directions = [rng.standard_normal(inputs[i].shape) for i in checked]

    def gradient_along_directions(create_graph: bool) -> Any:
        out = fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradgradcheck: fn must return a Tensor, got {type(out).__name__}")
        grads = grad(out.sum(), [inputs[i] for i in checked], create_graph=create_graph, allow_unused=True)
        return sum(((g * v).sum() for g, v in zip(grads, directions) if g is not None), 0.0)

    along = gradient_along_directions(create_graph=True)
    second = [None] * len(checked)
    if isinstance(along, Tensor) and along.requires_grad:  # else the gradient is constant: H = 0
        second = list(grad(along, [inputs[i] for i in checked], allow_unused=True))
    for position, i in enumerate(checked):
        analytic = second[position] if second[position] is not None else np.zeros(inputs[i].shape)
        numeric = _central_differences(
            lambda: float(np.asarray(gradient_along_directions(create_graph=False))), inputs[i], eps
        )
        try:
            _compare(analytic, numeric, i, inputs[i].shape, atol, rtol, "gradgradcheck")
        except GradcheckError as error:
            raise GradcheckError(f"{error}. {_likely_cause(fn, inputs)}") from None
    return True


def _likely_cause(fn: Callable[..., Tensor], inputs: list) -> str:
    """Why a backward that passes gradcheck can fail gradgradcheck, naming the arrays that the
    graph's own ops (not the library's) kept on self in forward."""
    kept, seen, ops = [], set(), [fn(*inputs)._ctx]
    while ops:
        op = ops.pop()
        if op is None or id(op) in seen:
            continue
        seen.add(id(op))
        ops.extend(parent._ctx for parent in op.parents)
        if not type(op).__module__.startswith("tinygrad_rnn."):
            kept += [
                f"{type(op).__name__}.{name} {value.shape}"
                for name, value in vars(op).items()
                if isinstance(value, np.ndarray) and value.dtype.kind in "fc"
            ]
    here = f" (here: {', '.join(sorted(kept))})" if kept else ""
    return (
        "A likely cause when gradcheck passes: a backward that uses an array its forward kept on self"
        f"{here}. In a recorded backward (create_graph=True) such an array is a constant, so the second "
        "derivative misses how it depends on the inputs: recompute it in backward from self.inputs or "
        "self.output, with operators and the helpers of tinygrad_rnn.ops (exp, log, tanh, sigmoid), "
        "which take Tensors too"
    )
