"""The primitive ops: one class each, forward and backward side by side.

Notation: x, y are the inputs, z (or y for one input) the output, g = dL/dz the gradient arriving
from above. A docstring's first paragraph reads ``forward formula;  dL/dx = ...`` (viz.op_math).

Each backward returns dL/dx (and dL/dy) in exactly that input's shape: where numpy broadcast an
input, ``unbroadcast`` sums the gradient over the copies (they add). A backward is written once,
with what numpy arrays and Tensors share (+ - * / ** @, .T, .reshape, .sum, indexing) and the
helpers below that take either: fast numpy on arrays, a recorded graph on Tensors (create_graph).
It reads values from self.inputs and self.output: an array kept on self is a constant when recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn import checks
from tinygrad_rnn.bookkeeping import IndexedGrad
from tinygrad_rnn.tensor import Function, Tensor
from tinygrad_rnn.tensor import where as tensor_where


# ---- functions a backward calls on arrays and Tensors alike ---------------------------------
def exp(x: Any) -> Any:
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x: Any) -> Any:
    return x.log() if isinstance(x, Tensor) else np.log(x)


def tanh(x: Any) -> Any:
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


def sigmoid(x: Any) -> Any:
    return x.sigmoid() if isinstance(x, Tensor) else Sigmoid().forward(x)


def where(condition: np.ndarray, x: Any, y: Any) -> Any:
    return tensor_where(condition, x, y) if isinstance(x, Tensor) else np.where(condition, x, y)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    """x repeated along the axes where it has size 1 (or lacks) to fill ``shape``."""
    return BroadcastTo.apply(x, shape=shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


def scatter(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """zeros(shape) with g added at [index]: Index's derivative (an IndexedGrad for arrays)."""
    if isinstance(g, Tensor):
        return Scatter.apply(g, index=index, shape=shape)
    return IndexedGrad(index, g, shape)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum g over the axes that broadcasting added or stretched, so that it has ``shape``."""
    if g.shape == shape:
        return g
    added = g.ndim - len(shape)
    stretched = tuple(added + i for i, n in enumerate(shape) if n == 1 and g.shape[added + i] != 1)
    return g.sum(axis=tuple(range(added)) + stretched, keepdims=True).reshape(shape)


# ---- arithmetic ------------------------------------------------------------------------------
class Add(Function):
    """z = x + y;  dL/dx = g,  dL/dy = g."""

    elementwise = True

    def forward(self, x, y):
        self.shapes = x.shape, y.shape
        return x + y

    def backward(self, g):
        x_shape, y_shape = self.shapes
        if x_shape == y_shape:  # nothing was broadcast (the usual case; with Mul's: -6% per node)
            return g, g
        return unbroadcast(g, x_shape), unbroadcast(g, y_shape)


class Sub(Function):
    """z = x - y;  dL/dx = g,  dL/dy = -g."""

    elementwise = True

    def forward(self, x, y):
        self.shapes = x.shape, y.shape
        return x - y

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(Function):
    """z = x * y;  dL/dx = g * y,  dL/dy = g * x."""

    elementwise = True

    def forward(self, x, y):
        return x * y

    def backward(self, g):
        x, y = self.inputs
        if x.shape == y.shape:  # nothing was broadcast (the usual case)
            return g * y, g * x
        return unbroadcast(g * y, x.shape), unbroadcast(g * x, y.shape)


class Div(Function):
    """z = x / y;  dL/dx = g / y,  dL/dy = -g * z / y  (= -g * x / y**2, where y**2 may underflow)."""

    elementwise = True

    def forward(self, x, y):
        return x / y

    def backward(self, g):
        x, y = self.inputs
        return unbroadcast(g / y, x.shape), unbroadcast(-g * self.output / y, y.shape)


class Pow(Function):
    """z = x ** y;  dL/dx = g * y * x**(y-1),  dL/dy = g * z * log(x).

    As PyTorch: dL/dx = 0 where y = 0 (x**0 is constant, even at x = 0); log(x) is nan below 0
    and taken as 0 at x = 0 when y >= 0 (z = 0 or 1 there is flat in y).
    """

    elementwise = True

    def forward(self, x, y):
        return x**y

    def backward(self, g):
        x, y = self.inputs
        x_needs, y_needs = self.needs_grad
        gx = unbroadcast(g * y * x ** where(y != 0, y - 1, 0.0), x.shape) if x_needs else None
        gy = None
        if y_needs:
            # log x where x > 0; nan below 0; at x = 0, 0 for y >= 0 and -inf for y < 0 (as PyTorch)
            off = np.where(x < 0, np.nan, np.where((x == 0) & (y < 0), -np.inf, 0.0)).astype(x.dtype)
            log_x = log(where(x > 0, x, 1.0)) + off  # (comparisons give plain arrays, also of Tensors)
            gy = unbroadcast(g * self.output * log_x, y.shape)
        return gx, gy


class PowConst(Function):
    """y = x ** p (p a number);  dL/dx = g * p * x**(p-1)."""

    name = "pow"

    def __init__(self, exponent: float):
        self.p = exponent

    def forward(self, x):
        return x**self.p

    def backward(self, g):
        if self.p == 0:  # x**0 = 1 is constant; p * x**(p-1) would be 0 * inf = nan at x = 0
            return g * 0.0
        (x,) = self.inputs
        return g * self.p * x ** (self.p - 1)


class Neg(Function):
    """y = -x;  dL/dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class MatMul(Function):
    """z = x @ y;  dL/dx = g @ y.T,  dL/dy = x.T @ g.

    numpy.matmul's operands: 1-D, 2-D, or stacks of matrices. For the formulas a 1-D x is a row (1, n)
    and a 1-D y a column (n, 1), and .T swaps the last two axes; batch axes broadcast in are summed away.
    """

    def forward(self, x, y):
        checks.matmul_shapes(x.shape, y.shape)
        # (..., n) @ (n, m) as one 2-D matmul: numpy would loop over the batch axes. Measured on
        # make bench's lstm-lm: 7 ms instead of 14 forward, 7 instead of 22 backward (~15% of a step).
        if x.ndim > 2 and y.ndim == 2:
            return (x.reshape(-1, x.shape[-1]) @ y).reshape(*x.shape[:-1], y.shape[1])
        return x @ y

    def backward(self, g):
        x, y = self.inputs
        x_needs, y_needs = self.needs_grad
        if x.ndim >= 2 and y.ndim == 2:  # the layer case, (..., n) @ (n, m): batch axes folded into rows
            g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
            gx = (g_rows @ y.T).reshape(x.shape) if x_needs else None
            return gx, x_rows.T @ g_rows if y_needs else None
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        g2 = g.reshape(*g.shape, 1) if y.ndim == 1 else g  # put back the axes 1-D operands lost
        g2 = g2.reshape(*g2.shape[:-1], 1, g2.shape[-1]) if x.ndim == 1 else g2
        gx = unbroadcast(g2 @ y2.swapaxes(-1, -2), x2.shape).reshape(x.shape) if x_needs else None
        gy = unbroadcast(x2.swapaxes(-1, -2) @ g2, y2.shape).reshape(y.shape) if y_needs else None
        return gx, gy


# ---- elementwise functions -------------------------------------------------------------------
class Exp(Function):
    """y = exp(x);  dL/dx = g * y."""

    def forward(self, x):
        return np.exp(x)

    def backward(self, g):
        return g * self.output


class Log(Function):
    """y = log(x);  dL/dx = g / x."""

    def forward(self, x):
        return np.log(x)

    def backward(self, g):
        (x,) = self.inputs
        return g / x


class Tanh(Function):
    """y = tanh(x);  dL/dx = g * (1 - y**2)."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g):
        y = self.output
        return g * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g * y * (1 - y).

    Computed as (1 + tanh(x/2)) / 2: it never overflows (exp(-x) does for x < -709) and is 3x faster than
    exp(-|x|) with a branch. Its error is at most 1.1e-16 (6e-8 in float32), so in the far negative tail,
    where y is that small, the relative error grows: y is 0 for x < -38 (float64) or x < -20 (float32).
    """

    def forward(self, x):
        return 0.5 * (1 + np.tanh(0.5 * x))

    def backward(self, g):
        y = self.output
        return g * y * (1 - y)


class ReLU(Function):
    """y = max(x, 0);  dL/dx = g where [x > 0], else 0  (also at x = 0 and for g = nan, as PyTorch)."""

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g):
        (x,) = self.inputs
        return where(x > 0, g, 0.0)


class Softmax(Function):
    """y = exp(x - m) / sum(exp(x - m));  dL/dx = y * (g - sum(g * y)).

    Sums run over ``axis``; m = max(x) changes nothing but keeps exp from overflowing.
    """

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, g):
        y = self.output
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - m - log(sum(exp(x - m)));  dL/dx = g - exp(y) * sum(g).

    Sums run over ``axis``; m = max(x) keeps exp from overflowing; exp(y) = softmax(x).
    """

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, g):
        return g - exp(self.output) * g.sum(axis=self.axis, keepdims=True)


class Where(Function):
    """z = x where condition, else y;  dL/dx = g where condition, else 0;  dL/dy = the rest of g."""

    elementwise = True

    def __init__(self, condition: np.ndarray):
        self.condition = condition

    def forward(self, x, y):
        self.shapes = x.shape, y.shape
        return np.where(self.condition, x, y)

    def backward(self, g):
        keep, (x_shape, y_shape) = self.condition, self.shapes
        return unbroadcast(where(keep, g, 0.0), x_shape), unbroadcast(where(~keep, g, 0.0), y_shape)


class AsType(Function):
    """y = x as another float dtype;  dL/dx = g as x's dtype."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def forward(self, x):
        self.x_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.x_dtype)


# ---- reductions and broadcasting -------------------------------------------------------------
class Sum(Function):
    """y = sum of x over axis;  dL/dx = g copied back along the summed axes."""

    def __init__(self, axis: tuple[int, ...] | None, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x_shape = x.shape
        return np.asarray(x.sum(axis=self.axis, keepdims=self.keepdims))

    def backward(self, g):
        return broadcast_to(_with_reduced_axes(g, self.x_shape, self.axis, self.keepdims), self.x_shape)


class BroadcastTo(Function):
    """y = x repeated to fill shape (numpy broadcasting);  dL/dx = g summed over the copies."""

    view = True

    name = "broadcast_to"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return np.broadcast_to(x, self.shape)

    def backward(self, g):
        return unbroadcast(g, self.x_shape)


class Max(Function):
    """y = max of x over axis;  dL/dx = g at the entries equal to the max, 0 elsewhere.

    Entries tied for the max split g evenly (the average of the one-sided derivatives).
    """

    def __init__(self, axis: tuple[int, ...] | None, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        y = x.max(axis=self.axis, keepdims=True)
        winners = (x == y) | (np.isnan(x) & np.isnan(y))  # a nan max came from the nan entries
        self.share = winners / winners.sum(axis=self.axis, keepdims=True)  # 1/k at each of k tied maxima
        self.x_shape = x.shape
        if self.keepdims:
            return y
        return y.reshape(()) if self.axis is None else np.squeeze(y, axis=self.axis)

    def backward(self, g):
        return self.share.astype(g.dtype) * _with_reduced_axes(g, self.x_shape, self.axis, self.keepdims)


def _with_reduced_axes(g: Any, shape: tuple[int, ...], axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """g with the reduced axes put back as size 1, so that it broadcasts against ``shape``."""
    if keepdims:
        return g
    return g.reshape(tuple(1 if axis is None or a in axis else n for a, n in enumerate(shape)))


# ---- shape -----------------------------------------------------------------------------------
class Reshape(Function):
    """y = x with a new shape (same entries, same order);  dL/dx = g reshaped back."""

    view = True

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} entries) "
                f"into shape {self.shape}"
            ) from None

    def backward(self, g):
        return g.reshape(self.x_shape)


class Transpose(Function):
    """y = x with its axes permuted;  dL/dx = g with the inverse permutation."""

    view = True

    def __init__(self, axes: tuple[int, ...]):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):
        return g.transpose(tuple(np.argsort(self.axes)))


class Index(Function):
    """y = x[index];  dL/dx = zeros like x, with g added at the indexed positions.

    Integer-array indices may repeat an entry; its gradients then add up.
    """

    view = True

    def __init__(self, index: Any):
        self.index = index

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return np.asarray(x[self.index])
        except IndexError as err:
            raise IndexError(f"index: {err} (tensor of shape {x.shape}, index {self.index!r})") from None

    def backward(self, g):
        return scatter(g, self.index, self.x_shape)


class Scatter(Function):
    """y = zeros(shape) with x added at [index];  dL/dx = g[index]."""

    def __init__(self, index: Any, shape: tuple[int, ...]):
        self.index, self.shape = index, shape

    def forward(self, x):
        return IndexedGrad(self.index, x, self.shape).dense()

    def backward(self, g):
        return g[self.index]


class Concat(Function):
    """y = concatenate(x_1, ..., x_k) along axis;  dL/dx_i = the slice of g where x_i went."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        self.bounds = np.cumsum([0] + [x.shape[self.axis] for x in xs])
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g):
        before = (slice(None),) * self.axis
        return tuple(g[(*before, slice(a, b))] for a, b in zip(self.bounds[:-1], self.bounds[1:]))


class Stack(Function):
    """y = stack(x_1, ..., x_k) along a new axis;  dL/dx_i = g at position i of that axis."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        self.count = len(xs)
        return np.stack(xs, axis=self.axis)

    def backward(self, g):
        before = (slice(None),) * self.axis
        return tuple(g[(*before, i)] for i in range(self.count))
