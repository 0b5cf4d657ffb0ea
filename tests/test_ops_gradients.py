"""Every op's gradient against central differences, on random shapes, values and memory layouts.

Each test draws shapes (0-d to 4-d, size-1 sides, broadcasting pairs), values kept away from the
op's singularities and kinks, and inputs that are often non-contiguous views; check_gradients
(tests/strategies.py, where the tolerances are stated and justified) then compares the float64
gradient of sum(op(...) * W) with central differences and the float32 run with the float64 one.
"""

from __future__ import annotations

import operator
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import (
    AXIS_KINDS,
    MATMUL_KINDS,
    arrays,
    axes,
    broadcastable_pairs,
    check_gradients,
    make_values,
    matmul_shapes,
    shapes,
)

from tinygrad_rnn import Tensor, concat, stack
from tinygrad_rnn.viz import trace_backward

# ---- binary arithmetic ---------------------------------------------------------------------------
# name -> (operator, value kind of the left operand, value kind of the right operand)
BINARY = {
    "add": (operator.add, "any", "any"),
    "sub": (operator.sub, "any", "any"),
    "mul": (operator.mul, "any", "any"),
    "div": (operator.truediv, "any", "nonzero"),
    "pow": (operator.pow, "positive", "any"),  # Tensor ** Tensor: base > 0 so d/dy = z log x exists
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data(), pair=broadcastable_pairs())
def test_binary_op_tensor_with_tensor(name, data, pair):
    op, left_kind, right_kind = BINARY[name]
    x = data.draw(arrays(pair.input_shapes[0], left_kind), label="x")
    y = data.draw(arrays(pair.input_shapes[1], right_kind), label="y")
    out = check_gradients(op, [x, y])
    assert out.shape == pair.result_shape


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("constant_type", ["ndarray", "scalar"])
@pytest.mark.parametrize("tensor_side", ["left", "right"])
@given(data=st.data(), pair=broadcastable_pairs(max_dims=3))
def test_binary_op_with_constant(name, constant_type, tensor_side, data, pair):
    """Tensor op constant and constant op Tensor (numpy array or python float) on either side."""
    op, left_kind, right_kind = BINARY[name]
    x_kind, c_kind = (left_kind, right_kind) if tensor_side == "left" else (right_kind, left_kind)
    x = data.draw(arrays(pair.input_shapes[0], x_kind), label="x")
    c = data.draw(arrays(pair.input_shapes[1] if constant_type == "ndarray" else (), c_kind), label="c")
    if constant_type == "scalar":
        c = float(c)

    def fn(t):
        result = op(t, c) if tensor_side == "left" else op(c, t)
        assert isinstance(result, Tensor), f"{type(c).__name__} {name} Tensor gave {type(result).__name__}"
        return result

    check_gradients(fn, [x])


# ---- pow with a constant exponent, and a number raised to a Tensor ---------------------------------
@given(
    data=st.data(),
    shape=shapes(),
    exponent=st.sampled_from([2, 3, -1, -2, 0, 1, 0.5, -0.5, 1.7, -1.3, 2.5]),
    exponent_type=st.sampled_from([int, float, np.float64]),
)
def test_pow_constant_exponent(data, shape, exponent, exponent_type):
    """x ** p; integer p allows negative bases, a fractional p needs x > 0."""
    kind = "nonzero" if float(exponent).is_integer() else "positive"
    if exponent_type is int and not float(exponent).is_integer():
        exponent_type = float
    x = data.draw(arrays(shape, kind), label="x")
    p = exponent_type(exponent)
    out = check_gradients(lambda t: t**p, [x])
    np.testing.assert_allclose(out.data, x**p, rtol=1e-15)


@given(data=st.data(), shape=shapes(), base=st.floats(0.5, 3.0))
def test_pow_number_base_tensor_exponent(data, shape, base):
    """python float ** Tensor: d/dy b**y = b**y log b."""
    y = data.draw(arrays(shape, "any"), label="y")
    check_gradients(lambda t: base**t, [y])


@given(data=st.data(), shape=shapes())
def test_pow_zero_dim_array_exponent(data, shape):
    """A 0-d numpy array exponent goes through the Tensor-exponent path."""
    x = data.draw(arrays(shape, "positive"), label="x")
    check_gradients(lambda t: t ** np.array(1.5), [x])


def test_pow_gradient_in_the_exponent_is_zero_at_a_zero_base_and_nan_below():
    """d(x**y)/dy = x**y log x needs x > 0. At x = 0, 0**y = 0 for every y > 0, so the derivative
    is 0 (PyTorch gives 0 too); at x < 0 log x is undefined: nan, as PyTorch (the engine once gave 0,
    a silently wrong number: (-2)**y is not differentiable in y). x = 2 has 4 log 2."""
    x = Tensor(np.array([0.0, -2.0, 2.0]))
    y = Tensor(np.array([2.0, 2.0, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a log(0) on the way would say "divide by zero"
        (x**y).sum().backward()
    assert y.grad[0] == 0.0 and np.isnan(y.grad[1])
    np.testing.assert_allclose(y.grad[2], 4 * np.log(2.0), rtol=1e-15)


def test_pow_with_a_constant_base_forms_no_gradient_for_the_base():
    """0 ** y with y = 0.5 learned: the base's gradient y * 0 ** (y - 1) would divide by zero,
    and the base needs none, so backward must not form it (no RuntimeWarning)."""
    x = Tensor(np.array([0.0, 4.0]))
    y = Tensor(np.array([0.5, 0.5]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x**y).sum().backward()
    np.testing.assert_allclose(y.grad, [0.0, 2 * np.log(4.0)], rtol=1e-15, atol=0)


def test_pow_with_a_list_exponent_is_elementwise():
    """A list is not a number: it goes through the Tensor-exponent path, entry by entry."""
    x = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    z = x ** [3.0, 2.0]
    np.testing.assert_array_equal(z.data, [8.0, 9.0])
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [12.0, 6.0])  # p x**(p-1): 3 * 4, 2 * 3


# ---- unary ops -----------------------------------------------------------------------------------
UNARY = {
    "neg": (operator.neg, "any"),
    "exp": (Tensor.exp, "any"),
    "log": (Tensor.log, "positive"),
    "tanh": (Tensor.tanh, "any"),
    "sigmoid": (Tensor.sigmoid, "any"),
    "relu": (Tensor.relu, "spaced"),  # no entry within 0.1 of the kink at 0
}
UNARY_REFERENCE = {
    "neg": lambda x: -x,
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.where(x > 0, x, 0.0),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data(), shape=shapes())
def test_unary_op(name, data, shape):
    op, kind = UNARY[name]
    x = data.draw(arrays(shape, kind), label="x")
    out = check_gradients(op, [x])
    np.testing.assert_allclose(out.data, UNARY_REFERENCE[name](x), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data(), shape=shapes(min_dims=1))
def test_softmax_and_log_softmax(name, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    x = data.draw(arrays(shape, "any"), label="x")
    out = check_gradients(lambda t: getattr(t, name)(axis=axis), [x])
    e = np.exp(x)
    reference = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(out.data, reference if name == "softmax" else np.log(reference), rtol=1e-13)


# ---- reductions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis_kind", AXIS_KINDS)
@given(data=st.data(), keepdims=st.booleans())
def test_reductions(name, axis_kind, data, keepdims):
    shape = data.draw(shapes(min_dims=1 if axis_kind == "int" else 0), label="shape")
    axis = data.draw(axes(len(shape), axis_kind), label="axis")
    # max: all entries at least 0.03 apart, so the winner is unique and stays so under +-eps.
    x = data.draw(arrays(shape, "spaced" if name == "max" else "any"), label="x")
    out = check_gradients(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), [x])
    reference = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    assert out.shape == reference.shape
    np.testing.assert_allclose(out.data, reference, rtol=1e-14)


@st.composite
def multi_axis_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A 2-d to 4-d shape and two or more distinct axes of it (negative ones too)."""
    shape = draw(shapes(min_dims=2, max_dims=4))
    picked = draw(st.lists(st.integers(0, len(shape) - 1), min_size=2, max_size=len(shape), unique=True))
    return shape, tuple(a - len(shape) if draw(st.booleans()) else a for a in picked)


# Explicit examples, so that the kills do not rest on one draw: sides 2, 3, 4 make the divisor of
# a mean over axes (0, 2) 8, which differs from every single side, from the size 24, and from the
# sides of the other axes.
@given(case=multi_axis_cases(), keepdims=st.booleans(), seed=st.integers(0, 2**32 - 1))
@example(case=((2, 3, 4), (0, 2)), keepdims=False, seed=0)
@example(case=((2, 3, 4), (-1, 0)), keepdims=True, seed=1)
@example(case=((3, 2, 2, 5), (1, 3)), keepdims=False, seed=2)
def test_mean_over_several_axes_divides_by_their_product(case, keepdims, seed):
    shape, axis = case
    x = make_values(np.random.default_rng(seed), shape, "any")
    out = check_gradients(lambda t: t.mean(axis=axis, keepdims=keepdims), [x])
    np.testing.assert_allclose(out.data, np.mean(x, axis=axis, keepdims=keepdims), rtol=1e-14, atol=1e-15)
    t = Tensor(x, requires_grad=True)
    t.mean(axis=axis).sum().backward()
    count = int(np.prod([shape[a] for a in axis]))
    np.testing.assert_allclose(t.grad, np.full(shape, 1 / count), rtol=1e-15)


# ---- shape ops -----------------------------------------------------------------------------------
@st.composite
def reshape_targets(draw: st.DrawFn, size: int) -> tuple[int, ...]:
    """A shape of ``size`` entries: its prime factors dealt into up to 4 axes, 1s inserted,
    and sometimes one axis written as -1."""
    factors, n, p = [], size, 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    ndim = draw(st.integers(1 if factors else 0, 4))
    target = [1] * ndim
    for f in factors:
        target[draw(st.integers(0, ndim - 1))] *= f
    if ndim and draw(st.booleans()):
        target[draw(st.integers(0, ndim - 1))] = -1
    return tuple(target)


@given(data=st.data(), shape=shapes(), as_varargs=st.booleans())
def test_reshape(data, shape, as_varargs):
    target = data.draw(reshape_targets(int(np.prod(shape))), label="target")
    x = data.draw(arrays(shape, "any"), label="x")
    out = check_gradients(lambda t: t.reshape(*target) if as_varargs else t.reshape(target), [x])
    np.testing.assert_array_equal(out.data, x.reshape(target))


@given(data=st.data(), shape=shapes())
def test_transpose(data, shape):
    ndim = len(shape)
    style = data.draw(st.sampled_from(["axes", "tuple", "no-args", ".T"]), label="style")
    perm = data.draw(st.permutations(range(ndim)), label="perm")
    perm = tuple(a - ndim if data.draw(st.booleans()) else a for a in perm)  # negative axes too
    x = data.draw(arrays(shape, "any"), label="x")
    call = {
        "axes": lambda t: t.transpose(*perm),
        "tuple": lambda t: t.transpose(perm),
        "no-args": lambda t: t.transpose(),
        ".T": lambda t: t.T,
    }[style]
    out = check_gradients(call, [x])
    expected = x.transpose(perm) if style in ("axes", "tuple") else x.T
    np.testing.assert_array_equal(out.data, expected)


# A permutation that is not its own inverse: its backward must apply argsort(perm), not perm.
# (1, 2, 0) on sides 2, 3, 4 changes the shape; on equal sides only the values tell.
@given(
    shape_and_perm=st.integers(1, 4).flatmap(
        lambda n: st.tuples(shapes(min_dims=n, max_dims=n), st.permutations(range(n)))
    ),
    seed=st.integers(0, 2**32 - 1),
)
@example(shape_and_perm=((2, 3, 4), [1, 2, 0]), seed=0)
@example(shape_and_perm=((2, 2, 2), [2, 0, 1]), seed=1)
@example(shape_and_perm=((3, 1, 2, 2), [3, 0, 1, 2]), seed=2)
def test_transpose_backward_applies_the_inverse_permutation(shape_and_perm, seed):
    shape, perm = shape_and_perm
    x = make_values(np.random.default_rng(seed), tuple(shape), "any")
    out = check_gradients(lambda t: t.transpose(perm), [x])
    np.testing.assert_array_equal(out.data, x.transpose(perm))
    t = Tensor(x, requires_grad=True)
    w = np.random.default_rng(seed + 1).standard_normal(out.shape)
    (t.transpose(perm) * w).sum().backward()
    np.testing.assert_array_equal(t.grad, w.transpose(np.argsort(perm)))


# ---- indexing ------------------------------------------------------------------------------------
@st.composite
def indices(draw: st.DrawFn, shape: tuple[int, ...]) -> object:
    """An index of every supported kind for an array of ``shape``."""
    kinds = ["basic"]
    if shape:
        kinds += ["integer arrays", "boolean mask", "list", "boolean list"]
    if len(shape) >= 2:
        kinds += ["slice and integer array"]
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":  # ints (negative too), slices (steps, reversed), None, Ellipsis
        return draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    result_shape = hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)
    if kind == "integer arrays":  # repeated entries are likely: their gradients must add up
        return draw(hnp.integer_array_indices(shape, result_shape=result_shape))
    if kind == "boolean mask":  # a mask over the leading k axes
        k = draw(st.integers(1, len(shape)))
        return draw(hnp.arrays(np.bool_, shape[:k]))
    rows = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5))
    if kind == "list":
        return rows
    if kind == "boolean list":  # a list of bools is a mask, as in numpy
        return draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0]))
    columns = draw(hnp.arrays(np.intp, draw(result_shape), elements=st.integers(0, shape[1] - 1)))
    return (slice(None, None, draw(st.sampled_from([1, -1, 2]))), columns)


@given(data=st.data(), shape=shapes())
def test_indexing(data, shape):
    index = data.draw(indices(shape), label="index")
    x = data.draw(arrays(shape, "any"), label="x")
    out = check_gradients(lambda t: t[index], [x])
    np.testing.assert_array_equal(out.data, x[np.asarray(index) if isinstance(index, list) else index])


@given(data=st.data(), n=st.integers(1, 3), shape=shapes(min_dims=1, max_dims=3))
def test_concat(data, n, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n), label="sizes")
    parts = []
    for size in sizes:
        part_shape = list(shape)
        part_shape[axis] = size
        parts.append(data.draw(arrays(tuple(part_shape), "any")))
    out = check_gradients(lambda *ts: concat(list(ts), axis=axis), parts)
    np.testing.assert_array_equal(out.data, np.concatenate(parts, axis=axis))


@given(data=st.data(), n=st.integers(1, 3), shape=shapes(max_dims=3))
def test_stack(data, n, shape):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    parts = [data.draw(arrays(shape, "any")) for _ in range(n)]
    out = check_gradients(lambda *ts: stack(ts, axis=axis), parts)
    np.testing.assert_array_equal(out.data, np.stack(parts, axis=axis))


# ---- matmul --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", MATMUL_KINDS)
@given(data=st.data())
def test_matmul(kind, data):
    """1-D @ 1-D, 1-D @ N-D, N-D @ 1-D, N-D @ 2-D and batched, with broadcasting batch axes."""
    x_shape, y_shape = data.draw(matmul_shapes(kind), label="shapes")
    x = data.draw(arrays(x_shape, "any"), label="x")
    y = data.draw(arrays(y_shape, "any"), label="y")
    out = check_gradients(operator.matmul, [x, y])
    np.testing.assert_allclose(out.data, np.matmul(x, y), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("tensor_side", ["left", "right"])
@given(data=st.data(), kind=st.sampled_from(MATMUL_KINDS))
def test_matmul_with_ndarray(tensor_side, data, kind):
    x_shape, y_shape = data.draw(matmul_shapes(kind), label="shapes")
    x = data.draw(arrays(x_shape, "any"), label="x")
    y = data.draw(arrays(y_shape, "any"), label="y")
    if tensor_side == "left":
        check_gradients(lambda t: t @ y, [x])
    else:
        check_gradients(lambda t: x @ t, [y])


# operand shapes reaching each branch of MatMul.backward: (..., n) @ (n, m) folds rows; 1-D does not
UNNEEDED_OPERAND = {
    "2-D @ 2-D, constant left": ((2, 3), (3, 2), "right"),
    "2-D @ 2-D, constant right": ((2, 3), (3, 2), "left"),
    "1-D @ 2-D, constant left": ((3,), (3, 2), "right"),
    "2-D @ 1-D, constant right": ((2, 3), (3,), "left"),
}


@pytest.mark.parametrize("case", UNNEEDED_OPERAND)
def test_matmul_backward_forms_no_gradient_for_a_constant_operand(case):
    """The learned operand holds 1e300, the constant 1e-300, and the loss is scaled by 1e10: the
    wanted gradient (constant * 1e10) is about 1e-290, while the unwanted one (learned * 1e10)
    would overflow with a RuntimeWarning. Backward must form only the gradient that is needed."""
    x_shape, y_shape, learned = UNNEEDED_OPERAND[case]
    big, tiny = 1e300, 1e-300
    x = Tensor(np.full(x_shape, big if learned == "left" else tiny), requires_grad=learned == "left")
    y = Tensor(np.full(y_shape, big if learned == "right" else tiny), requires_grad=learned == "right")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ((x @ y).sum() * 1e10).backward()
    # d/dx_ik of sum_ij x_ik y_kj = sum_j y_kj; d/dy_kj = sum_i x_ik (a 1-D side has one row/column)
    if learned == "left":
        expected = np.full(x_shape, 1e10 * tiny * (y_shape[1] if len(y_shape) == 2 else 1))
        assert y.grad is None
        np.testing.assert_allclose(x.grad, expected, rtol=1e-14, atol=0)
    else:
        expected = np.full(y_shape, 1e10 * tiny * (x_shape[0] if len(x_shape) == 2 else 1))
        assert x.grad is None
        np.testing.assert_allclose(y.grad, expected, rtol=1e-14, atol=0)


# ---- the same input used twice by one op ---------------------------------------------------------
@pytest.mark.parametrize("name", BINARY)
@given(data=st.data(), shape=shapes())
def test_binary_op_with_itself(name, data, shape):
    """x op x: both gradients land on the same tensor and must add up."""
    op, kind, _ = BINARY[name]
    x = data.draw(arrays(shape, "positive" if name in ("div", "pow") else kind), label="x")
    check_gradients(lambda t: op(t, t), [x])


def test_pow_zero_exponent_has_zero_gradient_even_at_zero():
    """x**0 = 1 is constant, so d/dx = 0 everywhere; p * x**(p-1) alone would give 0 * inf = nan at 0."""
    x = Tensor(np.array([0.0, 2.0, -3.0]), requires_grad=True)
    y = x**0
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0])
    y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


def test_pow_tensor_exponent_zero_has_zero_base_gradient_even_at_zero_and_infinity():
    """x**y at y = 0 is 1 for every x, inf included, so d/dx = 0 there (PyTorch masks it to 0 too):
    y * x**(y-1) alone would give 0 * inf = nan at x = 0, and y * x (any stand-in exponent) nan at inf."""
    x = Tensor(np.array([0.0, 2.0, -3.0, np.inf]), requires_grad=True)
    y = Tensor(np.zeros(4))
    z = x**y
    np.testing.assert_array_equal(z.data, [1.0, 1.0, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z.backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0, 0.0])


def test_a_0d_operand_broadcast_against_a_vector_gets_a_0d_array_gradient():
    """The gradient of a 0-d tensor that broadcasting stretched is summed back to shape (), and is
    still an ndarray (as every .grad is), not a numpy scalar: a second backward adds to it, and it
    can be written in place like any other gradient."""
    x = Tensor(np.float64(2.0), requires_grad=True)
    y = Tensor(np.array([1.0, -4.0, 0.5]))
    loss = (x * y).sum()
    loss.backward(retain_graph=True)
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad.dtype == np.float64
    assert x.grad == 1.0 - 4.0 + 0.5  # d/dx sum(x * y) = sum(y), exact in binary
    loss.backward()
    assert type(x.grad) is np.ndarray and x.grad == 2 * (1.0 - 4.0 + 0.5)
    x.grad[...] = 0.0  # a numpy scalar would refuse item assignment
    assert x.grad == 0.0


def test_recorded_gradient_of_a_keepdims_sum_is_g_broadcast_back_with_no_reshape():
    """With keepdims=True the incoming gradient already has the summed axes as size 1, so Sum's
    recorded backward (create_graph=True) is one broadcast_to straight from g: differentiating
    x.grad again visits broadcast_to, then the mul that made g, with nothing in between."""
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    c = Tensor(np.array([[2.0], [-3.0]]), requires_grad=True)
    (x.sum(axis=1, keepdims=True) * c).sum().backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.data, np.broadcast_to(c.data, (2, 3)))  # dL/dx_ij = c_i
    with trace_backward() as trace:
        x.grad.sum().backward()
    assert [r.op for r in trace] == ["sum", "broadcast_to", "mul"]
    assert [r.grad_output_shape for r in trace] == [(), (2, 3), (2, 1)]
    # c.grad adds both passes: row sums of x (3, 12) from the first, d/dc_i sum_ij c_i = 3 from the second
    np.testing.assert_array_equal(np.asarray(c.grad.data), [[3.0 + 3.0], [12.0 + 3.0]])


def test_max_splits_gradient_evenly_between_ties():
    """Documented choice (ops.Max): g is shared equally by the entries that tie for the max."""
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True)
    x.max(axis=1).backward(np.array([4.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 2.0], [5.0, 0.0, 0.0]])


def test_values_strategy_keeps_away_from_kinks():
    """The 'spaced' values really are >= 0.03 apart and >= 0.1 from zero (what max/relu rely on)."""
    values = make_values(np.random.default_rng(0), (3, 3, 3, 3), "spaced").ravel()
    gaps = np.diff(np.sort(values))
    assert gaps.min() >= 0.03 and np.abs(values).min() >= 0.1
