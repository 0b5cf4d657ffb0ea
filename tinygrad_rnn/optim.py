"""Optimizers: SGD (with momentum), Adagrad and Adam, with PyTorch's update rules and defaults.

Each one updates ``p.data`` in place from ``p.grad``, with whole-array numpy
operations in the parameter's own dtype (a float32 model stays float32).
Parameters whose ``grad`` is None (unused in this step) are left alone, and
their optimizer state does not advance. Notation in the docstrings: theta is a
parameter, g its gradient, t the number of steps it has taken (from 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_rnn.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam"]


class Optimizer:
    """Holds the parameters and, per parameter, a dict of state (buffers, step count).

    Hyperparameters are plain attributes (``optimizer.lr = 1e-4`` changes the
    learning rate from the next step on).
    """

    def __init__(self, params: Iterable[Tensor]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors (e.g. model.parameters()), got one Tensor"
            )
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in the list (it would step twice)")
            seen.add(id(p))
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set it to None, as PyTorch does by default)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p, p.grad, state)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError


def _check(name: str, **values: float) -> None:
    """Every named hyperparameter must be a number >= 0."""
    for key, value in values.items():
        if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) or not value >= 0:
            raise ValueError(f"{name}: {key} must be a number >= 0, got {value!r}")


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

        d = g + weight_decay * theta
        b = d                                  at the first step
        b = momentum * b + (1 - dampening) * d  after that           (if momentum > 0)
        d = d + momentum * b  if nesterov else  b                    (if momentum > 0)
        theta = theta - lr * d
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        _check("SGD", lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError(
                f"SGD: nesterov momentum needs momentum > 0 and dampening = 0, "
                f"got momentum={momentum}, dampening={dampening}"
            )
        super().__init__(params)
        self.lr, self.momentum, self.dampening = float(lr), float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)

    def _update(self, p, grad, state):
        d = grad + self.weight_decay * p.data if self.weight_decay else grad
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = d.copy()
            else:
                buffer *= self.momentum
                buffer += (1 - self.dampening) * d
            d = d + self.momentum * buffer if self.nesterov else buffer
        p.data -= self.lr * d


class Adagrad(Optimizer):
    """Adagrad: each entry's step shrinks with the sum of its squared gradients so far.

        g = g + weight_decay * theta
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                           (s starts at initial_accumulator_value)
        theta = theta - lr_t * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        _check(
            "Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps,
        )  # fmt: skip
        super().__init__(params)
        self.lr, self.lr_decay, self.weight_decay = float(lr), float(lr_decay), float(weight_decay)
        self.initial_accumulator_value, self.eps = float(initial_accumulator_value), float(eps)

    def _update(self, p, grad, state):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, self.initial_accumulator_value)
        state["step"] += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        lr_t = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += grad * grad
        p.data -= lr_t * grad / (np.sqrt(state["sum"]) + self.eps)


class Adam(Optimizer):
    """Adam: steps along a running mean of g, scaled by a running root mean square of g.

        g = g + weight_decay * theta           (L2 penalty, as torch.optim.Adam; not AdamW)
        m = beta1 * m + (1 - beta1) * g        (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g^2
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The factors 1/(1 - beta^t) undo the pull towards the zero start of m and v
    ("bias correction"); written as above, eps is added after correcting v, as in PyTorch.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        _check("Adam", lr=lr, eps=eps, weight_decay=weight_decay)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        super().__init__(params)
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))

    def _update(self, p, grad, state):
        beta1, beta2 = self.betas
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        m += (1 - beta1) * (grad - m)  # = beta1 * m + (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * grad * grad
        step_size = self.lr / (1 - beta1**t)
        denominator = np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        p.data -= step_size * m / denominator
