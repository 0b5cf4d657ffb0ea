"""The Tensor, the graph it records, and reverse-mode differentiation.

A Tensor wraps a numpy array. Every op (see ops.py) that takes a Tensor which
requires a gradient returns a new Tensor that remembers the op: ``t._ctx`` is
the op, and ``t._ctx.parents`` are its inputs. ``backward()`` walks that graph
from the output to the leaves, asking each op to turn the gradient of its
output into gradients of its inputs (the chain rule), and adds up what each
tensor receives from its uses. No recursion is used, so a 200,000-op chain
backpropagates as easily as a 3-op one.

With ``create_graph=True`` the backward pass runs on Tensors instead of arrays,
so it is recorded too, and a gradient can be differentiated again.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from heapq import heappop, heappush
from itertools import count
from typing import Any

import numpy as np

from tinygrad_rnn import checks
from tinygrad_rnn.bookkeeping import (
    AnomalyError,
    GradSums,
    accumulate_grad,
    check_finite,
    check_input_grads,
    check_unchanged,
    user_call_site,
    version_counter,
    watch,
)

__all__ = ["Tensor", "Function", "no_grad", "is_grad_enabled", "detect_anomaly", "AnomalyError"]
__all__ += ["concat", "stack", "where", "minimum", "maximum", "split", "grad"]


class _GradMode:
    """Process-wide switches: is the graph being recorded, is anomaly mode on."""

    enabled = True
    anomaly = False
    # Called for every op visited by backward(); see viz.trace_backward().
    backward_hook: Callable[[Tensor, Any, tuple], None] | None = None


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class _Switch:
    """A context manager (and decorator) that sets one _GradMode field and restores it."""

    field, value = "enabled", False

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so one instance may be entered again inside itself

    def __enter__(self) -> None:
        self._previous.append(getattr(_GradMode, self.field))
        setattr(_GradMode, self.field, self.value)

    def __exit__(self, *exc: object) -> None:
        setattr(_GradMode, self.field, self._previous.pop())

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = getattr(fn, "__name__", "wrapper"), fn.__doc__
        return wrapper


class no_grad(_Switch):
    """``with no_grad():`` runs ops without recording the graph (also a decorator)."""


class detect_anomaly(_Switch):
    """``with detect_anomaly():`` stops at the first op whose output or gradient is NaN/inf.

    The error names the op and the file:line of the user code that called it, so
    a NaN loss can be traced to the ``log`` of a zero that caused it.
    """

    field, value = "anomaly", True


_serial_numbers = count()  # numbers the ops that join a graph, in the order they run


class Function:
    """Base class of every op: ``forward`` on arrays, ``backward`` from grad to input grads.

    Write an op by giving it both (see ops.py); call it with ``MyOp.apply(x, option=...)``
    (keyword options go to ``__init__``). ``backward(g)`` gets g = dL/d(output) and
    returns dL/d(input) for each input (a tuple, or one value for one input). It
    reads the values it needs from ``self.inputs`` and ``self.output``, and uses only
    operators and methods that numpy arrays and Tensors share, so the same formula
    serves a plain backward (arrays) and a recorded one (Tensors, create_graph=True).
    """

    # The graph links: set by apply() when the output needs a gradient.
    __slots__ = ("parents", "serial", "versions", "_output", "_call_site", "__dict__", "__weakref__")
    parents: tuple[Tensor, ...]
    serial: int  # this op's number in the order ops ran: backward() runs them from the last
    elementwise = False  # True for ops whose inputs broadcast (their shape errors say so)
    view = False  # True for ops whose output may share its input's memory (and so its version counter)
    released = False  # set once backward() has freed what forward saved

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    @property
    def needs_grad(self) -> tuple[bool, ...]:
        """For each input, whether backward must compute its gradient."""
        return tuple(p.requires_grad for p in self.parents)

    @property
    def inputs(self) -> tuple:
        """The inputs' values: arrays, or Tensors while the backward pass is recorded."""
        for position, (parent, version) in enumerate(zip(self.parents, self.versions)):
            if parent._version[0] != version:
                check_unchanged(self, f"input {position}", parent, version)
        return self.parents if _GradMode.enabled else tuple([p._data for p in self.parents])

    @property
    def output(self) -> Any:
        """The output's value: an array, or the output Tensor while the backward pass is recorded."""
        out = self._output()  # a weak reference: the output owns its op, not the other way round
        if out._version[0] != 0:
            check_unchanged(self, "the output", out, 0)
        return out if _GradMode.enabled else out._data

    @property
    def call_site(self) -> str:
        """file:line of the user code that ran the op; recorded only in anomaly mode (it is slow)."""
        return getattr(self, "_call_site", "<unknown: the forward pass ran outside detect_anomaly()>")

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *parents: Tensor, **options: Any) -> Tensor:
        """Run forward on the inputs' arrays; link the output to this op if a gradient is needed."""
        op = cls(**options)
        if _GradMode.anomaly:
            op._call_site = user_call_site()
        try:
            with np.errstate(all="ignore") if _GradMode.anomaly else _NO_CONTEXT:
                out = Tensor._wrap(op.forward(*[p._data for p in parents]))
        except ValueError:
            if not cls.elementwise:
                raise
            shapes = " and ".join(str(p.shape) for p in parents)
            raise ValueError(
                f"{op.name}: cannot broadcast shapes {shapes} (numpy's rules: aligned from the right, "
                "each pair of sizes equal or one of them 1)"
            ) from None
        if cls.view:  # a write through the view is a write to the input
            out._version = parents[0]._version
        if _GradMode.enabled and any(p.requires_grad for p in parents):
            op.parents, op.serial = parents, next(_serial_numbers)
            op.versions = tuple([p._version[0] for p in parents])  # see bookkeeping: writes to saved arrays
            op._output = weakref.ref(out)
            out.requires_grad, out._ctx = True, op
        if _GradMode.anomaly:
            check_finite(out._data, "forward output", op)
        return out

    def release(self) -> None:
        """Free what forward saved; the graph's links stay (viz can still draw it)."""
        self.__dict__.clear()
        self.released = True


class _NoContext:
    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


_NO_CONTEXT = _NoContext()


class Tensor:
    """An n-dimensional array that records the ops applied to it, for backward()."""

    __slots__ = ("_data", "_view", "_version", "grad", "requires_grad", "_ctx", "_retain_grad", "__weakref__")
    # numpy defers to Tensor's reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self._data: np.ndarray = checks.as_float_array(data, dtype)
        self._view, self._version = None, version_counter(data, self._data)
        self.grad: Any = None
        self.requires_grad: bool = bool(requires_grad)
        self._ctx: Function | None = None
        self._retain_grad = False

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """The constructor for op outputs: the array is already a float ndarray."""
        t = cls.__new__(cls)
        # A ufunc on 0-d arrays returns a numpy scalar; anything else is already an ndarray.
        t._data = array if type(array) is np.ndarray else np.asarray(array)
        t._view, t._version, t.grad, t.requires_grad, t._ctx, t._retain_grad = (
            None,
            [0],
            None,
            False,
            None,
            False,
        )
        return t

    # ---- the values ----------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The values: this tensor's own memory, in a view that counts writes (see bookkeeping)."""
        if self._view is None:
            self._view = watch(self._data, self._version)
        return self._view

    @data.setter
    def data(self, values: Any) -> None:
        if values is self._view:  # `t.data -= u` writes in place, then assigns the same view back
            return
        self._data = checks.as_float_array(values, op="Tensor.data")
        self._view = None
        self._version[0] += 1

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

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self) -> int:
        return len(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        method = f"use tensor.{func.__name__}(...)" if hasattr(Tensor, func.__name__) else "use Tensor ops"
        raise TypeError(
            f"np.{func.__name__} was given a Tensor: numpy functions do not record the graph, so no "
            f"gradient would flow. To differentiate, {method}; for plain values, pass tensor.data"
        )

    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth value of a Tensor (shape {self.shape}) is ambiguous: compare its number "
            "(`if loss.item() > 1:`) or test its values (`if (t.data > 0).all():`)"
        )

    def item(self) -> float:
        return self._data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> Tensor:
        """The same values (shared memory, shared version counter), cut off from the graph."""
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    def astype(self, dtype: Any) -> Tensor:
        """The values as another float dtype (np.float32 or np.float64); the gradient is cast back."""
        return _ops.AsType.apply(self, dtype=checks.float_dtype(dtype, "astype"))

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward()."""
        self._retain_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    __hash__ = object.__hash__

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

    # ---- arithmetic --------------------------------------------------------------------------
    def _operand(self, other: Any, op: str) -> Tensor:
        """A constant mixed with this Tensor becomes a Tensor of this Tensor's float dtype.

        Python scalars and plain arrays are 'weak': float32 + 0.5 or float32 +
        float64-array stays float32, so constants never silently upcast a model.
        """
        if isinstance(other, Tensor):
            return other
        return Tensor._wrap(checks.as_float_array(other, self._data.dtype, op))

    def __add__(self, other: Any) -> Tensor:
        return _ops.Add.apply(self, self._operand(other, "add"))

    def __radd__(self, other: Any) -> Tensor:
        return _ops.Add.apply(self._operand(other, "add"), self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(self, self._operand(other, "sub"))

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(self._operand(other, "sub"), self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(self, self._operand(other, "mul"))

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(self._operand(other, "mul"), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(self, self._operand(other, "div"))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(self._operand(other, "div"), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if not isinstance(exponent, (Tensor, np.ndarray)) and np.ndim(exponent) == 0:
            return _ops.PowConst.apply(self, exponent=checks.scalar(exponent, "pow"))
        return _ops.Pow.apply(self, self._operand(exponent, "pow"))

    def __rpow__(self, base: Any) -> Tensor:
        return _ops.Pow.apply(self._operand(base, "pow"), self)

    def __neg__(self) -> Tensor:
        return _ops.Neg.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(self, self._operand(other, "matmul"))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(self._operand(other, "matmul"), self)

    # ---- elementwise functions ------------------------------------------------------------
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
        axis = checks.axis(axis, self.ndim, "softmax")
        checks.nonempty_reduction(self.shape, (axis,), "softmax")
        return _ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        axis = checks.axis(axis, self.ndim, "log_softmax")
        checks.nonempty_reduction(self.shape, (axis,), "log_softmax")
        return _ops.LogSoftmax.apply(self, axis=axis)

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

    # ---- reductions ----------------------------------------------------------------------
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Sum.apply(self, axis=checks.axes(axis, self.ndim, "sum"), keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """The sum divided by the number of entries summed."""
        axes = checks.axes(axis, self.ndim, "mean")
        n = self.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axes, keepdims) / max(n, 1)  # an empty mean is 0/1 = 0 (numpy would give nan)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        axes = checks.axes(axis, self.ndim, "max")
        checks.nonempty_reduction(self.shape, axes, "max")
        return _ops.Max.apply(self, axis=axes, keepdims=keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """min(x) = -max(-x)."""
        axes = checks.axes(axis, self.ndim, "min")
        checks.nonempty_reduction(self.shape, axes, "min")
        return -_ops.Max.apply(-self, axis=axes, keepdims=keepdims)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        """Where the max is (a plain integer array: an index has no gradient)."""
        axis = None if axis is None else checks.axis(axis, self.ndim, "argmax")
        checks.nonempty_reduction(self.shape, None if axis is None else (axis,), "argmax")
        return self._data.argmax(axis=axis)

    # ---- shape ---------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return _ops.Reshape.apply(self, shape=checks.shape_argument(shape, "reshape"))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """numpy's transpose: a permutation of all axes (reversed if none is given).

        To exchange two axes, as PyTorch's transpose(dim0, dim1) does, use swapaxes.
        """
        return _ops.Transpose.apply(self, axes=checks.permutation(axes, self.ndim, self.shape))

    @property
    def T(self) -> Tensor:
        return self.transpose()

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

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.Index.apply(self, index=index if type(index) is int else checks.index(index))

    # ---- reverse mode --------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad``.

        ``grad`` defaults to 1 for a one-element tensor and is required otherwise.
        What the ops saved for backward is freed afterwards unless ``retain_graph``
        (then backward may run through this graph again). With ``create_graph`` the
        backward pass is recorded and each ``.grad`` is a Tensor that can be
        differentiated again (retain_graph then defaults to True, as in PyTorch).
        """
        seed = _seed_gradient(self, grad, create_graph, "backward")
        _backpropagate([(self, seed)], retain_graph or create_graph, create_graph)


def _values(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _seed_gradient(output: Tensor, grad: Any, create_graph: bool, caller: str) -> Any:
    """dL/d(output) to start from: 1 for a one-element output, else the grad the user gave."""
    if not output.requires_grad:
        raise RuntimeError(
            f"{caller}: this tensor does not require grad (no input had requires_grad=True, "
            "or it was made under no_grad())"
        )
    if grad is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: called on a non-scalar tensor of shape {output.shape} without a "
                "gradient; pass grad= an array of that shape (or reduce to a scalar first)"
            )
        grad = np.ones_like(output._data)
    elif not isinstance(grad, Tensor):
        grad = checks.as_float_array(grad, output.dtype, caller)
    if grad.shape != output.shape:
        raise ValueError(f"{caller}: grad has shape {grad.shape} but the tensor has shape {output.shape}")
    if create_graph:
        return grad if isinstance(grad, Tensor) else Tensor._wrap(grad)
    return grad._data if isinstance(grad, Tensor) else grad


def _backpropagate(
    seeds: list[tuple[Tensor, Any]], retain_graph: bool, create_graph: bool, wanted: set | None = None
) -> dict[Tensor, Any]:
    """Reverse mode: run the ops of the graph behind ``seeds`` newest first.

    Every tensor is created after its inputs, so the ops' serial numbers are a
    topological order: taking tensors newest first, a tensor comes up only after
    every op that used it has sent its share, so its gradient is complete.
    Leaves have no op and come last; they get ``.grad``, or, when ``wanted`` is
    given (by grad()), the wanted tensors' gradients are returned instead.
    """
    sums, waiting, leaves, found = GradSums(), [], [], {}

    def receive(tensor: Tensor, grad: Any) -> None:
        if sums.add(tensor, grad):  # the first gradient to reach tensor: it joins the queue
            if tensor._ctx is None:
                leaves.append(tensor)
            else:
                heappush(waiting, (-tensor._ctx.serial, tensor))

    for tensor, grad in seeds:
        receive(tensor, grad)
    with _backward_mode(create_graph):
        while waiting:
            _, tensor = heappop(waiting)
            grad = sums.pop(tensor)  # complete: every use of tensor has reported
            if tensor._retain_grad:
                accumulate_grad(tensor, grad)
            if wanted is not None and tensor in wanted:
                found[tensor] = grad
            op = tensor._ctx
            if op.released:
                raise RuntimeError(
                    f"backward: the graph through {op.name} was already freed by an earlier backward(); "
                    "pass retain_graph=True to the first call to backpropagate twice"
                )
            input_grads = op.backward(grad)  # the chain rule for one op: dL/dinput from dL/doutput
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            if _GradMode.anomaly:
                check_input_grads(op, input_grads)
            if _GradMode.backward_hook is not None:
                _GradMode.backward_hook(tensor, grad, input_grads)
            for parent, g in zip(op.parents, input_grads):
                if g is not None and parent.requires_grad:
                    receive(parent, g)
            if not retain_graph:
                op.release()
    for leaf in leaves:
        grad = sums.pop(leaf)
        if wanted is None:
            accumulate_grad(leaf, grad)
        elif leaf in wanted:
            found[leaf] = grad
    return found


@contextmanager
def _backward_mode(create_graph: bool) -> Any:
    """Record the backward pass only for create_graph; in anomaly mode numpy's warnings are
    silenced, because check_input_grads names the op instead."""
    previous, _GradMode.enabled = _GradMode.enabled, create_graph
    try:
        with np.errstate(all="ignore") if _GradMode.anomaly else _NO_CONTEXT:
            yield
    finally:
        _GradMode.enabled = previous


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    *,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """d(outputs)/d(inputs) as a tuple, one per input, leaving every ``.grad`` alone.

    As ``torch.autograd.grad``: ``grad_outputs`` weights each output (default 1
    for one-element outputs); the results are arrays, or Tensors that can be
    differentiated again with ``create_graph=True``; retain_graph defaults to
    create_graph. An input that the outputs do not depend on is an error, or
    None with ``allow_unused=True``.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} is not a Tensor that requires grad, so it has no gradient")
    seeds = [(out, _seed_gradient(out, g, create_graph, "grad")) for out, g in zip(outputs, grad_outputs)]
    found = _backpropagate(
        seeds, create_graph if retain_graph is None else retain_graph, create_graph, set(inputs)
    )
    for i, t in enumerate(inputs):
        if t not in found and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(found.get(t) for t in inputs)


# ---- functions of several tensors -----------------------------------------------------------
def concat(tensors: Iterable[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate)."""
    tensors = checks.tensor_list(tensors, "concat")
    if tensors[0].ndim == 0:
        raise ValueError("concat: cannot concatenate 0-d tensors; use stack()")
    axis = checks.axis(axis, tensors[0].ndim, "concat")
    checks.same_shapes_except(tensors, axis, "concat")
    return _ops.Concat.apply(*tensors, axis=axis)


def stack(tensors: Iterable[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis (numpy.stack)."""
    tensors = checks.tensor_list(tensors, "stack")
    axis = checks.axis(axis, tensors[0].ndim + 1, "stack")
    checks.same_shapes_except(tensors, None, "stack")
    return _ops.Stack.apply(*tensors, axis=axis)


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
    template = x if isinstance(x, Tensor) else y
    if not isinstance(template, Tensor):
        raise TypeError("where: x or y must be a Tensor (for plain arrays use np.where)")
    mask = np.asarray(_values(condition)).astype(bool)
    return _ops.Where.apply(template._operand(x, "where"), template._operand(y, "where"), condition=mask)


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise larger value; where x == y the gradient is split evenly (as PyTorch)."""
    xv, yv = _values(x), _values(y)
    return where(xv > yv, x, where(xv < yv, y, (x + y) * 0.5))


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise smaller value; where x == y the gradient is split evenly (as PyTorch)."""
    xv, yv = _values(x), _values(y)
    return where(xv < yv, x, where(xv > yv, y, (x + y) * 0.5))


from tinygrad_rnn import ops as _ops  # noqa: E402  (ops.py needs Function and Tensor, defined above)
