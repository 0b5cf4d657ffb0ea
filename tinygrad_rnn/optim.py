"""Optimizers: SGD (with momentum), Adagrad and Adam, with PyTorch's update rules and defaults.

Each one updates ``p.data`` in place from ``p.grad``, with whole-array numpy
operations in the parameter's own dtype (a float32 model stays float32).
Parameters whose ``grad`` is None (unused in this step) are left alone, and
their optimizer state does not advance. Notation in the docstrings: theta is a
parameter, g its gradient, t the number of steps it has taken (from 1).

``state_dict()`` is a flat dict of numpy arrays (hyperparameters as
``param_groups.lr``, buffers as ``state.0.exp_avg``, ...), so it goes through
``tinygrad_rnn.save`` / ``load`` like a model's; ``load_state_dict`` restores it
and training resumes exactly where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from tinygrad_rnn.bookkeeping import clock
from tinygrad_rnn.nn.module import StateDictError, check_state_dict
from tinygrad_rnn.nn.utils import grad_values, parameter_list
from tinygrad_rnn.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam"]


class Optimizer:
    """Holds the parameters and, per parameter, a dict of state (buffers, step count).

    Hyperparameters are plain attributes (``optimizer.lr = 1e-4`` changes the
    learning rate from the next step on).
    """

    # Subclasses name their hyperparameters (attributes saved in the state dict) and, per
    # parameter, their state entries (the "step" count, or arrays shaped like the parameter).
    hyperparameters: tuple[str, ...] = ()
    state_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor]) -> None:
        name = type(self).__name__
        self.params: list[Tensor] = parameter_list(params, name)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if p._ctx is not None:
                raise ValueError(
                    f"{name}: parameter {i} (shape {p.shape}) was made by {p._ctx.name}, so it is not a leaf "
                    "(PyTorch: can't optimize a non-leaf Tensor); a step would change a copy nobody reads. "
                    "Optimize the leaf it was computed from"
                )
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in the list (it would step twice)")
            seen.add(id(p))
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def __setattr__(self, name: str, value: Any) -> None:
        """``optimizer.lr = 1e-4`` takes effect at the next step; a bad value is refused here."""
        if name in self.hyperparameters and "state" in vars(self):  # after __init__ (which checks its own)
            checked = object.__new__(type(self))  # a bare optimizer, to run the constructor's checks on
            current = {key: getattr(self, key) for key in self.hyperparameters}
            checked._set_hyperparameters(current | {name: value})
            value = getattr(checked, name)  # as the constructor stores it (a float, a tuple)
        object.__setattr__(self, name, value)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set it to None, as PyTorch does by default)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (its values: a recorded gradient steps too)."""
        for i, (p, state) in enumerate(zip(self.params, self.state)):
            if p.grad is not None:
                self._update(p, grad_values(p, i, f"{type(self).__name__}.step"), state)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _descend(p: Tensor, step: np.ndarray) -> None:
        """theta <- theta - step, in place: what ``p.data -= step`` does (the same arithmetic, the
        write stamp advanced), without the watched view's Python work on every call, which was
        a tenth of a small compiled training step."""
        np.subtract(p._data, step, out=p._data)
        p._written[0] = next(clock)

    # ---- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume, as a flat dict of numpy arrays (copies).

        ``param_groups.<name>`` holds each hyperparameter, ``num_params`` the number of
        parameters, and ``state.<i>.<name>`` parameter i's state (missing for a parameter
        that has not taken a step yet). Parameters are identified by their position in the
        list given to the optimizer, as in PyTorch.
        """
        out: dict[str, np.ndarray] = {"num_params": np.array(len(self.params))}
        for name in self.hyperparameters:
            out[f"param_groups.{name}"] = np.array(getattr(self, name))
        for i, state in enumerate(self.state):
            for name, value in state.items():
                out[f"state.{i}.{name}"] = np.array(value, copy=True)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state from ``state_dict()``'s output.

        Every problem (missing or unexpected keys, wrong shapes, another number of
        parameters) is an error naming it, and nothing changes unless all of it fits.
        """
        where = f"{type(self).__name__}.load_state_dict"
        check_state_dict(state_dict, where, "optimizer")
        arrays = {key: np.asarray(value) for key, value in state_dict.items()}
        problems: list[str] = []
        not_real = [f"{k} has dtype {a.dtype}" for k, a in arrays.items() if a.dtype.kind not in "biuf"]
        if not_real:
            raise StateDictError(f"{where}: entries must be real numbers; " + "; ".join(not_real))
        expected = ["num_params"] + [f"param_groups.{name}" for name in self.hyperparameters]
        missing = [key for key in expected if key not in arrays]
        if missing:
            problems.append("missing: " + ", ".join(missing))
        elif arrays["num_params"].shape != () or int(arrays["num_params"]) != len(self.params):
            count, ours = arrays["num_params"], len(self.params)
            problems.append(f"the checkpoint is for {count} parameters, this optimizer has {ours}")
        new_state: list[dict[str, Any]] = [{} for _ in self.params]
        unexpected = []
        for key, value in arrays.items():
            if key in expected:
                continue
            parts = key.split(".")
            index = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
            if parts[0] != "state" or not 0 <= index < len(self.params) or parts[2] not in self.state_names:
                unexpected.append(key)
                continue
            p = self.params[index]
            if parts[2] == "step":
                if value.shape == () and value.dtype.kind in "iu" and value >= 0:
                    new_state[index]["step"] = int(value)  # a Python int, as step() keeps it
                else:
                    problems.append(f"{key} must be a count >= 0, got {value!r}")
            elif value.shape != p.shape:
                problems.append(f"{key}: checkpoint {value.shape} vs parameter {p.shape}")
            else:
                new_state[index][parts[2]] = value.astype(p.dtype, copy=True)
        if unexpected:
            problems.append("unexpected: " + ", ".join(unexpected) + " (a checkpoint of another optimizer?)")
        partial = [str(i) for i, s in enumerate(new_state) if s and set(s) != set(self.state_names)]
        if partial and not problems:
            problems.append(f"parameters {', '.join(partial)} lack some of {', '.join(self.state_names)}")
        if problems:
            raise StateDictError(f"{where}: " + " | ".join(problems))
        # Back to Python numbers (0-d arrays) and tuples (Adam's betas), as the constructor takes them.
        hyper = {name: arrays[f"param_groups.{name}"].tolist() for name in self.hyperparameters}
        self._set_hyperparameters({k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()})
        self.state = new_state

    def _set_hyperparameters(self, values: dict[str, Any]) -> None:
        """Check and set hyperparameters read from a checkpoint (the constructor's checks)."""
        raise NotImplementedError


def _check(name: str, **values: float) -> None:
    """Every named hyperparameter must be a finite number >= 0 (a nan or inf learning rate
    would turn every parameter into nan at the first step, without an error)."""
    for key, value in values.items():
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if not number or not 0 <= value < math.inf:
            raise ValueError(f"{name}: {key} must be a finite number >= 0, got {value!r}")


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

        d = g + weight_decay * theta
        b = d                                  at the first step
        b = momentum * b + (1 - dampening) * d  after that           (if momentum > 0)
        d = d + momentum * b  if nesterov else  b                    (if momentum > 0)
        theta = theta - lr * d
    """

    hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov")
    state_names = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self._set_hyperparameters(
            dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        )
        super().__init__(params)

    def _set_hyperparameters(self, values):
        lr, momentum, dampening = values["lr"], values["momentum"], values["dampening"]
        weight_decay, nesterov = values["weight_decay"], values["nesterov"]
        _check("SGD", lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError(
                f"SGD: nesterov momentum needs momentum > 0 and dampening = 0, "
                f"got momentum={momentum}, dampening={dampening}"
            )
        self.lr, self.momentum, self.dampening = float(lr), float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)

    def _update(self, p, grad, state):
        d = grad + self.weight_decay * p.data if self.weight_decay else grad
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                # A copy: d may be p.grad itself, which the caller can change in place
                # (clipping) before the next step; the buffer must not change with it.
                buffer = state["momentum_buffer"] = d.copy()
            else:
                buffer *= self.momentum
                buffer += (1 - self.dampening) * d
            d = d + self.momentum * buffer if self.nesterov else buffer
        self._descend(p, self.lr * d)


class Adagrad(Optimizer):
    """Adagrad: each entry's step shrinks with the sum of its squared gradients so far.

        g = g + weight_decay * theta
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                           (s starts at initial_accumulator_value)
        theta = theta - lr_t * g / (sqrt(s) + eps)
    """

    hyperparameters = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
    state_names = ("step", "sum")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        self._set_hyperparameters(
            dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                 initial_accumulator_value=initial_accumulator_value, eps=eps)
        )  # fmt: skip
        super().__init__(params)

    def _set_hyperparameters(self, values):
        _check("Adagrad", **values)
        self.lr, self.lr_decay = float(values["lr"]), float(values["lr_decay"])
        self.weight_decay, self.eps = float(values["weight_decay"]), float(values["eps"])
        self.initial_accumulator_value = float(values["initial_accumulator_value"])

    def _update(self, p, grad, state):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, self.initial_accumulator_value)
        state["step"] += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        lr_t = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += grad * grad
        self._descend(p, lr_t * grad / (np.sqrt(state["sum"]) + self.eps))


class Adam(Optimizer):
    """Adam: steps along a running mean of g, scaled by a running root mean square of g.

        g = g + weight_decay * theta           (L2 penalty, as torch.optim.Adam; not AdamW)
        m = beta1 * m + (1 - beta1) * g        (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g^2
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The factors 1/(1 - beta^t) undo the pull towards the zero start of m and v
    ("bias correction"); written as above, eps is added after correcting v, as in PyTorch.
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    state_names = ("step", "exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self._set_hyperparameters(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        super().__init__(params)

    def _set_hyperparameters(self, values):
        lr, betas, eps, weight_decay = values["lr"], values["betas"], values["eps"], values["weight_decay"]
        _check("Adam", lr=lr, eps=eps, weight_decay=weight_decay)
        if np.shape(betas) != (2,) or not all(isinstance(b, (int, float, np.number)) and 0.0 <= b < 1.0
                                              for b in betas):  # fmt: skip
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
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
        self._descend(p, step_size * m / denominator)
