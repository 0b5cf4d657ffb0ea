"""Module and Parameter: the containers that layers are made of (PyTorch's habits)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from tinygrad_rnn.tensor import Tensor

__all__ = ["Module", "Parameter", "StateDictError", "LoadResult"]


class StateDictError(KeyError):
    """A state dict does not fit the module: keys missing, unexpected or mis-shaped."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class LoadResult(NamedTuple):
    """What load_state_dict did not load: parameters absent from the dict, and keys it did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Parameter(Tensor):
    """A Tensor that a Module learns: requires_grad is True and it shows up in parameters()."""

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        # A parameter owns its values: optimizers update it in place, and that must
        # not write through to the array the caller passed in.
        values = data.data if isinstance(data, Tensor) else data
        super().__init__(np.array(values, dtype=dtype, copy=True), requires_grad=requires_grad)


class Module:
    """Base class of layers. Attributes that are Parameters, Modules or lists of Modules
    are found automatically, in the order they were assigned (that order names them)."""

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- the tree of submodules and parameters ------------------------------------------
    def _children(self) -> Iterator[tuple[str, Parameter | Module]]:
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Module) for v in value):
                for i, module in enumerate(value):
                    yield f"{name}.{i}", module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._children():
            if isinstance(child, Module):
                yield from child.named_modules(f"{prefix}{name}.")

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, e.g. ('rnn.weight_ih_l0', ...); each parameter once."""
        seen: set[int] = set()
        for module_prefix, module in self.named_modules(prefix):
            for name, child in module._children():
                if isinstance(child, Parameter) and id(child) not in seen:
                    seen.add(id(child))
                    yield module_prefix + name, child

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # ---- modes and dtype ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, dtype: Any) -> Module:
        """Convert every parameter to ``dtype`` (e.g. np.float32) in place; returns self."""
        if np.dtype(dtype).kind != "f":
            raise TypeError(
                f"{type(self).__name__}.to: parameters must be floating point, got {np.dtype(dtype)}"
            )
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    # ---- state dicts --------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, keyed by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy values into the parameters (keeping each parameter's dtype).

        With strict=True every missing, unexpected or mis-shaped key is an error,
        all of them named in one message; nothing is changed unless all fit.
        With strict=False the keys that match are loaded and the others are
        skipped (a mis-shaped key is still an error, as in PyTorch); the result
        lists the missing and unexpected keys.
        """
        params = dict(self.named_parameters())
        arrays = {name: np.asarray(value) for name, value in state.items()}
        missing = [n for n in params if n not in arrays]
        unexpected = [n for n in arrays if n not in params]
        misshaped = [
            f"{n}: checkpoint {arrays[n].shape} vs parameter {params[n].shape}"
            for n in params
            if n in arrays and arrays[n].shape != params[n].shape
        ]
        problems = []
        if misshaped:
            problems.append("mis-shaped: " + "; ".join(misshaped))
        if strict and missing:
            problems.append("missing: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected: " + ", ".join(unexpected))
        if problems:
            raise StateDictError(f"load_state_dict for {type(self).__name__}: " + " | ".join(problems))
        for name, p in params.items():
            if name in arrays:
                p.data = arrays[name].astype(p.dtype, copy=True)
        return LoadResult(missing, unexpected)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()})"]
        for name, child in self._children():
            if isinstance(child, Module):
                lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines)

    def extra_repr(self) -> str:
        return ""
