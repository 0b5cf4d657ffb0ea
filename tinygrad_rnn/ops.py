"""Every differentiable op: one class each, forward and backward side by side.

Notation in the docstrings: x, y are the inputs, z (or y for unary ops) the
output, and g = dL/dz is the gradient arriving from above. Each backward
returns dL/dx (and dL/dy) with exactly the shape of that input: where numpy
broadcast an input, ``unbroadcast`` sums the gradient back over the
broadcast axes (a broadcast copy is used many times, so its gradients add).
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.tensor import Function


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class _Binary(Function):
    """Elementwise op on two broadcastable arrays; turns numpy's error into ours."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.x_shape, self.y_shape = x.shape, y.shape
        try:
            return self.compute(x, y)
        except ValueError:
            raise ValueError(
                f"{self.name}: cannot broadcast shapes {x.shape} and {y.shape} (numpy rules: "
                "aligned from the right, each pair of sizes equal or one of them 1)"
            ) from None

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


# ---- arithmetic ------------------------------------------------------------------------
class Add(_Binary):
    """z = x + y;  dL/dx = g,  dL/dy = g."""

    def compute(self, x, y):
        return x + y

    def backward(self, g):
        return unbroadcast(g, self.x_shape), unbroadcast(g, self.y_shape)


class Sub(_Binary):
    """z = x - y;  dL/dx = g,  dL/dy = -g."""

    def compute(self, x, y):
        return x - y

    def backward(self, g):
        return unbroadcast(g, self.x_shape), unbroadcast(-g, self.y_shape)


class Mul(_Binary):
    """z = x * y;  dL/dx = g * y,  dL/dy = g * x."""

    def compute(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        gx = unbroadcast(g * self.y, self.x_shape) if self.needs_grad[0] else None
        gy = unbroadcast(g * self.x, self.y_shape) if self.needs_grad[1] else None
        return gx, gy


class Div(_Binary):
    """z = x / y;  dL/dx = g / y,  dL/dy = -g * x / y**2 = -g * z / y."""

    def compute(self, x, y):
        self.y = y
        self.z = x / y
        return self.z

    def backward(self, g):
        gx = g / self.y
        gy = unbroadcast(-gx * self.z, self.y_shape) if self.needs_grad[1] else None
        return unbroadcast(gx, self.x_shape), gy


class Pow(_Binary):
    """z = x ** y (both tensors);  dL/dx = g * y * x**(y-1),  dL/dy = g * z * log(x).

    dL/dy needs x > 0; where x <= 0 the log is undefined and we use 0 there
    (those entries only arise with integer exponents, which are not learned).
    """

    def compute(self, x, y):
        self.x, self.y = x, y
        self.z = x**y
        return self.z

    def backward(self, g):
        x, y = self.x, self.y
        gx = gy = None
        if self.needs_grad[0]:
            gx = unbroadcast(g * y * x ** (y - 1), self.x_shape)
        if self.needs_grad[1]:
            positive = x > 0
            log_x = np.log(np.where(positive, x, 1))
            gy = unbroadcast(g * np.where(positive, self.z * log_x, 0), self.y_shape)
        return gx, gy


class PowConst(Function):
    """y = x ** p for a constant number p;  dL/dx = g * p * x**(p-1)  (0 for p = 0, even at x = 0)."""

    def __init__(self, exponent: float):
        self.p = exponent

    @property
    def name(self) -> str:
        return "pow"

    def forward(self, x):
        self.x = x
        return x**self.p

    def backward(self, g):
        if self.p == 0:  # x**0 = 1 is constant; p * x**(p-1) would be 0 * inf = nan at x = 0
            return np.zeros_like(g)
        if self.p == 2:
            return g * 2 * self.x
        return g * self.p * self.x ** (self.p - 1)


class Neg(Function):
    """y = -x;  dL/dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class MatMul(Function):
    """z = x @ y (numpy.matmul: 1-D, 2-D or batched);  dL/dx = g @ y.T,  dL/dy = x.T @ g.

    A 1-D x is a row vector (1, n) and a 1-D y a column (n, 1) for the
    formulas; batch axes that broadcasting added are summed away.
    """

    def forward(self, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {x.shape} and {y.shape}")
        if x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            raise ValueError(
                f"matmul: shapes {x.shape} and {y.shape} are incompatible: x's last dimension "
                f"({x.shape[-1]}) must equal y's {'second-to-last' if y.ndim > 1 else 'only'} "
                f"dimension ({y.shape[-2 if y.ndim > 1 else 0]})"
            )
        try:
            z = np.matmul(x, y)
        except ValueError:
            raise ValueError(
                f"matmul: batch dimensions of shapes {x.shape} and {y.shape} do not broadcast"
            ) from None
        self.x, self.y = x, y
        return z

    def backward(self, g):
        x, y = self.x, self.y
        if x.ndim >= 2 and y.ndim == 2:
            # The common layer case (..., n) @ (n, m): fold the batch axes into rows
            # so dL/dy is one 2-D matmul instead of a batched one and a sum.
            rows = x.reshape(-1, x.shape[-1])
            gx = g @ y.T if self.needs_grad[0] else None
            gy = rows.T @ g.reshape(-1, g.shape[-1]) if self.needs_grad[1] else None
            return gx, gy
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = g[..., None] if y.ndim == 1 else g  # put back the axes the 1-D operands lost
        g2 = g2[..., None, :] if x.ndim == 1 else g2
        gx = gy = None
        if self.needs_grad[0]:
            gx = g2 @ np.swapaxes(y2, -1, -2)
            gx = unbroadcast(gx.squeeze(-2) if x.ndim == 1 else gx, x.shape)
        if self.needs_grad[1]:
            gy = np.swapaxes(x2, -1, -2) @ g2
            gy = unbroadcast(gy.squeeze(-1) if y.ndim == 1 else gy, y.shape)
        return gx, gy


# ---- elementwise functions ------------------------------------------------------------------
class Exp(Function):
    """y = exp(x);  dL/dx = g * y."""

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = log(x);  dL/dx = g / x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return g / self.x


class Tanh(Function):
    """y = tanh(x);  dL/dx = g * (1 - y**2)."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g * y * (1 - y).

    Computed from e = exp(-|x|) <= 1, which never overflows:
    y = 1 / (1 + e) for x >= 0 and y = e / (1 + e) for x < 0.
    """

    def forward(self, x):
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1, e) / (1 + e)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class ReLU(Function):
    """y = max(x, 0);  dL/dx = g * [x > 0]  (0 at the kink x = 0)."""

    def forward(self, x):
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, g):
        return g * self.positive


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j (the shift changes nothing but
    keeps exp from overflowing);  dL/dx = y * (g - sum_j g_j y_j)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x), logsumexp(x) = m + log(sum_j exp(x_j - m));
    dL/dx = g - softmax(x) * sum_j g_j,  softmax(x) = exp(y)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        self.y = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, g):
        return g - np.exp(self.y) * g.sum(axis=self.axis, keepdims=True)


# ---- reductions ------------------------------------------------------------------------------
def _expand_reduced(g: np.ndarray, shape: tuple[int, ...], axis, keepdims: bool) -> np.ndarray:
    """Put back the reduced axes of ``g`` (as size 1) so it broadcasts against ``shape``."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return g


class Sum(Function):
    """y = sum of x over axis;  dL/dx = g copied back along the summed axes."""

    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        return np.asarray(x.sum(axis=self.axis, keepdims=self.keepdims))

    def backward(self, g):
        return np.broadcast_to(_expand_reduced(g, self.shape, self.axis, self.keepdims), self.shape)


class Mean(Function):
    """y = sum of x over axis / n (n = number of summed entries);  dL/dx = g / n, copied back."""

    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        return np.asarray(x.mean(axis=self.axis, keepdims=self.keepdims))

    def backward(self, g):
        n = np.prod([self.shape[a] for a in self.axis]) if self.axis is not None else np.prod(self.shape)
        g = _expand_reduced(g, self.shape, self.axis, self.keepdims) / max(int(n), 1)
        return np.broadcast_to(g, self.shape)


class Max(Function):
    """y = max of x over axis;  dL/dx = g at the entries equal to the max, 0 elsewhere.

    Where several entries tie for the max, g is split evenly between them
    (the average of the one-sided derivatives).
    """

    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        self.y = np.asarray(x.max(axis=self.axis, keepdims=True))
        return self.y if self.keepdims else self._squeeze(self.y)

    def _squeeze(self, y):
        return y.reshape(()) if self.axis is None else np.squeeze(y, axis=self.axis)

    def backward(self, g):
        winners = self.x == self.y
        share = winners / winners.sum(axis=self.axis, keepdims=True)
        g = g.reshape(self.y.shape)
        return (share * g).astype(self.x.dtype, copy=False)


# ---- shape -----------------------------------------------------------------------------------
class Reshape(Function):
    """y = x viewed with a new shape (same entries, same order);  dL/dx = g reshaped back."""

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

    def __init__(self, axes: tuple[int, ...]):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):
        return g.transpose(np.argsort(self.axes))


class IndexedGrad:
    """A gradient that is zero except at ``x[index]``, where it is ``values``.

    Index.backward returns this instead of a dense array so that the engine can
    add it into one buffer in place: a time loop that reads x[0], x[1], ...,
    x[T-1] then costs O(size of x) in backward, not O(T * size of x).
    """

    __slots__ = ("index", "values", "shape")

    def __init__(self, index, values: np.ndarray, shape: tuple[int, ...]):
        self.index, self.values, self.shape = index, values, shape

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    def astype(self, dtype) -> IndexedGrad:
        return IndexedGrad(self.index, self.values.astype(dtype), self.shape)

    def add_into(self, buffer: np.ndarray) -> None:
        if _picks_each_entry_once(self.index):
            buffer[self.index] += self.values
        else:  # integer arrays may repeat an entry: add.at adds every repetition
            np.add.at(buffer, self.index, self.values)

    def dense(self) -> np.ndarray:
        buffer = np.zeros(self.shape, dtype=self.dtype)
        self.add_into(buffer)
        return buffer


def _picks_each_entry_once(index) -> bool:
    """Slices, ints, None, Ellipsis and boolean masks never pick an entry twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
        or (isinstance(i, np.ndarray) and i.dtype == np.bool_)
        for i in items
    )


class Index(Function):
    """y = x[index];  dL/dx = zeros like x, with g added at the indexed positions.

    Integer-array indices may repeat an entry; its gradients then add up.
    """

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return np.asarray(x[self.index])
        except IndexError as err:
            raise IndexError(f"index: {err} (tensor of shape {x.shape}, index {self.index!r})") from None

    def backward(self, g):
        return IndexedGrad(self.index, g, self.x_shape)


class Concat(Function):
    """y = concatenate(x_1, ..., x_k) along axis;  dL/dx_i = the slice of g where x_i went."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        self.bounds = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g):
        return tuple(np.split(g, self.bounds, axis=self.axis))


class Stack(Function):
    """y = stack(x_1, ..., x_k) along a new axis;  dL/dx_i = g taken at position i of that axis."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.axis, 0))
