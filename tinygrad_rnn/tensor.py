"""The Tensor, the graph it records, and reverse-mode differentiation.

A Tensor wraps a numpy array. Every op (see ops.py) that takes a Tensor which
requires a gradient returns a new Tensor that remembers the op: ``t._ctx`` is
the op instance, and ``t._ctx.parents`` are its inputs. ``backward()`` walks
that graph from the output to the leaves in reverse topological order, asking
each op to turn the gradient of its output into gradients of its inputs.

No recursion is used anywhere, so a 200,000-op chain backpropagates as easily
as a 3-op one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from heapq import heappop, heappush
from itertools import count
from operator import attrgetter
from typing import Any

import numpy as np

__all__ = ["Tensor", "Function", "no_grad", "is_grad_enabled", "detect_anomaly", "AnomalyError"]


class _GradMode:
    """Process-wide switches: is the graph being recorded, is anomaly mode on."""

    enabled = True
    anomaly = False
    # Called for every op visited by backward(); see viz.trace_backward().
    backward_hook: Callable[[Tensor, np.ndarray, tuple], None] | None = None


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class no_grad:
    """``with no_grad():`` runs ops without recording the graph (also a decorator)."""

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so one instance may be entered again inside itself

    def __enter__(self) -> None:
        self._previous.append(_GradMode.enabled)
        _GradMode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._previous.pop()

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


class AnomalyError(FloatingPointError):
    """Raised in anomaly mode at the first op whose value or gradient is not finite."""


class detect_anomaly:
    """``with detect_anomaly():`` stops at the first op whose output or gradient is NaN/inf.

    The error names the op and the file:line of the user code that called it, so
    a NaN loss can be traced to the ``log`` of a zero that caused it.
    """

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, as in no_grad

    def __enter__(self) -> None:
        self._previous.append(_GradMode.anomaly)
        _GradMode.anomaly = True

    def __exit__(self, *exc: object) -> None:
        _GradMode.anomaly = self._previous.pop()


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_call_site() -> str:
    """file:line of the innermost caller outside this package (for anomaly messages)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _check_finite(array: np.ndarray, what: str, ctx: Function) -> None:
    if not np.all(np.isfinite(array)):
        bad = "nan" if np.isnan(array).any() else "inf"
        raise AnomalyError(
            f"{ctx.name}: {what} contains {bad} (shape {array.shape}); "
            f"the op was called at {ctx.call_site}"
        )


_get_data, _get_requires_grad = attrgetter("data"), attrgetter("requires_grad")
_ndarray = np.ndarray
_serial_numbers = count()  # numbers the ops that join a graph, in the order they run


class Function:
    """Base class of every op: ``forward`` on arrays, ``backward`` from grad to input grads.

    ``apply`` runs ``forward`` and, when a gradient is needed, links the output
    Tensor to this op so ``backward`` can be called later. Subclasses keep in
    ``self`` whatever their backward needs (inputs or, better, the output).
    """

    # The graph links live in slots: fast to set in apply, and kept when backward() frees
    # what forward saved by clearing the instance dict.
    __slots__ = ("parents", "serial", "_call_site", "__dict__", "__weakref__")
    parents: tuple[Tensor, ...]
    serial: int  # this op's number in the order ops ran: backward() runs them from the last
    released = False  # set by backward() once it freed what forward saved: no second pass through here

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    @property
    def needs_grad(self) -> tuple[bool, ...]:
        """For each input, whether backward must compute its gradient."""
        return tuple(map(_get_requires_grad, self.parents))

    @property
    def call_site(self) -> str:
        """file:line of the user code that ran the op; recorded only in anomaly mode (it is slow)."""
        return getattr(self, "_call_site", "<unknown: the forward pass ran outside detect_anomaly()>")

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> Any:
        """Return the gradient for each parent (a tuple, or one array for a single parent)."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *parents: Tensor, **options: Any) -> Tensor:
        # The hot path of every forward pass, so: map() with C attribute getters instead of
        # comprehensions, and the output Tensor's fields set here rather than through _wrap.
        ctx = cls(**options) if options else cls()
        if _GradMode.anomaly:
            return ctx._apply_checked(parents)
        if len(parents) == 2:  # spelled out by arity: *map(...) would cost more than a small op itself
            array = ctx.forward(parents[0].data, parents[1].data)
        elif len(parents) == 1:
            array = ctx.forward(parents[0].data)
        else:
            array = ctx.forward(*map(_get_data, parents))
        out = _new_tensor(Tensor)
        out.data = array if type(array) is _ndarray else np.asarray(array)  # as in Tensor._wrap
        out.grad, out._retain_grad, out._grad_sum = None, False, None
        if _GradMode.enabled:
            for parent in parents:
                if parent.requires_grad:  # link the output to this op only if some input needs a gradient
                    ctx.parents, ctx.serial = parents, next(_serial_numbers)
                    out.requires_grad, out._ctx = True, ctx
                    return out
        out.requires_grad, out._ctx = False, None
        return out

    def _apply_checked(self, parents: tuple[Tensor, ...]) -> Tensor:
        """apply() in anomaly mode: note the caller's file:line and stop at a non-finite output."""
        # numpy's warning would only say "divide by zero"; our check below names the op.
        with np.errstate(all="ignore"):
            out = Tensor._wrap(self.forward(*[p.data for p in parents]))
        if _GradMode.enabled and any(p.requires_grad for p in parents):
            self.parents, self.serial = parents, next(_serial_numbers)
            out.requires_grad = True
            out._ctx = self
        self._call_site = _user_call_site()
        _check_finite(out.data, "forward output", self)
        return out


_FLOAT_KINDS = "f"
_NUMERIC_KINDS = "biuf"


def _as_array(data: Any, dtype: Any = None, op: str = "Tensor") -> np.ndarray:
    """Turn user data into a float ndarray: floats keep their dtype, ints/bools become float64.

    The kind is checked before any cast to ``dtype``: numpy would turn None into
    nan and the string "1.5" into 1.5, and neither is a number.
    """
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{op}: cannot make a numeric array from {type(data).__name__}: {err}") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{op}: expected numbers (bool, int or float), got {_describe(data)} (numpy dtype {array.dtype})"
        )
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    if array.dtype.kind != _FLOAT_KINDS:
        array = array.astype(np.float64)
    return array


def _describe(data: Any) -> str:
    """A short description of bad input for an error message."""
    text = repr(data)
    return f"{type(data).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


class Tensor:
    """An n-dimensional array that records the ops applied to it, for backward()."""

    # _grad_sum and _grad_sum_is_ours: backward()'s running sum of dL/dself (None outside backward).
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain_grad",
                 "_grad_sum", "_grad_sum_is_ours", "__weakref__")  # fmt: skip
    # numpy defers to Tensor's reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data: np.ndarray = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self._ctx: Function | None = None
        self._retain_grad = False
        self._grad_sum: Any = None

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """Fast constructor for op outputs: the array is already a float ndarray."""
        t = cls.__new__(cls)
        # A ufunc on 0-d arrays returns a numpy scalar; anything else is already an ndarray.
        t.data = array if type(array) is np.ndarray else np.asarray(array)
        t.grad, t.requires_grad, t._ctx, t._retain_grad, t._grad_sum = None, False, None, False, None
        return t

    # ---- array-like attributes -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> Tensor:
        """The same values (shared memory), cut off from the graph."""
        return Tensor._wrap(self.data)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward()."""
        self._retain_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    __hash__ = object.__hash__

    # ---- comparisons give plain boolean arrays (no gradient) ------------------------
    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data == _data(other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data != _data(other)

    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _data(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _data(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _data(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _data(other)

    # ---- arithmetic --------------------------------------------------------------
    def _operand(self, other: Any, op: str) -> Tensor:
        """A constant mixed with this Tensor becomes a Tensor of this Tensor's float dtype.

        Python scalars and plain arrays are 'weak': float32 + 0.5 or float32 +
        float64-array stays float32, so constants never silently upcast a model.
        ``op`` names the operator in the error for a non-numeric operand.
        """
        if isinstance(other, Tensor):
            return other
        return Tensor._wrap(_as_array(other, self.data.dtype, op))

    def __add__(self, other: Any) -> Tensor:
        return _ops.Add.apply(self, other if isinstance(other, Tensor) else self._operand(other, "add"))

    def __radd__(self, other: Any) -> Tensor:
        return _ops.Add.apply(self._operand(other, "add"), self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(self, other if isinstance(other, Tensor) else self._operand(other, "sub"))

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(self._operand(other, "sub"), self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(self, other if isinstance(other, Tensor) else self._operand(other, "mul"))

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(self._operand(other, "mul"), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(self, other if isinstance(other, Tensor) else self._operand(other, "div"))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(self._operand(other, "div"), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor):
            return _ops.Pow.apply(self, exponent)
        if np.ndim(exponent) == 0 and not isinstance(exponent, np.ndarray):
            return _ops.PowConst.apply(self, exponent=_scalar(exponent, "pow"))
        return _ops.Pow.apply(self, self._operand(exponent, "pow"))

    def __rpow__(self, base: Any) -> Tensor:
        return _ops.Pow.apply(self._operand(base, "pow"), self)

    def __neg__(self) -> Tensor:
        return _ops.Neg.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(self, other if isinstance(other, Tensor) else self._operand(other, "matmul"))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(self._operand(other, "matmul"), self)

    # ---- elementwise functions ------------------------------------------------------
    def exp(self) -> Tensor:
        return _ops.Exp.apply(self)

    def log(self) -> Tensor:
        return _ops.Log.apply(self)

    def tanh(self) -> Tensor:
        return _ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return _ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return _ops.ReLU.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return _ops.Softmax.apply(self, axis=_axis(axis, self.ndim, "softmax"))

    def log_softmax(self, axis: int = -1) -> Tensor:
        return _ops.LogSoftmax.apply(self, axis=_axis(axis, self.ndim, "log_softmax"))

    # ---- reductions ----------------------------------------------------------------
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Sum.apply(self, axis=_axes(axis, self.ndim, "sum"), keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Mean.apply(self, axis=_axes(axis, self.ndim, "mean"), keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        axes = _axes(axis, self.ndim, "max")
        if self.size == 0:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {self.shape}")
        return _ops.Max.apply(self, axis=axes, keepdims=keepdims)

    # ---- shape ----------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
            raise TypeError(f"reshape: sizes must be integers, got {shape}")  # int(2.5) would truncate
        return _ops.Reshape.apply(self, shape=tuple(int(s) for s in shape))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        if sorted(_axis(a, self.ndim, "transpose") for a in axes) != list(range(self.ndim)):
            raise ValueError(
                f"transpose: axes {tuple(axes)} are not a permutation of the {self.ndim} axes "
                f"of a tensor of shape {self.shape}"
            )
        return _ops.Transpose.apply(self, axes=tuple(_axis(a, self.ndim, "transpose") for a in axes))

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.Index.apply(self, index=index if type(index) is int else _index(index))

    # ---- reverse mode ---------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad``.

        ``grad`` defaults to 1 for a one-element tensor and is required otherwise.
        The arrays the ops saved for backward are freed afterwards unless
        ``retain_graph=True`` (then backward may run through this graph again).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no input had requires_grad=True, "
                "or it was made under no_grad())"
            )
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward: called on a non-scalar tensor of shape {self.shape} without a "
                    "gradient; pass grad= an array of that shape (or reduce to a scalar first)"
                )
            grad = np.ones_like(self.data)
        else:
            grad = _as_array(grad, self.dtype, "backward")
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward: grad has shape {grad.shape} but the tensor has shape {self.shape}"
                )
        _backpropagate(self, grad, retain_graph)


def _backpropagate(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    """Run every op of root's graph backward, newest first; sum each tensor's gradient over its uses.

    The order: a tensor is always created after its inputs, so the ops' serial
    numbers (see Function.apply) are a topological order of the graph. Taking
    tensors newest first, from a heap keyed by -serial, means that when a tensor
    comes up every op that used it has already sent its share: its gradient is
    complete. The leaves have no inputs and come last.

    The sums: t._grad_sum holds dL/dt so far. It is the first gradient that
    arrived, kept as it is (an op may hand back its incoming gradient itself, or
    a read-only broadcast view of it), until a second one arrives; from then on it
    is an array the engine allocated, marked by t._grad_sum_is_ours, and later
    terms are added into it in place.
    """
    root._grad_sum, root._grad_sum_is_ours = grad, False
    waiting: list[tuple[int, Tensor]] = []  # a heap of (-serial, tensor) with a gradient on the way
    leaves: list[Tensor] = []
    if root._ctx is None:
        leaves.append(root)
    else:
        waiting.append((-root._ctx.serial, root))
    try:
        _run_backward(waiting, leaves, retain_graph)
    except BaseException:
        for _, tensor in waiting:  # leave no half-summed gradient behind for the next backward()
            tensor._grad_sum = None
        for tensor in leaves:
            tensor._grad_sum = None
        raise


def _run_backward(waiting: list[tuple[int, Tensor]], leaves: list[Tensor], retain_graph: bool) -> None:
    """The loop of _backpropagate: one op per turn, then the leaves' .grad."""
    hook, anomaly = _GradMode.backward_hook, _GradMode.anomaly
    # Names used for every node bound as locals (a local is faster than a global or a method lookup).
    ndarray, deferred, pop, push, found_leaf = np.ndarray, _ops.DeferredGrad, heappop, heappush, leaves.append
    while waiting:
        _, tensor = pop(waiting)
        grad, tensor._grad_sum = tensor._grad_sum, None
        if isinstance(grad, deferred):  # every use of tensor is in: form the array now
            grad = grad.dense()
        dtype = tensor.data.dtype
        if grad.dtype is not dtype and grad.dtype != dtype:  # from an op that mixed float32 and float64
            grad = grad.astype(dtype)
        if tensor._retain_grad:
            _accumulate_into_grad(tensor, grad)
        ctx = tensor._ctx
        if ctx.released:
            raise RuntimeError(
                f"backward: the graph through {ctx.name} was already freed by an earlier "
                "backward(); pass retain_graph=True to the first call to backpropagate twice"
            )
        if anomaly:
            with np.errstate(all="ignore"):
                parent_grads = ctx.backward(grad)
            _check_parent_grads(ctx, parent_grads)
        else:
            parent_grads = ctx.backward(grad)
        if type(parent_grads) is not tuple:
            parent_grads = (parent_grads,)
        if hook is not None:
            hook(tensor, grad, parent_grads)
        for parent, g in zip(ctx.parents, parent_grads):
            if g is None or not parent.requires_grad:
                continue
            total = parent._grad_sum
            if total is None:  # the first use of parent to report: kept as it is, parent joins the queue
                parent._grad_sum, parent._grad_sum_is_ours = g, False
                if parent._ctx is None:
                    found_leaf(parent)
                else:
                    push(waiting, (-parent._ctx.serial, parent))
            elif parent._grad_sum_is_ours and type(total) is ndarray and type(g) is ndarray:
                total += g  # _add_grad's usual case, written out here because it runs for every extra use
            else:  # parent has several uses: dL/dparent is the sum of what they send
                parent._grad_sum = _add_grad(total, g, parent._grad_sum_is_ours)
                parent._grad_sum_is_ours = True
        if not retain_graph:  # free what forward saved (the graph's shape, in slots, stays)
            ctx.__dict__.clear()
            ctx.released = True
    for leaf in leaves:
        grad, leaf._grad_sum = leaf._grad_sum, None
        _accumulate_into_grad(leaf, grad)


def _add_grad(total: Any, g: Any, total_is_ours: bool) -> Any:
    """total + g, the running sum of a tensor's gradient over its uses (the result is ours).

    total is added into in place only when the engine allocated it: an op may hand
    back its incoming gradient itself, or a read-only broadcast view of it, and
    writing into that would corrupt another tensor's gradient. A sparse IndexedGrad
    is added into one dense buffer; the terms of a weight's OuterProductSum are
    collected, to be multiplied out once the sum is complete.
    """
    if isinstance(total, _ops.OuterProductSum) and isinstance(g, _ops.OuterProductSum):
        if total_is_ours:
            total.extend(g)
            return total
        return total.plus(g)
    if isinstance(total, _ops.DeferredGrad):
        total = total.dense()  # a new array: ours
    elif not total_is_ours:
        if not isinstance(g, _ops.DeferredGrad):
            return total + g  # a new array: ours from now on
        total = total.copy()
    if isinstance(g, _ops.DeferredGrad):
        g.add_into(total)
    else:
        total += g  # in place: the chain rule's sum over uses
    return total


def _check_parent_grads(ctx: Function, parent_grads: Any) -> None:
    """Anomaly mode: stop at the first op that passes a non-finite gradient to an input."""
    for i, g in enumerate(parent_grads if isinstance(parent_grads, tuple) else (parent_grads,)):
        if g is not None and ctx.needs_grad[i]:
            _check_finite(dense_grad(g), f"gradient for input {i}", ctx)


def dense_grad(grad: Any) -> np.ndarray:
    """An op's gradient as a plain array (Index gives a sparse IndexedGrad, MatMul an OuterProductSum)."""
    return grad.dense() if isinstance(grad, _ops.DeferredGrad) else np.asarray(grad)


def _accumulate_into_grad(tensor: Tensor, grad: Any) -> None:
    if tensor.grad is None:
        # .grad is stored C-ordered in the tensor's dtype (a gradient may arrive transposed, from x.T).
        if isinstance(grad, _ops.DeferredGrad):
            tensor.grad = np.asarray(grad.dense(), dtype=tensor.data.dtype, order="C")  # dense() is new: ours
        else:  # a copy: the array may be another tensor's gradient too
            tensor.grad = np.array(grad, dtype=tensor.data.dtype, order="C", copy=True)
    elif isinstance(grad, _ops.DeferredGrad):
        grad.add_into(tensor.grad)
    else:
        tensor.grad += grad


# ---- argument helpers shared by the Tensor methods ----------------------------------------
def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _scalar(value: Any, op: str) -> float:
    if isinstance(value, (str, bytes)):  # float("2") would quietly accept text
        raise TypeError(f"{op}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: expected a number, got {value!r}") from None


def _axis(axis: Any, ndim: int, op: str) -> int:
    """Normalise one axis (negative counts from the end); out of range is an error."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimension(s)")
    return int(axis) % ndim


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None (all axes) or a sorted tuple of distinct normalised axes."""
    if axis is None:
        return None
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(sorted(_axis(a, ndim, op) for a in items))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return axes


def _index(index: Any) -> Any:
    """Indices may be Tensors of whole numbers; numpy wants arrays.

    A Tensor stores booleans as 0.0/1.0, so a boolean mask must be a numpy array
    or a list (comparisons such as ``x > 0`` already return numpy arrays).
    """
    if isinstance(index, Tensor):
        return _index_array(index.data)
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, list):
        return _index_array(np.asarray(index))
    return index


def _index_array(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f":
        if not np.all(array == np.round(array)):
            raise IndexError("index: a float index tensor must hold whole numbers")
        return array.astype(np.intp)
    return array


def concat(tensors: Iterable[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate)."""
    tensors = _as_tensor_list(tensors, "concat")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concat: cannot concatenate 0-d tensors; use stack()")
    axis = _axis(axis, ndim, "concat")
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != ndim or t.shape[:axis] + t.shape[axis + 1 :] != first[:axis] + first[axis + 1 :]:
            raise ValueError(
                f"concat: tensor {i} has shape {t.shape} but tensor 0 has shape {first}; all "
                f"dimensions except axis {axis} must match"
            )
    return _ops.Concat.apply(*tensors, axis=axis)


def stack(tensors: Iterable[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis (numpy.stack)."""
    tensors = _as_tensor_list(tensors, "stack")
    axis = _axis(axis, tensors[0].ndim + 1, "stack")
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise ValueError(
                f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape {first}; "
                "all must have the same shape"
            )
    return _ops.Stack.apply(*tensors, axis=axis)


def _as_tensor_list(tensors: Iterable[Any], op: str) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a list of tensors, got a single Tensor")
    items = list(tensors)
    if not items:
        raise ValueError(f"{op}: needs at least one tensor, got an empty list")
    dtype = next((t.dtype for t in items if isinstance(t, Tensor)), None)
    return [t if isinstance(t, Tensor) else Tensor._wrap(_as_array(t, dtype, op)) for t in items]


_new_tensor = object.__new__  # Tensor._wrap and Function.apply fill in the fields themselves

from tinygrad_rnn import ops as _ops  # noqa: E402  (ops.py needs Tensor, defined above)
