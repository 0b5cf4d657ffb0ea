"""Forward mode: every op's tangent rule against central differences and against reverse mode.

For an op (or composition) z = f(x_1, ..., x_n), a direction v = (v_1, ..., v_n) and a random
weight u of z's shape, jvp gives J v. Two independent checks, float64, for every op of ops.py
and fused.py, on random shapes, values and memory layouts (the strategies of the gradient tests):

* central differences along v: (f(x + eps v) - f(x - eps v)) / (2 eps), eps = 1e-6; an entry
  passes when |J v - fd| <= 1e-7 + 1e-6 |fd| (the bounds of tests/strategies.py, justified there:
  truncation ~1e-12, rounding ~1e-10 for these O(1) values kept away from kinks and poles).
* reverse mode: u . (J v) == (J^T u) . v, with J^T u from backward(). Both sides are the same
  sums of products grouped differently, so they agree to rounding: |lhs - rhs| <= 1e-12 * S,
  S = sum |u| |J v| + sum |J^T u| |v| (the size of the terms summed). A wrong rule (a missing
  term, a transposed or unlifted tangent) is off by O(1) relative to S.
"""

from __future__ import annotations

import gc
import inspect
import tracemalloc

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    AXIS_KINDS,
    MATMUL_KINDS,
    arrays,
    axes,
    broadcastable_pairs,
    make_values,
    matmul_shapes,
    shapes,
)
from test_ops_gradients import indices

import tinygrad_rnn
from tinygrad_rnn import Function, Tensor, concat, fused, grad, hessian, jacobian, jvp, nn, ops, stack, where
from tinygrad_rnn.forward_mode import RULES, NoForwardRuleError, batched_jvp, rule, unit_directions
from tinygrad_rnn.modes import tracing

EPS, ATOL, RTOL = 1e-6, 1e-7, 1e-6
ROUNDING = 1e-12


def ops_seen(fn, tensors):
    seen = set()
    with tracing(lambda op, parents, out, options: seen.add(type(op))):
        fn(*tensors)
    return seen


DIRECTIONS = 5  # pushed through together; larger than any side drawn, so a misaligned axis shows


def check_tangent(fn, inputs, op_class, seed=0):
    """The tangents of fn at inputs along DIRECTIONS random directions at once (batched_jvp),
    each against central differences and reverse mode; also that op_class really ran (so the
    case tests the rule it is named after)."""
    rng = np.random.default_rng(seed)
    directions = [rng.uniform(-1, 1, (DIRECTIONS, *np.shape(x))) for x in inputs]
    out, (tangents,) = batched_jvp(fn, tuple(inputs), tuple(directions))
    plain = fn(*[Tensor(x) for x in inputs])
    np.testing.assert_array_equal(out.data, plain.data)
    assert tangents.shape == (DIRECTIONS, *out.shape) and tangents.dtype == out.dtype
    assert op_class in ops_seen(fn, [Tensor(x) for x in inputs]), f"{op_class.__name__} did not run"

    u = rng.uniform(-1, 1, out.shape)
    leaves = [Tensor(x, requires_grad=True) for x in inputs]
    fn(*leaves).backward(u)
    for k, tangent in enumerate(tangents):
        v = [d[k] for d in directions]
        plus = fn(*[Tensor(x + EPS * d) for x, d in zip(inputs, v)]).data
        minus = fn(*[Tensor(x - EPS * d) for x, d in zip(inputs, v)]).data
        np.testing.assert_allclose(tangent, (plus - minus) / (2 * EPS), rtol=RTOL, atol=ATOL)

        lhs = float((u * tangent).sum())
        used = [(t.grad, d) for t, d in zip(leaves, v) if t.grad is not None]
        rhs = sum(float((g * d).sum()) for g, d in used)
        scale = float((np.abs(u * tangent)).sum()) + sum(float(np.abs(g * d).sum()) for g, d in used)
        assert abs(lhs - rhs) <= ROUNDING * scale, (k, lhs, rhs, scale)


# ---- one case per op: (op class, a strategy drawing (fn, inputs)) -------------------------------
BINARY = {
    ops.Add: (lambda x, y: x + y, "any", "any"),
    ops.Sub: (lambda x, y: x - y, "any", "any"),
    ops.Mul: (lambda x, y: x * y, "any", "any"),
    ops.Div: (lambda x, y: x / y, "any", "nonzero"),
    ops.Pow: (lambda x, y: x**y, "positive", "any"),
}
UNARY = {
    ops.Neg: (lambda x: -x, "any"),
    ops.Exp: (lambda x: x.exp(), "any"),
    ops.Log: (lambda x: x.log(), "positive"),
    ops.Tanh: (lambda x: x.tanh(), "any"),
    ops.Sigmoid: (lambda x: x.sigmoid(), "any"),
    ops.ReLU: (lambda x: x.relu(), "spaced"),
    ops.AsType: (lambda x: x.astype(np.float64), "any"),
}


@st.composite
def cases(draw, op_class):
    """(fn, inputs) exercising op_class on drawn shapes, values and layouts."""
    if op_class in BINARY:
        fn, left, right = BINARY[op_class]
        pair = draw(broadcastable_pairs())
        return fn, [draw(arrays(pair.input_shapes[0], left)), draw(arrays(pair.input_shapes[1], right))]
    if op_class in UNARY:
        fn, kind = UNARY[op_class]
        return fn, [draw(arrays(draw(shapes()), kind))]
    if op_class is ops.PowConst:
        p = draw(st.sampled_from([0, 1, 2, 3, 0.5, -1.5]))
        return (lambda x: x**p), [draw(arrays(draw(shapes()), "positive"))]
    if op_class is ops.MatMul:
        xs, ys = draw(matmul_shapes(draw(st.sampled_from(MATMUL_KINDS))))
        return (lambda x, y: x @ y), [draw(arrays(xs)), draw(arrays(ys))]
    if op_class in (ops.Softmax, ops.LogSoftmax):
        shape = draw(shapes(min_dims=1))
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        name = "softmax" if op_class is ops.Softmax else "log_softmax"
        return (lambda x: getattr(x, name)(axis)), [draw(arrays(shape)) * 3]
    if op_class is ops.Where:
        pair = draw(broadcastable_pairs())
        condition = draw(hnp.arrays(np.bool_, draw(hnp.broadcastable_shapes(pair.result_shape))))
        return (lambda x, y: where(condition, x, y)), [draw(arrays(s)) for s in pair.input_shapes]
    if op_class in (ops.Sum, ops.Max):
        shape = draw(shapes())
        axis = draw(axes(len(shape), draw(st.sampled_from(AXIS_KINDS)) if shape else "none"))
        keepdims = draw(st.booleans())
        name = "sum" if op_class is ops.Sum else "max"
        kind = "any" if op_class is ops.Sum else "spaced"  # max: no ties, so it is differentiable
        return (lambda x: getattr(x, name)(axis, keepdims)), [draw(arrays(shape, kind))]
    if op_class is ops.BroadcastTo:
        shape = draw(shapes())
        target = draw(hnp.broadcastable_shapes(shape, min_dims=len(shape)))
        target = np.broadcast_shapes(shape, target)
        return (lambda x: ops.BroadcastTo.apply(x, shape=target)), [draw(arrays(shape))]
    if op_class is ops.Reshape:
        shape = draw(shapes())
        new = draw(st.permutations(list(shape) + [1]))
        return (lambda x: x.reshape(*new)), [draw(arrays(shape))]
    if op_class is ops.Transpose:
        shape = draw(shapes())
        perm = draw(st.permutations(range(len(shape))))
        return (lambda x: x.transpose(*perm) if perm else x.T), [draw(arrays(shape))]
    if op_class is ops.Index:
        shape = draw(shapes())
        index = draw(indices(shape))
        return (lambda x: x[index]), [draw(arrays(shape))]
    if op_class is ops.Scatter:
        shape = draw(shapes(min_dims=1))
        index = draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=4)))
        picked = np.zeros(shape)[index].shape  # repeated positions are likely: they must add up
        return (lambda x: ops.Scatter.apply(x, index=index, shape=shape)), [draw(arrays(picked))]
    if op_class in (ops.Concat, ops.Stack):
        shape = draw(shapes(min_dims=1, max_dims=3))
        n = draw(st.integers(1, 3))
        axis = draw(st.integers(0, len(shape) - (op_class is ops.Concat)))
        join = concat if op_class is ops.Concat else stack
        return (lambda *xs: join(list(xs), axis=axis)), [draw(arrays(shape)) for _ in range(n)]
    if op_class in (fused.Affine, fused.TanhAffine):
        batch, n, m = draw(shapes(max_dims=2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        b_shape = draw(st.sampled_from([None, (m,), batch + (m,)]))
        inputs = [draw(arrays(batch + (n,))), draw(arrays((m, n)))]
        if b_shape is not None:
            inputs.append(draw(arrays(b_shape)))
        return (lambda *xs: op_class.apply(*xs)), inputs
    if op_class is fused.AffineGates:
        kinds = draw(st.lists(st.sampled_from(["sigmoid", "tanh"]), min_size=1, max_size=4))
        rows, n, h = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        inputs = [draw(arrays((rows, n))), draw(arrays((h * len(kinds), n))), draw(arrays((h * len(kinds),)))]
        return (lambda *xs: fused.AffineGates.apply(*xs, activations=tuple(kinds))), inputs
    raise AssertionError(f"no case for {op_class.__name__}")


def functions_in(module):
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Function)
        and cls.__module__ == module.__name__
        and not cls.__name__.startswith("_")
    ]


OPS = functions_in(ops) + functions_in(fused)


def test_every_op_has_a_rule_and_a_property_test():
    """The meta-test: an op added to ops.py (or fused.py) without a tangent rule fails here."""
    assert len(functions_in(ops)) >= 26 and len(functions_in(fused)) == 3
    assert [cls.__name__ for cls in OPS if cls not in RULES] == []
    for cls in OPS:  # each rule states its math on the first line, as the ops do
        first = RULES[cls].__doc__.splitlines()[0]
        assert ";  d" in first, f"{cls.__name__}'s rule: {first!r}"


@pytest.mark.parametrize("op_class", OPS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_rule_matches_central_differences_and_reverse_mode(op_class, data):
    fn, inputs = data.draw(cases(op_class), label="case")
    check_tangent(fn, inputs, op_class, seed=data.draw(st.integers(0, 2**16), label="direction seed"))


# ---- what jvp returns -------------------------------------------------------------------------------
def test_jvp_of_a_tuple_output_and_an_output_that_ignores_the_primals():
    x = np.array([0.3, -1.2, 2.0])
    constant = Tensor(np.ones(2))
    (y, c), (dy, dc) = jvp(lambda t: (t.tanh(), constant * 2), (x,), (np.array([1.0, 0.0, -2.0]),))
    np.testing.assert_allclose(dy.data, np.array([1.0, 0.0, -2.0]) / np.cosh(x) ** 2, rtol=1e-15)
    np.testing.assert_array_equal(dc.data, np.zeros(2))  # as torch.func.jvp: zeros, not None
    assert isinstance(dy, Tensor) and isinstance(y, Tensor) and c.shape == (2,)


def test_jvp_of_the_identity_returns_the_tangent_and_float32_stays_float32():
    v = np.array([1.5, -2.0], dtype=np.float32)
    out, tangent = jvp(lambda t: t, (np.zeros(2, np.float32),), (v,))
    np.testing.assert_array_equal(tangent.data, v)
    _, tangent = jvp(lambda t: (t * 3).sigmoid(), (np.zeros(2, np.float32),), (v,))
    assert tangent.dtype == np.float32
    np.testing.assert_allclose(tangent.data, v * 3 * 0.25, rtol=1e-7)  # sigmoid'(0) = 1/4


def test_primals_given_as_tensors_are_seeded_where_fn_reads_them():
    """A module's parameters as primals: fn may read them from the module, not its arguments."""
    layer = nn.Linear(3, 2, rng=0)
    x = np.array([[1.0, 2.0, -1.0]])
    v = np.arange(6.0).reshape(2, 3)
    _, tangent = jvp(lambda w: layer(x), (layer.weight,), (v,))
    np.testing.assert_allclose(tangent.data, x @ v.T, rtol=1e-15)


def test_batched_jvp_equals_one_jvp_per_direction():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    vx, vw = rng.normal(size=(6, 4, 3)), rng.normal(size=(6, 3, 5))

    def f(a, b):
        return ((a @ b).tanh().softmax(axis=0) * a.sum(axis=1, keepdims=True)).max(axis=1)

    _, (batched,) = batched_jvp(f, (x, w), (vx, vw))
    for k in range(6):
        _, single = jvp(f, (x, w), (vx[k], vw[k]))
        np.testing.assert_allclose(batched[k], single.data, rtol=1e-14, atol=1e-15)


# ---- Jacobian and Hessian ----------------------------------------------------------------------------
def numeric_jacobian(f, x):
    """d f / d x by central differences, (*out.shape, *x.shape)."""
    columns = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = EPS
        e = e.reshape(x.shape)
        columns.append((f(x + e) - f(x - e)) / (2 * EPS))
    stacked = np.array(columns).reshape(*x.shape, *np.shape(columns[0]))
    return np.moveaxis(stacked, range(x.ndim), range(-x.ndim, 0))


def test_jacobian_nesting_and_values_against_central_differences():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(2, 3)), rng.normal(size=(3,))

    def f(a, b):
        return (a @ b).tanh(), (a * b).log_softmax(axis=1)

    J = jacobian(f, (x, w))
    assert [[j.shape for j in row] for row in J] == [[(2, 2, 3), (2, 3)], [(2, 3, 2, 3), (2, 3, 3)]]
    for k in range(2):
        by_x = numeric_jacobian(lambda a, k=k: f(Tensor(a), w)[k].data, x)
        by_w = numeric_jacobian(lambda b, k=k: f(x, Tensor(b))[k].data, w)
        np.testing.assert_allclose(J[k][0], by_x, atol=ATOL)
        np.testing.assert_allclose(J[k][1], by_w, atol=ATOL)
    single = jacobian(lambda a: a.exp(), Tensor(w))  # one Tensor in, one out: a bare array
    np.testing.assert_allclose(single, np.diag(np.exp(w)), rtol=1e-15)


def test_jacobian_in_chunks_equals_one_pass(monkeypatch):
    from tinygrad_rnn import forward_mode

    x = np.random.default_rng(3).normal(size=(3, 4))
    whole = jacobian(lambda a: (a @ a.T).tanh(), x)
    monkeypatch.setattr(forward_mode, "_CHUNK_ENTRIES", 20)  # 20 // 12 = 1 direction per pass
    np.testing.assert_array_equal(jacobian(lambda a: (a @ a.T).tanh(), x), whole)


@pytest.mark.parametrize("join", [concat, stack], ids=["concat", "stack"])
def test_joining_a_constant_in_float32_makes_float32_zeros_for_its_tangent(join):
    """concat/stack of x (K directions) with a constant c: c's tangent block is zeros, made in the
    output's dtype. In float32 (unit: K * n * 4 bytes) the pass needs that block (1 unit) and the
    output tangent (2 units), about 3; float64 zeros would make a float64 join (4 units) to be
    cast back (2 more), about 6. The values: x's directions over c's zeros."""
    K, n = 64, 4000
    x, c = Tensor(np.ones(n, dtype=np.float32)), Tensor(np.full(n, 2.0, dtype=np.float32))
    directions = np.ones((K, n), dtype=np.float32)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _, (tangent,) = batched_jvp(lambda a: join([a, c]), (x,), (directions,))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert tangent.dtype == np.float32
    np.testing.assert_array_equal(tangent.reshape(K, 2 * n), np.repeat([[1.0] * n + [0.0] * n], K, axis=0))
    assert peak <= 3.5 * K * n * 4, peak / (K * n * 4)


def test_jacobian_leaves_the_callers_tensor_alone_when_fn_writes_into_its_argument():
    """jacobian hands fn fresh input Tensors of its own: an fn that adds 1 to its argument in place
    (allowed: the fresh input does not require grad) changes only jacobian's copy, never the
    caller's Tensor. The result is that of (x + 1)^2 at x = [1, 2]: diag(2 (x + 1)) = diag(4, 6)."""

    def square_after_adding_one_in_place(x):
        x += 1.0
        return x * x

    t = Tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(jacobian(square_after_adding_one_in_place, t), [[4.0, 0.0], [0.0, 6.0]])
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def loss_of(x, w):
    """A scalar that runs many ops, forward and (for the Hessian) in its recorded backward."""
    z = (x @ w).tanh() * x.sum(axis=1, keepdims=True).sigmoid()
    return z.softmax(axis=0).log().max(axis=1).sum() + (w**3).sum() / concat([x, x], axis=0).exp().mean()


def test_hessian_is_the_jacobian_of_the_gradient_by_central_differences():
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))

    def gradient_of(a, b):
        leaves = [Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)]
        return [g for g in grad(loss_of(*leaves), leaves)]

    H = hessian(loss_of, (x, w))
    shapes = [[h.shape for h in row] for row in H]
    assert shapes == [[(2, 3, 2, 3), (2, 3, 3, 2)], [(3, 2, 2, 3), (3, 2, 3, 2)]]
    for i in range(2):
        by_x = numeric_jacobian(lambda a, i=i: gradient_of(a, w)[i], x)
        by_w = numeric_jacobian(lambda b, i=i: gradient_of(x, b)[i], w)
        np.testing.assert_allclose(H[i][0], by_x, atol=ATOL)
        np.testing.assert_allclose(H[i][1], by_w, atol=ATOL)
    # symmetric: d2L/dx dw is the transpose of d2L/dw dx, to rounding
    np.testing.assert_allclose(H[0][1], np.transpose(H[1][0], (2, 3, 0, 1)), rtol=1e-12, atol=1e-14)


def test_hessian_of_a_quadratic_is_exact_and_of_a_linear_function_zero():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_array_equal(hessian(lambda x: (x @ (A @ x)) * 0.5, np.array([0.3, -0.7])), A)
    np.testing.assert_array_equal(hessian(lambda x: (x * 4.0).sum(), np.ones(3)), np.zeros((3, 3)))
    np.testing.assert_array_equal(hessian(lambda x: Tensor(2.0), np.ones(2)), np.zeros((2, 2)))


# ---- errors -------------------------------------------------------------------------------------------
class Cube(Function):
    """A learner's op: y = x**3;  dL/dx = 3 x**2 g (no forward rule)."""

    def forward(self, x):
        return x**3

    def backward(self, g):
        (x,) = self.inputs
        return 3 * x * x * g


def test_a_function_without_a_rule_is_a_named_error_and_a_registered_rule_is_used():
    with pytest.raises(NoForwardRuleError, match=r"Cube has no forward-mode rule.*rule\(Cube\)"):
        jvp(lambda x: Cube.apply(x), (np.ones(2),), (np.ones(2),))
    # an op that no tangent reaches needs no rule
    _, dy = jvp(lambda x: x * Cube.apply(Tensor(np.full(2, 2.0))), (np.ones(2),), (np.ones(2),))
    np.testing.assert_array_equal(dy.data, [8.0, 8.0])
    try:
        rule(Cube)(lambda op, x, y, dx: dx * (3 * x * x))
        _, dy = jvp(lambda x: Cube.apply(x), (np.array([2.0]),), (np.array([0.5]),))
        np.testing.assert_array_equal(dy.data, [6.0])  # 3 * 2**2 * 0.5
    finally:
        del RULES[Cube]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: jvp(lambda x: x, np.ones(2), (np.ones(2),)), TypeError, "primals must be a tuple"),
        (lambda: jvp(lambda x: x, (np.ones(2),), (np.ones(3),)), ValueError, r"tangent 0 has shape \(3,\)"),
        (lambda: jvp(lambda x, y: x, (np.ones(2), np.ones(2)), (np.ones(2),)), ValueError, "one tangent"),
        (lambda: jvp(lambda x: x.data, (np.ones(2),), (np.ones(2),)), TypeError, "must return a Tensor"),
        (lambda: hessian(lambda x: x * 2, np.ones(2)), ValueError, r"one element, got shape \(2,\)"),
        (lambda: jacobian(lambda: None, ()), ValueError, "inputs is empty"),
        (lambda: jvp(lambda: Tensor(1.0), (), ()), ValueError, "primals is empty"),
    ],
)
def test_bad_calls_are_named_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_same_tensor_twice_and_jvp_inside_jvp_are_refused():
    t = Tensor(np.ones(2))
    with pytest.raises(ValueError, match="same Tensor appears twice"):
        jvp(lambda a, b: a * b, (t, t), (np.ones(2), np.ones(2)))
    with pytest.raises(RuntimeError, match="inside another jvp.*hessian"):
        jvp(lambda x: jvp(lambda y: y * x, (np.ones(2),), (np.ones(2),))[0], (np.ones(2),), (np.ones(2),))


def test_exported_from_the_package():
    assert tinygrad_rnn.jvp is jvp and tinygrad_rnn.jacobian is jacobian and tinygrad_rnn.hessian is hessian


NEGATIVE_AXES = {
    "softmax": (ops.Softmax, lambda t: ops.Softmax.apply(t, axis=-1)),
    "log_softmax": (ops.LogSoftmax, lambda t: ops.LogSoftmax.apply(t, axis=-2)),
    "max": (ops.Max, lambda t: ops.Max.apply(t, axis=(-2,), keepdims=True)),
}


@pytest.mark.parametrize("name", NEGATIVE_AXES)
def test_ops_applied_with_negative_axes(name):
    """The Tensor methods pass normalised axes, but softmax, log_softmax and max may also be applied
    directly with negative ones (their backward takes them), which count from the end in the
    tangent too (its axis 0 being the directions)."""
    op_class, apply = NEGATIVE_AXES[name]
    check_tangent(apply, [make_values(np.random.default_rng(6), (2, 3, 4), "spaced")], op_class, seed=7)


# ---- cases the mutation tests found unchecked ------------------------------------------------------
def test_zero_tangent_reads_as_zero():
    from tinygrad_rnn.forward_mode import ZERO

    assert repr(ZERO) == "ZERO"


@pytest.mark.parametrize("join", [concat, stack])
def test_a_constant_operand_of_concat_or_stack_contributes_a_zero_tangent(join):
    """Only x moves: the constant's block of the tangent is 0 (a dense zero block of its shape)."""
    c = Tensor(np.array([[5.0, 6.0]]))
    x, v = np.array([[1.0, 2.0]]), np.array([[0.5, -1.5]])
    out, tangent = jvp(lambda x: join([c, x], axis=0), (x,), (v,))
    np.testing.assert_array_equal(out.data, join([c, Tensor(x)], axis=0).data)
    expected = np.concatenate([np.zeros((1, 2)), v]) if join is concat else np.stack([np.zeros((1, 2)), v])
    np.testing.assert_array_equal(tangent.data, expected)


def test_float32_tangents_stay_float32_through_an_op_whose_rule_computes_in_float64():
    """Max's rule multiplies by its float64 share of the maxima: the tangent is still the output's dtype,
    as every backward's gradient is its input's."""
    x = np.array([[1.0, 4.0], [3.0, 2.0]], dtype=np.float32)
    _, tangent = jvp(lambda t: t.max(axis=0), (x,), (np.array([[1.0, 2.0], [3.0, 4.0]], np.float32),))
    assert tangent.dtype == np.float32
    np.testing.assert_array_equal(tangent.data, [3.0, 2.0])  # the moves of the maxima: x[1, 0], x[0, 1]


def test_tangents_given_as_tensors_lists_or_numbers():
    x = np.array([1.0, 2.0])
    _, by_tensor = jvp(lambda t: t * t, (x,), (Tensor(np.array([1.0, -1.0])),))
    _, by_list = jvp(lambda t: t * t, (x,), ([1.0, -1.0],))
    np.testing.assert_array_equal(by_tensor.data, [2.0, -4.0])  # d(x^2) = 2 x dx
    np.testing.assert_array_equal(by_list.data, [2.0, -4.0])
    _, by_number = jvp(lambda t: t * 3.0, (np.array(2.0),), (0.5,))
    assert by_number.item() == 1.5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: jvp(lambda x: (x, 1.0), (np.ones(2),), (np.ones(2),)), "jvp: fn must return .*got tuple"),
        (lambda: jvp(lambda x: np.ones(2), (np.ones(2),), (np.ones(2),)), "jvp: fn must .*got ndarray"),
        (lambda: jacobian(lambda x: [x, 2.0], np.ones(2)), "jacobian: fn must return .*got list"),
    ],
)
def test_a_result_that_is_not_tensors_names_the_caller_and_the_type(call, message):
    """(jacobian runs fn through jvp, yet the error names the function the user called.)"""
    with pytest.raises(TypeError, match=message):
        call()


@pytest.mark.parametrize("caller", [jacobian, hessian])
def test_empty_inputs_name_the_caller(caller):
    with pytest.raises(ValueError, match=f"^{caller.__name__}: inputs is empty"):
        caller(lambda: Tensor(1.0), ())


def test_hessian_refuses_a_python_number_naming_its_type():
    with pytest.raises(ValueError, match="hessian: fn must return a Tensor with one element, got float"):
        hessian(lambda x: 1.0, np.ones(2))


def test_unit_directions_are_the_identity_in_the_asked_dtype_and_range():
    first, second = unit_directions([(2,), (1, 2)], np.float32)
    assert first.dtype == second.dtype == np.float32
    np.testing.assert_array_equal(np.concatenate([first, second.reshape(4, 2)], axis=1), np.eye(4))
    part, _ = unit_directions([(2,), (1, 2)], start=1, stop=3)
    np.testing.assert_array_equal(part, [[0.0, 1.0], [0.0, 0.0]])  # directions 1 and 2: entry 1 of the first


class Probe(Function):
    """y = x, with a forward rule that notes how many directions each pass pushes through."""

    passes: list[int] = []

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def test_jacobian_pushes_every_direction_in_one_pass_or_in_chunks_of_the_cap(monkeypatch):
    """All directions go through fn together; a pass holds at most _CHUNK_ENTRIES basis entries,
    so with n = 12 input entries a cap of 20 allows 1 direction per pass and a cap of 30 allows 2."""
    from tinygrad_rnn import forward_mode

    Probe.passes = []
    monkeypatch.setitem(RULES, Probe, lambda op, x, y, dx: (Probe.passes.append(len(dx)), dx)[1])
    x = np.arange(12.0).reshape(3, 4)
    whole = jacobian(lambda a: Probe.apply(a).tanh(), x)
    assert Probe.passes == [12]
    for cap, per_pass in [(20, 1), (30, 2)]:
        Probe.passes = []
        monkeypatch.setattr(forward_mode, "_CHUNK_ENTRIES", cap)
        np.testing.assert_array_equal(jacobian(lambda a: Probe.apply(a).tanh(), x), whole)
        assert Probe.passes == [per_pass] * (12 // per_pass)


def test_jacobian_and_hessian_of_inputs_with_no_entries(monkeypatch):
    """No direction at all: fn still runs once (with 0 directions) for its outputs' shapes; the
    blocks are empty, and a result that is not Tensors is still named jacobian's error."""
    Probe.passes = []
    monkeypatch.setitem(RULES, Probe, lambda op, x, y, dx: (Probe.passes.append(len(dx)), dx)[1])
    J = jacobian(lambda a: (Probe.apply(a) * 2).sum() + 1.0, np.zeros((0, 3)))
    assert J.shape == (0, 3) and J.dtype == np.float64 and Probe.passes == [0]
    H = hessian(lambda a: (a * a).sum(), np.zeros(0))
    assert H.shape == (0, 0)
    with pytest.raises(TypeError, match="^jacobian: fn must return a Tensor"):
        jacobian(lambda a: 1.0, np.zeros(0))


def test_hessian_of_an_input_the_function_does_not_use_is_zero_in_its_dtype():
    x, y = np.array([1.0, 2.0], np.float32), np.array([3.0], np.float32)
    H = hessian(lambda a, b: (a * a * a).sum(), (x, y))
    np.testing.assert_array_equal(H[0][0], np.diag(6 * x))  # d2/dx2 sum x^3 = diag(6 x)
    for block, shape in [(H[0][1], (2, 1)), (H[1][0], (1, 2)), (H[1][1], (1, 1))]:
        np.testing.assert_array_equal(block, np.zeros(shape))
    assert {block.dtype for row in H for block in row} == {np.dtype(np.float32)}
    constant = hessian(lambda a: Tensor(np.float32(2.0)), x)  # fn ignores its input altogether
    assert constant.dtype == np.float32 and not constant.any()


def test_a_tangent_is_freed_with_its_tensor():
    """Forward mode holds no graph: once a value dies inside fn, so does its tangent."""
    x = np.ones(100_000)  # 800 kB a value or a tangent
    held = {}

    def f(t):
        parts = [t * float(k) for k in range(10)]
        out = parts[0].sum()
        del parts  # 10 values and their 10 tangents die here
        gc.collect()
        held["after"] = tracemalloc.get_traced_memory()[0]
        return out

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        jvp(f, (x,), (x,))
    finally:
        tracemalloc.stop()
    assert held["after"] - before < 4 * x.nbytes  # x's copy and its tangent, not 10 more tangents


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: jvp(lambda x: x, np.ones(2), (np.ones(2),)), TypeError, "^jvp: primals must be a tuple"),
        (lambda: batched_jvp(lambda x: x, (np.array(1.0),), (np.array(2.0),)), ValueError,
         r"^jvp: tangent 0 has shape \(\) per direction"),  # no axis of directions: a named error
    ],
)
def test_argument_errors_name_jvp(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_same_tensor_twice_names_jvp():
    t = Tensor(np.ones(2))
    with pytest.raises(ValueError, match="^jvp: the same Tensor appears twice in primals"):
        jvp(lambda a, b: a * b, (t, t), (np.ones(2), np.ones(2)))


def test_batched_tangents_given_as_nested_lists():
    _, (tangent,) = batched_jvp(lambda t: t * 2.0, (np.array([1.0, 2.0]),), ([[1.0, 0.0], [0.0, 1.0]],))
    np.testing.assert_array_equal(tangent, [[2.0, 0.0], [0.0, 2.0]])


def test_a_tangent_is_cast_to_its_primals_dtype():
    """A float64 tangent for a float32 primal moves it in float32, also when fn returns the primal."""
    v = np.array([0.1, -2.0])
    _, tangent = jvp(lambda t: t, (np.zeros(2, np.float32),), (v,))
    assert tangent.dtype == np.float32
    np.testing.assert_array_equal(tangent.data, v.astype(np.float32))


def test_the_given_tangents_are_not_copied():
    """RTRL pushes its |theta| x |theta| directions through every step: batched_jvp reads the tangents
    it is given, it does not copy them (peak memory well below one tangent's size)."""
    x, v = np.ones(1000), np.ones((200, 1000))  # v: 1.6 MB
    gc.collect()
    tracemalloc.start()
    try:
        _, (tangent,) = batched_jvp(lambda t: t.sum(), (x,), (v,))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(tangent, np.full(200, 1000.0))
    assert peak < v.nbytes / 2, peak
