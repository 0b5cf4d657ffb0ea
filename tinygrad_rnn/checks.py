"""Argument checks for the Tensor methods: bad input gets an error that names the op.

Each helper turns what a user may pass (an int or a list of axes, a Python
number, an index) into what numpy wants, or raises an error that says which
op, what was wrong and what was expected, before numpy sees the argument.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_rnn.modes import _GradMode

if TYPE_CHECKING:
    from tinygrad_rnn.tensor import Tensor

_NUMERIC_KINDS = "biuf"

# What np.asarray (or astype) turns into a new array of its own whenever it returns another object
# that owns its memory. Any other object (one with __array__ or a buffer) may hand over its own
# memory, owned by an array it keeps: so what is made from it is always copied.
_CONVERTED = (np.ndarray, np.generic, list, tuple, int, float)


def as_float_array(data: Any, dtype: Any = None, op: str = "Tensor", copy: bool = False) -> np.ndarray:
    """User data as a float ndarray: floats keep their dtype, ints and bools become float64.
    With ``copy``, never the caller's memory (constants in the graph must not change later).

    The kind is checked before any cast: numpy would turn None into nan and the
    string "1.5" into 1.5, and neither is a number.
    """
    data = getattr(data, "_data", data)  # a Tensor's own array
    first = data
    while isinstance(first, (list, tuple)) and first:  # a nested list's first item: enough for the habit
        first = first[0]
    if first is not data and hasattr(first, "_ctx"):  # numpy would make constants of Tensors' values
        raise TypeError(
            f"{op}: got a {type(data).__name__} of Tensors; join them with stack(tensors) (or concat), "
            "which keeps the graph, or pass their values (t.data)"
        )
    try:
        array = as_array(data)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{op}: cannot make a numeric array from {type(data).__name__}: {err}") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{op}: expected numbers (bool, int or float), got {describe(data)} (numpy dtype {array.dtype})"
        )
    if dtype is not None:
        dtype = float_dtype(dtype, op)
        if array.dtype != dtype:
            array = array.astype(dtype)
    elif array.dtype.kind != "f":
        array = array.astype(np.float64)
    return own_copy(array, data) if copy else array


def own_copy(array: np.ndarray, data: Any) -> np.ndarray:
    """``array``, made from ``data``, copied if it is still the caller's memory (or a view of it).

    Not while jit or jvp traces (modes.tracing): a compiled program reads an array from outside
    at every call, forward and backward alike, so it must see the array itself to name it.
    """
    fresh = array is not data and array.flags.owndata and isinstance(data, _CONVERTED)
    if _GradMode.tracers or fresh:
        return array
    return array.copy()


def as_array(data: Any) -> np.ndarray:
    """np.asarray(data), except that an array jit's tracer follows keeps its type (so that what
    is made from it, e.g. a Tensor or an index array, is still known to depend on it), also when
    it comes back as a plain view of itself (np.asarray strips the type)."""
    if getattr(data, "__jit_traced__", False):
        return data
    array = np.asarray(data)
    return array if _GradMode.follow is None else _GradMode.follow(array)


def float_dtype(dtype: Any, op: str) -> np.dtype:
    """np.dtype(dtype), which must be a floating-point type: a Tensor holds real numbers."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype {dtype!r} is not a numpy dtype (use e.g. np.float32)") from None
    if dtype.kind != "f":
        raise TypeError(
            f"{op}: dtype must be floating point (np.float32 or np.float64), got {dtype}: a Tensor's "
            "values are differentiable, so they are real numbers (integer data is converted to float64 "
            "when no dtype is given)"
        )
    return dtype


def describe(data: Any) -> str:
    """A short description of bad input for an error message."""
    text = repr(data)
    return f"{type(data).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def scalar(value: Any, op: str) -> float:
    if isinstance(value, (str, bytes)):  # float("2") would quietly accept text
        raise TypeError(f"{op}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: expected a number, got {value!r}") from None


def count(value: Any, what: str, op: str, least: int = 1) -> int:
    """A whole number >= ``least`` (a batch size, a length); anything else is named."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{op}: {what} must be an integer >= {least}, got {value!r}")
    return int(value)


def axis(value: Any, ndim: int, op: str) -> int:
    """One axis, normalised (negative counts from the end); out of range is an error."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{op}: axis must be an int, got {value!r}")
    if not -ndim <= value < ndim:
        raise ValueError(f"{op}: axis {value} is out of range for a tensor with {ndim} dimension(s)")
    return int(value) % ndim


def axes(value: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None (all axes) or a sorted tuple of distinct normalised axes."""
    if value is None:
        return None
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    result = tuple(sorted(axis(a, ndim, op) for a in items))
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: repeated axis in {value}")
    return result


def nonempty_reduction(shape: tuple[int, ...], reduced: tuple[int, ...] | None, op: str) -> None:
    """max/min/softmax over no entries has no value: say so instead of numpy's error."""
    sizes = shape if reduced is None else [shape[a] for a in reduced]
    if 0 in sizes:
        where = "all axes" if reduced is None else f"axis {reduced[0] if len(reduced) == 1 else reduced}"
        raise ValueError(f"{op}: a tensor of shape {shape} has no entries along {where} to reduce")


def shape_argument(shape: tuple, op: str) -> tuple[int, ...]:
    """reshape(2, 3) and reshape((2, 3)) alike; every size an int (int(2.5) would truncate)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"{op}: sizes must be integers, got {shape}")
    return tuple(int(s) for s in shape)


def permutation(order: tuple, ndim: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """transpose's axes: a permutation of all axes (numpy's rule); none given reverses them."""
    if len(order) == 1 and isinstance(order[0], (tuple, list)):
        order = tuple(order[0])
    if not order:
        return tuple(reversed(range(ndim)))
    result = tuple(axis(a, ndim, "transpose") for a in order)
    if sorted(result) != list(range(ndim)):
        raise ValueError(
            f"transpose: axes {tuple(order)} are not a permutation of the {ndim} axes of a tensor of "
            f"shape {shape} (numpy's transpose permutes all axes; to exchange two, use swapaxes)"
        )
    return result


def broadcast_error(op: str, shapes: list[tuple[int, ...]]) -> ValueError:
    return ValueError(
        f"{op}: cannot broadcast shapes {' and '.join(map(str, shapes))} (numpy's rules: aligned from "
        "the right, each pair of sizes equal or one of them 1)"
    )


def matmul_shapes(x: tuple[int, ...], y: tuple[int, ...]) -> None:
    """x @ y needs x's last dimension equal to y's second-to-last (or only) one, and batch
    dimensions (all but the last two) that broadcast."""
    if not x or not y:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {x} and {y}")
    inner = y[-2] if len(y) > 1 else y[0]
    if x[-1] != inner:
        raise ValueError(
            f"matmul: shapes {x} and {y} are incompatible: x's last dimension ({x[-1]}) must equal "
            f"y's {'second-to-last' if len(y) > 1 else 'only'} dimension ({inner})"
        )
    try:
        np.broadcast_shapes(x[:-2], y[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of shapes {x} and {y} do not broadcast") from None


def index(value: Any) -> Any:
    """An index for numpy: lists become arrays; a Tensor is refused (it would be read wrongly)."""
    from tinygrad_rnn.tensor import Tensor

    if isinstance(value, Tensor):
        raise TypeError(
            "index: a Tensor cannot be an index. A Tensor stores floats, so Tensor([True, False, True]) "
            "holds 1., 0., 1., which would pick positions 1, 0, 1 rather than act as a mask. Index with "
            "a numpy array or a list: np.array([True, False, True]) for a mask, [2, 0] for positions"
        )
    if isinstance(value, tuple):
        return tuple(index(i) for i in value)
    if isinstance(value, list):
        value = np.asarray(value) if value else np.zeros(0, dtype=np.intp)  # [] picks no positions
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        raise IndexError(f"index: an index array must hold integers or booleans, got dtype {value.dtype}")
    return value.copy() if isinstance(value, np.ndarray) else value  # backward must use what forward did


def tensor_list(tensors: Any, op: str) -> list:
    """concat's and stack's inputs as Tensors (plain arrays take the first Tensor's dtype)."""
    from tinygrad_rnn.tensor import Tensor

    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a list of tensors, got a single Tensor")
    items = list(tensors)
    if not items:
        raise ValueError(f"{op}: needs at least one tensor, got an empty list")
    dtype = next((t.dtype for t in items if isinstance(t, Tensor)), None)
    return [t if isinstance(t, Tensor) else Tensor(as_float_array(t, dtype, op)) for t in items]


def same_shapes_except(tensors: list, skip_axis: int | None, op: str) -> None:
    """concat: all dimensions but skip_axis match; stack (skip_axis None): all shapes match."""
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if skip_axis is None:
            fits = t.shape == first
        else:
            fits = t.ndim == len(first) and (
                t.shape[:skip_axis] + t.shape[skip_axis + 1 :] == first[:skip_axis] + first[skip_axis + 1 :]
            )
        if not fits:
            rule = (
                "all must have the same shape"
                if skip_axis is None
                else (f"all dimensions except axis {skip_axis} must match")
            )
            raise ValueError(f"{op}: tensor {i} has shape {t.shape} but tensor 0 has shape {first}; {rule}")


def seed_gradient(output: Tensor, grad: Any, create_graph: bool, caller: str) -> Any:
    """dL/d(output) to start from: 1 for a one-element output, else the grad the user gave."""
    from tinygrad_rnn.tensor import Tensor

    if caller == "backward" and _GradMode.refuse_backward is not None:
        _GradMode.refuse_backward()
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
        grad = as_float_array(grad, output.dtype, caller)
    if grad.shape != output.shape:
        raise ValueError(f"{caller}: grad has shape {grad.shape} but the tensor has shape {output.shape}")
    if create_graph:
        return grad if isinstance(grad, Tensor) else Tensor._wrap(grad)
    return grad._data if isinstance(grad, Tensor) else grad
