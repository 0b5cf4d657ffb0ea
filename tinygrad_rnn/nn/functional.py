"""Losses and linear, composed from the engine's ops (so their gradients need no code of their own).

Shapes follow PyTorch. The class axis is axis 1:

    input (C,)             with target ()            one sample
    input (N, C)           with target (N,)          a batch
    input (N, C, d1, ...)  with target (N, d1, ...)  e.g. one class per time step

A recurrent layer's logits of shape (T, B, C) therefore go in as
``logits.reshape(-1, C)`` with ``target.reshape(-1)``, exactly as with PyTorch.
Targets are integer class indices: a numpy array, a list, an int or a Tensor
(a Tensor stores them as whole-valued floats, which is accepted).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn.array_methods import where
from tinygrad_rnn.checks import as_array
from tinygrad_rnn.tensor import Tensor

__all__ = ["linear", "cross_entropy", "nll_loss", "mse_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b for x (..., in), weight W (out, in) and b broadcasting to (..., out).

    Composed from transpose, matmul and add (``fused.linear`` is the same as one op).
    b is usually (out,), but may be any array that broadcasts to the result.
    """
    x, weight, *bias = _affine_operands(x, weight, bias, "linear")
    y = x @ weight.T
    return y + bias[0] if bias else y


def _affine_operands(x: Any, weight: Any, bias: Any, op: str) -> tuple[Tensor, ...]:
    """(x, weight) or (x, weight, bias) as Tensors, checked to fit x W^T + b."""
    x = _input_tensor(x, op)
    weight = weight if isinstance(weight, Tensor) else Tensor(weight, dtype=x.dtype)
    x_shape, w_shape = x.shape, weight.shape
    if not x_shape or len(w_shape) != 2 or x_shape[-1] != w_shape[1]:
        raise ValueError(
            f"{op}: input of shape {x_shape} and weight of shape {w_shape} do not fit: the weight "
            f"must be (out_features, in_features) with in_features = the input's last dimension"
        )
    if bias is None:
        return x, weight
    bias = bias if isinstance(bias, Tensor) else Tensor(bias, dtype=x.dtype)
    out_shape = x_shape[:-1] + w_shape[:1]
    if bias.shape != out_shape and bias.shape != out_shape[-1:]:  # the two usual cases need no check
        try:
            fits = np.broadcast_shapes(bias.shape, out_shape) == out_shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{op}: bias of shape {bias.shape} does not broadcast to the output shape {out_shape}"
            )
    return x, weight, bias


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """loss_n = -log softmax(logits_n)[y_n] = logsumexp(logits_n) - logits_n[y_n].

    Computed as nll_loss(log_softmax(logits)); log_softmax subtracts the row max
    first, so logits of 1e4 neither overflow nor lose the loss. Targets equal
    to ``ignore_index`` contribute nothing; "mean" divides by the number of
    the others (a batch whose targets are all ignored gives nan, as in PyTorch).
    """
    logits = _input_tensor(logits, "cross_entropy")
    class_axis = 0 if logits.ndim == 1 else 1
    return _negative_log_likelihood(
        logits.log_softmax(axis=class_axis), target, reduction, ignore_index, "cross_entropy"
    )


def nll_loss(log_probs: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """loss_n = -log_probs_n[y_n]: the negative log-likelihood of the target class.

    ``log_probs`` should be log-probabilities (e.g. from log_softmax); reductions
    and ignore_index as in cross_entropy.
    """
    log_probs = _input_tensor(log_probs, "nll_loss")
    return _negative_log_likelihood(log_probs, target, reduction, ignore_index, "nll_loss")


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """loss_i = (input_i - target_i)^2, then the mean, the sum, or each entry ("none").

    input and target must have the same shape (PyTorch would broadcast with a
    warning, which usually hides a bug). The target may require grad too.
    """
    _check_reduction(reduction, "mse_loss")
    input = _input_tensor(input, "mse_loss")
    target = target if isinstance(target, Tensor) else Tensor(target, dtype=input.dtype)
    if target.shape != input.shape:
        raise ValueError(
            f"mse_loss: input has shape {input.shape} but target has shape {target.shape}; "
            "they must be the same"
        )
    diff = input - target
    return _reduce(diff * diff, reduction)


# ---- shared pieces ----------------------------------------------------------------------------
def _negative_log_likelihood(
    log_probs: Tensor, target: Any, reduction: str, ignore_index: int, op: str
) -> Tensor:
    """-log_probs[n, y_n] for every sample n (class axis 1, or 0 for a single sample)."""
    _check_reduction(reduction, op)
    targets = _integer_indices(target, op)
    if log_probs.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, got a 0-d tensor")
    if log_probs.ndim == 1:
        num_classes, expected = log_probs.shape[0], ()
        per_class_last = log_probs
    else:
        num_classes = log_probs.shape[1]
        expected = log_probs.shape[:1] + log_probs.shape[2:]
        per_class_last = log_probs
        if log_probs.ndim > 2:  # move the class axis last, so each row of the (M, C) view is one sample
            per_class_last = log_probs.transpose(0, *range(2, log_probs.ndim), 1)
    if targets.shape != expected:
        raise ValueError(
            f"{op}: input of shape {log_probs.shape} (class axis {min(1, log_probs.ndim - 1)}, "
            f"C={num_classes}) needs a target of shape {expected}, got {targets.shape}"
        )
    in_range = not targets.size or (targets.min() >= 0 and targets.max() < num_classes)
    counted = None  # the usual case: every target a class, ignore_index none of them (-100)
    if not in_range or 0 <= ignore_index < num_classes:
        counted = targets != ignore_index
        out_of_range = counted & ((targets < 0) | (targets >= num_classes))
        if out_of_range.any():  # find the culprit
            raise IndexError(
                f"{op}: target {int(targets[out_of_range].flat[0])} is not a class index in "
                f"[0, {num_classes}) (and not ignore_index={ignore_index})"
            )
        counted = counted.reshape(-1)
    # One row per target, counted from the targets: -1 cannot be inferred when there are no classes
    rows = per_class_last if per_class_last.ndim == 2 else per_class_last.reshape(targets.size, num_classes)
    every_sample_counts = counted is None or bool(counted.all())
    columns = targets.reshape(-1) if every_sample_counts else np.where(counted, targets.reshape(-1), 0)
    picked = rows[np.arange(rows.shape[0]), columns]  # ignored samples picked class 0: zero them
    if not every_sample_counts:  # where, not * counted: class 0 may hold -inf, and -inf * 0 is nan
        picked = where(counted, picked, 0.0)
    if reduction == "none":
        return (-picked).reshape(targets.shape)
    if reduction == "sum":
        return -picked.sum()
    count = targets.size if counted is None else int(counted.sum())
    if count == 0:
        # The mean of no samples is 0/0. PyTorch gives nan and zero gradients; so do we,
        # without the division (and numpy's warning).
        return picked.sum() * 0.0 + np.nan
    return picked.sum() * (-1.0 / count)  # the mean of -picked, in two ops


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _input_tensor(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except TypeError as err:
        raise TypeError(f"{op}: input must be a Tensor or numeric array ({err})") from None


def _integer_indices(indices: Any, op: str) -> np.ndarray:
    """Integer indices from a numpy array, list, int or Tensor (whose data is float) as np.intp.

    Whole-valued floats are accepted because a Tensor stores integers as float64.
    Always a copy: the graph keeps the indices for backward, so a later write to the
    caller's array must not move the gradient.
    """
    raw = as_array(getattr(indices, "_data", indices))  # a Tensor gives its own array
    if raw.dtype.kind in "iu":
        return raw.astype(np.intp)
    if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
        too_large = np.abs(raw) > 2**53  # not an exact integer, and 1e20 would wrap around as an intp
        if too_large.any():
            raise IndexError(f"{op}: {raw[too_large].flat[0]:g} (in a float array) is not an index")
        return raw.astype(np.intp)
    raise TypeError(f"{op}: expected integer indices, got {type(indices).__name__} of dtype {raw.dtype}")
