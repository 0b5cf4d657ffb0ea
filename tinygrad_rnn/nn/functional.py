"""Losses, composed from the engine's ops (so their gradients need no code of their own).

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

from tinygrad_rnn.nn.layers import _integer_indices
from tinygrad_rnn.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss", "mse_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def cross_entropy(
    logits: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100
) -> Tensor:
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
    counted = targets != ignore_index
    out_of_range = counted & ((targets < 0) | (targets >= num_classes))
    if out_of_range.any():
        raise IndexError(
            f"{op}: target {int(targets[out_of_range].flat[0])} is not a class index in "
            f"[0, {num_classes}) (and not ignore_index={ignore_index})"
        )
    rows = per_class_last.reshape(-1, num_classes)
    counted = counted.reshape(-1)
    columns = np.where(counted, targets.reshape(-1), 0)  # ignored samples pick class 0, then count 0
    picked = rows[np.arange(rows.shape[0]), columns]
    if not counted.all():
        picked = picked * counted
    losses = -picked
    if reduction == "none":
        return losses.reshape(targets.shape)
    if reduction == "sum":
        return losses.sum()
    count = int(counted.sum())
    if count == 0:
        # The mean of no samples is 0/0. PyTorch gives nan and zero gradients; so do we,
        # without the division (and numpy's warning).
        return losses.sum() * 0.0 + np.nan
    return losses.sum() / count


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
