"""Hypothesis strategies and the gradient checker shared by the engine tests.

Tolerances (stated once, used by every gradient test):

* float64 analytic gradient vs central differences with EPS = 1e-6: an entry passes when
  |analytic - numerical| <= ATOL + RTOL * |numerical| with ATOL = 1e-7, RTOL = 1e-6.
  The central difference has truncation error eps**2 / 6 * |f'''| ~ 1e-12 for the bounded
  inputs drawn here (every input is O(1) and kept >= 0.5 away from the singularities of log,
  division and pow, >= 0.1 away from relu's kink and >= 0.03 from a tie for the max), and
  rounding error ~ 1e-16 * |L| / eps ~ 1e-10 * |L| for the scalar loss L, which stays below
  ~100 here. 1e-7 therefore leaves a margin of ~10x, while a wrong gradient (a transposed or
  unreduced g, a missing factor or sign) is off by O(0.1).
* float32 vs float64 (forward values and gradients): |v32 - v64| <= F32_TOL * (|v64| + scale)
  with F32_TOL = 1e-5 and scale = max(1, max |v64|). float32 rounds each op to ~6e-8 relative;
  the few ops of a test, the sums inside matmul/softmax/reductions and cancellation in
  sums of O(1) terms (hence the absolute part, relative to the scale of the result) stay well
  inside 1e-5, while computing an op in the wrong precision or a wrong formula does not.

The loss whose gradient is checked is sum(out * W) with a fixed random W (entries of both signs,
magnitudes 0.5..1.5), not sum(out): an upstream gradient of all ones would hide errors in how
an op transposes, broadcasts or reduces the gradient it receives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, viz
from tinygrad_rnn.gradcheck import numerical_grad
from tinygrad_rnn.ops import IndexedGrad
from tinygrad_rnn.tensor import _GradMode

EPS = 1e-6
ATOL = 1e-7
RTOL = 1e-6
F32_TOL = 1e-5

# Value ranges, chosen per op so that gradients are smooth where they are checked.
KINDS = ("any", "positive", "nonzero", "spaced")
# Memory layouts of the input arrays: the ops must not assume C-contiguous input.
LAYOUTS = ("contiguous", "transposed", "strided", "reversed")

MAX_SIDE = 3


def make_values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Random float64 values of ``shape``.

    any: uniform in [-2, 2]; positive: [0.5, 2] (log, division, pow bases);
    nonzero: +-[0.5, 2] (denominators); spaced: distinct magnitudes 0.1 + 0.05 k + [0, 0.02)
    with random signs, so any two entries differ by >= 0.03 and none is within 0.1 of zero
    (max and relu are differentiable there, with room for eps = 1e-6).
    """
    n = int(np.prod(shape, dtype=np.int64))
    if kind == "any":
        values = rng.uniform(-2, 2, n)
    elif kind == "positive":
        values = rng.uniform(0.5, 2, n)
    elif kind == "nonzero":
        values = rng.uniform(0.5, 2, n) * rng.choice([-1.0, 1.0], n)
    elif kind == "spaced":
        magnitudes = 0.1 + 0.05 * rng.permutation(n) + rng.uniform(0, 0.02, n)
        values = magnitudes * rng.choice([-1.0, 1.0], n)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return values.reshape(shape)


def with_layout(values: np.ndarray, layout: str) -> np.ndarray:
    """The same values as an array whose memory layout is ``layout`` (a view, not C-contiguous)."""
    if values.ndim == 0 or layout == "contiguous":
        return values.copy()
    if layout == "transposed":  # Fortran order: the transpose of a C-contiguous array
        return np.ascontiguousarray(values.T).T
    if layout == "strided":  # every other entry of a larger buffer
        buffer = np.full(values.shape[:-1] + (2 * values.shape[-1],), np.nan)
        view = buffer[..., ::2]
        view[...] = values
        return view
    if layout == "reversed":  # negative strides along axis 0
        return np.ascontiguousarray(values[::-1])[::-1]
    raise ValueError(f"unknown layout {layout!r}")


@st.composite
def arrays(draw: st.DrawFn, shape: tuple[int, ...], kind: str = "any") -> np.ndarray:
    """A float64 array of ``shape`` with values of ``kind`` in a random memory layout."""
    seed = draw(st.integers(0, 2**32 - 1))
    layout = draw(st.sampled_from(LAYOUTS))
    return with_layout(make_values(np.random.default_rng(seed), shape, kind), layout)


def shapes(min_dims: int = 0, max_dims: int = 4, max_side: int = MAX_SIDE) -> st.SearchStrategy:
    """Shapes from 0-d to 4-d with sides 1..3 (size-1 sides included, they broadcast)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def broadcastable_pairs(max_dims: int = 4) -> st.SearchStrategy:
    """Two shapes that broadcast together (possibly of different ndim)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims, max_side=MAX_SIDE)


MATMUL_KINDS = ("vector @ vector", "vector @ batch", "batch @ vector", "layer", "batch @ batch")


@st.composite
def matmul_shapes(draw: st.DrawFn, kind: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes of numpy.matmul of one kind.

    layer: x of 2 to 4 dims @ a 2-D y (the common (..., n) @ (n, m) case);
    batch @ batch: batch axes on both sides that broadcast against each other (sizes 1 stretch);
    vector @ ... / ... @ vector: a 1-D operand, promoted to a row / a column.
    """
    n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    batch_x, batch_y = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=MAX_SIDE)
    ).input_shapes
    if kind == "vector @ vector":
        return (k,), (k,)
    if kind == "vector @ batch":
        return (k,), batch_y + (k, m)
    if kind == "batch @ vector":
        return batch_x + (n, k), (k,)
    if kind == "layer":
        return batch_x + (n, k), (k, m)
    if kind == "batch @ batch":
        return batch_x + (n, k), batch_y + (k, m)
    raise ValueError(f"unknown kind {kind!r}")


AXIS_KINDS = ("none", "int", "tuple")


@st.composite
def axes(draw: st.DrawFn, ndim: int, kind: str) -> int | tuple[int, ...] | None:
    """An ``axis`` argument for a reduction: None, one int or a tuple (any subset, possibly
    empty or all axes), negative axes included."""
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    picked = [a for a in range(ndim) if draw(st.booleans())]
    return tuple(a - ndim if draw(st.booleans()) else a for a in picked)


def upstream(shape: tuple[int, ...], seed: int = 1234) -> np.ndarray:
    """The fixed upstream gradient W of the loss sum(out * W): both signs, |W| in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    return (rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)).reshape(shape)


def graph_tensors(root: Tensor) -> list[Tensor]:
    """Every tensor of the graph that made ``root`` (iteratively, each once; after backward, the
    outline of a tensor that nothing else holds)."""
    seen: dict[int, Tensor] = {}
    outlines: dict = {}  # (viz.graph_node's: one outline per freed tensor)
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen[id(t)] = t
        if t._ctx is not None:
            stack.extend(viz.graph_node(p, outlines) for p in t._ctx.parents)
    return list(seen.values())


class BackwardSpy:
    """Context manager recording (output tensor, its gradient, the parent gradients) for every op
    that backward() visits, in order, through _GradMode.backward_hook."""

    def __enter__(self) -> BackwardSpy:
        self.calls: list[tuple[Tensor, np.ndarray, tuple]] = []
        self._previous = _GradMode.backward_hook
        _GradMode.backward_hook = lambda out, grad, parent_grads: self.calls.append((out, grad, parent_grads))
        return self

    def __exit__(self, *exc: object) -> None:
        _GradMode.backward_hook = self._previous


def _dtype_of(grad: object) -> np.dtype:
    return grad.dtype if isinstance(grad, IndexedGrad) else np.asarray(grad).dtype


def assert_float32_agrees(v32: np.ndarray, v64: np.ndarray, what: str) -> None:
    assert np.asarray(v32).dtype == np.float32, f"{what}: dtype {np.asarray(v32).dtype}, expected float32"
    scale = max(1.0, float(np.max(np.abs(v64), initial=0.0)))
    np.testing.assert_allclose(v32, v64, rtol=F32_TOL, atol=F32_TOL * scale, err_msg=what)


def check_gradients(
    fn: Callable[..., Tensor],
    inputs: Sequence[np.ndarray],
    *,
    check_float32: bool = True,
) -> Tensor:
    """The full check of an op (or a composite) ``fn(*tensors) -> Tensor`` on ``inputs``:

    1. float64: backward() of sum(fn(*x) * W) equals central differences (EPS, ATOL, RTOL above)
       for every input; each .grad has its input's shape and dtype.
    2. float32: the forward value and every gradient agree with float64 (F32_TOL), and every
       tensor of the graph, every gradient an op passes on, and every .grad is float32.
    Returns the float64 output.
    """
    x64 = [Tensor(a, requires_grad=True) for a in inputs]
    out = fn(*x64)
    assert isinstance(out, Tensor) and out.dtype == np.float64, f"float64 in, {out.dtype} out"
    w = upstream(out.shape)
    out.backward(w)
    for i, t in enumerate(x64):
        assert t.grad is not None, f"input {i} got no gradient"
        assert t.grad.shape == t.shape, f"input {i}: grad shape {t.grad.shape} != input shape {t.shape}"
        assert t.grad.dtype == np.float64
        numeric = numerical_grad(lambda *xs: fn(*xs) * w, x64, i, eps=EPS)
        np.testing.assert_allclose(
            t.grad, numeric, rtol=RTOL, atol=ATOL, err_msg=f"input {i}: analytic vs central differences"
        )
    if check_float32:
        x32 = [Tensor(np.asarray(a, dtype=np.float32), requires_grad=True) for a in inputs]
        out32 = fn(*x32)
        for t in graph_tensors(out32):
            name = t._ctx.name if t._ctx is not None else "input"
            assert t.dtype == np.float32, f"float32 graph: {name} produced {t.dtype}"
        assert_float32_agrees(out32.data, out.data, "forward value")
        with BackwardSpy() as spy:
            out32.backward(w.astype(np.float32))
        for op_out, grad, parent_grads in spy.calls:
            name = op_out._ctx.name
            assert _dtype_of(grad) == np.float32, f"{name}: incoming gradient is {_dtype_of(grad)}"
            for k, g in enumerate(parent_grads):
                if g is not None and op_out._ctx.needs_grad[k]:
                    assert _dtype_of(g) == np.float32, f"{name}: gradient for input {k} is {_dtype_of(g)}"
        for i, (t32, t64) in enumerate(zip(x32, x64)):
            assert_float32_agrees(t32.grad, t64.grad, f"gradient of input {i}")
    return out
