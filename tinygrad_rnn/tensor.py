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
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from tinygrad_rnn import checks
from tinygrad_rnn.array_methods import ArrayMethods, concat, maximum, minimum, split, stack, where
from tinygrad_rnn.bookkeeping import (
    AnomalyError,
    GradSums,
    accumulate_grad,
    anomaly_mode_forward,
    check_input_grads,
    check_unchanged,
    clock,
    outline,
    tensor_memory,
    watch,
)
from tinygrad_rnn.modes import _GradMode, detect_anomaly, is_grad_enabled, no_grad, recording

__all__ = ["Tensor", "Function", "no_grad", "is_grad_enabled", "detect_anomaly", "AnomalyError"]
__all__ += ["concat", "stack", "where", "minimum", "maximum", "split"]  # (defined in array_methods.py)


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
    __slots__ = ("parents", "serial", "_arrays", "_output", "outline", "__dict__", "__weakref__")
    parents: tuple[Tensor, ...]
    serial: int  # when this op ran, on bookkeeping.clock: backward() runs ops from the last
    elementwise = False  # True for ops whose inputs broadcast (their shape errors say so)
    view = False  # True for ops whose output may share its input's memory (so writes to it count)
    released = False  # set once backward() has freed what forward saved
    requires_grad = True  # as its output: a released op stands for it in its users' parents

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    @property
    def needs_grad(self) -> list[bool]:
        """For each input, whether backward must compute its gradient."""
        return [p.requires_grad for p in self.parents]

    @property
    def inputs(self) -> Sequence:
        """The inputs' values: arrays, or Tensors while the backward pass is recorded."""
        for parent in self.parents:
            if parent._written[0] > self.serial:  # written to after this op ran (see bookkeeping)
                check_unchanged(self)
        return self.parents if _GradMode.enabled else self._arrays

    @property
    def output(self) -> Any:
        """The output's value: an array, or the output Tensor while the backward pass is recorded."""
        out = self._output()  # a weak reference: the output owns its op, not the other way round
        if out._written[0] > self.serial:
            check_unchanged(self)
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
        op = cls(**options) if options else cls()
        arrays = [p._data for p in parents]
        try:
            if _GradMode.anomaly:  # also notes the caller's file:line, and checks the output is finite
                out = Tensor._wrap(anomaly_mode_forward(op, arrays))
            else:
                out = Tensor._wrap(op.forward(*arrays))
        except ValueError:
            if not cls.elementwise:
                raise
            raise checks.broadcast_error(op.name, [p.shape for p in parents]) from None
        if cls.view:  # a write through the view is a write to the input
            out._written = parents[0]._written
        for tracer in _GradMode.tracers:  # jit and jvp read the program as it runs (modes.tracing)
            tracer(op, parents, out, options)
        if _GradMode.enabled:
            for parent in parents:
                if parent.requires_grad:
                    op.parents, op._arrays, op.serial = parents, arrays, next(clock)
                    op._output = weakref.ref(out)
                    out.requires_grad, out._ctx = True, op
                    break
        return out

    def release(self) -> None:
        """Free what forward saved and let go of the inputs' values (bookkeeping.py, 5.); viz still works."""
        out = self._output()
        self.__dict__.clear()
        self._arrays, self.released, self.outline = None, True, (out._data.shape, out._data.dtype)
        self.parents = tuple([p._ctx or (p if p.requires_grad else outline(p)) for p in self.parents])


class Tensor(ArrayMethods):
    """An n-dimensional array that records the ops applied to it, for backward()."""

    __slots__ = ("_data", "_view", "_written", "grad", "requires_grad", "_ctx", "_retain_grad", "__weakref__")
    __slots__ += ("_outline",)  # a constant's Outline, made when backward lets go of it (see bookkeeping)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self._data, self._written = tensor_memory(data, dtype)  # a copy, or t's memory for Tensor(t)
        self._view: np.ndarray | None = None
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
        t._view, t._written, t.grad = None, [0], None
        t.requires_grad, t._ctx, t._retain_grad = False, None, False
        return t

    # ---- the values ----------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The values: this tensor's own memory, in a view that counts writes (see bookkeeping)."""
        if self._view is None:
            self._view = watch(self._data, self._written)
        return self._view

    @data.setter
    def data(self, values: Any) -> None:
        if values is self._view:  # `t.data -= u` writes in place, then assigns the same view back
            return
        self._data = checks.as_float_array(values, op="Tensor.data")
        self._view = None
        self._written[0] = next(clock)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def detach(self) -> Tensor:
        """The same values (shared memory, so writes to either are noticed), cut off from the graph."""
        t = Tensor._wrap(self._data)
        t._written = self._written
        return t

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward()."""
        self._retain_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    __hash__ = object.__hash__  # Tensor == Tensor compares values, so hash by identity

    # ---- arithmetic --------------------------------------------------------------------------
    def _operand(self, other: Any, op: str) -> Tensor:
        """A constant mixed with this Tensor becomes a Tensor of this Tensor's float dtype.

        Python scalars and plain arrays are 'weak': float32 + 0.5 or float32 +
        float64-array stays float32, so constants never silently upcast a model.
        """
        if isinstance(other, Tensor):
            return other
        return Tensor._wrap(checks.as_float_array(other, self._data.dtype, op, copy=True))

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

    # ---- reductions ----------------------------------------------------------------------
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Sum.apply(self, axis=checks.axes(axis, self.ndim, "sum"), keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        axes = checks.axes(axis, self.ndim, "max")
        checks.nonempty_reduction(self.shape, axes, "max")
        return _ops.Max.apply(self, axis=axes, keepdims=keepdims)

    # ---- shape ---------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return _ops.Reshape.apply(self, shape=checks.shape_argument(shape, "reshape"))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """numpy's transpose: a permutation of all axes (reversed if none is given).

        To exchange two axes, as PyTorch's transpose(dim0, dim1) does, use swapaxes.
        """
        return _ops.Transpose.apply(self, axes=checks.permutation(axes, self.ndim, self.shape))

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.Index.apply(self, index=index if type(index) is int else checks.index(index))

    # ---- reverse mode --------------------------------------------------------------------
    def backward(
        self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad``.

        ``grad`` defaults to 1 for a one-element tensor and is required otherwise.
        What the ops saved for backward is freed afterwards unless ``retain_graph``
        (then backward may run through this graph again). With ``create_graph`` the
        backward pass is recorded and each ``.grad`` is a Tensor that can be
        differentiated again (retain_graph then defaults to True, as in PyTorch; an explicit
        retain_graph=False still frees the graph).
        """
        seed = checks.seed_gradient(self, grad, create_graph, "backward")
        _backpropagate([(self, seed)], create_graph if retain_graph is None else retain_graph, create_graph)


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

    def schedule(tensor: Tensor) -> None:  # when the first gradient reaches tensor
        if tensor._ctx is None:
            leaves.append(tensor)
        else:
            heappush(waiting, (-tensor._ctx.serial, tensor))

    for tensor, grad in seeds:
        if sums.add(tensor, grad):
            schedule(tensor)
    with recording(create_graph):  # the backward pass is recorded only for create_graph
        while waiting:
            _, tensor = heappop(waiting)
            grad = sums.pop(tensor)  # complete: every use of tensor has reported
            if tensor._retain_grad and wanted is None:
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
                if g is not None and parent.requires_grad and sums.add(parent, g):
                    schedule(parent)
            if not retain_graph:
                op.release()
    for leaf in leaves:
        grad = sums.pop(leaf)
        if wanted is None:
            accumulate_grad(leaf, grad)
        elif leaf in wanted:
            found[leaf] = grad
    return found


from tinygrad_rnn import ops as _ops  # noqa: E402  (ops.py needs Function and Tensor, defined above)
