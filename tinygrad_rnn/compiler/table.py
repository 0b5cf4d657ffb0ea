"""The op table: for each primitive op of ops.py, the numpy code of its forward.

The compiler needs only forwards: a backward pass is itself made of these ops
(the engine's recorded backward, see trace.py). Each entry turns a node into
the right-hand side of one line of Python, written exactly as the op's forward
computes it (so a compiled program gives the eager engine's numbers). An op
that is not in the table (a learner's own Function, a fused op) is called
through its own forward and backward: it still compiles, only slower.

``HELPERS`` are the few functions the generated code calls by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_rnn import ops
from tinygrad_rnn.bookkeeping import IndexedGrad, dense_grad
from tinygrad_rnn.compiler.program import Node
from tinygrad_rnn.modes import _GradMode
from tinygrad_rnn.tensor import Tensor

__all__ = ["TABLE", "HELPERS", "Render"]

Render = Any  # codegen.Render: r(value) is a value as Python source, r.index(index) an index's
Entry = Callable[[Node, list[str], Render], str]


def _binary(symbol: str) -> Entry:
    return lambda node, a, r: f"{a[0]} {symbol} {a[1]}"


def _unary(function: str) -> Entry:
    return lambda node, a, r: f"{function}({a[0]})"


def _matmul(node: Node, a: list[str], r: Render) -> str:
    x, y = node.args
    if len(x.shape) > 2 and len(y.shape) == 2:  # as MatMul.forward: batch axes folded into rows
        return f"({a[0]}.reshape(-1, {x.shape[-1]}) @ {a[1]}).reshape({node.shape})"
    return f"{a[0]} @ {a[1]}"


def _sum(node: Node, a: list[str], r: Render) -> str:
    axis, keepdims = node.options["axis"], node.options["keepdims"]
    if axis is None and not keepdims:
        return f"np.asarray({a[0]}.sum())"
    return f"{a[0]}.sum(axis={r(axis)}{', keepdims=True' if keepdims else ''})"


def _max(node: Node, a: list[str], r: Render) -> str:
    axis, keepdims = node.options["axis"], node.options["keepdims"]
    if axis is None and not keepdims:
        return f"np.asarray({a[0]}.max())"
    return f"{a[0]}.max(axis={r(axis)}{', keepdims=True' if keepdims else ''})"


def _transpose(node: Node, a: list[str], r: Render) -> str:
    axes = node.options["axes"]
    return f"{a[0]}.T" if axes == (1, 0) else f"{a[0]}.transpose({axes})"


def _index(node: Node, a: list[str], r: Render) -> str:
    picked = f"{a[0]}[{r.index(node.options['index'])}]"
    return f"np.asarray({picked})" if node.shape == () else picked


TABLE: dict[type, Entry] = {
    ops.Add: _binary("+"),
    ops.Sub: _binary("-"),
    ops.Mul: _binary("*"),
    ops.Div: _binary("/"),
    ops.Pow: _binary("**"),
    ops.PowConst: lambda node, a, r: f"{a[0]} ** {r(node.options['exponent'])}",
    ops.Neg: lambda node, a, r: f"-{a[0]}",
    ops.MatMul: _matmul,
    ops.Exp: _unary("np.exp"),
    ops.Log: _unary("np.log"),
    ops.Tanh: _unary("np.tanh"),
    ops.Sigmoid: lambda node, a, r: f"0.5 * (1 + np.tanh(0.5 * {a[0]}))",
    ops.ReLU: lambda node, a, r: f"np.maximum({a[0]}, 0)",
    ops.Softmax: lambda node, a, r: f"softmax({a[0]}, axis={node.options['axis']})",
    ops.LogSoftmax: lambda node, a, r: f"log_softmax({a[0]}, axis={node.options['axis']})",
    ops.Where: lambda node, a, r: f"np.where({r(node.options['condition'])}, {a[0]}, {a[1]})",
    ops.AsType: lambda node, a, r: f"{a[0]}.astype(np.{np.dtype(node.options['dtype']).name})",
    ops.Sum: _sum,
    ops.BroadcastTo: lambda node, a, r: f"np.broadcast_to({a[0]}, {node.options['shape']})",
    ops.Max: _max,
    ops.Reshape: lambda node, a, r: f"{a[0]}.reshape({node.options['shape']})",
    ops.Transpose: _transpose,
    ops.Index: _index,
    ops.Scatter: lambda node, a, r: (
        f"{'scatter_unique' if picks_each_entry_once(node.options['index']) else 'scatter'}"
        f"({a[0]}, np.s_[{r.index(node.options['index'])}], {node.options['shape']})"
    ),
    ops.Concat: lambda node, a, r: f"np.concatenate([{', '.join(a)}], axis={node.options['axis']})",
    ops.Stack: lambda node, a, r: f"np.stack([{', '.join(a)}], axis={node.options['axis']})",
}


# ---- what the generated code calls by name --------------------------------------------------
def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """ops.Softmax.forward."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """ops.LogSoftmax.forward."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def scatter(g: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """zeros(shape) with g added at [index] (ops.Scatter.forward): repeated indices add up."""
    return IndexedGrad(index, g, shape).dense()


def scatter_unique(g: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """scatter where no entry is picked twice: numpy's indexed += (np.add.at, which allows repeats,
    is twice as slow), with the same numbers (0 + g, so a -0.0 in g comes out +0.0 as there)."""
    buffer = np.zeros(shape, dtype=g.dtype)
    buffer[index] += g
    return buffer


def picks_each_entry_once(index: Any) -> bool:
    """Whether an index with integer arrays picks no entry twice: 1-D arrays of one length side
    by side, one of them a constant holding distinct numbers (``rows[np.arange(n), y]``:
    cross-entropy's pick of each row's target)."""
    items = index if isinstance(index, tuple) else (index,)
    basic = (int, np.integer, slice, type(None), type(Ellipsis))
    arrays = [i for i in items if not isinstance(i, basic)]
    if not arrays:  # (scatter itself sees that slices and ints pick each entry once)
        return False
    if not all(isinstance(i, (Node, np.ndarray)) and len(i.shape) == 1 for i in arrays):
        return False
    if any(isinstance(i, np.ndarray) and i.dtype.kind not in "iu" for i in arrays):
        return False  # (a boolean mask: it picks each entry once too, but is left to scatter)
    one_length = len({i.shape for i in arrays}) == 1
    return one_length and any(isinstance(i, np.ndarray) and len(np.unique(i)) == i.size for i in arrays)


def call(op_class: type, options: dict, needs: tuple[bool, ...], *arrays: np.ndarray) -> tuple:
    """Run an op the table does not know through the engine: (its output, the output Tensor).

    The Tensor is kept for ``call_backward``: its op saved what its backward needs.
    """
    inputs = []
    for array, need in zip(arrays, needs):
        tensor = Tensor._wrap(array)
        tensor.requires_grad = need
        inputs.append(tensor)
    previous, _GradMode.enabled = _GradMode.enabled, any(needs)
    try:
        out = op_class.apply(*inputs, **options)
    finally:
        _GradMode.enabled = previous
    return out._data, out


def call_backward(out: Tensor, g: np.ndarray) -> tuple:
    """The hand-written backward of a called op, on arrays: one gradient per input (or None)."""
    grads = out._ctx.backward(g)
    grads = grads if type(grads) is tuple else (grads,)
    return tuple(None if grad is None else np.asarray(dense_grad(grad)) for grad in grads)


HELPERS = {"np": np, "softmax": softmax, "log_softmax": log_softmax, "scatter": scatter}
HELPERS.update(scatter_unique=scatter_unique)
HELPERS.update(call=call, call_backward=call_backward)
