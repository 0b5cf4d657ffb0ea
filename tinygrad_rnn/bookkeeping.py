"""What backward() needs besides the chain rule.

tensor.py's loop reads as the chain rule: take the newest op, ask it for its
inputs' gradients, add them into the inputs' running sums. Four problems that
the chain rule does not mention are solved here instead:

1. **Running sums that stay cheap.** A tensor used by several ops receives one
   gradient per use, and dL/dt is their sum (``GradSums``). Adding in place
   into an array that the engine itself allocated saves an array per use; an
   op's own output array must never be added into (it may be another
   tensor's gradient too). Indexing sends back ``IndexedGrad``, a gradient that
   is zero except at the indexed entries: a time loop that reads x[0], ...,
   x[T-1] then costs O(size of x) in backward, not O(T * size of x). The fused
   ops send a weight's gradient as ``RowProducts``, summed over all time steps
   with one matmul.
2. **dtypes.** An op that mixes float32 and float64 sends a float64 gradient to
   its float32 input; it is cast back when that input's turn comes, so a
   float32 model keeps float32 gradients.
3. **Writes to saved arrays.** ``Tensor.data`` hands out a ``WatchedArray``: the
   tensor's own memory, seen through a view that notes the time of every write
   (on ``clock``, the counter that also numbers the ops as they run). Backward
   refuses to use an input or output written to after its op ran (PyTorch's
   version counters do the same job). Tracked: ``t.data[...] = v``, ``t.data += v``
   and the other in-place operators, ufuncs and numpy functions with
   ``out=t.data``, ``fill``, ``sort``, ``partition``, ``put``,
   ``np.copyto``/``np.put``/``np.place``/``np.putmask`` into it (positional or by
   keyword), and ``t.data = new``, also through a Tensor made from t without a
   copy (``Tensor(t)``, ``Tensor(t.data)``) or by a view op (reshape, transpose,
   indexing). Not tracked: writes through another name for the same memory (the
   array that was passed to ``Tensor()``, ``np.asarray(t)``, ``t.data.flat``, or
   ``t.data.view(np.ndarray)``).
4. **Anomaly mode**: the user's file:line for every op, and a check that each
   value and gradient is finite.
5. **Letting go of the values after backward.** An op keeps its inputs, and an
   input keeps its array, so a graph holds every activation it made. As in
   PyTorch, backward() without retain_graph frees them as it goes
   (``Function.release``): an op that has run its backward replaces each input
   made by an op with that op (which stands for its output; it keeps the
   output's shape and dtype in ``outline``) and each constant with an
   ``Outline``, so an activation lives on only while the user holds it. A leaf
   that requires grad stays: its ``.grad`` is what backward is for. viz draws
   the graph from these as before (``viz.graph_node``).
"""

from __future__ import annotations

import os
import sys
import weakref
from itertools import count
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_rnn.checks import as_float_array, own_copy

if TYPE_CHECKING:
    from tinygrad_rnn.tensor import Function, Tensor

__all__ = ["GradSums", "DeferredGrad", "IndexedGrad", "RowProducts", "dense_grad", "accumulate_grad"]
__all__ += ["WatchedArray", "AnomalyError", "Outline", "outline"]


# ---- 1. running sums ------------------------------------------------------------------------
class DeferredGrad:
    """A gradient kept in a cheaper form than the array it stands for, until it is added into a
    buffer (``add_into``) or formed (``dense``); ``np.asarray`` of one gives the dense array too."""

    __slots__ = ()
    shape: tuple[int, ...]

    def add_into(self, buffer: np.ndarray) -> None:
        buffer += self.dense()

    def dense(self) -> np.ndarray:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.dense()
        return array if dtype is None else array.astype(dtype, copy=False)


class IndexedGrad(DeferredGrad):
    """The gradient of y = x[index]: zero except at x[index], where it is ``values``."""

    __slots__ = ("index", "values", "shape")

    def __init__(self, index: Any, values: np.ndarray, shape: tuple[int, ...]):
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


class RowProducts(DeferredGrad):
    """sum_k G_k^T X_k, kept as its factors: fused.Affine's weight gradient, one term per use.

    A weight used at every time step gets T terms, and stacking their rows gives
    the sum in one matmul, [G_1; ...; G_T]^T [X_1; ...; X_T], instead of T matmuls
    and T additions of a weight-sized array.
    """

    __slots__ = ("lefts", "rights")

    def __init__(self, left: np.ndarray, right: np.ndarray):
        self.lefts, self.rights = [left], [right]  # the G_k (N_k, m) and the X_k (N_k, n)

    @property
    def shape(self) -> tuple[int, int]:
        return self.lefts[0].shape[1], self.rights[0].shape[1]

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.lefts[0], self.rights[0])

    def extend(self, other: RowProducts) -> None:
        self.lefts += other.lefts
        self.rights += other.rights

    def dense(self) -> np.ndarray:
        if len(self.lefts) == 1:
            return self.lefts[0].T @ self.rights[0]
        return np.concatenate(self.lefts).T @ np.concatenate(self.rights)


def _picks_each_entry_once(index: Any) -> bool:
    """Slices, ints, None, Ellipsis and boolean masks never pick an entry twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
        or (isinstance(i, np.ndarray) and i.dtype == np.bool_)
        for i in items
    )


def dense_grad(grad: Any) -> Any:
    """A gradient as a plain array (or Tensor, in a recorded backward)."""
    return grad.dense() if isinstance(grad, DeferredGrad) else grad


class GradSums:
    """dL/dt for every tensor t that backward() has reached, summed over t's uses."""

    def __init__(self) -> None:
        self._sums: dict[Tensor, Any] = {}  # a Tensor hashes by identity
        self._ours: set[Tensor] = set()  # the tensors whose sum is an array allocated here

    def add(self, tensor: Tensor, grad: Any) -> bool:
        """Add one use's gradient to tensor's sum; True when it is the first to arrive."""
        total = self._sums.get(tensor)
        if total is None:  # kept as it is: it may be an op's own array, or a read-only view
            self._sums[tensor] = grad
            return True
        if not isinstance(total, np.ndarray | DeferredGrad):  # a recorded backward: Tensors
            self._sums[tensor] = total + grad  # the sum is itself an op of the new graph
            return False
        if type(total) is RowProducts and type(grad) is RowProducts:  # made by backward: ours
            total.extend(grad)
            return False
        if tensor not in self._ours:  # the second use: a buffer of our own, added into from now on
            total = self._sums[tensor] = total.dense() if isinstance(total, DeferredGrad) else total.copy("K")
            self._ours.add(tensor)
        if isinstance(grad, DeferredGrad):
            grad.add_into(total)
        else:
            total += grad  # in place: the buffer is ours, so no new array per use
        return False

    def pop(self, tensor: Tensor) -> Any:
        """tensor's complete gradient, dense, in tensor's dtype; forgotten here."""
        grad = self._sums.pop(tensor)
        if isinstance(grad, DeferredGrad):
            grad = grad.dense()
        if grad.dtype != tensor._data.dtype:  # from an op that mixed float32 and float64
            grad = grad.astype(tensor._data.dtype)
        return grad


def accumulate_grad(tensor: Tensor, grad: Any) -> None:
    """tensor.grad += grad, as in PyTorch; the first one is copied (the array may be shared).

    In a recorded backward (create_graph=True) grad is a Tensor, and so is .grad.
    """
    if tensor.grad is None:
        plain = isinstance(grad, np.ndarray)
        tensor.grad = np.array(grad, dtype=tensor.dtype, order="C", copy=True) if plain else grad
    elif isinstance(grad, np.ndarray) and isinstance(tensor.grad, np.ndarray):
        tensor.grad += grad
    else:  # a Tensor gradient: the sum is itself an op of the new graph
        tensor.grad = tensor.grad + grad


# ---- 3. writes to saved arrays --------------------------------------------------------------
# numpy functions that write into an argument, and that argument's name (it may come by keyword).
_WRITING_FUNCTIONS = {np.copyto: "dst", np.put: "a", np.place: "arr", np.putmask: "a"}
clock = count(1)  # numbers the ops as they run, and stamps the writes to watched arrays


class WatchedArray(np.ndarray):
    """A view of a tensor's array that stamps every write with the time on ``clock``.

    The stamp (``_written``, a one-item list shared with the tensor and with
    every view taken from this one) lets backward notice that an array an op
    saved was changed after the op ran. Anything computed *from* a watched
    array is a plain ndarray.
    """

    _written: list[int] | None = None

    def __array_finalize__(self, obj: Any) -> None:
        # A view shares the memory, so it shares the stamp; a copy (base None) does not.
        self._written = getattr(obj, "_written", None) if self.base is not None else None

    def _write(self) -> None:
        if self._written is not None:
            self._written[0] = next(clock)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._write()
        np.ndarray.__setitem__(self.view(np.ndarray), index, value)

    def fill(self, value: Any) -> None:
        self._write()
        self.view(np.ndarray).fill(value)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._write()
        self.view(np.ndarray).sort(*args, **kwargs)

    def partition(self, *args: Any, **kwargs: Any) -> None:
        self._write()
        self.view(np.ndarray).partition(*args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> None:
        self._write()
        self.view(np.ndarray).put(*args, **kwargs)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, out: Any = None, **kwargs: Any) -> Any:
        if method == "at" and isinstance(inputs[0], WatchedArray):  # np.add.at(a, ...) writes into a
            inputs[0]._write()
        if out is not None:
            for array in out:
                if isinstance(array, WatchedArray):
                    array._write()
            kwargs["out"] = tuple(_plain(array) for array in out)
        result = getattr(ufunc, method)(*(_plain(x) for x in inputs), **kwargs)
        if out is not None:  # a += b returns a itself
            return out[0] if len(out) == 1 else out
        return _plain_result(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        written = []
        if func in _WRITING_FUNCTIONS:
            written.append(args[0] if args else kwargs.get(_WRITING_FUNCTIONS[func]))
        out = kwargs.get("out")  # np.dot, np.take, ... write their result into out=
        written += out if isinstance(out, tuple) else [out]
        for array in written:
            if isinstance(array, WatchedArray):
                array._write()
        return _plain_result(super().__array_function__(func, types, args, kwargs))

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def __reduce__(self) -> Any:  # pickled (or copied) as the plain array it shows
        return self.view(np.ndarray).copy().__reduce__()


def _plain(x: Any) -> Any:
    return x.view(np.ndarray) if isinstance(x, WatchedArray) else x


def _plain_result(result: Any) -> Any:
    """A new array computed from watched ones is a plain array (a view keeps its counter)."""
    if isinstance(result, tuple | list):
        return type(result)(_plain_result(r) for r in result)
    if isinstance(result, WatchedArray) and result._written is None:
        return result.view(np.ndarray)
    return result


def watch(array: np.ndarray, written: list[int]) -> WatchedArray:
    if getattr(array, "__jit_traced__", False):  # while jit traces: the traced array itself, so
        return array  # what is computed from t.data is followed (compiler/trace.py)
    view = array.view(WatchedArray)
    view._written = written
    return view


def tensor_memory(source: Any, dtype: Any = None) -> tuple[np.ndarray, list[int]]:
    """The array and the write stamp of ``Tensor(source, dtype=dtype)``.

    Made from another tensor's memory without a copy (``Tensor(t)``, ``Tensor(t.data)``), the
    two share the memory and one stamp: a write through either is a write to both. Anything
    else is copied, as ``torch.tensor`` does, so that a later write to the caller's array
    cannot change what an op saw in forward.
    """
    array = as_float_array(source, dtype)
    shared = getattr(source, "_written", None)  # a Tensor's, or a WatchedArray's (None for a copy)
    if shared is not None and np.may_share_memory(array, getattr(source, "_data", source)):
        return array, shared
    return own_copy(array, getattr(source, "_data", source)), [0]


def check_unchanged(op: Function) -> None:
    """Refuse to backpropagate through op: an array it saved was written to after it ran."""
    out = op._output()
    for what, tensor in [*((f"input {i}", p) for i, p in enumerate(op.parents)), ("the output", out)]:
        if tensor is not None and tensor._written[0] > op.serial:
            raise RuntimeError(
                f"backward: {what} of {op.name} (shape {tensor.shape}) was written to in place after "
                f"{op.name} ran, so its gradient would use the new values. Write to a copy "
                "(t.data.copy()), or call backward() before changing it."
            )


# ---- 4. anomaly mode ------------------------------------------------------------------------
class AnomalyError(FloatingPointError):
    """Raised in anomaly mode at the first op whose value or gradient is not finite."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_call_site() -> str:
    """file:line of the innermost caller outside this package (for anomaly messages)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def anomaly_mode_forward(op: Function, arrays: list) -> np.ndarray:
    """op.forward in anomaly mode: note the caller's file:line, stop at a non-finite output."""
    op._call_site = user_call_site()
    with np.errstate(all="ignore"):  # numpy's warning would only say "divide by zero"; ours names the op
        array = op.forward(*arrays)
    check_finite(array, "forward output", op)
    return array


def check_finite(value: Any, what: str, op: Function) -> None:
    array = np.asarray(getattr(value, "_data", value))
    if not np.all(np.isfinite(array)):
        bad = "nan" if np.isnan(array).any() else "inf"
        raise AnomalyError(
            f"{op.name}: {what} contains {bad} (shape {array.shape}); the op was called at {op.call_site}"
        )


def check_input_grads(op: Function, input_grads: tuple) -> None:
    """Anomaly mode: stop at the first op that passes a non-finite gradient to an input."""
    for i, (parent, grad) in enumerate(zip(op.parents, input_grads)):
        if grad is not None and parent.requires_grad:
            check_finite(dense_grad(grad), f"gradient for input {i}", op)


# ---- 5. letting go of the values after backward ---------------------------------------------
class Outline:
    """A tensor as a released op remembers it: the op that made it (None for a constant), its shape
    and dtype; ``tensor()`` is the tensor itself while anything else holds it, else None."""

    __slots__ = ("tensor", "_ctx", "shape", "dtype", "requires_grad")
    grad = None  # a tensor that nothing holds took its .grad with it

    def __init__(self, tensor: Any, ctx: Function | None, shape: tuple, dtype: np.dtype, requires_grad: bool):
        self.tensor, self._ctx, self.shape, self.dtype = tensor, ctx, shape, dtype
        self.requires_grad = requires_grad


def outline(constant: Tensor) -> Outline:
    """The Outline of a constant input (one per tensor, so that it stays one node of the graph)."""
    found = getattr(constant, "_outline", None)
    if found is None:
        data = constant._data
        found = constant._outline = Outline(weakref.ref(constant), None, data.shape, data.dtype, False)
    return found
