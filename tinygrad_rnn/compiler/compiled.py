"""jit(fn): trace once per signature, then run the generated program; one op in the engine's graph.

A call of the compiled function runs the generated ``forward`` on the
arrays of its inputs and of the parameters the trace found, and returns
Tensors linked to one ``CompiledStep`` op per output, whose parents are those
inputs and parameters. ``loss.backward()`` then reaches that op like any
other: its backward runs the generated ``backward``, and the engine adds each
gradient into ``.grad`` as after an eager backward.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_rnn.compiler.codegen import Generated, Retrace, generate
from tinygrad_rnn.compiler.passes import run_passes
from tinygrad_rnn.compiler.program import Node, Program
from tinygrad_rnn.compiler.trace import JitError, compare, drop_unread, record, reordered
from tinygrad_rnn.modes import _GradMode
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Function, Tensor

__all__ = ["jit", "CompiledFunction", "CompiledStep", "JitWarning", "lower"]

MAX_PROGRAMS = 8  # programs kept per signature (one per outcome of the guards), the newest first


class JitWarning(UserWarning):
    """jit works, but not as well as it could (e.g. it keeps tracing again)."""


# ---- the op a compiled call puts in the graph -----------------------------------------------
class CompiledStep(Function):
    """One output of a compiled call: forward is the generated program (already run),
    backward the generated backward program, for every input and parameter at once."""

    name = "compiled"

    def __init__(self, run: _Run, index: int, parents: list[int]) -> None:
        self.run, self.index, self.parent_positions = run, index, parents

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        return self.run.outputs[self.index]

    def backward(self, g: Any) -> tuple:
        if isinstance(g, Tensor):
            raise RuntimeError(
                "compiled: a jit-compiled function's backward runs as numpy code, so it cannot be recorded "
                "(create_graph=True); call the function without jit for higher-order gradients"
            )
        self.inputs  # noqa: B018 (refuses a parameter written in place since forward, as every op does)
        grads = self.run.backward(self.index, g)
        return tuple(grads[i] for i in self.parent_positions)


class _Run:
    """What one call of a compiled program left for its backward pass."""

    def __init__(self, compiled: _Compiled, outputs: tuple, saved: tuple) -> None:
        self.compiled, self.outputs, self.saved = compiled, outputs, saved

    def backward(self, index: int, g: np.ndarray) -> list:
        program = self.compiled.program
        seeds = [g if k == index else np.zeros(n.shape, n.dtype) for k, n in enumerate(program.outputs)]
        grads = self.compiled.generated.backward(self.saved, *seeds)
        by_node = dict(zip((x for x, _ in program.input_grads), grads))
        return [by_node.get(node) for node in self.compiled.parent_nodes]


# ---- one traced program -----------------------------------------------------------------------
@dataclass(eq=False)
class _Compiled:
    program: Program
    generated: Generated
    array_positions: list[int]  # which flattened arguments are Tensors or arrays (the program's inputs)
    leaves: list[Any]  # the leaf Tensors (and outside arrays) read at every call
    leaf_specs: tuple  # their shape, dtype and requires_grad at trace time
    parent_nodes: list[Node]  # the input and leaf nodes that are Tensors: the graph parents
    output_parents: list[list[int]]  # for each output, which parents it depends on
    output_structure: Any
    links: list[tuple[Callable[[], Any], Any]]  # how fn reached its parameters (see _Found)
    values: list[tuple[Callable[[], Any], Any]]  # the outside numbers built in (see _Found)
    seconds: float = 0.0

    def leaves_unchanged(self) -> bool:
        """The parameters the program reads have the same shape, dtype and requires_grad."""
        return _leaf_specs(self.leaves) == self.leaf_specs

    def links_intact(self) -> bool:
        """fn still reaches the same parameters (none was replaced by another object)."""
        return all(read() is held for read, held in self.links)

    def values_unchanged(self) -> bool:
        """The numbers and strings fn read from outside its arguments, built into the program, still hold."""
        return all(_same_value(read(), held) for read, held in self.values)

    def run(self, flat: list[Any]) -> Any:
        arrays = [_array(flat[i]) for i in self.array_positions] + [_array(leaf) for leaf in self.leaves]
        outputs, saved = self.generated.forward(*arrays)
        tensor_inputs = [flat[i] for i in self.array_positions if isinstance(flat[i], Tensor)]
        parents = tensor_inputs + [leaf for leaf in self.leaves if isinstance(leaf, Tensor)]
        run = _Run(self, outputs, saved)
        results = []
        for k, positions in enumerate(self.output_parents):
            if self.generated.backward is None or not positions:
                results.append(Tensor._wrap(outputs[k]))
            else:
                mine = [parents[i] for i in positions]
                results.append(CompiledStep.apply(*mine, run=run, index=k, parents=positions))
        return _unflatten(self.output_structure, iter(results))


def _array(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else value


# A Python value of these types that fn reads from outside its arguments is built into the program.
_SCALARS = (bool, int, float, complex, str, np.number, np.bool_)


def _same_value(now: Any, then: Any) -> bool:
    """Equal and of one type (x * 2 and x * 2.0 are different programs); nan is nan."""
    return type(now) is type(then) and bool(now == then or (now != now and then != then))


def _leaf_specs(leaves: list[Any]) -> tuple:
    return tuple(
        (leaf._data.shape, leaf._data.dtype, leaf.requires_grad)
        if isinstance(leaf, Tensor)
        else (leaf.shape, leaf.dtype)
        for leaf in leaves
    )


# ---- arguments: flattened to a list, with the structure kept apart ---------------------------
def _flatten(value: Any, name: str, flat: list, names: list) -> Any:
    """The structure of value (tuples and lists of Tensors/arrays), its Tensors and arrays into flat."""
    if isinstance(value, (tuple, list)) and any(
        isinstance(v, (Tensor, np.ndarray, tuple, list)) for v in value
    ):
        return (type(value), tuple(_flatten(v, f"{name}_{i}", flat, names) for i, v in enumerate(value)))
    flat.append(value)
    names.append(name)
    return None


def _unflatten(structure: Any, values: Iterator) -> Any:
    if structure is None:
        return next(values)
    kind, items = structure
    return kind(_unflatten(item, values) for item in items)


def _spec(value: Any, name: str) -> Any:
    """What a trace depends on: a Tensor's or array's shape, dtype (and requires_grad), or a value."""
    if isinstance(value, Tensor):
        return ("tensor", value.shape, value.dtype, value.requires_grad)
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype)
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"jit: argument {name} is a {type(value).__name__}; a compiled function takes Tensors, numpy "
            "arrays, tuples or lists of them, and hashable Python values (numbers, strings, None), "
            "which are fixed in the program"
        ) from None
    if isinstance(value, (list, dict, set)):
        raise TypeError(f"jit: argument {name} is a {type(value).__name__}; pass a tuple")
    return ("value", type(value), value)


# ---- finding the parameters a function reads ---------------------------------------------------
@dataclass
class _Found:
    """What jit found that fn can reach: parameter names, the tensors to follow while tracing,
    the modules (whose train/eval mode is part of a program's signature), and the links that
    lead to each of them (read again at every call: a parameter replaced by another one, e.g.
    ``model.head = nn.Linear(...)``, means the program is stale), and the Python numbers and
    strings it reads from outside its arguments (a global, a closure variable, an attribute of
    a module or of fn's object), which the program has built in: a new value, a new program."""

    names: dict[int, str]
    tensors: list[Tensor]
    modules: list[Module]
    links: list[tuple[Callable[[], Any], Any]]  # (read the link now, what it held at trace time)
    values: list[Callable[[], Any]]  # read each value now


def _child_reader(module: Module, name: str) -> Callable[[], Any]:
    """How to read a module's child again: an attribute, or an item of a container."""
    attributes = vars(module)  # the live __dict__: a later assignment shows in it
    if name in attributes:
        return lambda: attributes.get(name)
    return lambda: dict(module._children()).get(name)


def _discover(fn: Any) -> _Found:
    """The Modules and Tensors fn can reach: its closure, the globals it names, its default
    arguments, ``self`` of a bound method (and that object's attributes)."""
    found: list[tuple[str, Any, Callable[[], Any] | None]] = []  # (name, object, how to read it again)

    def visit(name: str, obj: Any, depth: int, read: Callable[[], Any] | None = None) -> None:
        if isinstance(obj, (Module, Tensor)) or (read is not None and isinstance(obj, _SCALARS)):
            found.append((name, obj, read))
        elif isinstance(obj, functools.partial):
            visit(name, obj.func, depth)
            for i, arg in enumerate([*obj.args, *obj.keywords.values()]):
                visit(f"{name}_{i}", arg, depth)
        elif inspect.ismethod(obj):
            visit("", obj.__self__, depth)
            visit(name, obj.__func__, depth)
        elif inspect.isfunction(obj):
            code, defaults = obj.__code__, obj.__defaults__ or ()
            with_defaults = code.co_varnames[code.co_argcount - len(defaults) : code.co_argcount]
            for var, value in {**dict(zip(with_defaults, defaults)), **(obj.__kwdefaults__ or {})}.items():
                visit(var, value, depth)  # e.g. lambda x, model=model: ...
            for var, cell in zip(code.co_freevars, obj.__closure__ or ()):
                with contextlib.suppress(ValueError):  # (an empty cell)
                    visit(var, cell.cell_contents, depth, lambda cell=cell: cell.cell_contents)
            names = obj.__globals__
            for var in _global_names(code):
                if var in names and not inspect.ismodule(names[var]):
                    visit(var, names[var], depth + 1, lambda names=names, var=var: names.get(var))
        elif depth == 0 and hasattr(obj, "__dict__") and not isinstance(obj, type):
            for var, value in vars(obj).items():  # e.g. the trainer whose method fn is
                if isinstance(value, (Module, Tensor, *_SCALARS)):
                    found.append((var, value, lambda obj=obj, var=var: vars(obj).get(var)))

    visit("", fn, 0)
    tensors: dict[int, tuple[str, Tensor]] = {}
    modules: dict[int, Module] = {}
    links: dict[tuple[int, str], tuple[Callable[[], Any], Any]] = {}
    values: list[Callable[[], Any]] = []

    def walk(prefix: str, module: Module) -> None:
        modules.setdefault(id(module), module)
        attributes = vars(module)  # the live __dict__: e.g. model.temperature = 2.0 shows in it
        for name, value in attributes.items():
            if isinstance(value, _SCALARS):
                values.append(lambda attributes=attributes, name=name: attributes.get(name))
        for name, child in module._children():
            links.setdefault((id(module), name), (_child_reader(module, name), child))
            if isinstance(child, Module):
                walk(f"{prefix}{name}.", child)
            else:
                tensors.setdefault(id(child), (prefix + name, child))

    for name, obj, read in found:
        if isinstance(obj, _SCALARS):
            values.append(read)
            continue
        if read is not None:
            links.setdefault((id(read), name), (read, obj))
        if isinstance(obj, Module):
            walk(f"{name}." if name else "", obj)
        else:
            tensors.setdefault(id(obj), (name, obj))
    return _Found(
        names=_short_names({i: name for i, (name, _) in tensors.items()}),
        tensors=[t for _, t in tensors.values()],
        modules=list(modules.values()),
        links=list(links.values()),
        values=values,
    )


def _short_names(full: dict[int, str]) -> dict[int, str]:
    """Each dotted name cut to its shortest unique ending, the same length for one module's
    parameters: rnn.weight_hh_l0 -> weight_hh_l0, head.weight and head.bias -> head_weight, head_bias."""
    parts = {i: name.split(".") for i, name in full.items()}

    def unique_length(i: int) -> int:
        for k in range(1, len(parts[i]) + 1):
            if sum(1 for other in parts.values() if other[-k:] == parts[i][-k:]) == 1:
                return k
        return len(parts[i])

    per_module: dict[tuple, int] = {}
    for i, p in parts.items():
        per_module[tuple(p[:-1])] = max(per_module.get(tuple(p[:-1]), 1), unique_length(i))
    return {i: "_".join(p[-per_module[tuple(p[:-1])] :]) for i, p in parts.items()}


def _global_names(code: Any) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if inspect.iscode(const):
            yield from _global_names(const)


# ---- the compiled function ------------------------------------------------------------------
class CompiledFunction:
    """``jit(fn)``: call it as fn. ``.source`` is the generated program, ``.traces`` how many it holds."""

    def __init__(self, fn: Callable) -> None:
        if not callable(fn):
            raise TypeError(f"jit: expected a function (or Module) to compile, got {type(fn).__name__}")
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        target = fn.forward if isinstance(fn, Module) else fn
        self.signature = inspect.signature(target)
        plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        parameters = list(self.signature.parameters.values())
        # The names of fn's arguments when all are plain positional ones (then a call with
        # exactly that many arguments needs no binding); empty otherwise.
        self._positional = [p.name for p in parameters] if all(p.kind in plain for p in parameters) else []
        self._programs: dict[Any, list[_Compiled]] = {}
        self._latest: _Compiled | None = None
        self._modules: list[Module] = []
        self._warned = False

    @property
    def traces(self) -> int:
        """How many programs this function holds (one per signature and per guard outcome)."""
        return sum(len(p) for p in self._programs.values())

    @property
    def source(self) -> str:
        """The generated program of the latest trace (Python source)."""
        if self._latest is None:
            raise RuntimeError(f"jit: {self.__name__} has not been called yet, so there is no program")
        return self._latest.generated.source

    @property
    def peak_bytes(self) -> int:
        """The most memory the latest program's own arrays hold at once (forward and backward,
        views free, inputs and parameters not counted), as planned by passes.plan_memory.

        An estimate of the program's working memory: an array it returns (an output, a gradient)
        counts until its last use inside the program; what the caller keeps is the caller's."""
        if self._latest is None:
            raise RuntimeError(f"jit: {self.__name__} has not been called yet, so there is no program")
        return self._latest.generated.peak_bytes

    @property
    def program(self) -> Program:
        if self._latest is None:
            raise RuntimeError(f"jit: {self.__name__} has not been called yet, so there is no program")
        return self._latest.program

    def __str__(self) -> str:
        return self.source if self._latest is not None else repr(self)

    def __repr__(self) -> str:
        return f"<jit {self.__name__}: {self.traces} trace(s)>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _GradMode.anomaly or _GradMode.tracers:
            # Anomaly mode names the op and the user's line: run as written. Inside another trace
            # (or jvp's) the calls are traced as part of it (nested jit is inlined).
            return self.fn(*args, **kwargs)
        if not kwargs and len(args) == len(self._positional):  # the usual call: no binding to do
            arguments = zip(self._positional, args)
        else:
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = bound.arguments.items()
        flat: list[Any] = []
        names: list[str] = []
        structure = tuple(_flatten(value, name, flat, names) for name, value in arguments)
        key = (
            structure,
            tuple(_spec(v, n) for v, n in zip(flat, names)),
            _GradMode.enabled,
            tuple(m.training for m in self._modules),
        )
        programs = self._programs.get(key, [])
        for compiled in list(programs):
            if not compiled.links_intact():  # it reads parameters fn no longer reaches: never again
                programs.remove(compiled)
            elif compiled.leaves_unchanged() and compiled.values_unchanged():
                try:
                    return compiled.run(flat)
                except Retrace:
                    continue
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        compiled = self._compile(bound, structure, flat, names)
        key = key[:3] + (tuple(m.training for m in self._modules),)
        programs = self._programs.setdefault(key, [])
        programs.insert(0, compiled)
        if len(programs) > MAX_PROGRAMS:  # a value read with int() or bool() keeps changing
            programs.pop()
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"jit: {self.__name__} was traced more than {MAX_PROGRAMS} times for one signature: a "
                    "Python value it reads from its inputs (bool(), int(), .item()), or a number or string "
                    "it reads from outside them, keeps changing, so most calls trace again, which is "
                    "slower than calling it without jit",
                    JitWarning,
                    stacklevel=2,
                )
        self._latest = compiled
        return compiled.run(flat)

    def _compile(self, bound: inspect.BoundArguments, structure: Any, flat: list, names: list) -> _Compiled:
        # A trace keeps every value of the step alive until the program is built; Python's
        # cycle collector would walk all of them again and again (17 s instead of 3 for lstm-lm).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._trace_and_generate(bound, structure, flat, names)
        finally:
            if collecting:
                gc.enable()

    def _trace_and_generate(
        self, bound: inspect.BoundArguments, structure: Any, flat: list, names: list
    ) -> _Compiled:
        start = time.perf_counter()
        found = _discover(self.fn)
        found_names, followed = found.names, found.tensors
        for m in found.modules:
            if all(m is not known for known in self._modules):
                self._modules.append(m)
        keys = list(bound.arguments)
        output_structure: list[Any] = []

        def call(inputs: list[Any]) -> list[Tensor]:
            values = iter(inputs)
            arguments = dict(zip(keys, (_unflatten(s, values) for s in structure)))
            bound.arguments.update(arguments)
            result = self.fn(*bound.args, **bound.kwargs)
            outputs: list[Any] = []
            output_structure[:] = [_flatten(result, "output", outputs, [])]
            for i, out in enumerate(outputs):
                if not isinstance(out, Tensor):
                    raise JitError(
                        f"jit: {self.__name__} returned a {type(out).__name__} (output {i}); a compiled "
                        "function returns a Tensor, or a tuple or list of Tensors"
                    )
            return outputs

        differentiate = _GradMode.enabled
        first, outputs = record(call, flat, names, found_names, followed, differentiate)
        structure_out = output_structure[0]

        def record_again(inputs: list[Any]):
            """Another run of fn, only for compare; the caller's arguments are bound again after it."""
            trace, _ = record(call, inputs, names, found_names, followed, differentiate)
            bound.arguments.update(dict(zip(keys, (_unflatten(s, iter(flat)) for s in structure))))
            return trace

        with _reordered_values(followed):
            probe = record_again([_reordered(v) for v in flat])
        stopped = compare(first, probe)
        if stopped is not None:
            # The reordered run took another branch at a value read from data. A run on the same
            # inputs takes the same branches, so the rest is compared with it: a value fn makes
            # there that still differs is drawn at random (refused), one that does not is a constant.
            compare(first, record_again(flat), start=stopped)
        drop_unread(first)
        program = Program(
            nodes=first.nodes,
            inputs=first.inputs,
            leaves=first.leaves,
            outputs=first.outputs,
            grad_seeds=first.seeds if any(g is not None for _, g in first.input_grads) else [],
            input_grads=[(x, g) for x, g in first.input_grads if x.kind in ("input", "leaf")],
            grad_of=first.grad_of,
        )
        run_passes(program)
        generated = generate(program, title=self.__name__)
        for node in program.nodes:
            node.instance = None  # the traced op objects hold the trace's arrays: let them go
        array_positions = [i for i, v in enumerate(flat) if isinstance(v, (Tensor, np.ndarray))]
        leaves = [n.value for n in program.leaves]
        parent_nodes = [n for n in program.inputs if isinstance(flat[n.value], Tensor)]
        parent_nodes += [n for n in program.leaves if isinstance(n.value, Tensor)]
        output_parents = [_depends_on(out, parent_nodes) for out in program.outputs]
        return _Compiled(
            program=program,
            generated=generated,
            array_positions=array_positions,
            leaves=leaves,
            leaf_specs=_leaf_specs(leaves),
            parent_nodes=parent_nodes,
            output_parents=output_parents,
            output_structure=structure_out,
            links=found.links,
            values=[(read, read()) for read in found.values],  # as fn left them (a counter moves)
            seconds=time.perf_counter() - start,
        )


def _depends_on(output: Node, parents: list[Node]) -> list[int]:
    """Positions of the parents that ``output`` is computed from (those needing no gradient too)."""
    reached, stack = set(), [output]
    while stack:
        node = stack.pop()
        if node in reached:
            continue
        reached.add(node)
        stack.extend(node.inputs())
    return [
        i for i, p in enumerate(parents)
        if p in reached  # each, so that backward refuses one written in place since, as eager does
    ]  # fmt: skip


def _reordered(value: Any) -> Any:
    if isinstance(value, Tensor):
        t = Tensor(reordered(value._data))
        t.requires_grad = value.requires_grad
        return t
    if isinstance(value, np.ndarray):
        return reordered(value)
    return value


class _reordered_values:  # noqa: N801 (used as a context manager)
    """While active, the given tensors hold their values in reverse order (the probe run)."""

    def __init__(self, tensors: list[Tensor]) -> None:
        self.tensors = tensors

    def __enter__(self) -> None:
        self.saved = [t._data for t in self.tensors]
        for t in self.tensors:
            t._data = reordered(t._data)

    def __exit__(self, *exc: object) -> None:
        for t, data in zip(self.tensors, self.saved):
            t._data = data


def jit(fn: Callable) -> CompiledFunction:
    """Compile fn (Tensors and arrays in, Tensors out) into one numpy program per signature.

    The first call with new shapes, dtypes or requires_grad traces fn and generates
    its forward and backward pass as Python over numpy (``.source``); later calls run
    that program. Results behave as eager ones: ``loss = step(x, y); loss.backward()``
    fills ``.grad`` of the inputs and of every parameter fn read.
    """
    return CompiledFunction(fn)


def lower(fn: Callable, *args: Any, passes: list | None = None, **kwargs: Any) -> tuple[Program, Generated]:
    """Trace fn(*args) and return its program after ``passes`` (all of them by default) and the
    generated code: for reading and measuring the passes one by one (the TOUR, the compile demo)."""
    step = CompiledFunction(fn)
    from tinygrad_rnn.compiler import passes as passes_module

    saved = passes_module.PASSES[:]
    if passes is not None:
        passes_module.PASSES[:] = passes
    try:
        step(*args, **kwargs)
    finally:
        passes_module.PASSES[:] = saved
    return step._latest.program, step._latest.generated
