"""Module and Parameter: the containers that layers are made of (PyTorch's habits)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from tinygrad_rnn.tensor import Tensor

__all__ = [
    "Module", "Parameter", "StateDictError", "LoadResult", "Seed", "as_generator",
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
]  # fmt: skip

# What a layer's ``rng`` argument accepts: a Generator to draw from, an int seed, or None (fresh numbers).
Seed = np.random.Generator | int | None


def as_generator(rng: Seed, owner: str) -> np.random.Generator:
    """The ``rng`` argument of ``owner`` (a layer's name) as a numpy Generator.

    A Generator is used as it is (the caller's stream advances); an int >= 0 seeds a
    new one; None draws fresh entropy. Anything else is an error naming ``owner``
    (numpy would accept some surprises, e.g. True as the seed 1, or fail deep inside).
    """
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{owner}: rng seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{owner}: rng must be a numpy.random.Generator, an int seed >= 0 or None, "
        f"got {type(rng).__name__} {rng!r}"
    )


class StateDictError(KeyError):
    """A state dict does not fit the module: keys missing, unexpected or mis-shaped."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


def check_state_dict(state: Any, where: str, owner: str) -> None:
    """A state dict is a mapping of name -> array; a path means the file was not read with load()."""
    if isinstance(state, (str, bytes)) or hasattr(state, "__fspath__"):
        raise TypeError(
            f"{where}: got the path {state!r}, not a state dict; read the file first: "
            f"{owner}.load_state_dict(tinygrad_rnn.load({str(state)!r}))"
        )
    if not isinstance(state, Mapping):
        raise TypeError(
            f"{where}: expected a mapping of name -> array (e.g. another {owner}'s state_dict() "
            f"or tinygrad_rnn.load(path)), got {type(state).__name__}"
        )


class LoadResult(NamedTuple):
    """What load_state_dict did not load: parameters absent from the dict, and keys it did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Parameter(Tensor):
    """A Tensor that a Module learns: requires_grad is True and it shows up in parameters()."""

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        # A parameter owns its values: optimizers update it in place, and that must not write
        # through to the array or tensor the caller passed in (Tensor() copies a plain array).
        super().__init__(getattr(data, "_data", data), requires_grad=requires_grad, dtype=dtype)


class Module:
    """Base class of layers. Attributes that are Parameters or Modules are found
    automatically, in the order they were assigned (that order names them).

    Several of them go in a container (ModuleList, ModuleDict, Sequential,
    ParameterList, ParameterDict); a plain list, tuple or dict of them would be
    invisible to parameters() and state_dict(), so assigning one is an error.
    """

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (list, tuple, dict)):
            _refuse_hidden_learnables(type(self).__name__, name, value)
        _refuse_replacing_with_another_kind(self, name, value)
        object.__setattr__(self, name, value)

    # ---- the tree of submodules and parameters ------------------------------------------
    def _children(self) -> Iterator[tuple[str, Parameter | Module]]:
        """(name, value) of the direct Parameters and Modules, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) pairs, this module first: ('', net), ('rnn', net.rnn), ... as PyTorch."""
        yield prefix, self
        for name, child in self._children():
            if isinstance(child, Module):
                yield from child.named_modules(_dotted(prefix, name))

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, e.g. ('rnn.weight_ih_l0', ...); each parameter once."""
        seen: set[int] = set()
        for module_prefix, module in self.named_modules(prefix):
            for name, child in module._children():
                if isinstance(child, Parameter) and id(child) not in seen:
                    seen.add(id(child))
                    yield _dotted(module_prefix, name), child

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # ---- modes and dtype ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, (bool, np.bool_)):  # train("False") would switch training on
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        mode = bool(mode)
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, dtype: Any) -> Module:
        """Convert every parameter to ``dtype`` (e.g. np.float32) in place; returns self.

        There are no devices: everything runs on the CPU with numpy, so
        ``to("cpu")`` or ``to("cuda")`` (PyTorch habits) is an error that says so.
        """
        where = f"{type(self).__name__}.to"
        if isinstance(dtype, str) and dtype.split(":")[0].lower() in _DEVICE_NAMES:
            raise TypeError(
                f"{where}: got the device {dtype!r}, but tinygrad_rnn has no devices (everything is numpy "
                "on the CPU); to() takes a floating dtype such as np.float32"
            )
        try:
            target = np.dtype(dtype)
        except TypeError:
            raise TypeError(
                f"{where}: expected a floating dtype such as np.float32 or np.float64, got {dtype!r}"
            ) from None
        if target.kind != "f":
            raise TypeError(f"{where}: parameters must be floating point, got {target}")
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
        where = f"load_state_dict for {type(self).__name__}"
        check_state_dict(state, where, "module")
        params = dict(self.named_parameters())
        arrays = {name: np.asarray(value) for name, value in state.items()}
        loaded = [n for n in params if n in arrays]
        not_real = [f"{n} has dtype {arrays[n].dtype}" for n in loaded if arrays[n].dtype.kind not in "biuf"]
        if not_real:
            # Casting would fail deep in numpy (strings) or silently drop the imaginary part (complex).
            raise StateDictError(
                f"{where}: parameters take real numbers (bool, int or float arrays); " + "; ".join(not_real)
            )
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
            raise StateDictError(f"{where}: " + " | ".join(problems))
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


def _dotted(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# PyTorch's device names: module.to("cuda") is a habit worth a clear error here.
_DEVICE_NAMES = {"cpu", "cuda", "mps", "xla", "meta", "xpu", "hip", "vulkan", "ipu", "mkldnn"}


def _refuse_replacing_with_another_kind(module: Module, name: str, value: Any) -> None:
    """A Parameter or Module attribute takes another of its kind, or None (as in PyTorch): anything
    else would silently drop it from parameters() and state_dict()."""
    current = vars(module).get(name)
    for kind, use in ((Parameter, "nn.Parameter(...)"), (Module, "a Module")):
        if isinstance(current, kind) and value is not None and not isinstance(value, kind):
            fix = f"assign {use} or None"
            if kind is Parameter:
                fix += f", or set the values with `{name}.data = ...` (or load_state_dict)"
            raise TypeError(
                f"{type(module).__name__}.{name} is a {kind.__name__}; assigning a value of type "
                f"{type(value).__name__} would drop it from parameters() and state_dict(): {fix}"
            )


def _learnables_inside(value: Any, path: str, seen: set[int]) -> Iterator[tuple[str, Any]]:
    """(path like '[0]' or "['enc']", item) of every Parameter or Module in nested lists, tuples, dicts."""
    if id(value) in seen:  # a container that holds itself
        return
    seen.add(id(value))
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        where = f"{path}[{key!r}]"
        if isinstance(item, (Parameter, Module)):
            yield where, item
        elif isinstance(item, (list, tuple, dict)):
            yield from _learnables_inside(item, where, seen)


def _refuse_hidden_learnables(owner: str, name: str, value: list | tuple | dict) -> None:
    """Parameters or Modules in a plain list/tuple/dict attribute would never be trained or saved."""
    found = list(_learnables_inside(value, "", set()))
    if not found:
        return
    has_modules = any(isinstance(item, Module) for _, item in found)
    has_parameters = any(isinstance(item, Parameter) for _, item in found)
    nested = any(where.count("[") > 1 for where, _ in found)
    if nested or (has_modules and has_parameters):
        instead = "a container: nn.ModuleList / nn.ModuleDict for Modules, "
        instead += "nn.ParameterList / nn.ParameterDict for Parameters (a Module can hold both)"
    elif isinstance(value, dict):
        instead = "nn.ModuleDict({...})" if has_modules else "nn.ParameterDict({...})"
    else:
        instead = "nn.ModuleList([...]) (or nn.Sequential)" if has_modules else "nn.ParameterList([...])"
    shown = ", ".join(f"{where} {type(item).__name__}" for where, item in found[:4])
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    raise TypeError(
        f"{owner}.{name}: a {type(value).__name__} holding {shown}{more} would be invisible to parameters() "
        f"and state_dict() (never trained, never saved); use {instead} instead"
    )


def _check_key(owner: str, key: Any) -> str:
    """A container key becomes part of dotted state-dict names, so it cannot hold a dot."""
    if not isinstance(key, str):
        raise TypeError(f"{owner}: keys must be strings, got {type(key).__name__} {key!r}")
    if not key or "." in key:
        raise ValueError(f"{owner}: keys must be non-empty strings without '.', got {key!r}")
    return key


def _check_item(owner: str, item: Any, kind: type, position: Any) -> Any:
    if not isinstance(item, kind):
        hint = {
            Module: " (Parameters go in nn.ParameterList / nn.ParameterDict)",
            Parameter: " (wrap an array or Tensor as nn.Parameter(value); Modules go in nn.ModuleList)",
        }[kind]
        raise TypeError(f"{owner}: item {position!r} is a {type(item).__name__}, not a {kind.__name__}{hint}")
    return item


class _ListContainer(Module):
    """Shared body of ModuleList and ParameterList: items named '0', '1', ... in the state dict."""

    _item_kind: type = Module

    def __init__(self, items: Iterable[Any] | None = None) -> None:
        self._items: list[Any] = []
        self.extend(items or [])

    def _children(self) -> Iterator[tuple[str, Parameter | Module]]:
        for i, item in enumerate(self._items):
            yield str(i), item
        yield from super()._children()

    def _checked(self, item: Any, position: Any) -> Any:
        return _check_item(type(self).__name__, item, self._item_kind, position)

    def append(self, item: Any) -> _ListContainer:
        self._items.append(self._checked(item, len(self._items)))
        return self

    def extend(self, items: Iterable[Any]) -> _ListContainer:
        if isinstance(items, (Module, Tensor)) and not isinstance(items, _ListContainer):
            owner, what = type(self).__name__, type(items).__name__
            raise TypeError(f"{owner}: expected an iterable of items, got one {what}")
        for item in items:
            self.append(item)
        return self

    def insert(self, index: int, item: Any) -> None:
        self._items.insert(index, self._checked(item, index))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(self._items[index])
        return self._items[index]

    def __setitem__(self, index: int, item: Any) -> None:
        self._items[index] = self._checked(item, index)

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)


class ModuleList(_ListContainer):
    """A list of Modules that parameters() and state_dict() see: keys '0.weight', '1.weight', ...

    It has no forward (call the modules yourself, e.g. in a loop); nn.Sequential chains them.
    """

    _item_kind = Module


class ParameterList(_ListContainer):
    """A list of Parameters that parameters() and state_dict() see: keys '0', '1', ..."""

    _item_kind = Parameter

    def extra_repr(self) -> str:
        return ", ".join(f"{i}: {p.shape} {p.dtype}" for i, p in enumerate(self._items))


class _DictContainer(Module):
    """Shared body of ModuleDict and ParameterDict: items named by their keys, in insertion order."""

    _item_kind: type = Module

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        self._items: dict[str, Any] = {}
        self.update(items or {})

    def _children(self) -> Iterator[tuple[str, Parameter | Module]]:
        yield from self._items.items()
        yield from super()._children()

    def update(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, item in pairs:
            self[key] = item

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, item: Any) -> None:
        owner = type(self).__name__
        self._items[_check_key(owner, key)] = _check_item(owner, item, self._item_kind, key)

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def keys(self) -> Iterable[str]:
        return self._items.keys()

    def values(self) -> Iterable[Any]:
        return self._items.values()

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._items.items()


class ModuleDict(_DictContainer):
    """A dict of Modules that parameters() and state_dict() see: keys 'encoder.weight', ..."""

    _item_kind = Module


class ParameterDict(_DictContainer):
    """A dict of Parameters that parameters() and state_dict() see, named by their keys."""

    _item_kind = Parameter


class Sequential(ModuleList):
    """Modules called one after the other: Sequential(a, b, c)(x) = c(b(a(x))).

    State-dict keys are '0.weight', '1.bias', ... as in PyTorch.
    """

    def __init__(self, *modules: Module) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple, Mapping)):
            raise TypeError(
                "Sequential: pass the modules as separate arguments, Sequential(a, b), "
                f"not one {type(modules[0]).__name__}; use Sequential(*modules)"
            )
        super().__init__(modules)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self._items[index])
        return self._items[index]

    def forward(self, x: Any) -> Any:
        for module in self._items:
            x = module(x)
        return x
