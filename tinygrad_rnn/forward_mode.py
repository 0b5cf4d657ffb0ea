"""Forward mode: the chain rule run from the inputs to the outputs (jvp, jacobian, hessian).

Reverse mode (tensor.py) asks, for each op, "given dL/d(output), what is dL/d(input)?",
and so needs the whole graph before it can start. Forward mode asks the opposite
question, "given how the inputs move (dx), how does the output move (dz)?", and can
answer it while the op runs: every value carries its *tangent* along, as a dual
number x + dx*eps with eps**2 = 0 carries its derivative. One forward pass gives
J v, the Jacobian times one direction v; reverse mode gives u^T J.

Each primitive op of ops.py has one rule below, keyed by the op class, with its
math on the first line of the docstring, mirroring the op's backward:

    y = tanh(x);  dy = dx * (1 - y**2)        (backward: dL/dx = g * (1 - y**2))

How it runs: ``jvp`` seeds the primals' tangents and calls fn inside
``modes.tracing``, which reports every op as it runs; the tracer looks up the op's
rule and computes the output's tangent from the inputs' tangents. Tensors that do
not depend on the primals have no tangent (zero), and ops that see only such
tensors are skipped. The same pass therefore works through a backward pass
recorded with ``create_graph=True``, which is how ``hessian`` differentiates a
gradient (forward over reverse).

Tangents are plain numpy arrays with a leading axis of directions, (K, *shape):
``jvp`` uses K = 1, ``jacobian`` pushes every input direction through one pass,
and ``nn.rtrl`` pushes the sensitivities dh/dtheta through a recurrent step.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_rnn import fused, ops
from tinygrad_rnn.autograd import grad
from tinygrad_rnn.modes import _GradMode, tracing
from tinygrad_rnn.tensor import Function, Tensor

__all__ = ["jvp", "jacobian", "hessian", "batched_jvp", "unit_directions", "RULES", "NoForwardRuleError"]


class NoForwardRuleError(NotImplementedError):
    """An op without a forward-mode rule was reached by a tangent."""


# ---- zero tangents -------------------------------------------------------------------------
class _Zero:
    """The tangent of a value that does not depend on the primals: 0, which stays 0 under
    every linear map, so a rule reads as its math (``dx * y + x * dy``) with either term absent."""

    __array_ufunc__ = None  # ndarray * ZERO -> ZERO.__rmul__, not an object array

    def __add__(self, other: Any) -> Any:
        return other

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return -other

    def __rsub__(self, other: Any) -> Any:
        return other

    def __neg__(self) -> _Zero:
        return self

    def _zero(self, *args: Any, **kwargs: Any) -> _Zero:
        return self

    __mul__ = __rmul__ = __truediv__ = __matmul__ = __rmatmul__ = __getitem__ = _zero
    reshape = transpose = sum = astype = swapaxes = _zero

    def __repr__(self) -> str:
        return "ZERO"


ZERO = _Zero()


def _lift(t: Any, ndim: int) -> Any:
    """A tangent (K, *shape) with size-1 axes put after K, so that it has ``ndim`` axes per
    direction and broadcasts against values of ``ndim`` axes the way its op's inputs did."""
    if t is ZERO or t.ndim - 1 >= ndim:
        return t
    return t.reshape(t.shape[:1] + (1,) * (ndim - t.ndim + 1) + t.shape[1:])


def _batch_axis(axis: int) -> int:
    """An op's axis in a tangent, whose axis 0 is the directions (negative axes count from the
    end, which is the same there)."""
    return axis + 1 if axis >= 0 else axis


def _batch_axes(axes: tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """A reduction's axes in a tangent: all but the directions for None."""
    return tuple(range(1, ndim + 1)) if axes is None else tuple(_batch_axis(a) for a in axes)


def _positions(shape: tuple[int, ...], index: Any) -> np.ndarray:
    """Which flat entries of an array of ``shape`` ``array[index]`` picks (any numpy index)."""
    return np.arange(math.prod(shape)).reshape(shape)[index]


# ---- the rules, one per op ---------------------------------------------------------------------
# A rule gets the op (its options and what its forward saved), the inputs' values (arrays),
# the output's value, and the inputs' tangents (K, *shape), ZERO where an input has none.
RULES: dict[type[Function], Callable[..., Any]] = {}


def rule(op_class: type[Function]) -> Callable:
    def register(fn: Callable) -> Callable:
        RULES[op_class] = fn
        return fn

    return register


@rule(ops.Add)
def _add(op, x, y, z, dx, dy):
    """z = x + y;  dz = dx + dy."""
    return dx + dy


@rule(ops.Sub)
def _sub(op, x, y, z, dx, dy):
    """z = x - y;  dz = dx - dy."""
    return dx - dy


@rule(ops.Mul)
def _mul(op, x, y, z, dx, dy):
    """z = x * y;  dz = dx * y + x * dy."""
    return dx * y + x * dy


@rule(ops.Div)
def _div(op, x, y, z, dx, dy):
    """z = x / y;  dz = dx / y - dy * x / y**2."""
    return dx / y - dy * x / (y * y)


@rule(ops.Pow)
def _pow(op, x, y, z, dx, dy):
    """z = x ** y;  dz = dx * y * x**(y-1) + dy * z * log(x)   (log(x) as 0 where x <= 0, as backward)."""
    dz = ZERO if dx is ZERO else dx * (y * x ** (y - 1))  # (x**(y-1) only when needed: 0**-1 warns)
    if dy is not ZERO:
        dz = dz + dy * (z * np.log(np.where(x > 0, x, 1.0)))
    return dz


@rule(ops.PowConst)
def _pow_const(op, x, y, dx):
    """y = x ** p;  dy = dx * p * x**(p-1)   (0 for p = 0: x**0 = 1 is constant)."""
    return ZERO if op.p == 0 else dx * (op.p * x ** (op.p - 1))


@rule(ops.Neg)
def _neg(op, x, y, dx):
    """y = -x;  dy = -dx."""
    return -dx


@rule(ops.MatMul)
def _matmul(op, x, y, z, dx, dy):
    """z = x @ y;  dz = dx @ y + x @ dy.

    As in backward, a 1-D x is a row (1, n) and a 1-D y a column (n, 1); the tangents'
    stacks of matrices get size-1 axes so that their batch axes line up with the other
    operand's (numpy.matmul broadcasts the batch axes); the result is z's shape again.
    """
    x2, dx2 = (x[None, :], dx[:, None, :]) if x.ndim == 1 else (x, dx)
    y2, dy2 = (y[:, None], dy[..., None]) if y.ndim == 1 else (y, dy)
    ndim = max(x2.ndim, y2.ndim)
    dz = _lift(dx2, ndim) @ y2 + x2 @ _lift(dy2, ndim)
    return dz.reshape(dz.shape[:1] + z.shape)


@rule(ops.Exp)
def _exp(op, x, y, dx):
    """y = exp(x);  dy = dx * y."""
    return dx * y


@rule(ops.Log)
def _log(op, x, y, dx):
    """y = log(x);  dy = dx / x."""
    return dx / x


@rule(ops.Tanh)
def _tanh(op, x, y, dx):
    """y = tanh(x);  dy = dx * (1 - y**2)."""
    return dx * (1 - y * y)


@rule(ops.Sigmoid)
def _sigmoid(op, x, y, dx):
    """y = sigmoid(x);  dy = dx * y * (1 - y)."""
    return dx * (y * (1 - y))


@rule(ops.ReLU)
def _relu(op, x, y, dx):
    """y = max(x, 0);  dy = dx * [x > 0]   (0 at the kink, as backward)."""
    return dx * (x > 0)


@rule(ops.Softmax)
def _softmax(op, x, y, dx):
    """y = softmax(x);  dy = y * (dx - sum(y * dx))   (sums over axis)."""
    return y * (dx - (y * dx).sum(axis=_batch_axis(op.axis), keepdims=True))


@rule(ops.LogSoftmax)
def _log_softmax(op, x, y, dx):
    """y = log_softmax(x);  dy = dx - sum(exp(y) * dx)   (sums over axis; exp(y) = softmax(x))."""
    return dx - (np.exp(y) * dx).sum(axis=_batch_axis(op.axis), keepdims=True)


@rule(ops.Where)
def _where(op, x, y, z, dx, dy):
    """z = x where condition, else y;  dz = dx where condition, else dy."""
    return np.where(op.condition, 0.0 if dx is ZERO else dx, 0.0 if dy is ZERO else dy)


@rule(ops.AsType)
def _astype(op, x, y, dx):
    """y = x as another dtype;  dy = dx as that dtype."""
    return dx.astype(op.dtype)


@rule(ops.Sum)
def _sum(op, x, y, dx):
    """y = sum of x over axis;  dy = sum of dx over axis."""
    return dx.sum(axis=_batch_axes(op.axis, x.ndim), keepdims=op.keepdims)


@rule(ops.BroadcastTo)
def _broadcast_to(op, x, y, dx):
    """y = x repeated to fill shape;  dy = dx repeated the same way."""
    return np.broadcast_to(_lift(dx, y.ndim), dx.shape[:1] + y.shape)


@rule(ops.Max)
def _max(op, x, y, dx):
    """y = max of x over axis;  dy = sum of dx * share over axis   (share = 1/k at each of k tied
    maxima, 0 elsewhere: the same split as backward, so J v and u^T J are one matrix)."""
    return (dx * op.share).sum(axis=_batch_axes(op.axis, x.ndim), keepdims=op.keepdims)


@rule(ops.Reshape)
def _reshape(op, x, y, dx):
    """y = x with a new shape;  dy = dx with that shape."""
    return dx.reshape(dx.shape[:1] + y.shape)


@rule(ops.Transpose)
def _transpose(op, x, y, dx):
    """y = x with its axes permuted;  dy = dx with the same permutation."""
    return dx.transpose((0, *(_batch_axis(a) for a in op.axes)))


@rule(ops.Index)
def _index(op, x, y, dx):
    """y = x[index];  dy = dx[index]   (taken at the flat positions x[index] picks, so that any
    numpy index applies to each direction alike)."""
    return dx.reshape(len(dx), -1)[:, _positions(x.shape, op.index)]


@rule(ops.Scatter)
def _scatter(op, x, y, dx):
    """y = zeros(shape) with x added at [index];  dy = zeros with dx added at [index]."""
    dy = np.zeros((len(dx), y.size), dtype=dx.dtype)
    np.add.at(dy, (slice(None), _positions(op.shape, op.index)), dx)
    return dy.reshape(dx.shape[:1] + y.shape)


def _dense(t: Any, k: int, value: np.ndarray) -> np.ndarray:
    return np.zeros((k, *value.shape), dtype=value.dtype) if t is ZERO else t


@rule(ops.Concat)
def _concat(op, *args):
    """y = concatenate(x_1, ..., x_k) along axis;  dy = concatenate(dx_1, ..., dx_k) along it."""
    n = (len(args) - 1) // 2
    xs, dxs = args[:n], args[n + 1 :]
    k = len(next(t for t in dxs if t is not ZERO))
    return np.concatenate([_dense(t, k, x) for t, x in zip(dxs, xs)], axis=_batch_axis(op.axis))


@rule(ops.Stack)
def _stack(op, *args):
    """y = stack(x_1, ..., x_k) along a new axis;  dy = stack(dx_1, ..., dx_k) along it."""
    n = (len(args) - 1) // 2
    xs, dxs = args[:n], args[n + 1 :]
    k = len(next(t for t in dxs if t is not ZERO))
    return np.stack([_dense(t, k, x) for t, x in zip(dxs, xs)], axis=_batch_axis(op.axis))


# ---- the fused ops (fused.py), each its composition's tangent multiplied out -----------------
@rule(fused.Affine)
def _affine(op, *args):
    """z = x @ W.T + b;  dz = dx @ W.T + x @ dW.T + db   (b optional)."""
    n = (len(args) - 1) // 2
    (x, weight, *_), z, (dx, dweight, *dbias) = args[:n], args[n], args[n + 1 :]
    x_dweight = x.reshape(-1, x.shape[-1]) @ dweight.swapaxes(-1, -2)  # (K, rows, m)
    return dx @ weight.T + x_dweight.reshape((-1, *z.shape)) + _lift(dbias[0] if dbias else ZERO, z.ndim)


@rule(fused.TanhAffine)
def _tanh_affine(op, *args):
    """y = tanh(x @ W.T + b);  dy = (1 - y**2) * (dx @ W.T + x @ dW.T + db)."""
    y = args[(len(args) - 1) // 2]
    return _affine(op, *args) * (1 - y * y)


@rule(fused.AffineGates)
def _affine_gates(op, *args):
    """y = f_k(x @ W.T + b) on column block k;  dy = f_k'(block k) * (dx @ W.T + x @ dW.T + db)."""
    y = args[(len(args) - 1) // 2]
    slopes = [
        1 - block * block if kind == "tanh" else block * (1 - block)
        for block, kind in zip(np.split(y, len(op.activations), axis=-1), op.activations)
    ]
    return _affine(op, *args) * np.concatenate(slopes, axis=-1)


# ---- running forward mode ----------------------------------------------------------------------
class ForwardMode:
    """The tracer: as each op runs, its output's tangent from its inputs' tangents.

    Tangents are kept by tensor identity, each only as long as its tensor lives (a weak
    reference drops it), so forward mode holds no graph: memory is what the live values need.
    """

    def __init__(self, directions: int) -> None:
        self.directions = directions
        self._tangents: dict[int, tuple[weakref.ref, np.ndarray]] = {}

    def seed(self, tensor: Tensor, tangent: np.ndarray) -> None:
        key = id(tensor)
        self._tangents[key] = (weakref.ref(tensor, lambda _, key=key: self._tangents.pop(key, None)), tangent)

    def forget(self) -> None:
        """Drop every tangent now (the weak references' callbacks point back here: a cycle)."""
        self._tangents.clear()

    def tangent(self, tensor: Tensor) -> Any:
        """The tensor's tangent (K, *shape), or ZERO if it does not depend on the primals."""
        entry = self._tangents.get(id(tensor))
        return entry[1] if entry is not None and entry[0]() is tensor else ZERO

    def __call__(self, op: Function, parents: Sequence[Tensor], out: Tensor, options: dict) -> None:
        tangents = [self.tangent(p) for p in parents]
        if all(t is ZERO for t in tangents):
            return  # nothing here depends on the primals
        forward_rule = RULES.get(type(op))
        if forward_rule is None:
            raise NoForwardRuleError(
                f"jvp: the op {type(op).__name__} has no forward-mode rule, so the tangent cannot "
                f"pass through it; register one with @tinygrad_rnn.forward_mode.rule({type(op).__name__}), "
                "a function (op, *input_values, output_value, *input_tangents) -> output tangent "
                "(see the rules in tinygrad_rnn/forward_mode.py)"
            )
        if op.elementwise:  # inputs broadcast against each other: so must their tangents
            tangents = [_lift(t, out.ndim) for t in tangents]
        dz = forward_rule(op, *(p._data for p in parents), out._data, *tangents)
        if dz is not ZERO:  # (in the output's dtype, as the backward's gradients are)
            self.seed(out, np.broadcast_to(np.asarray(dz, out.dtype), (self.directions, *out.shape)))


def _as_tensors(values: Any, what: str, caller: str) -> tuple[Tensor, ...]:
    if not isinstance(values, (tuple, list)):
        raise TypeError(
            f"{caller}: {what} must be a tuple of Tensors or arrays, e.g. (x,), got {type(values).__name__}"
        )
    tensors = tuple(v if isinstance(v, Tensor) else Tensor(v) for v in values)
    if len({id(t) for t in tensors}) != len(tensors):
        raise ValueError(f"{caller}: the same Tensor appears twice in {what}; pass a copy for the second")
    return tensors


def _outputs(result: Any, caller: str) -> tuple[tuple[Tensor, ...], bool]:
    """fn's result as a tuple of Tensors, and whether fn returned a single one."""
    single = isinstance(result, Tensor)
    outputs = (result,) if single else result
    if not isinstance(outputs, (tuple, list)) or not all(isinstance(o, Tensor) for o in outputs):
        got = type(result).__name__
        raise TypeError(f"{caller}: fn must return a Tensor or a tuple of Tensors, got {got}")
    return tuple(outputs), single


def batched_jvp(
    fn: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], *, caller: str = "jvp"
) -> tuple[Any, tuple[np.ndarray, ...]]:
    """fn's outputs and, for K directions at once, their tangents: J v_1, ..., J v_K.

    Each tangent has a leading axis of K directions (K, *primal.shape); the output
    tangents are arrays (K, *output.shape). Tensors given as primals are used as they are,
    so fn may also read them from elsewhere (a module's parameters, say). ``caller`` names
    the public function in the errors about fn (jacobian and hessian run through here).
    """
    primals = _as_tensors(primals, "primals", "jvp")
    if not primals:
        raise ValueError("jvp: primals is empty; give at least one Tensor or array to differentiate by")
    if not isinstance(tangents, (tuple, list)) or len(tangents) != len(primals):
        raise ValueError(
            f"jvp: expected one tangent per primal ({len(primals)}), got "
            f"{len(tangents) if isinstance(tangents, (tuple, list)) else type(tangents).__name__}"
        )
    if any(isinstance(t, ForwardMode) for t in _GradMode.tracers):
        raise RuntimeError(
            "jvp: called inside another jvp; forward over forward is not supported (the tangents are "
            "plain arrays, so the outer pass would not see them). For second derivatives use hessian "
            "(forward over reverse)"
        )
    arrays = [np.asarray(t.data if isinstance(t, Tensor) else t) for t in tangents]
    directions = len(arrays[0]) if arrays and arrays[0].ndim else 0
    mode = ForwardMode(directions)
    for i, (p, t) in enumerate(zip(primals, arrays)):
        if t.shape != (directions, *p.shape):
            raise ValueError(
                f"jvp: tangent {i} has shape {t.shape[1:]} per direction but primal {i} has shape "
                f"{p.shape} (tangents: {[a.shape[1:] for a in arrays]})"
            )
        mode.seed(p, t.astype(p.dtype, copy=False))
    try:
        with tracing(mode):
            result = fn(*primals)
        outputs, _ = _outputs(result, caller)
        zero = [mode.tangent(o) is ZERO for o in outputs]
        out_tangents = tuple(
            np.zeros((directions, *o.shape), o.dtype) if z else np.ascontiguousarray(mode.tangent(o))
            for o, z in zip(outputs, zero)
        )
    finally:
        mode.forget()
    return result, out_tangents


def jvp(fn: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """(fn(*primals), J v): fn's outputs and their directional derivatives along ``tangents``,
    as ``torch.func.jvp``. One tangent per primal, of its shape; the output tangents are
    Tensors, one per output (a single Tensor if fn returns one)."""
    if isinstance(tangents, (tuple, list)):
        tangents = tuple(np.asarray(t.data if isinstance(t, Tensor) else t)[None] for t in tangents)
    result, out_tangents = batched_jvp(fn, primals, tangents)
    out_tangents = tuple(Tensor(np.array(t[0])) for t in out_tangents)  # (a copy of its own)
    return result, out_tangents[0] if isinstance(result, Tensor) else out_tangents


# ---- Jacobians and Hessians ----------------------------------------------------------------------
_CHUNK_ENTRIES = 1 << 22  # directions per pass: at most this many basis entries (32 MB) at once


def unit_directions(
    shapes: Sequence[tuple[int, ...]], dtype: Any = np.float64, start: int = 0, stop: int | None = None
) -> list[np.ndarray]:
    """Tangents for arrays of ``shapes``, one direction per entry of them all: direction k moves
    entry k alone (the identity, split per array, each (K, *shape)). ``start:stop`` picks some."""
    sizes = [math.prod(s) for s in shapes]
    stop = sum(sizes) if stop is None else stop
    rows = np.zeros((stop - start, sum(sizes)), dtype=dtype)
    rows[np.arange(stop - start), np.arange(start, stop)] = 1
    bounds = np.cumsum([0, *sizes])
    return [rows[:, a:b].reshape(stop - start, *s) for a, b, s in zip(bounds[:-1], bounds[1:], shapes)]


def _columns(fn: Callable, inputs: tuple[Tensor, ...], caller: str) -> tuple[Any, list[np.ndarray]]:
    """fn's result and, per output, d(output)/d(all input entries) as (n, *output.shape)."""
    shapes = [x.shape for x in inputs]
    n = sum(math.prod(s) for s in shapes)
    chunk = max(1, _CHUNK_ENTRIES // max(n, 1))
    pieces: list[list[np.ndarray]] = []
    result = None
    for start in range(0, n, chunk):
        basis = unit_directions(shapes, start=start, stop=min(n, start + chunk))
        result, tangents = batched_jvp(fn, inputs, basis, caller=caller)
        pieces.append(list(tangents))
    if result is None:  # no input entries at all: fn still runs once, for its outputs
        result, tangents = batched_jvp(fn, inputs, [np.zeros((0, *s)) for s in shapes], caller=caller)
        pieces.append(list(tangents))
    return result, [np.concatenate(column) for column in zip(*pieces)]


def _split(column: np.ndarray, out_shape: tuple[int, ...], shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """(n, *out_shape) -> per input, an array (*out_shape, *input_shape)."""
    bounds = np.cumsum([0, *(math.prod(s) for s in shapes)])
    blocks = []
    for a, b, s in zip(bounds[:-1], bounds[1:], shapes):
        block = column[a:b].reshape(*s, *out_shape)
        blocks.append(np.moveaxis(block, tuple(range(len(s))), tuple(range(len(out_shape), block.ndim))))
    return [np.ascontiguousarray(b) for b in blocks]


def _inputs(inputs: Any, caller: str) -> tuple[tuple[Tensor, ...], bool]:
    """The inputs as fresh Tensors (copies of their values), and whether one was given alone."""
    single = not isinstance(inputs, (tuple, list))
    items = (inputs,) if single else tuple(inputs)
    if not items:
        raise ValueError(f"{caller}: inputs is empty; give a Tensor or a tuple of them")
    return tuple(Tensor(x._data if isinstance(x, Tensor) else x) for x in items), single


def jacobian(fn: Callable[..., Any], inputs: Any) -> Any:
    """d fn / d inputs by forward mode, as ``torch.autograd.functional.jacobian``.

    ``fn(*inputs)`` (or ``fn(inputs)`` for one Tensor) returns a Tensor or a tuple. The result
    is an array of shape (*output.shape, *input.shape) for one output and one input; a tuple
    per input if inputs is a tuple; a tuple per output (of those) if fn returns a tuple.
    All input directions go through fn together (in chunks for large inputs).
    """
    tensors, single_input = _inputs(inputs, "jacobian")
    shapes = [x.shape for x in tensors]
    result, columns = _columns(lambda *xs: fn(xs[0]) if single_input else fn(*xs), tensors, "jacobian")
    outputs, single_output = _outputs(result, "jacobian")
    per_output = []
    for out, column in zip(outputs, columns):
        blocks = _split(column, out.shape, shapes)
        per_output.append(blocks[0] if single_input else tuple(blocks))
    return per_output[0] if single_output else tuple(per_output)


def hessian(fn: Callable[..., Any], inputs: Any) -> Any:
    """The second derivatives of a one-element fn, as ``torch.autograd.functional.hessian``:
    forward mode over the gradient that reverse mode records (create_graph=True).

    One input: an array (*input.shape, *input.shape); a tuple of inputs: a tuple of tuples,
    H[i][j] of shape (*inputs[i].shape, *inputs[j].shape).
    """
    tensors, single_input = _inputs(inputs, "hessian")
    for x in tensors:
        x.requires_grad = True  # the gradient below is taken with respect to these leaves
    shapes = [x.shape for x in tensors]

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        out = fn(xs[0]) if single_input else fn(*xs)
        if not isinstance(out, Tensor) or out.size != 1:
            got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"hessian: fn must return a Tensor with one element, got {got}")
        zeros = [Tensor(np.zeros(s, out.dtype)) for s in shapes]
        if not out.requires_grad:  # fn does not depend on its inputs: every derivative is 0
            return tuple(zeros)
        grads = grad(out, xs, create_graph=True, allow_unused=True)  # recorded, so traced
        return tuple(z if g is None else g for g, z in zip(grads, zeros))

    _, columns = _columns(gradient, tensors, "hessian")
    rows = [_split(column, s, shapes) for column, s in zip(columns, shapes)]
    return rows[0][0] if single_input else tuple(tuple(row) for row in rows)
