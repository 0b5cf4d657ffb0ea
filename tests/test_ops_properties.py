"""Algebraic identities the ops must satisfy, and their numerics at extreme inputs.

Identities are checked on forward values (and on gradients where the calculus gives an exact
answer); the expected side of each is computed with plain numpy or by math, never by the op
under test alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import AXIS_KINDS, arrays, axes, shapes, upstream

from tinygrad_rnn import Tensor, concat, stack

# Identities that hold up to rounding: a few ulps of float64.
ULPS = 1e-14


@given(data=st.data(), shape=shapes(min_dims=1))
def test_softmax_sums_to_one_and_is_positive(data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(arrays(shape, "any")) * 10  # logits up to +-20
    y = Tensor(x).softmax(axis=axis).data
    assert np.all(y > 0)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=ULPS)


@given(data=st.data(), shape=shapes(min_dims=1), shift=st.floats(-50, 50))
def test_softmax_is_shift_invariant(data, shape, shift):
    x = data.draw(arrays(shape, "any"))
    np.testing.assert_allclose(Tensor(x + shift).softmax().data, Tensor(x).softmax().data, rtol=1e-12)


@given(data=st.data(), shape=shapes(min_dims=1))
def test_log_softmax_is_log_of_softmax(data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = Tensor(data.draw(arrays(shape, "any")) * 5)
    np.testing.assert_allclose(x.log_softmax(axis).data, x.softmax(axis).log().data, rtol=1e-12, atol=ULPS)


@given(data=st.data(), shape=shapes(min_dims=1))
def test_gradient_of_softmax_total_is_zero(data, shape):
    """sum_i softmax(x)_i = 1 for every x, so its gradient vanishes."""
    x = Tensor(data.draw(arrays(shape, "any")), requires_grad=True)
    x.softmax(axis=0).sum().backward()
    np.testing.assert_allclose(x.grad, 0.0, atol=ULPS)


@given(data=st.data(), shape=shapes(min_dims=1))
def test_log_softmax_gradient_formula(data, shape):
    """d/dx sum_i W_i log_softmax(x)_i = W - softmax(x) * sum_i W_i (summed over the last axis)."""
    x = data.draw(arrays(shape, "any"))
    w = upstream(shape)
    t = Tensor(x, requires_grad=True)
    (t.log_softmax() * w).sum().backward()
    p = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(t.grad, w - p * w.sum(axis=-1, keepdims=True), rtol=1e-12, atol=ULPS)


@given(data=st.data(), shape=shapes())
def test_sigmoid_symmetry_and_tanh_oddness(data, shape):
    x = Tensor(data.draw(arrays(shape, "any")) * 10)
    np.testing.assert_allclose((-x).sigmoid().data, 1 - x.sigmoid().data, rtol=0, atol=4e-16)
    np.testing.assert_allclose((-x).tanh().data, -x.tanh().data, rtol=ULPS)
    # tanh(x) = 2 sigmoid(2x) - 1
    np.testing.assert_allclose(x.tanh().data, 2 * (x * 2).sigmoid().data - 1, rtol=1e-12, atol=1e-15)


@given(data=st.data(), shape=shapes())
def test_exp_log_inverse_and_relu_split(data, shape):
    x = data.draw(arrays(shape, "positive"))
    np.testing.assert_allclose(Tensor(x).log().exp().data, x, rtol=ULPS)
    np.testing.assert_allclose(Tensor(np.log(x)).exp().log().data, np.log(x), rtol=ULPS, atol=ULPS)
    y = Tensor(data.draw(arrays(shape, "spaced")))
    np.testing.assert_array_equal((y.relu() - (-y).relu()).data, y.data)  # x = relu(x) - relu(-x)


@given(data=st.data(), shape=shapes())
def test_arithmetic_identities(data, shape):
    x = Tensor(data.draw(arrays(shape, "nonzero")))
    np.testing.assert_array_equal((x - x).data, 0.0)
    np.testing.assert_array_equal((x / x).data, 1.0)
    np.testing.assert_array_equal((x + x).data, (x * 2).data)
    negated = -x
    np.testing.assert_array_equal((-negated).data, x.data)
    np.testing.assert_allclose((x**2).data, (x * x).data, rtol=ULPS)
    np.testing.assert_allclose(((x * x) ** 0.5).data, np.abs(x.data), rtol=ULPS)
    np.testing.assert_allclose((x**-1).data, (1 / x).data, rtol=ULPS)


@given(data=st.data(), shape=shapes(min_dims=1), keepdims=st.booleans(), kind=st.sampled_from(AXIS_KINDS))
def test_reduction_relations(data, shape, keepdims, kind):
    axis = data.draw(axes(len(shape), kind))
    x = Tensor(data.draw(arrays(shape, "spaced")))
    total = x.sum(axis=axis, keepdims=keepdims).data
    reduced = x.data.shape if axis is None else [x.shape[a] for a in np.atleast_1d(axis)]
    n = int(np.prod(reduced))
    np.testing.assert_allclose(x.mean(axis=axis, keepdims=keepdims).data, total / n, rtol=ULPS)
    # the max is attained and bounds every entry
    m = x.max(axis=axis, keepdims=True).data
    assert np.all(x.data <= m)
    assert np.all((x.data == m).any(axis=axis))
    # summing everything at once equals summing the partial sums
    np.testing.assert_allclose(Tensor(total).sum().data, x.data.sum(), rtol=1e-13, atol=1e-13)


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), n=st.integers(1, 3))
def test_concat_then_slice_gives_back_the_parts(data, shape, n):
    axis = data.draw(st.integers(0, len(shape) - 1))
    parts = []
    for _ in range(n):
        part_shape = list(shape)
        part_shape[axis] = data.draw(st.integers(1, 3))
        parts.append(data.draw(arrays(tuple(part_shape), "any")))
    joined = concat([Tensor(p) for p in parts], axis=axis)
    start = 0
    for p in parts:
        index = (slice(None),) * axis + (slice(start, start + p.shape[axis]),)
        np.testing.assert_array_equal(joined[index].data, p)
        start += p.shape[axis]
    assert joined.shape[axis] == start


@given(data=st.data(), shape=shapes(max_dims=3), n=st.integers(1, 3))
def test_stack_then_index_gives_back_the_parts(data, shape, n):
    axis = data.draw(st.integers(0, len(shape)))
    parts = [data.draw(arrays(shape, "any")) for _ in range(n)]
    stacked = stack([Tensor(p) for p in parts], axis=axis)
    assert stacked.shape == shape[:axis] + (n,) + shape[axis:]
    for i, p in enumerate(parts):
        np.testing.assert_array_equal(stacked[(slice(None),) * axis + (i,)].data, p)


@given(data=st.data(), shape=shapes())
def test_reshape_round_trip(data, shape):
    x = Tensor(data.draw(arrays(shape, "any")))
    flat = x.reshape(-1)
    assert flat.shape == (int(np.prod(shape)),)
    np.testing.assert_array_equal(flat.data, x.data.ravel())  # row-major order, like numpy
    np.testing.assert_array_equal(flat.reshape(shape).data, x.data)


@given(data=st.data(), shape=shapes())
def test_transpose_twice_is_identity(data, shape):
    perm = data.draw(st.permutations(range(len(shape))))
    x = Tensor(data.draw(arrays(shape, "any")))
    np.testing.assert_array_equal(x.transpose(perm).transpose(tuple(np.argsort(perm))).data, x.data)
    np.testing.assert_array_equal(x.T.T.data, x.data)
    assert x.transpose(perm).shape == tuple(shape[p] for p in perm)


@given(data=st.data(), m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3), b=st.integers(1, 3))
def test_matmul_matches_sum_of_products(data, m, k, n, b):
    """(x @ y)[..., i, j] = sum_l x[..., i, l] y[..., l, j], written out with einsum."""
    x = data.draw(arrays((b, m, k), "any"))
    y = data.draw(arrays((k, n), "any"))
    # sums of <= 3 products of O(1) numbers: absolute rounding error below 1e-14
    close = {"rtol": 1e-13, "atol": 1e-14}
    np.testing.assert_allclose((Tensor(x) @ Tensor(y)).data, np.einsum("bil,lj->bij", x, y), **close)
    v = data.draw(arrays((k,), "any"))
    np.testing.assert_allclose((Tensor(x) @ Tensor(v)).data, np.einsum("bil,l->bi", x, v), **close)
    np.testing.assert_allclose((Tensor(v) @ Tensor(v)).data, np.sum(v * v), **close)


def test_a_stack_of_rows_times_a_matrix_gives_the_bits_of_the_rows_folded_into_one_matrix():
    """The batch axes of x (..., k) @ w (k, n) only stack rows: x @ w equals, bit for bit, the 2-D
    product of x's rows laid out as (rows, k), reshaped back. So a (T, B, I) sequence through a
    layer gives exactly what its (T*B, I) rows give. (numpy's own stacked matmul does not promise
    this: on a float32 stack with k = 33 it rounds some entries differently.)"""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((33, 5, 4)).astype(np.float32).transpose(2, 1, 0)  # (4, 5, 33), strided
    w = rng.standard_normal((33, 6)).astype(np.float32)
    rows = Tensor(np.ascontiguousarray(x).reshape(20, 33)) @ Tensor(w)
    np.testing.assert_array_equal((Tensor(x) @ Tensor(w)).data, rows.data.reshape(4, 5, 6))


def test_gradients_of_basic_identities_by_hand():
    """Hand-derived gradients: d/dx sum(x*x) = 2x, d/dx sum(x/y) = 1/y, d/dy = -x/y^2, ..."""
    x = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
    y = Tensor(np.array([2.0, -4.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)
    x.grad = None
    (x / y).sum().backward()
    np.testing.assert_allclose(x.grad, np.broadcast_to(1 / y.data, (2, 2)), rtol=ULPS)
    np.testing.assert_allclose(y.grad, -(x.data / y.data**2).sum(axis=0), rtol=ULPS)
    x.grad = None
    (x @ y).sum().backward()  # d/dx_ij = y_j
    np.testing.assert_array_equal(x.grad, [[2.0, -4.0], [2.0, -4.0]])


# ---- numerics at extreme inputs -------------------------------------------------------------------
EXTREME = np.array([[1e4, -1e4, 0.0, 1e-3], [-1e4, -1e4 + 1, -1e4 + 2, 5.0], [3.0, 1e4, 1e4 - 30, -1e-4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "sigmoid", "tanh"])
def test_no_overflow_at_large_inputs(name, dtype):
    """|x| = 1e4 mixed with small entries: finite values and gradients, no RuntimeWarning."""
    x = Tensor(EXTREME.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow / invalid-value warning fails the test
        y = getattr(x, name)()
        (y * upstream(y.shape)).sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))


def test_large_input_values_are_exact():
    """Values derived by hand for entries whose neighbours are 1e4 away."""
    x = Tensor(EXTREME)
    softmax = x.softmax().data
    # e^-1e4 underflows to exactly 0, so the other weights vanish next to the largest entry
    np.testing.assert_array_equal(softmax[0], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(softmax[1], [0.0, 0.0, 0.0, 1.0])
    tail = np.exp(-30.0)  # 1e4 - 30 against 1e4
    np.testing.assert_allclose(softmax[2], [0.0, 1 / (1 + tail), tail / (1 + tail), 0.0], rtol=ULPS)
    sig = x.sigmoid().data
    np.testing.assert_array_equal(sig[0, :2], [1.0, 0.0])
    np.testing.assert_allclose(sig[0, 3], 0.5 + 1e-3 / 4, rtol=1e-9)  # sigmoid(x) ~ 1/2 + x/4 near 0
    np.testing.assert_array_equal(x.tanh().data[0, :2], [1.0, -1.0])


@pytest.mark.parametrize("scale", [1.0, 1e2, 1e4, 1e6])
def test_log_softmax_at_large_logits_matches_independent_formula(scale):
    """log_softmax(x)_i = x_i - m - log1p(sum_{j != argmax} exp(x_j - m)), m = max(x).

    log1p keeps the tiny tail sum exact where log(1 + s) would round it away.
    """
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 6)) * scale
    m = x.max(axis=1, keepdims=True)
    rest = np.where(x == m, 0.0, np.exp(x - m)).sum(axis=1, keepdims=True)
    expected = x - m - np.log1p(rest)
    got = Tensor(x).log_softmax(axis=1).data
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_log_softmax_gradient_is_finite_where_softmax_underflows():
    """log(softmax(x)) would give -inf and nan gradients at x = [0, -1e4]; log_softmax does not."""
    x = Tensor(np.array([0.0, -1e4]), requires_grad=True)
    y = x.log_softmax()
    np.testing.assert_array_equal(y.data, [0.0, -1e4])
    y.backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [1.0 - 3.0, 2.0])  # g - softmax * sum(g), softmax = [1, 0]
