"""grad(): gradients returned as values, leaving every ``.grad`` alone (torch.autograd.grad).

It runs the same reverse-mode loop as ``Tensor.backward`` (tensor._backpropagate),
asking it for the gradients of the given inputs instead of filling in the
leaves' ``.grad``. With ``create_graph=True`` the results are Tensors that can
be differentiated again: a Hessian-vector product is ``grad`` of ``<grad(L, x), v>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_rnn import checks
from tinygrad_rnn.tensor import Tensor, _backpropagate

__all__ = ["grad"]


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    *,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """d(outputs)/d(inputs) as a tuple, one per input, leaving every ``.grad`` alone.

    As ``torch.autograd.grad``: ``grad_outputs`` weights each output (default 1
    for one-element outputs); the results are arrays, or Tensors that can be
    differentiated again with ``create_graph=True``; retain_graph defaults to
    create_graph. An input that the outputs do not depend on is an error, or
    None with ``allow_unused=True``.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} is not a Tensor that requires grad, so it has no gradient")
    seeds = [
        (out, checks.seed_gradient(out, g, create_graph, "grad")) for out, g in zip(outputs, grad_outputs)
    ]
    found = _backpropagate(
        seeds, create_graph if retain_graph is None else retain_graph, create_graph, set(inputs)
    )
    for i, t in enumerate(inputs):
        if t not in found and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(found.get(t) for t in inputs)
