"""Training helpers: gradient clipping and truncated backpropagation through time.

Truncated BPTT (seed 000): a long sequence is walked in windows of k steps.
The hidden state is carried from one window to the next, so the forward pass
sees the whole history, but it is detached at each window edge, so backward
only runs k steps back. A training loop reads::

    state = None
    for x, y in bptt_windows(inputs, targets, k):
        state = detach_state(state)          # keep the values, cut the graph
        output, state = rnn(x, state)
        loss = F.cross_entropy(head(output).reshape(-1, C), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from tinygrad_rnn.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "detach_state", "bptt_windows"]

State = TypeVar("State")


def _real_number(value: Any, what: str, op: str) -> float:
    """A plain real number as a float; a string such as '1' (from a config file) is an error,
    where comparing it with a number would fail inside Python with a message that names neither."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {what} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _with_grads(parameters: Tensor | Iterable[Tensor], op: str) -> list[Tensor]:
    """The tensors among ``parameters`` that have a gradient (the others are left alone)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = || concat(g_1, ..., g_n) ||_p  (p = norm_type; inf means the largest |g|).
    If total > max_norm, every g_i is multiplied by max_norm / (total + 1e-6)
    (PyTorch's formula; the 1e-6 guards against dividing by ~0). The gradients'
    direction is kept, only their length shrinks. Returns total, measured before
    clipping, as a float. Parameters without a gradient are skipped.
    """
    norm_type = _real_number(norm_type, "norm_type", "clip_grad_norm_")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive (or inf), got {norm_type}")
    max_norm = _real_number(max_norm, "max_norm", "clip_grad_norm_")
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    params = _with_grads(parameters, "clip_grad_norm_")
    if not params:
        return 0.0
    # The p-norm of the per-tensor p-norms is the p-norm of all entries together.
    per_tensor = [np.linalg.norm(p.grad.ravel(), ord=norm_type) for p in params]
    total = float(np.linalg.norm(np.asarray(per_tensor, dtype=np.float64), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise FloatingPointError(
            f"clip_grad_norm_: the total gradient norm is {total} (a gradient holds nan or inf); "
            "pass error_if_nonfinite=False to clip anyway"
        )
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in params:
            p.grad *= scale
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place."""
    clip_value = _real_number(clip_value, "clip_value", "clip_grad_value_")
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _with_grads(parameters, "clip_grad_value_"):
        np.clip(p.grad, -clip_value, clip_value, out=p.grad)


def detach_state(state: State) -> State:
    """The same state, cut from the graph: a Tensor, None, or a (nested) tuple/list of them.

    The values are kept (no copy), so the next window starts where the last
    one ended; backward() through the next window stops here.
    """
    if state is None:
        return state
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(
        f"detach_state: expected a Tensor, None, or a tuple/list of them, got {type(state).__name__}"
    )


def bptt_windows(
    inputs: Any, targets: Any, k: int, time_axis: int = 0, drop_last: bool = False
) -> Iterator[tuple[Any, Any]]:
    """Yield (inputs window, targets window) pairs of k consecutive time steps, in order.

    Slices are taken along ``time_axis`` (0 for time-major (T, B, ...) data, 1 for
    batch-first (B, T, ...)) of numpy arrays or Tensors; numpy slices are views.
    When k does not divide T the last window is shorter, or left out with
    drop_last=True. ``targets`` may be None, then each pair is (window, None).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"bptt_windows: window length k must be a positive integer, got {k!r}")
    inputs = _sliceable(inputs)
    targets = None if targets is None else _sliceable(targets)
    ndim = inputs.ndim
    if not -ndim <= time_axis < ndim:
        raise ValueError(f"bptt_windows: time_axis {time_axis} is out of range for {ndim}-d inputs")
    axis = time_axis % ndim
    steps = inputs.shape[axis]
    if targets is not None and (targets.ndim <= axis or targets.shape[axis] != steps):
        raise ValueError(
            f"bptt_windows: inputs have {steps} steps along time_axis {time_axis} "
            f"(shape {inputs.shape}) but targets have shape {targets.shape}"
        )
    last_start = steps - k if drop_last else steps - 1
    for start in range(0, last_start + 1, k):
        window = (slice(None),) * axis + (slice(start, start + k),)
        yield inputs[window], (None if targets is None else targets[window])


def _sliceable(x: Any) -> Tensor | np.ndarray:
    return x if isinstance(x, (Tensor, np.ndarray)) else np.asarray(x)
