"""Tracing: run the function once, note every op it applies, then differentiate what was noted.

``record(fn, ...)`` calls the function on the given inputs with a tracer
listening (modes.tracing): every op that runs becomes a node of the program.
Then it runs reverse mode over those nodes, the engine's own way: each op's
``backward`` is called on Tensors (as with ``create_graph=True``), so the ops
of the backward pass are noted too. The result is the whole training step as
one list of primitive ops, forward then backward.

Two things make a trace more than a list of ops:

* **Values the function reads.** Python runs only once, at trace time, so a
  number or an array that the function computes *from its inputs' values*
  would be frozen into the program. Every array the program computes is
  therefore a ``Traced`` array while tracing: numpy calls on it (``x > 0``,
  ``targets.astype(np.intp)``, ``idx[mask]``) become nodes too, and reading
  one as a Python value (``bool``, ``int``, ``.item()``) becomes a *guard*,
  checked at every call (a different value means: trace again).
* **Values the function makes.** Constants made inside the function
  (``1 - z``'s 1, a zero initial state) are fixed in the program. To be sure
  they are constants, the function is traced a second time, with every input
  and every parameter jit can find reordered (``probe``); a "constant" that
  comes out different (a dropout mask, a counter, an array built from an input
  by a path jit cannot follow) is refused with an error that names it.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_rnn.bookkeeping import dense_grad
from tinygrad_rnn.compiler.program import Node, map_nodes, nodes_in
from tinygrad_rnn.modes import _GradMode, recording, tracing
from tinygrad_rnn.tensor import Function, Tensor

__all__ = ["JitError", "Traced", "Trace", "record", "compare", "drop_unread"]


class JitError(RuntimeError):
    """jit cannot compile the function as written (the message says why and what to do)."""


_active: list[Trace] = []  # the trace being recorded (jit does not trace inside a trace)
# Stand-ins for values the trace cannot name: fine inside an op, an error if the program needs them.
_WRITTEN = Node("written", note="was changed in place (by numpy's out=, +=, or item assignment)")
_UNFOLLOWED = Node("unfollowed", note="was made by numpy in a way jit cannot follow")


def tracing_now() -> bool:
    return bool(_active)


# ---- arrays whose values the program computes ------------------------------------------------
class Traced(np.ndarray):
    """An array the compiled program will compute: numpy calls on it are noted as nodes.

    ``node`` is the node whose value this array holds (None for a view numpy made
    on its own, which the trace cannot name). Results of ufuncs, numpy functions
    and the array methods below are Traced again; reading one as a Python value
    is a guard.
    """

    __jit_traced__ = True  # checks.as_array keeps this type, so a Tensor made from it stays followed
    node: Node | None = None

    def __array_finalize__(self, obj: Any) -> None:
        self.node = None  # a view numpy made on its own: not followed

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, out: Any = None, **kwargs: Any) -> Any:
        if any(isinstance(i, Tensor) for i in inputs):  # array * tensor: the Tensor's own operator
            return NotImplemented  # (its __array_ufunc__) records an op that reads this array's node
        if out is not None:  # in place: the written array no longer holds what its node computes
            kwargs["out"] = tuple(_plain(o) for o in out)
            getattr(ufunc, method)(*map(_plain, inputs), **kwargs)
            for array in out:
                _mark_written(array)
            return out[0] if len(out) == 1 else out
        if method == "at":  # np.add.at(a, ...) writes into a
            getattr(ufunc, method)(*map(_plain, inputs), **kwargs)
            _mark_written(inputs[0])
            return None
        result = getattr(ufunc, method)(*map(_plain, inputs), **kwargs)
        call = ufunc if method == "__call__" else (ufunc, method)
        return _noted(result, call, list(inputs), kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        result = func(*_plain_nested(args), **_plain_nested(kwargs))
        if func in _SHAPE_ONLY:
            return result
        return _noted(result, func, list(args), kwargs)

    # Array methods that numpy does not route through __array_ufunc__ / __array_function__.
    def _method(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(np.ndarray, name)(
            self.view(np.ndarray), *_plain_nested(args), **_plain_nested(kwargs)
        )
        return _noted(result, name, [self, *args], kwargs)

    def __getitem__(self, index: Any) -> Any:
        return self._method("__getitem__", index)

    @property
    def T(self) -> Any:  # noqa: N802 (numpy's name)
        return self._method("transpose")

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __setitem__(self, index: Any, value: Any) -> None:
        np.ndarray.__setitem__(self.view(np.ndarray), _plain_nested(index), _plain(value))
        _mark_written(self)

    # Reading a value into Python: a guard (the program checks it, and retraces if it changed).
    def __bool__(self) -> bool:
        return _guard(self, "bool", bool(self.view(np.ndarray)))

    def __int__(self) -> int:
        return _guard(self, "int", int(self.view(np.ndarray)))

    def __float__(self) -> float:
        return _guard(self, "float", float(self.view(np.ndarray)))

    def __index__(self) -> int:
        return _guard(self, "index", self.view(np.ndarray).__index__())

    def item(self, *args: Any) -> Any:
        return _guard(self, "item", self.view(np.ndarray).item(*args), args)

    def tolist(self) -> Any:
        return _guard(self, "tolist", self.view(np.ndarray).tolist())

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def __reduce__(self) -> Any:  # pickled as the plain array it shows
        return self.view(np.ndarray).copy().__reduce__()


_METHODS = (
    "astype reshape transpose swapaxes ravel flatten squeeze copy argmax argmin argsort nonzero "
    "cumsum cumprod take repeat round clip dot sum mean min max any all prod std var"
).split()
for _name in _METHODS:
    setattr(Traced, _name, lambda self, *a, _name=_name, **k: self._method(_name, *a, **k))
for _name in "fill sort partition put resize itemset".split():  # methods that write in place

    def _writes(self: Traced, *a: Any, _name: str = _name, **k: Any) -> Any:
        result = getattr(np.ndarray, _name)(self.view(np.ndarray), *a, **k)
        _mark_written(self)
        return result

    setattr(Traced, _name, _writes)

# numpy functions whose result depends only on shapes and dtypes: no node needed.
_SHAPE_ONLY = {np.shape, np.ndim, np.size, np.result_type, np.may_share_memory, np.shares_memory}


def _plain(x: Any) -> Any:
    return x.view(np.ndarray) if isinstance(x, Traced) else x


def _plain_nested(x: Any) -> Any:
    if isinstance(x, Traced):
        return x.view(np.ndarray)
    if isinstance(x, (tuple, list)):
        return type(x)(_plain_nested(i) for i in x)
    if isinstance(x, dict):
        return {k: _plain_nested(v) for k, v in x.items()}
    return x


def _mark_written(array: Any) -> None:
    """array was written by numpy from traced values: its values are no longer what a node of the
    program computes (an array from outside, such as a buffer given to out=, never was one)."""
    if isinstance(array, Traced):
        array.node = _WRITTEN
    elif isinstance(array, np.ndarray) and _active:  # the program would read it, unchanged by it
        written = array.view(Traced)
        written.node = _WRITTEN
        _active[-1].aliases[_memory(array)] = (written, _WRITTEN)


def follow(array: Any, node: Node) -> Traced:
    """A Traced view of ``array`` (no copy) whose value is ``node``'s."""
    traced = np.asarray(array).view(Traced)
    traced.node = node
    if _active:  # so that a plain view of it (np.asarray strips the type) is known too
        aliases, key = _active[-1].aliases, _memory(traced)
        known = aliases.get(key)
        if known is None or known[0].node in (None, _WRITTEN):  # (the same values: keep the first)
            aliases[key] = (traced, node)
    return traced


def _memory(array: np.ndarray) -> tuple:
    """Where and how an array lies in memory: two arrays with the same key hold the same values."""
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


def _replaced(tensor: Tensor, node: Node) -> bool:
    """fn gave a Tensor the trace holds a value for another array (``y.data = ...``): its node no
    longer says what it holds (a leaf reads the Tensor itself at call time, so it stays right)."""
    if node.kind == "leaf" and node.value is tensor:
        return False
    held = getattr(tensor._data, "node", None)
    return held is not node and held is not _WRITTEN


def _noted(result: Any, call: Any, args: list, kwargs: dict) -> Any:
    """The result of a numpy call on traced values, noted as a node of the active trace."""
    trace = _active[-1] if _active else None
    if trace is None:  # a Traced array used after its trace ended: plain numpy
        return result
    if isinstance(result, (tuple, list)):  # np.nonzero, np.split, divmod, ...
        whole = trace.add(Node("numpy", trace.values(args), op=call, options=trace.values(kwargs)))
        parts = [
            follow(r, trace.add(Node("numpy", [whole, i], np.shape(r), np.asarray(r).dtype, op="item")))
            for i, r in enumerate(result)
        ]
        return type(result)(parts)
    if not isinstance(result, (np.ndarray, np.generic)):  # a Python value: a guard on it
        return trace.guard(Node("numpy", trace.values(args), op=call, options=trace.values(kwargs)), result)
    array = np.asarray(result)
    node = trace.add(
        Node("numpy", trace.values(args), array.shape, array.dtype, op=call, options=trace.values(kwargs))
    )
    return follow(array, node)


def _inside_an_ops_forward(trace: Trace, frame: Any) -> bool:
    """Whether a value is being read inside an op's forward, while ``trace`` notes a backward:
    numpy does so itself in ``buffer[i] += g`` with a one-entry g (Scatter's forward, the backward
    of ``x[i, j]``). The program computes such an op as one line of its own (or calls it, when the
    table does not know it), so that read decides nothing the program does. The frames from
    ``frame`` out are read up to the trace's own: a ``forward`` of a Function on the way means
    inside an op."""
    while frame is not None and frame.f_locals.get("self") is not trace:
        if "forward" in frame.f_code.co_name and isinstance(frame.f_locals.get("self"), Function):
            return True
        frame = frame.f_back
    return False


def _guard(array: Traced, conversion: str, value: Any, args: tuple = ()) -> Any:
    trace = _active[-1] if _active else None
    if trace is None:
        return value
    node = trace.node_of(array, "read as a Python value")
    return trace.guard(Node("numpy", [node, *args], op=conversion), value)


# ---- the trace --------------------------------------------------------------------------------
@dataclass(eq=False)
class Trace:
    """What one run of the function did: its nodes, in the order they ran."""

    nodes: list[Node] = field(default_factory=list)
    inputs: list[Node] = field(default_factory=list)
    leaves: list[Node] = field(default_factory=list)
    outputs: list[Node] = field(default_factory=list)
    seeds: list[Node] = field(default_factory=list)
    input_grads: list[tuple[Node, Node | None]] = field(default_factory=list)
    guards: list[Node] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # id(leaf Tensor) -> its parameter name
    grad_of: dict[Node, Node] = field(default_factory=dict)  # a gradient's node -> the node it is dL/d of
    phase: str = "forward"
    origin: Node | None = None  # while differentiating an op: its node
    _tensors: dict[int, tuple[Tensor, Node]] = field(default_factory=dict)  # keeps them alive
    aliases: dict[tuple, tuple[Traced, Node]] = field(default_factory=dict)  # memory -> node (kept alive)
    unused: set[Node] = field(default_factory=set)  # leaves of the parameters jit found, not yet read
    _output_of: dict[Node, Tensor] = field(default_factory=dict)

    def add(self, node: Node) -> Node:
        if self.unused:
            self.read(node.inputs())
        node.phase, node.origin = self.phase, self.origin
        self.nodes.append(node)
        return node

    def read(self, nodes: list[Node]) -> None:
        """A parameter jit found joins the program when something reads it for the first time."""
        for node in nodes:
            if node in self.unused:
                self.unused.remove(node)
                self.nodes.append(node)
                self.leaves.append(node)

    def guard(self, read: Node, value: Any) -> Any:
        """Note that the function read ``value`` (computed as ``read`` says); return it."""
        if self.phase == "backward":
            if _inside_an_ops_forward(self, sys._getframe(1)):  # numpy reading a one-entry gradient
                return value
            raise JitError(
                f"jit: the backward of {self.origin.op.__name__ if self.origin else 'an op'} reads a "
                f"gradient's value as a Python value ({read.op}); jit cannot compile a backward that "
                "branches on values: call the function without jit"
            )
        node = self.add(Node("guard", read.args, op=read.op, options=read.options, value=value))
        self.guards.append(node)
        return value

    # Which node holds a value.
    def node_of(self, array: Any, what: str) -> Node | None:
        """The node of a traced array (or a plain view of one); None for an array from outside.

        An array the trace cannot name gets a stand-in node: harmless inside an op's forward,
        refused by ``check_followed`` if the program needs its value.
        """
        if isinstance(array, Traced):
            node = array.node
        elif isinstance(array, np.ndarray):  # e.g. np.asarray of a Traced array: the same memory
            known = self.aliases.get(_memory(array))
            if known is None:
                return None
            node = known[0].node  # (now: it may have been written in place since)
        else:
            return None
        return _UNFOLLOWED if node is None else node

    def values(self, value: Any) -> Any:
        """value with every traced array in it replaced by its node."""
        if isinstance(value, np.ndarray):
            return self.node_of(value, "used by the function") or value
        if isinstance(value, (tuple, list)):
            return type(value)(self.values(v) for v in value)
        if isinstance(value, dict):
            return {k: self.values(v) for k, v in value.items()}
        if isinstance(value, slice):
            return slice(self.values(value.start), self.values(value.stop), self.values(value.step))
        return value

    def tensor_node(self, tensor: Tensor) -> Node:
        """The node of a Tensor: known, a value of the program under another name, or a new leaf."""
        known = self._tensors.get(id(tensor))
        if known is not None and known[0] is tensor and not _replaced(tensor, known[1]):
            # unless fn has written into its array since (through .data): no node holds what is read now
            written = self.phase == "forward" and getattr(tensor._data, "node", None) is _WRITTEN
            return _WRITTEN if written else known[1]
        node = self.node_of(tensor._data, "made into a Tensor")
        if node is None:  # from outside the program: read at call time (or a constant, see compare)
            node = self.add(Node("leaf", shape=tensor.shape, dtype=tensor.dtype, value=tensor))
            node.name = self.names.get(id(tensor), "")
            self.leaves.append(node)
        self._tensors[id(tensor)] = (tensor, node)
        return node

    def alias(self, array: np.ndarray) -> np.ndarray:
        """The traced array that ``array`` is a plain view of (same memory and layout), or array."""
        known = self.aliases.get(_memory(array))
        return array if known is None or known[0].node in (None, _WRITTEN) else known[0]

    def input(self, value: Any, position: int, name: str) -> Any:
        """The traced stand-in for one argument: a Tensor or array whose value is an input node."""
        if not isinstance(value, (Tensor, np.ndarray)):
            return value  # a Python value: part of the signature, fixed in the program
        node = self.add(Node("input", shape=value.shape, dtype=value.dtype, value=position, name=name))
        self.inputs.append(node)
        if isinstance(value, np.ndarray):
            return follow(value, node)
        tensor = Tensor._wrap(value._data)
        tensor.requires_grad = value.requires_grad
        return self.register(tensor, node)

    def follow_parameter(self, tensor: Tensor) -> Node:
        """The leaf node of a parameter jit found; it joins the program when something reads it."""
        known = self._tensors.get(id(tensor))
        if known is not None and known[0] is tensor:
            return known[1]
        name = self.names.get(id(tensor), "")
        node = Node("leaf", shape=tensor.shape, dtype=tensor.dtype, value=tensor, name=name)
        self.unused.add(node)
        self._tensors[id(tensor)] = (tensor, node)
        return node

    def register(self, tensor: Tensor, node: Node) -> Tensor:
        tensor._data = follow(tensor._data, node)
        self._tensors[id(tensor)] = (tensor, node)
        return tensor

    # The tracer: called by Function.apply for every op that runs.
    def __call__(self, op: Any, parents: tuple, out: Tensor, options: dict) -> None:
        args = [self.tensor_node(p) for p in parents]
        node = self.add(Node("op", args, out.shape, out.dtype, op=type(op), options=self.values(options)))
        node.instance, node.value = op, tuple(p.requires_grad for p in parents)
        self._output_of[node] = out
        self.register(out, node)

    # Reverse mode over the noted ops.
    def differentiate(self, outputs: list[Tensor], wrt: list[Tensor]) -> None:
        """Note the backward pass: dL/d(each of wrt) from a gradient seed per output."""
        self.phase = "backward"
        pending: dict[Node, list[Tensor]] = {}
        for k, out in enumerate(outputs):
            seed = self.add(Node("grad", shape=out.shape, dtype=out.dtype, value=k))
            self.seeds.append(seed)
            if out.requires_grad:
                g = self.register(Tensor._wrap(np.ones(out.shape, out.dtype)), seed)
                pending.setdefault(self.tensor_node(out), []).append(g)
        forward_ops = [n for n in self.nodes if n.kind == "op" and n.phase == "forward"]
        for node in reversed(forward_ops):
            contributions = pending.pop(node, None)
            if not contributions:
                continue
            out = self._output_of[node]
            g = self._total(out, node, contributions)
            op = node.instance
            self.origin = node
            grads = self._backward_of(node, op, g)
            self.origin = None
            for parent, grad in zip(op.parents, grads):
                if grad is not None and parent.requires_grad:
                    pending.setdefault(self.tensor_node(parent), []).append(grad)
        for tensor in wrt:
            node = self.tensor_node(tensor)
            contributions = pending.pop(node, None)
            total = self._total(tensor, node, contributions) if contributions else None
            self.input_grads.append((node, None if total is None else self.tensor_node(total)))

    def _total(self, tensor: Tensor, node: Node, contributions: list[Tensor]) -> Tensor:
        """dL/d(tensor): the sum of what its uses sent, in tensor's dtype (as bookkeeping.GradSums)."""
        total = contributions[0]
        if len(contributions) > 1:
            value = contributions[0]._data.view(np.ndarray)
            for c in contributions[1:]:
                value = value + c._data.view(np.ndarray)
            parts = [self.tensor_node(c) for c in contributions]
            total = self.register(Tensor._wrap(value), self.add(Node("sum", parts, value.shape, value.dtype)))
        if total.dtype != tensor.dtype:
            with recording(True):
                total = total.astype(tensor.dtype)
        self.grad_of.setdefault(self.tensor_node(total), node)
        return total

    def _backward_of(self, node: Node, op: Any, g: Tensor) -> tuple:
        """op's backward, noted op by op; or, if it cannot run on Tensors, called as it is."""
        from tinygrad_rnn.compiler.table import TABLE

        mark = len(self.nodes)
        try:
            with recording(True):
                grads = op.backward(g)
            return grads if type(grads) is tuple else (grads,)
        except JitError:
            raise
        except Exception:  # noqa: BLE001 (a hand-written backward on arrays only, e.g. a fused op)
            if node.op in TABLE:
                raise
        del self.nodes[mark:]  # what the failed attempt noted
        _active.pop()  # called as a whole at run time: what it does inside is not noted
        try:
            with recording(False):
                values = op.backward(g._data.view(np.ndarray))
        finally:
            _active.append(self)
        values = values if type(values) is tuple else (values,)
        call = self.add(Node("call_backward", [self.tensor_node(g), node]))
        grads = []
        for i, (parent, value) in enumerate(zip(op.parents, values)):
            if value is None or not parent.requires_grad:
                grads.append(None)
                continue
            value = np.asarray(dense_grad(value))
            item = self.add(Node("item", [call, i], value.shape, value.dtype))
            grads.append(self.register(Tensor._wrap(value.view(np.ndarray)), item))
        return tuple(grads)


def record(
    call: Callable[[list[Any]], list[Tensor]],
    flat: list[Any],
    input_names: list[str],
    names: dict[int, str],
    followed: list[Tensor],
    differentiate: bool,
) -> tuple[Trace, list[Tensor]]:
    """Run ``call(inputs)`` under a trace; ``flat`` are the function's flattened arguments.

    Tensors and arrays in ``flat`` become the program's inputs (the function gets
    traced copies of them); anything else is passed as it is. ``followed`` are the
    parameters jit found: their arrays are Traced while the function runs, so numpy
    calls on their values are noted too. Returns the trace and the output Tensors.
    """
    trace = Trace(names=names)
    saved = [(t, t._data, t._view) for t in followed]
    _active.append(trace)
    previous_follow, _GradMode.follow = _GradMode.follow, trace.alias
    previous_refuse, _GradMode.refuse_backward = _GradMode.refuse_backward, _refuse_backward
    try:
        inputs = [trace.input(value, i, name) for i, (value, name) in enumerate(zip(flat, input_names))]
        for t in followed:  # t.data then hands out the traced array too (bookkeeping.watch)
            t._data, t._view = follow(t._data, trace.follow_parameter(t)), None
        installed = [t._data for t in followed]
        grads = [(t, t.grad, np.array(t.grad) if isinstance(t.grad, np.ndarray) else None) for t in followed]
        given = [(t, t._data, name) for t, name in zip(inputs, input_names) if isinstance(t, Tensor)]
        with tracing(trace), np.errstate(all="ignore"):
            outputs = call(inputs)
            _refuse_replaced(trace, followed, installed)
            _refuse_replaced_arguments(given)
            _refuse_changed_grads(trace, grads)
            trace.outputs = [trace.tensor_node(t) for t in outputs]
            trace.read(trace.outputs)
            if differentiate:
                leaves = [leaf.value for leaf in trace.leaves if leaf.value.requires_grad]
                trace.differentiate(outputs, _unique(_tensors_of(inputs) + leaves))
    finally:
        _active.pop()
        _GradMode.follow = previous_follow
        _GradMode.refuse_backward = previous_refuse
        for t, data, view in saved:
            t._data, t._view = data, view
    return trace, outputs


def _refuse_replaced(trace: Trace, followed: list[Tensor], installed: list[np.ndarray]) -> None:
    """A parameter given a new array inside fn (``w.data = ...``): the program could only read the old one."""
    for t, array in zip(followed, installed):
        if t._data is not array:
            name = trace.names.get(id(t)) or f"a parameter of shape {t.shape}"
            raise JitError(
                f"jit: fn replaced the array of {name} (.data = ...) as it ran; a compiled program "
                "runs only numpy, so it would keep reading the old values: change parameters outside "
                "the compiled function (e.g. after the step returns)"
            )


def _refuse_changed_grads(trace: Trace, grads: list[tuple[Tensor, Any, np.ndarray | None]]) -> None:
    """fn changed a parameter's .grad (``opt.zero_grad()``, an assignment, a write into it): eager
    does that at every call, a compiled program sets no .grad, so only the trace would. Each .grad
    is put back as fn found it."""
    changed = [
        t for t, grad, values in grads
        if t.grad is not grad or (values is not None and not np.array_equal(grad, values, equal_nan=True))
    ]
    if not changed:
        return
    for t, grad, values in grads:
        t.grad = grad
        if values is not None:
            grad[...] = values
    first = changed[0]
    name = trace.names.get(id(first)) or f"a parameter of shape {first.shape}"
    raise JitError(
        f"jit: fn changed the .grad of {name} (zero_grad(), an assignment or a write) as it ran; a "
        "compiled program computes values and sets no .grad, so only this first call would: call "
        "opt.zero_grad() (or change .grad) outside the compiled function"
    )


def _refuse_backward() -> None:
    """backward() inside fn: it sets .grad as it runs, and a compiled program only computes values."""
    raise JitError(
        "jit: fn called backward() while jit traced it; a compiled program computes values and sets no "
        ".grad, so the gradients would be this trace's alone: return the loss from fn and call "
        "backward() on what the compiled function returns (loss = step(x); loss.backward())"
    )


def _refuse_replaced_arguments(given: list[tuple[Tensor, Any, str]]) -> None:
    """An argument given a new array inside fn (``x.data = ...``): eager changes the caller's
    Tensor, a compiled program computes values and changes no caller's Tensor."""
    for t, array, name in given:
        if t._data is not array:
            raise JitError(
                f"jit: fn replaced the array of its argument {name} (.data = ...) as it ran; a compiled "
                "program does not change its inputs, so it would leave that out: change it outside the "
                "compiled function (e.g. after the step returns)"
            )


def _tensors_of(args: list[Any]) -> list[Tensor]:
    return [a for a in args if isinstance(a, Tensor)]


def _unique(tensors: list[Tensor]) -> list[Tensor]:
    seen: dict[int, Tensor] = {}
    for t in tensors:
        seen.setdefault(id(t), t)
    return list(seen.values())


# ---- the second run: which values are constants ---------------------------------------------
def compare(first: Trace, probe: Trace, start: int = 0) -> int | None:
    """Classify first's leaves by the probe run (inputs and parameters reordered); refuse
    a 'constant' that changed. A leaf that is the same Tensor in both runs existed before
    fn ran: it stays a leaf, read at every call. Otherwise fn made it, and its values must
    not depend on anything that changed between the runs. Compares the nodes from ``start``
    on; returns where a guard read differently stopped it (None when it compared them all)."""
    live = _live(first)
    if len(first.nodes) != len(probe.nodes) and not _guards_differ(first, probe):
        raise JitError(
            "jit: fn ran differently on a second run with its inputs reordered (a different number of "
            f"ops: {len(first.nodes)} vs {len(probe.nodes)}), without a Python value that explains it; "
            "make the control flow depend on shapes and Python arguments only"
        )
    position = {id(n): i for i, n in enumerate(first.nodes)}
    probe_position = {id(n): i for i, n in enumerate(probe.nodes)}
    stopped = None
    for i in range(start, min(len(first.nodes), len(probe.nodes))):  # the same ops up to a differing guard
        a, b = first.nodes[i], probe.nodes[i]
        if a.kind == "guard" and a.value != b.value:
            stopped = i  # the runs took different branches: nothing after this can be compared
            break
        if (a.kind, a.op, a.shape) != (b.kind, b.op, b.shape):
            raise JitError(f"jit: fn ran a different op on a second run ({_what(a)} vs {_what(b)})")
        if a not in live:
            continue  # computed inside an op and never used (numpy calls in an op's forward)
        if a.kind == "leaf":
            _classify_leaf(a, b)
        same_reads = [position.get(id(n)) for n in nodes_in((a.args, a.options))] == [
            probe_position.get(id(n)) for n in nodes_in((b.args, b.options))
        ]
        if not same_reads or not _same_plain_values((a.args, a.options), (b.args, b.options)):
            raise JitError(
                f"jit: {_what(a)} was given different constants on a second run with the inputs reordered: "
                f"{_CHANGING}"
            )
    first.leaves = [n for n in first.leaves if n.kind == "leaf"]
    return stopped


def refuse_written(trace: Trace) -> None:
    """fn wrote into the array of an input or a parameter (x.data[i] = v, out=w.data): the program
    computes values and writes into no caller's array, so it would leave that write out."""
    for traced, node in trace.aliases.values():
        if node.kind in ("input", "leaf") and traced.node is _WRITTEN:
            raise JitError(
                f"jit: fn wrote into {node.name or 'an input'} in place as it ran; a compiled program "
                "does not change its inputs or parameters, so it would leave that out: change them "
                "outside the compiled function (e.g. after the step returns)"
            )


def _live(trace: Trace) -> set[Node]:
    """The nodes that outputs, gradients or guards need; refuses a value the trace cannot name."""
    live: set[Node] = set()
    stack = [*trace.outputs, *trace.guards, *(g for _, g in trace.input_grads if g is not None)]
    for output in trace.outputs:
        if output is _WRITTEN or output is _UNFOLLOWED:
            raise JitError(
                f"jit: a value that fn returns {output.note}, so the program cannot compute it again; "
                "compute it with Tensor ops (or make a copy before changing it)"
            )
    while stack:
        node = stack.pop()
        if node in live:
            continue
        live.add(node)
        for read in node.inputs():
            if read is _WRITTEN or read is _UNFOLLOWED:
                raise JitError(
                    f"jit: a value that {_what(node)} reads {read.note}, so the program cannot compute it "
                    "again; compute it with Tensor ops (or make a copy before changing it)"
                )
            stack.append(read)
    return live


def drop_unread(trace: Trace) -> None:
    """Leave out the numpy calls whose results the program never reads: the insides of each
    op's forward (the op is one line of the program, from the table), and numpy work the
    function did and then dropped. (Refuses first a write into an input's or a parameter's array.)"""
    refuse_written(trace)
    live = _live(trace)
    trace.nodes = [n for n in trace.nodes if n.kind != "numpy" or n in live]


_CHANGING = (
    "a value drawn at random (dropout in training mode: call model.eval() or set dropout=0), read "
    "from state that changes between calls, or computed from an input's values in a way jit cannot "
    "follow (np.asarray, indexing a numpy array with it, .data). Compute it with Tensor ops, or pass "
    "it to the compiled function as an argument"
)


def _what(node: Node) -> str:
    name = getattr(node.op, "__name__", node.op)
    return f"{node.kind} {name or ''} of shape {node.shape}".replace("  ", " ")


def _guards_differ(first: Trace, probe: Trace) -> bool:
    """Whether the runs read a different Python value at a guard both reached: from there on they
    may take different branches. Runs that read the same values as far as both went, one of them
    then reading more, took the same branches so far: what made them part is not a value jit saw."""
    return any(a.value != b.value for a, b in zip(first.guards, probe.guards))


def _classify_leaf(a: Node, b: Node) -> None:
    tensor_a, tensor_b = a.value, b.value
    if tensor_a is tensor_b:
        return  # existed before fn ran: a leaf, read at every call
    data_a, data_b = tensor_a._data, tensor_b._data
    if data_a is data_b or np.shares_memory(data_a, data_b):
        a.value = data_a  # fn wrapped the same outside array both times: read it at every call
        return
    if data_a.shape != data_b.shape or not np.array_equal(data_a, data_b, equal_nan=True):
        raise JitError(f"jit: fn makes a different constant of shape {data_a.shape} on each run: {_CHANGING}")
    a.kind, a.value = "constant", np.array(data_a, copy=True)


def _same_plain_values(a: Any, b: Any) -> bool:
    """Equal except for the nodes inside (whose positions are compared apart)."""
    if isinstance(a, Node) or isinstance(b, Node):
        return isinstance(a, Node) and isinstance(b, Node)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_plain_values, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_plain_values(a[k], b[k]) for k in a)
    if isinstance(a, slice):
        return isinstance(b, slice) and _same_plain_values(
            (a.start, a.stop, a.step), (b.start, b.stop, b.step)
        )
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return a == b or (a != a and b != b)  # nan == nan here
    return type(a) is type(b) and (a is b or a == b)


def reordered(value: np.ndarray) -> np.ndarray:
    """The same entries shifted by one place (same shape, dtype and multiset of values); unlike a
    reversal, only an array whose entries are all equal comes out the same."""
    return np.roll(np.ascontiguousarray(value).ravel(), 1).reshape(value.shape)


__all__ += ["follow", "reordered", "tracing_now", "map_nodes"]
