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
    """Elementwise op on two broadcastable arrays; turns numpy's error into ours.

    ``compute`` is the numpy ufunc itself where the op needs nothing else (np.add):
    it is called directly, with no Python method in between.
    """

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # Kept for backward (the shapes, and x and y for Mul); the parent tensors hold
        # these arrays anyway, so keeping them here costs no memory.
        self.x, self.y = x, y
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

    compute = np.add

    def backward(self, g):
        x_shape, y_shape = self.x.shape, self.y.shape
        if x_shape == y_shape:  # nothing was broadcast (the usual case): g is both gradients
            return g, g
        return unbroadcast(g, x_shape), unbroadcast(g, y_shape)


class Sub(_Binary):
    """z = x - y;  dL/dx = g,  dL/dy = -g."""

    compute = np.subtract

    def backward(self, g):
        return unbroadcast(g, self.x.shape), unbroadcast(-g, self.y.shape)


class Mul(_Binary):
    """z = x * y;  dL/dx = g * y,  dL/dy = g * x."""

    compute = np.multiply

    def backward(self, g):
        x, y = self.x, self.y
        x_tensor, y_tensor = self.parents  # (not self.needs_grad: this op is small, and that tuple is not)
        gx = g * y if x_tensor.requires_grad else None
        gy = g * x if y_tensor.requires_grad else None
        if x.shape == y.shape:  # nothing was broadcast (the usual case)
            return gx, gy
        return (
            None if gx is None else unbroadcast(gx, x.shape),
            None if gy is None else unbroadcast(gy, y.shape),
        )


class Div(_Binary):
    """z = x / y;  dL/dx = g / y,  dL/dy = -g * x / y**2 = -g * z / y."""

    def compute(self, x, y):
        self.z = x / y
        return self.z

    def backward(self, g):
        gx = g / self.y
        gy = unbroadcast(-gx * self.z, self.y.shape) if self.needs_grad[1] else None
        return unbroadcast(gx, self.x.shape), gy


class Pow(_Binary):
    """z = x ** y (both tensors);  dL/dx = g * y * x**(y-1),  dL/dy = g * z * log(x).

    dL/dy needs x > 0; where x <= 0 the log is undefined and we use 0 there
    (those entries only arise with integer exponents, which are not learned).
    """

    def compute(self, x, y):
        self.z = x**y
        return self.z

    def backward(self, g):
        x, y = self.x, self.y
        x_needs, y_needs = self.needs_grad
        gx = gy = None
        if x_needs:
            gx = unbroadcast(g * y * x ** (y - 1), x.shape)
        if y_needs:
            positive = x > 0
            log_x = np.log(np.where(positive, x, 1))
            gy = unbroadcast(g * np.where(positive, self.z * log_x, 0), y.shape)
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
            if x.ndim > 2 and y.ndim == 2:
                # (..., n) @ (n, m) as one (rows, n) @ (n, m) matmul: numpy would loop over the batch axes.
                z = (x.reshape(-1, x.shape[-1]) @ y).reshape(*x.shape[:-1], y.shape[1])
            else:
                z = np.matmul(x, y)
        except ValueError:
            raise ValueError(
                f"matmul: batch dimensions of shapes {x.shape} and {y.shape} do not broadcast"
            ) from None
        self.x, self.y = x, y
        return z

    def backward(self, g):
        x, y = self.x, self.y
        x_needs, y_needs = self.needs_grad
        if x.ndim >= 2 and y.ndim == 2:
            # The common layer case (..., n) @ (n, m): fold the batch axes into rows, so
            # each gradient is one 2-D matmul. dL/dy = rows(x).T @ rows(g) is left to the
            # engine as an OuterProductSum: a weight used at every time step then gets
            # one matmul over all steps' rows instead of one per step.
            g_rows = g.reshape(-1, g.shape[-1])
            gx = (g_rows @ y.T).reshape(x.shape) if x_needs else None
            gy = OuterProductSum([x.reshape(-1, x.shape[-1])], [g_rows]) if y_needs else None
            return gx, gy
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = g[..., None] if y.ndim == 1 else g  # put back the axes the 1-D operands lost
        g2 = g2[..., None, :] if x.ndim == 1 else g2
        gx = gy = None
        if x_needs:
            gx = g2 @ np.swapaxes(y2, -1, -2)
            gx = unbroadcast(gx.squeeze(-2) if x.ndim == 1 else gx, x.shape)
        if y_needs:
            gy = np.swapaxes(x2, -1, -2) @ g2
            gy = unbroadcast(gy.squeeze(-1) if y.ndim == 1 else gy, y.shape)
        return gx, gy


class Affine(Function):
    """z = x @ W^T + b (a linear layer);  dL/dx = g @ W,  dL/dW = g^T x,  dL/db = g summed to b's shape.

    x is (..., n), W (m, n) and b broadcasts to z (..., m); with two parents there
    is no b. For dL/dW the batch axes of g and x are folded into rows, and the
    product is deferred as an OuterProductSum, so a W used at every time step
    costs one matmul. One op instead of a transpose, a matmul and an add keeps one
    array less per call and gives dL/dW in W's own (m, n) layout. b may be a whole
    array, e.g. one time step's input drive gx_t, which gives gx_t + h W_hh^T.
    """

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        if x.ndim == 2:
            z = x @ weight.T
        else:  # fold the batch axes into rows: one 2-D matmul (numpy would loop over them)
            z = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])
        if bias is not None:
            self.bias_shape = bias.shape
            if bias.dtype == z.dtype:
                z += bias  # z is a fresh array: add in place (F.linear checked that b fits z's shape)
            else:
                z = z + bias  # e.g. a float64 b with float32 x and W: the sum is float64, as x @ W.T + b
        return z

    def backward(self, g):
        x = self.x
        g_rows = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        x_rows = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        needs_grad = self.needs_grad
        gx = gw = None
        if needs_grad[0]:
            gx = g_rows @ self.weight
            gx = gx if x.ndim == 2 else gx.reshape(x.shape)
        if needs_grad[1]:
            gw = OuterProductSum([g_rows], [x_rows])
        if len(needs_grad) == 2:
            return gx, gw
        return gx, gw, unbroadcast(g, self.bias_shape) if needs_grad[2] else None


class TanhAffine(Affine):
    """y = tanh(x @ W^T + b);  dL/dx = a @ W,  dL/dW = a^T x,  dL/db = a summed to b's shape.

    Here a = dL/d(x @ W^T + b) = g * (1 - y**2), from the saved output y. Affine and
    tanh as one op: the Elman step h' = tanh(gx_t + h W_hh^T) (seed 001) is one node
    per time step, and its backward is the seed's BPTT step: a from the incoming
    gradient, then a W_hh for the step before and a^T h for the weight.
    """

    name = "tanh_affine"  # read in the graph views and in error messages

    def forward(self, x, weight, bias=None):
        z = super().forward(x, weight, bias)
        self.y = np.tanh(z, out=z)  # z is ours: no second array
        return self.y

    def backward(self, g):
        a = 1 - self.y * self.y
        a *= g
        return super().backward(a)


class AffineGates(Affine):
    """y = f_k(x @ W^T + b) on column block k;  dL/dx = a @ W,  dL/dW = a^T x,  dL/db = a summed to b's shape.

    The columns of x @ W^T + b split into equal blocks, one per entry of
    ``activations`` ("sigmoid" or "tanh"), and a = g * f_k' block by block from the
    saved output y: y (1 - y) for a sigmoid block, 1 - y^2 for a tanh block. The
    LSTM's four gates i, f, g, o are ("sigmoid", "sigmoid", "tanh", "sigmoid"): one
    (B, 4H) matmul, each gate's own nonlinearity, one array, one node per step.
    """

    name = "affine_gates"  # read in the graph views and in error messages

    def __init__(self, activations: tuple[str, ...]):
        self.activations = activations

    def forward(self, x, weight, bias=None):
        z = super().forward(x, weight, bias)
        for block, kind in zip(np.split(z, len(self.activations), axis=-1), self.activations):
            if kind == "tanh":
                np.tanh(block, out=block)
            else:
                sigmoid(block, out=block)
        self.y = z
        return z

    def backward(self, g):
        y = self.y
        a = np.empty_like(y)  # f_k' block by block, then times g
        count = len(self.activations)
        for y_k, a_k, kind in zip(np.split(y, count, axis=-1), np.split(a, count, axis=-1), self.activations):
            if kind == "tanh":
                np.multiply(y_k, y_k, out=a_k)
                np.subtract(1, a_k, out=a_k)
            else:
                np.subtract(1, y_k, out=a_k)
                a_k *= y_k
        a *= g
        return super().backward(a)


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
        slope = 1 - self.y * self.y
        slope *= g  # in place: the temporary is ours
        return slope


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow, from e = exp(-|x|), which lies in (0, 1]:

        sigmoid(x) = 1 / (1 + e)  for x >= 0,     sigmoid(x) = e / (1 + e)  for x < 0.

    exp(-x) itself would overflow for x < -709 (float64; -88 in float32). ``out`` may be x.
    """
    negative = x < 0
    e = np.exp(-np.abs(x))
    return np.divide(np.where(negative, e, 1), 1 + e, out=out)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g * y * (1 - y).

    The forward pass is the overflow-free ``sigmoid`` above.
    """

    def forward(self, x):
        self.y = sigmoid(x)
        return self.y

    def backward(self, g):
        slope = 1 - self.y
        slope *= self.y  # in place: the temporary is ours
        slope *= g
        return slope


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


class DeferredGrad:
    """A gradient an op hands back in a cheaper form than the dense array it stands for.

    The engine adds it into a buffer (``add_into``) or forms it (``dense``) only
    when needed; ``np.asarray`` of one gives the dense array too.
    """

    __slots__ = ()
    shape: tuple[int, ...]
    dtype: np.dtype

    def add_into(self, buffer: np.ndarray) -> None:
        raise NotImplementedError

    def dense(self) -> np.ndarray:
        raise NotImplementedError

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        array = self.dense()
        return array if dtype is None else array.astype(dtype, copy=False)


class IndexedGrad(DeferredGrad):
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

    def add_into(self, buffer: np.ndarray) -> None:
        if _picks_each_entry_once(self.index):
            buffer[self.index] += self.values
        else:  # integer arrays may repeat an entry: add.at adds every repetition
            np.add.at(buffer, self.index, self.values)

    def dense(self) -> np.ndarray:
        buffer = np.zeros(self.shape, dtype=self.dtype)
        self.add_into(buffer)
        return buffer


class OuterProductSum(DeferredGrad):
    """dL/dy of z = x @ y for a matrix y, summed over uses of y, kept as its factors.

    One use gives dL/dy = X^T G, X the rows of x (N, n) and G those of g = dL/dz (N, m).
    A weight used at every time step gets T such terms, and stacking the rows of
    all of them gives the sum in one matmul:
        sum_k X_k^T G_k = [X_1; ...; X_T]^T [G_1; ...; G_T].
    MatMul.backward returns one term; the engine collects the terms for a weight
    (``plus``) and calls ``dense`` once its gradient is complete: one (n, T*N) @ (T*N, m)
    matmul instead of T matmuls and T additions of an (n, m) matrix.
    """

    __slots__ = ("lefts", "rights")

    def __init__(self, lefts: list[np.ndarray], rights: list[np.ndarray]):
        self.lefts, self.rights = lefts, rights  # the X_k and the G_k

    @property
    def shape(self) -> tuple[int, int]:
        return self.lefts[0].shape[1], self.rights[0].shape[1]

    @property
    def dtype(self) -> np.dtype:
        left, right = self.lefts[0].dtype, self.rights[0].dtype
        return left if left == right else np.result_type(left, right)

    def plus(self, other: OuterProductSum) -> OuterProductSum:
        """A new sum holding the terms of both."""
        return OuterProductSum(self.lefts + other.lefts, self.rights + other.rights)

    def extend(self, other: OuterProductSum) -> None:
        """Add other's terms to this sum, in place."""
        self.lefts.extend(other.lefts)
        self.rights.extend(other.rights)

    def add_into(self, buffer: np.ndarray) -> None:
        buffer += self.dense()

    def dense(self) -> np.ndarray:
        if len(self.lefts) == 1:
            return self.lefts[0].T @ self.rights[0]
        return np.concatenate(self.lefts).T @ np.concatenate(self.rights)


def _picks_each_entry_once(index) -> bool:
    """Slices, ints, None, Ellipsis and boolean masks never pick an entry twice."""
    if type(index) is int or type(index) is slice:  # x[t] in a time loop: answer at once
        return True
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
        return tuple(g if self.axis == 0 else np.moveaxis(g, self.axis, 0))
