"""Training loops shared by the demos: plain steps, and truncated BPTT over long streams.

Both take the model as a function, so any layer stack fits:

* ``train_steps(loss_fn, optimizer, steps)``: ``loss_fn(step)`` builds a fresh
  graph each step (a new batch of short sequences), e.g. the long-lag tasks.
* ``truncated_bptt(forward, optimizer, inputs, targets, num_steps)``: one long
  stream per batch row, walked in windows of ``num_steps`` time steps; the
  state is carried from window to window but detached at each edge (seed 000).
  ``forward(x_window, state) -> (logits (T, B, C), state)``.

Each optimisation step can clip the gradient norm; the loops record the loss and
the gradient norm (before clipping) of every step, and call ``on_step`` so a
caller can draw a progress bar.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn.compiler import jit
from tinygrad_rnn.nn.module import Module, Seed, as_generator
from tinygrad_rnn.nn.utils import bptt_windows, clip_grad_norm_, detach_state
from tinygrad_rnn.optim import Optimizer
from tinygrad_rnn.tensor import Tensor, no_grad

__all__ = ["TrainLog", "optimizer_step", "train_steps", "truncated_bptt", "evaluate_stream", "keep_gate_init"]

StreamForward = Callable[[np.ndarray, Any], tuple[Tensor, Any]]


@dataclass
class TrainLog:
    """Per-step loss and gradient norm (before any clipping)."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)

    def mean_loss(self, last_fraction: float = 1.0) -> float:
        """Mean loss over the last ``last_fraction`` of the steps (all by default)."""
        if not self.losses:
            raise ValueError("TrainLog.mean_loss: no steps were recorded")
        count = max(1, int(round(len(self.losses) * last_fraction)))
        with np.errstate(over="ignore"):  # a diverged run's huge losses average to inf, as they should
            return float(np.mean(self.losses[-count:]))


def optimizer_step(loss: Tensor, optimizer: Optimizer, max_norm: float | None = None) -> float:
    """zero_grad, backward, (clip), step; returns the gradient norm measured before clipping.

    A non-finite loss or gradient skips the update (the parameters stay finite,
    and the caller sees the non-finite numbers in the log).
    """
    optimizer.zero_grad()
    loss.backward()
    norm = clip_grad_norm_(optimizer.params, math.inf if max_norm is None else max_norm)
    if math.isfinite(norm) and math.isfinite(loss.item()):
        optimizer.step()
    return norm


def train_steps(
    loss_fn: Callable[[int], Tensor],
    optimizer: Optimizer,
    steps: int,
    *,
    max_norm: float | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainLog:
    """``steps`` optimisation steps on ``loss_fn(step)``; returns the log."""
    log = TrainLog()
    for step in range(steps):
        loss = loss_fn(step)
        log.grad_norms.append(optimizer_step(loss, optimizer, max_norm))
        log.losses.append(loss.item())
        if on_step is not None:
            on_step(step, log.losses[-1])
    return log


def _window_loss(forward: StreamForward, x: np.ndarray, y: np.ndarray, state: Any) -> tuple[Tensor, Any]:
    logits, state = forward(x, state)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)), state


# forward -> its window loss through jit, kept while forward lives (one program per window shape).
_compiled_window_losses: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _window_loss_of(forward: StreamForward, compiled: bool) -> Callable[..., tuple[Tensor, Any]]:
    """The loss of one window: as written, or compiled by jit into one numpy program."""
    if not compiled:
        return functools.partial(_window_loss, forward)
    try:
        return _compiled_window_losses[forward]
    except (KeyError, TypeError):  # not yet compiled, or forward cannot be a weak key (a bound method)
        step = jit(functools.partial(_window_loss, forward))
        with contextlib.suppress(TypeError):
            _compiled_window_losses[forward] = step
        return step


def truncated_bptt(
    forward: StreamForward,
    optimizer: Optimizer,
    inputs: np.ndarray,
    targets: np.ndarray,
    num_steps: int,
    *,
    state: Any = None,
    max_norm: float | None = None,
    on_step: Callable[[int, float], None] | None = None,
    compiled: bool = False,
) -> tuple[TrainLog, Any]:
    """One pass over time-major streams ``inputs`` (T, B, ...) and ``targets`` (T, B).

    Each window of ``num_steps`` steps is one optimisation step on the mean
    cross-entropy of its predictions; a leftover shorter window is dropped (streams
    shorter than one window are an error). Only one window's graph is alive at a time.
    Returns the log and the final (detached) state, to continue the streams.
    With ``compiled`` each window's loss runs through ``jit`` (the same numbers,
    one generated numpy program; see ``python -m demos compile``).
    """
    windows = list(bptt_windows(inputs, targets, num_steps, time_axis=0, drop_last=True))  # views
    if not windows:
        raise ValueError(
            f"truncated_bptt: the streams have {np.shape(inputs)[0]} time steps (inputs of shape "
            f"{np.shape(inputs)}), fewer than one window of num_steps={num_steps}: nothing to train on"
        )
    log = TrainLog()
    window_loss, state = _window_loss_of(forward, compiled), detach_state(state)
    for step, (x, y) in enumerate(windows):
        loss, state = window_loss(x, y, state)
        log.grad_norms.append(optimizer_step(loss, optimizer, max_norm))
        log.losses.append(loss.item())
        state = detach_state(state)  # cut here, and let go of this window's graph before the next one
        del loss
        if on_step is not None:
            on_step(step, log.losses[-1])
    return log, state


def evaluate_stream(
    forward: StreamForward,
    inputs: np.ndarray,
    targets: np.ndarray,
    num_steps: int,
    *,
    state: Any = None,
    compiled: bool = False,
) -> float:
    """Mean cross-entropy (nats per prediction) over the streams, state carried, no graph
    (with ``compiled``, through jit's forward-only program)."""
    total, count = 0.0, 0
    window_loss = _window_loss_of(forward, compiled)
    if np.size(targets) > 0:  # (an empty batch would reach the model, whose error would not say why)
        with no_grad():
            for x, y in bptt_windows(inputs, targets, num_steps, time_axis=0):
                loss, state = window_loss(x, y, state)
                total += loss.item() * y.size
                count += y.size
    if count == 0:  # a mean over nothing: 0 / 0, which would raise ZeroDivisionError here
        raise ValueError(
            f"evaluate_stream: the streams hold no predictions (targets of shape {np.shape(targets)}, "
            "expected (T, B) with T >= 1 and B >= 1)"
        )
    return total / count


def keep_gate_init(module: Module, max_lag: int, rng: Seed) -> None:
    """Bias a GRU's or LSTM's gates towards keeping their state ("chrono" initialisation,
    Tallec & Ollivier 2018), for a cell or a sequence layer (every layer and direction).

    With u ~ U(1, max_lag - 1) per unit, a gate bias of log(u) makes the kept
    fraction sigmoid(log u) = u / (1 + u) at the start, a memory of about u steps:
    LSTM forget gate f (input gate i gets -log u); GRU update gate z (PyTorch's
    h' = (1 - z) n + z h, so z near 1 keeps). Both gates are block 1 of the
    stacked biases (LSTM i, f, g, o; GRU r, z, n).
    """
    what = type(module).__name__
    if not isinstance(module, Module):
        raise TypeError(f"keep_gate_init: expected a GRU or LSTM cell or layer, got {what}")
    if isinstance(max_lag, bool) or not isinstance(max_lag, numbers.Real) or not max_lag >= 1:
        raise ValueError(f"keep_gate_init: max_lag must be a number of steps >= 1, got {max_lag!r}")
    rng = as_generator(rng, "keep_gate_init")
    # Cells name their recurrent weight weight_hh; sequence layers weight_hh_l0, weight_hh_l0_reverse, ...
    names = [name for name, _ in module.named_parameters()]
    suffixes = [name.removeprefix("weight_hh") for name in names if name.startswith("weight_hh")]
    hidden_size = getattr(module, "hidden_size", None)
    if not suffixes or not isinstance(hidden_size, int):
        raise TypeError(
            f"keep_gate_init: {what} is not a recurrent cell or layer (it has no weight_hh and "
            "hidden_size); expected a GRU or LSTM cell or layer"
        )
    H = hidden_size
    gates = getattr(module, f"weight_hh{suffixes[0]}").shape[0] // H
    if gates not in (3, 4):
        raise ValueError(
            f"keep_gate_init: expected a GRU (3 gate blocks) or LSTM (4 gate blocks), "
            f"got {what} with {gates} gate block{'s' if gates > 1 else ''}"
        )
    if getattr(module, f"bias_hh{suffixes[0]}", None) is None:
        raise ValueError(f"keep_gate_init: {what} was built with bias=False, so it has no gate biases to set")
    block = slice(H, 2 * H)
    for suffix in suffixes:
        bias_ih, bias_hh = getattr(module, f"bias_ih{suffix}"), getattr(module, f"bias_hh{suffix}")
        keep = np.log(rng.uniform(1.0, max(2.0, max_lag - 1.0), H))
        bias_ih.data[block], bias_hh.data[block] = 0.0, keep
        if gates == 4:
            bias_ih.data[:H], bias_hh.data[:H] = 0.0, -keep
