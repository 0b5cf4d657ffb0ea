"""What makes a Tensor feel like a numpy array, composed from the primitive ops.

``Tensor`` (tensor.py) inherits these: array attributes, comparisons (plain
boolean arrays, no gradient), and the numpy-style methods and functions that
need no op of their own, because each is a composition of ops.py's primitives
(abs is x * sign(x), min is -max(-x), squeeze a reshape, ...); their gradients
come from the chain rule through those ops. Also the clear errors for numpy
habits that would silently lose the gradient (np.sum(t), ``if t:``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_rnn import checks
from tinygrad_rnn.modes import is_grad_enabled

if TYPE_CHECKING:
    from tinygrad_rnn.tensor import Tensor

__all__ = ["ArrayMethods", "concat", "stack", "split", "where", "maximum", "minimum"]


def _ops() -> Any:
    from tinygrad_rnn import ops  # here, not at the top: ops.py imports tensor.py, which imports this

    return ops


class ArrayMethods:
    """numpy's look and feel for Tensor; every method works through Tensor ops."""

    __slots__ = ()
    _data: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def size(self) -> int:
        return self._data.size

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor (it has no rows); its number is t.item()")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        """The rows t[0], t[1], ... (as numpy iterates an array); a 0-d tensor has none."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor (numpy and PyTorch refuse it too); use t.item()")
        return (self[i] for i in range(len(self)))

    def __float__(self) -> float:
        """float(t) for a one-element tensor, as PyTorch (the same number as t.item())."""
        if self.size != 1:
            raise TypeError(
                f"float(): only a one-element tensor is a number, got shape {self.shape}; "
                "reduce it first (t.sum(), t.mean()) or read the values from t.data"
            )
        return float(self._data.item())

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a 0-d tensor's number, as PyTorch; any other tensor only as str(t)."""
        if self.ndim == 0:
            return format(self._data.item(), spec)
        if spec:
            raise TypeError(
                f"format: {spec!r} formats a number, and a tensor of shape {self.shape} is not one; "
                "format t.item() (one element) or np.array2string(t.data)"
            )
        return str(self)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``array + tensor`` is ``tensor.__radd__(array)`` (as for a Python number); any other use
        of a numpy ufunc on a Tensor, such as np.exp(t), would lose the gradient: an error says so."""
        reflected = _REFLECTED.get(ufunc.__name__)
        if method == "__call__" and reflected and not kwargs and len(inputs) == 2 and inputs[1] is self:
            return getattr(self, reflected)(inputs[0])
        if kwargs.get("out") is not None:
            raise TypeError(
                f"np.{ufunc.__name__} cannot write into a numpy array from a Tensor (e.g. array += tensor): "
                "write array = array + tensor for a Tensor, or use tensor.data for plain values"
            )
        raise _numpy_function_error(ufunc.__name__, type(self))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise _numpy_function_error(func.__name__, type(self))

    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth value of a Tensor (shape {self.shape}) is ambiguous: compare its number "
            "(`if loss.item() > 1:`) or test its values (`if (t.data > 0).all():`)"
        )

    # ---- in-place operators: t += v changes t's own values, as numpy and PyTorch do ---------
    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(other, "+=", np.add)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(other, "-=", np.subtract)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(other, "*=", np.multiply)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(other, "/=", np.divide)

    def __ipow__(self, other: Any) -> Tensor:
        return self._in_place(other, "**=", np.power)

    def _in_place(self: Any, other: Any, symbol: str, ufunc: Any) -> Tensor:
        """Write ``self <op> other`` into self's memory (a tracked write: see bookkeeping).

        While the graph is recorded, a change the graph would need to know of is an error
        instead: to a leaf that requires grad (PyTorch refuses it too), to a tensor an op
        made, or with a value that requires grad (PyTorch records those; this engine does not).
        """
        if is_grad_enabled() and (self.requires_grad or getattr(other, "requires_grad", False)):
            written = symbol[:-1]
            if self.requires_grad and self._ctx is None:
                raise RuntimeError(
                    f"{symbol} on a leaf that requires grad would change it without the graph knowing "
                    f"(PyTorch refuses it too). For a new tensor write t = t {written} v; to change its "
                    f"values (e.g. a manual update), do it under `with no_grad():` or on t.data"
                )
            raise RuntimeError(
                f"{symbol}: the graph records no in-place ops (PyTorch does); write t = t {written} v for a "
                "new tensor, or change t.data outside the graph"
            )
        view = self.data
        try:
            ufunc(view, _values(other), out=view)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{symbol}: cannot write into a tensor of shape {self.shape}: {err}") from None
        return self

    def item(self) -> float:
        """The number a one-element tensor holds, as a Python float (as numpy and PyTorch)."""
        if self.size != 1:
            raise ValueError(
                f"item: only a one-element tensor is a number, got shape {self.shape} ({self.size} "
                "entries); index one entry first (t[0].item()) or reduce it (t.sum().item())"
            )
        return self._data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def astype(self, dtype: Any) -> Tensor:
        """The values as another float dtype (np.float32 or np.float64); the gradient is cast back."""
        return _ops().AsType.apply(self, dtype=checks.float_dtype(dtype, "astype"))

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    # ---- comparisons give plain boolean arrays (no gradient) ------------------------------
    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self._data == _values(other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self._data != _values(other)

    def __lt__(self, other: Any) -> np.ndarray:
        return self._data < _values(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self._data <= _values(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self._data > _values(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self._data >= _values(other)

    @property
    def T(self) -> Tensor:
        """All axes reversed: transpose()."""
        return self.transpose()

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """The sum divided by the number of entries summed; over no entries nan (as numpy and PyTorch)."""
        axes = checks.axes(axis, self.ndim, "mean")
        n = self.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axes, keepdims) / (n or np.nan)  # 0 / nan is nan, without numpy's 0/0 warning

    def abs(self) -> Tensor:
        """|x| = x * sign(x) with sign(x) a constant, so d|x|/dx = sign(x) (0 at x = 0, as PyTorch)."""
        return self * np.sign(self._data)

    __abs__ = abs

    def sqrt(self) -> Tensor:
        """x ** 0.5; at x = 0 the derivative is inf, as in PyTorch."""
        return self**0.5

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """numpy.clip: values below min become min, above max become max; the gradient is 1 where
        min <= x <= max and 0 where the value was replaced (PyTorch's clamp)."""
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        low = -np.inf if min is None else checks.scalar(min, "clip")
        high = np.inf if max is None else checks.scalar(max, "clip")
        kept = (self._data >= low) & (self._data <= high)
        return where(kept, self, np.clip(self._data, low, high))

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """min(x) = -max(-x)."""
        axes = checks.axes(axis, self.ndim, "min")
        checks.nonempty_reduction(self.shape, axes, "min")
        return -_ops().Max.apply(-self, axis=axes, keepdims=keepdims)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        """Where the max is (a plain integer array: an index has no gradient)."""
        axis = None if axis is None else checks.axis(axis, self.ndim, "argmax")
        checks.nonempty_reduction(self.shape, None if axis is None else (axis,), "argmax")
        return self._data.argmax(axis=axis)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        order = list(range(self.ndim))
        a, b = checks.axis(axis1, self.ndim, "swapaxes"), checks.axis(axis2, self.ndim, "swapaxes")
        order[a], order[b] = b, a
        return self.transpose(order)

    def squeeze(self, axis: int | Sequence[int] | None = None) -> Tensor:
        """Drop axes of size 1 (all of them, or the given ones, which must have size 1)."""
        axes = checks.axes(axis, self.ndim, "squeeze")
        if axes is None:
            axes = tuple(a for a, n in enumerate(self.shape) if n == 1)
        elif any(self.shape[a] != 1 for a in axes):
            raise ValueError(f"squeeze: axis {axis} of a tensor of shape {self.shape} does not have size 1")
        return self.reshape([n for a, n in enumerate(self.shape) if a not in axes])

    def expand_dims(self, axis: int) -> Tensor:
        """Insert an axis of size 1 at position ``axis`` of the result."""
        axis = checks.axis(axis, self.ndim + 1, "expand_dims")
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])


# numpy's ufunc behind each operator, and the Tensor method that computes ``array <op> tensor``.
_REFLECTED = {
    "add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__", "divide": "__rtruediv__",
    "power": "__rpow__", "matmul": "__rmatmul__", "equal": "__eq__", "not_equal": "__ne__",
    "less": "__gt__", "less_equal": "__ge__", "greater": "__lt__", "greater_equal": "__le__",
}  # fmt: skip


def _numpy_function_error(name: str, cls: type) -> TypeError:
    method = f"use tensor.{name}(...)" if hasattr(cls, name) else "use Tensor ops"
    if name in ("maximum", "minimum"):
        method = f"use tinygrad_rnn.{name}(x, y)"
    return TypeError(
        f"np.{name} was given a Tensor: numpy functions do not record the graph, so no "
        f"gradient would flow. To differentiate, {method}; for plain values, pass tensor.data"
    )


def _values(x: Any) -> Any:
    return x._data if isinstance(x, ArrayMethods) else x


def concat(tensors: Iterable[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate)."""
    tensors = checks.tensor_list(tensors, "concat")
    if tensors[0].ndim == 0:
        raise ValueError("concat: cannot concatenate 0-d tensors; use stack()")
    axis = checks.axis(axis, tensors[0].ndim, "concat")
    checks.same_shapes_except(tensors, axis, "concat")
    return _ops().Concat.apply(*tensors, axis=axis)


def stack(tensors: Iterable[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis (numpy.stack)."""
    tensors = checks.tensor_list(tensors, "stack")
    axis = checks.axis(axis, tensors[0].ndim + 1, "stack")
    checks.same_shapes_except(tensors, None, "stack")
    return _ops().Stack.apply(*tensors, axis=axis)


def split(x: Tensor, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """numpy.split: n equal parts, or the parts between the given indices, each a slice of x."""
    axis = checks.axis(axis, x.ndim, "split")
    size = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections < 1 or size % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {size} does not split into {indices_or_sections} equal parts"
            )
        step = size // indices_or_sections
        bounds = list(range(0, size + 1, step))
    else:
        bounds = [0, *indices_or_sections, size]
    before = (slice(None),) * axis
    return [x[(*before, slice(a, b))] for a, b in zip(bounds[:-1], bounds[1:])]  # numpy: ary[a:b]


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """numpy.where: x where condition holds, else y;  dL/dx = g where it holds, dL/dy = g elsewhere."""
    template = x if isinstance(x, ArrayMethods) else y
    if not isinstance(template, ArrayMethods):
        raise TypeError("where: x or y must be a Tensor (for plain arrays use np.where)")
    mask = checks.as_array(_values(condition)).astype(bool)  # a copy: backward uses the mask forward saw
    x, y = template._operand(x, "where"), template._operand(y, "where")
    try:
        np.broadcast_shapes(mask.shape, x.shape, y.shape)
    except ValueError:
        raise ValueError(
            f"where: the condition of shape {mask.shape} and x, y of shapes {x.shape}, {y.shape} do not "
            "broadcast together (numpy's rules: aligned from the right, each size equal or 1)"
        ) from None
    return _ops().Where.apply(x, y, condition=mask)


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise larger value; where x == y the gradient is split evenly (as PyTorch)."""
    xv, yv = _values(x), _values(y)
    return where(xv > yv, x, where(xv < yv, y, (x + y) * 0.5))


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise smaller value; where x == y the gradient is split evenly (as PyTorch)."""
    xv, yv = _values(x), _values(y)
    return where(xv < yv, x, where(xv > yv, y, (x + y) * 0.5))
