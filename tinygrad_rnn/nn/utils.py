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


def parameter_list(parameters: Any, op: str, one_tensor: bool = False) -> list[Tensor]:
    """The Tensors of ``parameters`` (an iterable, e.g. model.parameters(); one Tensor if
    ``one_tensor``); a module, the parameters method itself or anything else is named."""
    from tinygrad_rnn.nn.module import Module

    if isinstance(parameters, Tensor) and one_tensor:
        return [parameters]
    if isinstance(parameters, Module) or getattr(parameters, "__name__", None) == "parameters":
        what = f"the module {type(parameters).__name__} itself"
        if not isinstance(parameters, Module):
            what = "the method parameters itself, not its result"
        raise TypeError(f"{op}: got {what}; pass its parameters: {op}(model.parameters(), ...)")
    if isinstance(parameters, Tensor) or not isinstance(parameters, Iterable):
        got = "one Tensor" if isinstance(parameters, Tensor) else type(parameters).__name__
        raise TypeError(f"{op}: params must be an iterable of Tensors (e.g. model.parameters()), got {got}")
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return params


def grad_values(p: Tensor, i: int, op: str) -> np.ndarray:
    """Parameter i's gradient as the array to step or clip with, in place (a recorded gradient,
    after backward(create_graph=True), gives its values); it must have the parameter's shape."""
    grad = p.grad.data if isinstance(p.grad, Tensor) else p.grad
    if not isinstance(grad, np.ndarray) or grad.shape != p.shape:
        got = f"shape {grad.shape}" if isinstance(grad, np.ndarray) else type(grad).__name__
        raise ValueError(
            f"{op}: parameter {i} has shape {p.shape} but its .grad has {got}; a gradient has its "
            "parameter's shape (PyTorch refuses such an assignment)"
        )
    return grad


def _with_grads(parameters: Tensor | Iterable[Tensor], op: str) -> list[np.ndarray]:
    """The gradients (as arrays, see grad_values) of the tensors among ``parameters`` that have one."""
    params = parameter_list(parameters, op, one_tensor=True)
    return [grad_values(p, i, op) for i, p in enumerate(params) if p.grad is not None]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = || concat(g_1, ..., g_n) ||_p  (p = norm_type; inf means the largest |g|).
    If total > max_norm (or is nan), every g_i is multiplied by max_norm / (total + 1e-6)
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
    grads = _with_grads(parameters, "clip_grad_norm_")
    if not grads:
        return 0.0
    # The p-norm of the per-tensor p-norms is the p-norm of all entries together. In float64:
    # float32 squares overflow from 1.8e19 on, and the norm of gradients of 4e30 is finite.
    # Finite gradients beyond 1e154 still square to inf: the norm is inf (as PyTorch's), which
    # the result and error_if_nonfinite report, so numpy's overflow warning is not wanted.
    with np.errstate(over="ignore"):
        per_tensor = [np.linalg.norm(g.astype(np.float64, copy=False).ravel(), ord=norm_type) for g in grads]
        total = float(np.linalg.norm(np.asarray(per_tensor, dtype=np.float64), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        finite = all(np.isfinite(g).all() for g in grads)
        cause = "the gradients are finite; their norm overflows" if finite else "a gradient holds nan or inf"
        raise FloatingPointError(
            f"clip_grad_norm_: the total gradient norm is {total} ({cause}); "
            "pass error_if_nonfinite=False to clip anyway"
        )
    scale = max_norm / (total + 1e-6)
    if not scale >= 1.0:  # also for a nan norm: then every gradient becomes nan, as in PyTorch
        for g in grads:
            g *= scale
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place."""
    clip_value = _real_number(clip_value, "clip_value", "clip_grad_value_")
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _with_grads(parameters, "clip_grad_value_"):
        np.clip(g, -clip_value, clip_value, out=g)


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
