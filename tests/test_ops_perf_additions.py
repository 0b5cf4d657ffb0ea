"""The ops and gradient forms added for speed: Affine (F.linear), TanhAffine, OuterProductSum.

Gradients are checked by check_gradients (tests/strategies.py): float64 central differences with
EPS = 1e-6, ATOL = 1e-7, RTOL = 1e-6, and float32 against float64 within 1e-5. Forward values
are checked against plain numpy formulas written out here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, check_gradients

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor, gradcheck, ops
from tinygrad_rnn.nn.functional import _gates_linear, _tanh_linear
from tinygrad_rnn.tensor import dense_grad

BIAS_KINDS = ("none", "vector", "full", "broadcast row")


@st.composite
def affine_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, int], tuple[int, ...] | None]:
    """(x shape (..., n), weight shape (m, n), bias shape or None) with 0 to 2 batch axes."""
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(BIAS_KINDS))
    out = batch + (m,)
    bias = {"none": None, "vector": (m,), "full": out, "broadcast row": (1,) * len(batch) + (m,)}[kind]
    return batch + (n,), (m, n), bias


def _inputs(data: st.DataObject, shapes) -> list[np.ndarray]:
    x_shape, w_shape, b_shape = shapes
    values = [data.draw(arrays(x_shape), label="x"), data.draw(arrays(w_shape), label="W")]
    if b_shape is not None:
        values.append(data.draw(arrays(b_shape), label="b"))
    return values


@given(data=st.data(), shapes=affine_shapes())
def test_linear_is_x_times_w_transposed_plus_b_with_exact_gradients(data, shapes):
    values = _inputs(data, shapes)
    out = check_gradients(lambda *t: F.linear(*t), values)
    expected = values[0] @ values[1].T + (values[2] if len(values) == 3 else 0)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-13)


@given(data=st.data(), shapes=affine_shapes())
def test_tanh_linear_is_tanh_of_linear_with_exact_gradients(data, shapes):
    values = _inputs(data, shapes)
    out = check_gradients(lambda *t: _tanh_linear(*t), values)
    expected = np.tanh(values[0] @ values[1].T + (values[2] if len(values) == 3 else 0))
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-13)


def test_weight_used_at_every_step_gets_the_sum_of_its_per_step_gradients():
    """A recurrence h_t = tanh(x_t + h_{t-1} W^T) uses W at T steps: dL/dW is summed by hand here."""
    rng = np.random.default_rng(0)
    steps, batch, hidden = 5, 3, 4
    xs = rng.standard_normal((steps, batch, hidden))
    w = Tensor(rng.standard_normal((hidden, hidden)) * 0.5, requires_grad=True)
    h = Tensor(np.zeros((batch, hidden)))
    hs = []
    for t in range(steps):
        h = _tanh_linear(h, w, Tensor(xs[t]))
        hs.append(h)
    upstream = rng.standard_normal((steps, batch, hidden))
    sum(((ht * upstream[t]).sum() for t, ht in enumerate(hs)), Tensor(0.0)).backward()
    # BPTT by hand: a_t = (dL/dh_t) (1 - h_t^2), dL/dh_{t-1} += a_t W, dL/dW = sum_t a_t^T h_{t-1}.
    h_values = [np.zeros((batch, hidden))] + [ht.data for ht in hs]
    dw = np.zeros((hidden, hidden))
    dh_next = np.zeros((batch, hidden))
    for t in reversed(range(steps)):
        a = (upstream[t] + dh_next) * (1 - h_values[t + 1] ** 2)
        dw += a.T @ h_values[t]
        dh_next = a @ w.data
    np.testing.assert_allclose(w.grad, dw, rtol=1e-13, atol=1e-13)


def test_a_weight_reached_by_deferred_dense_and_sparse_gradients_sums_them_all():
    """W feeds two linear ops (OuterProductSum), an elementwise op (dense) and an index (IndexedGrad)."""
    rng = np.random.default_rng(1)
    x1, x2 = Tensor(rng.standard_normal((2, 3))), Tensor(rng.standard_normal((4, 3)))

    def f(w):
        return F.linear(x1, w).sum() + F.linear(x2, w).tanh().sum() + (w * w).sum() + w[1].exp().sum()

    w = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    # float64 central differences, eps 1e-6: truncation error ~1e-12, well inside atol 1e-7 / rtol 1e-6.
    assert gradcheck(f, [w], eps=1e-6, atol=1e-7, rtol=1e-6)


def test_outer_product_sum_is_the_sum_of_its_terms_in_one_matmul():
    rng = np.random.default_rng(2)
    lefts = [rng.standard_normal((k, 3)) for k in (1, 4, 2)]
    rights = [rng.standard_normal((k, 5)) for k in (1, 4, 2)]
    by_hand = sum(a.T @ b for a, b in zip(lefts, rights))
    first = ops.OuterProductSum(lefts[:1], rights[:1])
    joined = first.plus(ops.OuterProductSum(lefts[1:], rights[1:]))
    assert len(first.lefts) == 1  # plus() made a new sum and left its operands alone
    assert joined.shape == (3, 5) and joined.dtype == np.float64
    np.testing.assert_allclose(joined.dense(), by_hand, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.asarray(joined), by_hand, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dense_grad(joined), by_hand, rtol=1e-13, atol=1e-13)
    buffer = np.ones((3, 5))
    joined.add_into(buffer)
    np.testing.assert_allclose(buffer, by_hand + 1, rtol=1e-13, atol=1e-13)
    first.extend(ops.OuterProductSum(lefts[1:], rights[1:]))
    np.testing.assert_allclose(first.dense(), by_hand, rtol=1e-13, atol=1e-13)


def test_float32_linear_stays_float32_and_a_float64_bias_promotes_like_plus():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((2, 3)), dtype=np.float32, requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3)), dtype=np.float32, requires_grad=True)
    b32 = Tensor(rng.standard_normal(4), dtype=np.float32, requires_grad=True)
    out = F.linear(x, w, b32)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b32.grad.dtype == np.float32
    b64 = Tensor(rng.standard_normal(4))
    assert F.linear(x, w, b64).dtype == (x @ w.T + b64).dtype == np.float64


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape", "message"),
    [
        ((2, 3), (4, 5), None, r"linear: input of shape \(2, 3\) and weight of shape \(4, 5\) do not fit"),
        ((2, 3), (3,), None, r"linear: input of shape \(2, 3\) and weight of shape \(3,\)"),
        ((2, 3), (4, 3), (5,), r"linear: bias of shape \(5,\) does not broadcast to the output shape \(2, 4"),
        ((2, 3), (4, 3), (3, 2, 4), r"linear: bias of shape \(3, 2, 4\) does not broadcast"),
    ],
)
def test_linear_names_the_shapes_that_do_not_fit(x_shape, w_shape, b_shape, message):
    x, w = Tensor(np.ones(x_shape)), Tensor(np.ones(w_shape))
    b = None if b_shape is None else Tensor(np.ones(b_shape))
    with pytest.raises(ValueError, match=message):
        F.linear(x, w, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_far_out_is_exact_and_silent(dtype):
    x = Tensor(np.array([-1000.0, -100.0, -30.0, 0.0, 30.0, 1000.0]), dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning escapes
        y = x.sigmoid()
        y.sum().backward()
    e30 = np.exp(-30.0)
    exact = np.array([0.0, np.exp(-100.0), e30 / (1 + e30), 0.5, 1 / (1 + e30), 1.0])
    tiny = np.finfo(dtype).tiny  # float32 cannot hold e^-100 (below its smallest normal): 0 is right there
    np.testing.assert_allclose(y.data, exact.astype(dtype), rtol=4 * np.finfo(dtype).eps, atol=tiny)
    assert np.all(np.isfinite(x.grad)) and x.grad[0] == 0 and x.grad[-1] == 0


ACTIVATIONS = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}


@given(
    data=st.data(),
    shapes=affine_shapes(),
    kinds=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=1, max_size=4),
)
def test_gates_linear_applies_each_blocks_activation_with_exact_gradients(data, shapes, kinds):
    """The weight's rows come in len(kinds) blocks; block k of the output goes through kinds[k]."""
    x_shape, (m, n), b_shape = shapes
    blocks = len(kinds)
    w_shape = (m * blocks, n)
    b_shape = None if b_shape is None else b_shape[:-1] + (m * blocks,)
    values = _inputs(data, (x_shape, w_shape, b_shape))
    def gates(x, w, b=None):
        return _gates_linear(x, w, b, tuple(kinds))

    out = check_gradients(gates, values)
    pre = values[0] @ values[1].T + (values[2] if len(values) == 3 else 0)
    expected = np.concatenate(
        [ACTIVATIONS[kind](part) for kind, part in zip(kinds, np.split(pre, blocks, axis=-1))], axis=-1
    )
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-13)


def test_gates_linear_sigmoid_blocks_never_overflow():
    x = Tensor(np.array([[1.0]]), requires_grad=True)
    w = Tensor(np.array([[-1000.0], [1000.0]]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = _gates_linear(x, w, None, ("sigmoid", "sigmoid"))
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [[0.0, 1.0]])
    np.testing.assert_array_equal(w.grad, [[0.0], [0.0]])  # both saturated: zero slope, no nan
