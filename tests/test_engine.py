"""The engine around the ops: graph traversal, gradient bookkeeping, memory, modes, dtypes, gradcheck.

Gradient checks here use gradcheck / numerical_grad in float64 with eps = 1e-6 and the tight
tolerances atol = 1e-7, rtol = 1e-6 justified in tests/strategies.py.
"""

from __future__ import annotations

import _thread
import functools
import gc
import inspect
import operator
import os
import re
import sys
import threading
import tracemalloc
import warnings

import numpy as np
import pytest
from strategies import ATOL, RTOL, BackwardSpy, graph_tensors

import tinygrad_rnn
from tinygrad_rnn import (
    AnomalyError,
    GradcheckError,
    Tensor,
    concat,
    detect_anomaly,
    fused,
    gradcheck,
    no_grad,
    stack,
)
from tinygrad_rnn.bookkeeping import IndexedGrad, RowProducts, dense_grad
from tinygrad_rnn.gradcheck import numerical_grad
from tinygrad_rnn.tensor import Function, is_grad_enabled


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- deep graphs: no recursion anywhere ----------------------------------------------------------
def test_200k_op_chain_backpropagates_without_recursion():
    """y <- y * a + b repeated 100,000 times (200,000 ops): dy/dx = a ** 100,000."""
    a, b, n = Tensor(1.0 + 1e-6), Tensor(1e-3), 100_000
    x = Tensor(np.array([0.5, -2.0]), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * a + b
    assert len(graph_tensors(y)) > 2 * n  # really 200,000 recorded ops
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 100)  # any recursion over the graph's depth would fail at once
    try:
        y.backward(np.array([1.0, 3.0]))
    finally:
        sys.setrecursionlimit(limit)
    expected = np.exp(n * np.log1p(a.item() - 1))  # a**n, computed without the chain
    np.testing.assert_allclose(x.grad, [expected, 3 * expected], rtol=1e-9)
    del y  # freeing a 200,000-deep graph must not overflow the C stack either
    gc.collect()


def rnn_loss(h0: Tensor, w: Tensor, xs: Tensor, v: np.ndarray) -> Tensor:
    """h_t = tanh(h_{t-1} @ W + x_t), loss = sum_t sum(h_t * v)."""
    h, loss = h0, 0.0
    for t in range(xs.shape[0]):
        h = (h @ w + xs[t]).tanh()
        loss = loss + (h * v).sum()
    return loss


def numpy_bptt(h0, w, xs, v):
    """Backpropagation through time written out by hand (seed 001's derivation)."""
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(hs[-1] @ w + xs[t]))
    dw, dxs, dh = np.zeros_like(w), np.zeros_like(xs), np.zeros_like(h0)
    for t in reversed(range(xs.shape[0])):
        dh = dh + v  # the loss reads h_{t+1} directly
        da = dh * (1 - hs[t + 1] ** 2)  # through tanh
        dw += hs[t].T @ da
        dxs[t] = da
        dh = da @ w.T  # on to h_t
    return dh, dw, dxs


def test_5000_step_recurrent_unroll_matches_hand_written_bptt():
    steps, batch, hidden = 5000, 2, 4
    r = rng(1)
    h0 = Tensor(r.standard_normal((batch, hidden)), requires_grad=True)
    w = Tensor(r.standard_normal((hidden, hidden)) * 0.4, requires_grad=True)
    xs = Tensor(r.standard_normal((steps, batch, hidden)) * 0.5, requires_grad=True)
    v = r.standard_normal((batch, hidden))
    rnn_loss(h0, w, xs, v).backward()
    dh0, dw, dxs = numpy_bptt(h0.data, w.data, xs.data, v)
    assert np.all(np.isfinite(w.grad))
    np.testing.assert_allclose(w.grad, dw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs.grad, dxs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h0.grad, dh0, rtol=1e-10, atol=1e-12)


def test_short_recurrent_unroll_passes_gradcheck():
    r = rng(2)
    h0 = Tensor(r.standard_normal((2, 3)), requires_grad=True)
    w = Tensor(r.standard_normal((3, 3)) * 0.8, requires_grad=True)
    xs = Tensor(r.standard_normal((6, 2, 3)), requires_grad=True)
    v = r.standard_normal((2, 3))
    assert gradcheck(lambda h, w_, x: rnn_loss(h, w_, x, v), [h0, w, xs], atol=ATOL, rtol=RTOL)


# ---- every node's gradient is computed once, however often it is reused ---------------------------
class CountingIdentity(Function):
    """y = x;  dL/dx = g. Counts its backward calls."""

    calls = 0

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        CountingIdentity.calls += 1
        return g


def test_diamond_runs_each_backward_once_with_the_summed_gradient():
    CountingIdentity.calls = 0
    x = Tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    a = CountingIdentity.apply(x)
    b = a * a + a.exp() + a  # a feeds three ops (four uses)
    c = CountingIdentity.apply(b)
    loss = (c * c + c).sum()  # c feeds two ops
    with BackwardSpy() as spy:
        loss.backward()
    assert CountingIdentity.calls == 2
    visited = [id(out) for out, _, _ in spy.calls]
    assert len(visited) == len(set(visited))  # no op visited twice
    ops_in_graph = [t for t in graph_tensors(loss) if t._ctx is not None]
    assert len(visited) == len(ops_in_graph)
    # dL/dx = (2c + 1) * (2x + e^x + 1), c = x^2 + e^x + x
    xv = x.data
    cv = xv**2 + np.exp(xv) + xv
    np.testing.assert_allclose(x.grad, (2 * cv + 1) * (2 * xv + np.exp(xv) + 1), rtol=1e-14)


def test_backward_visits_ops_in_topological_order():
    """An op's backward runs only after every op that used its output (its gradient is complete)."""
    x = Tensor(rng(3).standard_normal((2, 2)), requires_grad=True)
    a = x.tanh()
    b = a * x
    c = (a @ b).sigmoid() + a
    with BackwardSpy() as spy:
        c.sum().backward()
    position = {id(out): i for i, (out, _, _) in enumerate(spy.calls)}
    for out, _, _ in spy.calls:
        for parent in out._ctx.parents:
            if id(parent) in position:
                assert position[id(parent)] > position[id(out)]


def test_deferred_gradients_hand_out_their_dense_arrays_in_the_dtype_asked_for():
    """IndexedGrad and RowProducts stand for arrays (written out by hand below): dense_grad and
    numpy's __array__ protocol, with or without a requested dtype, must give those arrays."""
    # x[[0, 2, 0]] sends back [1, 2, 4]: entry 0 is picked twice, so it gets 1 + 4.
    indexed = IndexedGrad(np.array([0, 2, 0]), np.array([1.0, 2.0, 4.0]), (3,))
    # G^T X for G = [[1, 0], [0, 2]] (N=2, m=2) and X = [[3], [5]] (N=2, n=1)
    rows = RowProducts(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[3.0], [5.0]]))
    for deferred, expected in ((indexed, [5.0, 0.0, 2.0]), (rows, [[3.0], [10.0]])):
        dense = dense_grad(deferred)
        assert type(dense) is np.ndarray and dense.dtype == np.float64
        np.testing.assert_array_equal(dense, expected)
        for array in (np.asarray(deferred, dtype=np.float32), deferred.__array__(np.float32)):
            assert type(array) is np.ndarray and array.dtype == np.float32
            np.testing.assert_array_equal(array, np.array(expected, dtype=np.float32))
    plain = np.ones(2)
    assert dense_grad(plain) is plain  # a plain array is already dense


def test_an_indexed_gradient_is_formed_in_the_dtype_of_its_values():
    """IndexedGrad.dense() must not widen float32 values to float64: x[[0, 2, 0]] of a float32 x
    sends back float32 values, and the array it stands for is float32 too ([1 + 4, 0, 2])."""
    indexed = IndexedGrad(np.array([0, 2, 0]), np.array([1.0, 2.0, 4.0], dtype=np.float32), (3,))
    for dense in (indexed.dense(), dense_grad(indexed), np.asarray(indexed)):
        assert dense.dtype == np.float32
        np.testing.assert_array_equal(dense, np.array([5.0, 0.0, 2.0], dtype=np.float32))


def test_a_deferred_gradient_asked_for_its_own_dtype_is_made_once_and_not_copied():
    """np.asarray(deferred, dtype=its dtype) (and __array__ called so) writes the dense array out
    once: one buffer of n float64 (a zeros buffer with the values added at [:]) and no second copy
    of it, so the peak is one buffer (8n bytes, plus small objects)."""
    n = 200_000
    indexed = IndexedGrad(slice(None), np.full(n, 3.0), (n,))
    for hand_out in (lambda: np.asarray(indexed, dtype=np.float64), lambda: indexed.__array__(np.float64)):
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            array = hand_out()
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        assert array.dtype == np.float64
        np.testing.assert_array_equal(array, np.full(n, 3.0))
        assert peak <= 1.5 * 8 * n, peak / (8 * n)


# ---- accumulation, retain_graph, freeing -----------------------------------------------------------
def test_grad_accumulates_across_backward_calls_until_zeroed():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])
    x.zero_grad()
    assert x.grad is None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_accumulation_does_not_write_into_gradients_it_was_given():
    """The first .grad must be a copy: a later += must not change the caller's upstream array."""
    x = Tensor(np.zeros(3), requires_grad=True)
    g = np.array([1.0, 2.0, 3.0])
    x.backward(g)
    x.backward(g)
    np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


def test_a_leaf_grad_is_a_c_ordered_array_even_when_its_gradient_arrives_transposed():
    """Through x.T the gradient reaching x is the transpose of a C array (an F-ordered view);
    .grad is stored C-ordered (order="C"), with the values w.T, and still adds up on a second backward."""
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    w = np.arange(6.0).reshape(3, 2)
    (x.T * Tensor(w)).sum().backward()
    assert x.grad.flags.c_contiguous
    np.testing.assert_array_equal(x.grad, w.T)
    (x.T * Tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * w.T)


def test_a_summed_gradient_keeps_the_layout_of_the_first_one_to_arrive():
    """x used twice, newest through x.T: the first gradient to reach x is F-ordered (w.T), and the
    running sum copies it as it is laid out (copy("K")) before adding v, so grad() hands back
    w.T + v in F order rather than a reordered C copy."""
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    v, w = np.ones((2, 3)), np.arange(6.0).reshape(3, 2)
    loss = (x * Tensor(v)).sum() + (x.T * Tensor(w)).sum()
    (gx,) = tinygrad_rnn.grad(loss, [x])
    assert gx.flags.f_contiguous and not gx.flags.c_contiguous
    np.testing.assert_array_equal(gx, w.T + v)


def test_a_fused_weight_gradient_then_a_plain_one_add_up():
    """W used by fused.linear (newest, so its gradient arrives first, as RowProducts) and by W * 3:
    the sum must become an array that the plain gradient is added to, not a list of row products.
    By hand: d sum(x W^T)/dW = ones^T x (each row of W gets the column sums of x), plus 3."""
    x = Tensor(np.array([[1.0, 2.0], [3.0, 5.0]]))
    weight = Tensor(np.zeros((3, 2)), requires_grad=True)
    loss = (weight * 3.0).sum() + fused.linear(x, weight).sum()
    loss.backward()
    np.testing.assert_array_equal(weight.grad, np.array([[4.0, 7.0]] * 3) + 3.0)


def test_a_fused_weights_row_products_are_summed_in_the_widest_dtype_then_cast_once():
    """A float32 W used by fused.linear with a float64 input (older) and a float32 one (newer, so
    its RowProducts arrives first): the uses' row products are joined and summed together, in float64,
    and cast to float32 once. By hand: dW = 1 * 1 + 1 * 2**-24 (float32 use) + 1 * 2**-24 (float64 use)
    = 1 + 2**-23, a float32 number. Summing the float32 use on its own first would round 1 + 2**-24
    to 1 (a tie, to even) and then 1 + 2**-24 to 1 again."""
    weight = Tensor(np.zeros((1, 1), dtype=np.float32), requires_grad=True)
    wide = Tensor(np.array([[2.0**-24]]))
    narrow = Tensor(np.array([[1.0], [2.0**-24]], dtype=np.float32))
    loss = fused.linear(wide, weight).sum() + fused.linear(narrow, weight).sum()
    loss.backward()
    assert weight.grad.dtype == np.float32
    np.testing.assert_array_equal(weight.grad, np.array([[1.0 + 2.0**-23]], dtype=np.float32))


def test_retain_graph_allows_a_second_backward():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(first, np.exp(x.data) * (1 + x.data), rtol=1e-15)
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)
    with pytest.raises(RuntimeError, match=r"graph through sum was already freed.*retain_graph=True"):
        y.backward()


def test_freed_shared_subgraph_names_the_op():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    z = x.exp()
    z.sum().backward()
    with pytest.raises(RuntimeError, match=r"backward: the graph through exp was already freed"):
        (z * 2).sum().backward()


def saved_arrays(t: Tensor) -> list[str]:
    """'op.attribute' for every numpy array an op of t's graph still holds."""
    return [
        f"{u._ctx.name}.{k}"
        for u in graph_tensors(t)
        if u._ctx is not None
        for k, v in vars(u._ctx).items()
        if isinstance(v, np.ndarray)
    ]


def test_backward_releases_saved_buffers_unless_retained():
    x = Tensor(rng(4).standard_normal((3, 3)), requires_grad=True)

    def loss():
        return ((x @ x).relu() * x.sigmoid() / (x * x + 1)).max(axis=0).sum()

    kept = loss()
    assert saved_arrays(kept)  # the ops do save arrays for backward
    kept.backward(retain_graph=True)
    assert saved_arrays(kept)
    freed = loss()
    freed.backward()
    assert saved_arrays(freed) == []


def test_memory_stays_bounded_over_a_training_loop():
    """50 steps of forward + backward + update: the memory in use does not grow step by step.

    One step's graph holds ~0.3 MB of activations; were any of it kept per step, 50 steps would
    add ~15 MB, far above the 1 MB allowed for allocator noise.
    """
    r = rng(5)
    w = Tensor(r.standard_normal((32, 32)) * 0.2, requires_grad=True)
    x = r.standard_normal((64, 32))

    def step():
        h = Tensor(x)
        for _ in range(5):
            h = (h @ w).tanh()
        loss = (h * h).mean()
        loss.backward()
        w.data -= 0.01 * w.grad
        w.grad = None

    tracemalloc.start()
    try:
        for _ in range(5):  # warm up caches
            step()
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        step()
        _, one_step_peak = tracemalloc.get_traced_memory()
        for _ in range(50):
            step()
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert one_step_peak - before > 100_000  # the measurement sees the activations at all
    assert after - before < 1_000_000
    assert peak - before < 2 * (one_step_peak - before)


# ---- no_grad, detach, requires_grad ----------------------------------------------------------------
def test_no_grad_records_nothing_and_restores_the_mode():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 2).exp().sum()
        with no_grad():
            z = x + 1
        assert not is_grad_enabled()  # the inner block restores the outer state, not True
    assert is_grad_enabled()
    for t in (y, z):
        assert t.requires_grad is False and t._ctx is None
    np.testing.assert_allclose(y.data, np.exp(2.0) + np.exp(4.0))
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_one_no_grad_or_detect_anomaly_instance_entered_twice_restores_the_outer_state():
    quiet, strict = no_grad(), detect_anomaly()
    with quiet:
        with quiet:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with strict:
        with strict:
            pass
        with pytest.raises(AnomalyError):
            Tensor(np.zeros(1)).log()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert Tensor(np.zeros(1)).log().data[0] == -np.inf  # off again


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError), no_grad():
        1 / 0  # noqa: B018
    assert is_grad_enabled()


def test_no_grad_as_a_decorator():
    @no_grad()
    def predict(t: Tensor) -> Tensor:
        """Doc."""
        assert not is_grad_enabled()
        return t.tanh()

    x = Tensor(np.array([0.5]), requires_grad=True)
    y = predict(x)
    assert y.requires_grad is False and y._ctx is None
    assert predict.__name__ == "predict" and predict.__doc__ == "Doc."
    assert is_grad_enabled()
    assert x.tanh().requires_grad  # recording resumes after the call


def test_no_grad_decorator_passes_keywords_and_wraps_a_callable_without_a_name():
    def scaled(t: Tensor, *, by: float = 1.0) -> Tensor:
        return t * by

    x = Tensor(np.array([2.0]), requires_grad=True)
    y = no_grad()(scaled)(x, by=3.0)
    assert y.data.tolist() == [6.0] and not y.requires_grad
    halved = no_grad()(functools.partial(scaled, by=0.5))  # a partial has no __name__
    assert halved.__name__ == "wrapper" and halved(x).data.tolist() == [1.0]


def test_detach_shares_data_and_cuts_the_graph():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    d = x.detach()
    assert np.shares_memory(d.data, x.data)
    assert d.requires_grad is False and d._ctx is None
    (x * d).sum().backward()  # d is a constant: d/dx sum(x * d) = d, not 2x
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])
    y = (x * 2).detach()
    assert y._ctx is None and not y.requires_grad


def test_requires_grad_propagation():
    a = Tensor(np.ones(2))
    b = Tensor(np.ones(2), requires_grad=True)
    assert a.requires_grad is False and (a + a).requires_grad is False and (a + a)._ctx is None
    assert (a + b).requires_grad and (b + a).requires_grad and (2 * b).requires_grad
    assert (a * 3 + b.exp()).sum().requires_grad
    assert concat([a, b]).requires_grad and stack([a, a]).requires_grad is False
    # only the inputs that require grad get one
    (a * b).sum().backward()
    assert a.grad is None
    np.testing.assert_array_equal(b.grad, a.data)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    h = (x * 3).retain_grad()
    other = x * 2
    (h * h + other).sum().backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)  # d/dh sum(h^2) = 2h
    assert other.grad is None  # non-leaf without retain_grad keeps nothing
    np.testing.assert_array_equal(x.grad, 3 * 2 * h.data + 2)


def test_grad_with_respect_to_a_non_leaf_returns_its_gradient_and_leaves_dot_grad_alone():
    """grad() may ask for an intermediate tensor: the gradient that reached h is returned (not None,
    not "unused"), alongside a leaf's, and no .grad is filled in. Pinned because the wanted
    non-leaf is picked up inside the loop over ops, apart from the leaves."""
    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    h = x * x
    loss = (h * np.array([1.0, -2.0, 3.0])).sum()
    gh, gx = tinygrad_rnn.grad(loss, [h, x])
    np.testing.assert_array_equal(gh, [1.0, -2.0, 3.0])  # d/dh sum(h * w) = w
    np.testing.assert_array_equal(gx, np.array([1.0, -2.0, 3.0]) * 2 * x.data)  # chain rule: w * 2x
    assert x.grad is None and h.grad is None


# ---- dtypes and constants ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "kwargs", "expected"),
    [
        (np.arange(3), {}, np.float64),
        (np.array([True, False]), {}, np.float64),
        ([1, 2, 3], {}, np.float64),
        (7, {}, np.float64),
        (np.ones(2, dtype=np.float32), {}, np.float32),
        (np.float32(1.5), {}, np.float32),
        ([1, 2], {"dtype": np.float32}, np.float32),
    ],
)
def test_constructor_dtypes(data, kwargs, expected):
    t = Tensor(data, **kwargs)
    assert t.dtype == expected
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=expected))


OPERATORS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "@": operator.matmul,
}


CONSTANTS = {
    "float64-array": np.full((2, 2), 1.5),
    "int-array": np.full((2, 2), 2, dtype=np.int64),
    "np.float64": np.float64(1.5),
    "float": 1.5,
    "int": 2,
}


@pytest.mark.parametrize(
    ("name", "constant_name"),
    [(n, c) for n in OPERATORS for c in CONSTANTS if n != "@" or c.endswith("array")],  # @ needs arrays
)
def test_constants_on_either_side_keep_float32(name, constant_name):
    """Tensor op c and c op Tensor: a Tensor, float32 kept, values as numpy computes them."""
    op, constant = OPERATORS[name], CONSTANTS[constant_name]
    x = Tensor(np.array([[1.0, 2.0], [0.5, 1.5]], dtype=np.float32), requires_grad=True)
    for result, expected in [
        (op(x, constant), op(x.data.astype(np.float64), np.asarray(constant, dtype=np.float64))),
        (op(constant, x), op(np.asarray(constant, dtype=np.float64), x.data.astype(np.float64))),
    ]:
        assert isinstance(result, Tensor)
        assert result.dtype == np.float32 and result.requires_grad
        np.testing.assert_allclose(result.data, expected, rtol=1e-6)
        result.sum().backward()
        assert x.grad.dtype == np.float32
        x.grad = None


def test_tensors_of_different_float_dtypes_promote_and_grads_keep_each_dtype():
    a = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = Tensor(np.full(2, 3.0), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64  # two Tensors: numpy promotion
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad, [3.0, 3.0])


def test_comparisons_return_plain_boolean_arrays():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = Tensor(np.array([3.0, 2.0, 1.0]))
    cases = [
        (x == y, [False, True, False]),
        (x != y, [True, False, True]),
        (x < 2, [True, False, False]),
        (x <= np.array([1.0, 1.0, 1.0]), [True, False, False]),
        (x > y, [False, False, True]),
        (x >= 2.0, [False, True, True]),
        (np.array([2.0, 2.0, 2.0]) < x, [False, False, True]),
    ]
    for result, expected in cases:
        assert type(result) is np.ndarray and result.dtype == np.bool_
        np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(x[x > 1.5].data, [2.0, 3.0])  # usable as a mask


# ---- anomaly mode ----------------------------------------------------------------------------------
def test_anomaly_mode_names_the_op_and_the_callers_line_for_log_of_zero():
    x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        line = inspect.currentframe().f_lineno + 1
        x.log()
    message = str(info.value)
    assert message.startswith("log: forward output contains inf")
    assert f"{__file__}:{line}" in message


def test_anomaly_mode_catches_zero_over_zero_at_the_callers_line():
    """The reported line is the innermost user frame: here the line inside the helper."""
    zero = Tensor(np.zeros(2), requires_grad=True)

    def ratio(t):
        return t / t

    line = ratio.__code__.co_firstlineno + 1
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"^div: forward output contains nan") as info:
        ratio(zero)
    assert f"{__file__}:{line}" in str(info.value)


def test_anomaly_mode_catches_a_non_finite_gradient():
    """d/dx sqrt(x) = 0.5 / sqrt(x) is inf at 0 although the forward value 0 is finite."""
    x = Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with detect_anomaly():
        line = inspect.currentframe().f_lineno + 1
        y = (x**0.5).sum()
        with pytest.raises(AnomalyError, match=r"^pow: gradient for input 0 contains inf") as info:
            y.backward()
    assert f"{__file__}:{line}" in str(info.value)


def test_anomaly_message_names_the_op_the_value_inf_the_shape_and_a_caller_outside_the_package():
    """The whole message of a forward anomaly, for log(0) = -inf (so "inf", not "nan"). The
    caller is checked only to be an existing file:line outside tinygrad_rnn: its exact line is
    pinned by the tests above, which the mutation run deselects (its trampoline, outside the
    package, is the innermost caller there)."""
    x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        x.log()
    pattern = r"log: forward output contains inf \(shape \(2,\)\); the op was called at (.+):(\d+)"
    found = re.fullmatch(pattern, str(info.value))
    assert found, str(info.value)
    package = os.path.dirname(os.path.abspath(tinygrad_rnn.__file__)) + os.sep
    assert os.path.isfile(found.group(1)) and not found.group(1).startswith(package)


def test_anomaly_mode_says_unknown_when_every_caller_is_inside_the_package(monkeypatch):
    """A thread started straight on a Tensor method runs only package frames: no user line
    exists, and the message says so instead of naming a line of tinygrad_rnn."""
    errors, done = [], threading.Event()

    def keep(unraisable):  # _thread hands an uncaught exception to sys.unraisablehook
        errors.append(unraisable.exc_value)
        done.set()

    monkeypatch.setattr(sys, "unraisablehook", keep)
    with detect_anomaly():
        _thread.start_new_thread(Tensor(np.array([0.0])).log, ())
        assert done.wait(timeout=30)
    assert isinstance(errors[0], AnomalyError)
    assert str(errors[0]) == "log: forward output contains inf (shape (1,)); the op was called at <unknown>"


class _GradientsOnlyWhereNoneIsNeeded(Function):
    """y = x + c; backward sends nothing (None) to x and nan to c: a custom op may do either."""

    def forward(self, x, c):
        return x + c

    def backward(self, g):
        return None, g * np.nan


def test_anomaly_mode_checks_only_the_gradients_that_backward_keeps():
    """A None gradient (x) and a gradient for an input that needs none (c, whose nan the engine
    throws away) are no anomaly: backward completes and x, reached by no gradient, gets none."""
    x, c = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.array([3.0, 4.0]))
    with detect_anomaly():
        _GradientsOnlyWhereNoneIsNeeded.apply(x, c).sum().backward()
    assert x.grad is None and c.grad is None


def test_a_backward_stopped_by_an_error_leaves_no_partial_sum_behind():
    """x's running sum from the branch that ran first must not leak into the next backward()."""
    x = Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with detect_anomaly():
        # Newest first: (x * 3).sum() runs backward first and sends x its gradient 3; then
        # x**0.5 sends inf and the error stops the pass before x's .grad is written.
        y = (x**0.5).sum() + (x * 3).sum()
        with pytest.raises(AnomalyError):
            y.backward()
    assert x.grad is None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])  # a leftover 3 would give 5


def test_no_anomaly_error_outside_anomaly_mode():
    x = Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own divide-by-zero warning
        y = x.log()
        assert y.data[1] == -np.inf
        (x**0.5).sum().backward()
    assert x.grad[1] == np.inf and x.grad[0] == 0.25


def test_anomaly_mode_is_restored_and_quiet_on_finite_values():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with detect_anomaly():
        (x.log() * x).sum().backward()  # all finite: no error
    np.testing.assert_allclose(x.grad, np.log(x.data) + 1, rtol=1e-15)
    with pytest.raises(AnomalyError), detect_anomaly():
        x - np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan((x * np.nan).data).all()  # anomaly mode is off again


# ---- gradcheck itself ------------------------------------------------------------------------------
class BadSquare(Function):
    """y = x^2 with a deliberately wrong backward: entry (0, 2) gets 3x g instead of 2x g."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        grad = 2 * self.x * g
        grad[0, 2] = 3 * self.x[0, 2] * g[0, 2]
        return grad


def test_gradcheck_accepts_a_correct_function():
    r = rng(6)
    a = Tensor(r.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(r.standard_normal((3,)), requires_grad=True)
    assert gradcheck(lambda u, v: (u * v).tanh() @ v, [a, b], atol=ATOL, rtol=RTOL) is True
    assert a.grad is None and b.grad is None  # gradcheck leaves .grad as it found it


def test_gradcheck_reports_the_input_the_entry_and_both_values():
    good = Tensor(np.ones(2), requires_grad=True)
    x = Tensor(np.array([[1.0, 2.0, 2.0], [0.5, -1.0, 3.0]]), requires_grad=True)
    data_before = x.data.copy()
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda g, t: g.sum() + BadSquare.apply(t), [good, x], atol=ATOL, rtol=RTOL)
    message = str(info.value)
    assert "input 1" in message and "(2, 3)" in message and "index (0, 2)" in message
    analytic, numerical = (
        float(v) for v in re.search(r"analytic (\S+) vs numerical (\S+)", message).groups()
    )
    assert analytic == 6.0  # the wrong backward: 3 * x = 6
    assert abs(numerical - 4.0) < 1e-6  # the true derivative 2 * x = 4
    np.testing.assert_array_equal(x.data, data_before)  # the nudged entries were restored


def test_gradcheck_tolerance_is_applied():
    class SlightlyOff(Function):
        """y = x;  backward deliberately off by 1e-5."""

        def forward(self, x):
            return x.copy()

        def backward(self, g):
            return g + 1e-5

    x = Tensor(np.array([0.5]), requires_grad=True)
    assert gradcheck(SlightlyOff.apply, [x])  # defaults atol 1e-5, rtol 1e-4
    with pytest.raises(GradcheckError):
        gradcheck(SlightlyOff.apply, [x], atol=ATOL, rtol=RTOL)


def test_gradcheck_needs_an_input_with_requires_grad():
    with pytest.raises(ValueError, match="gradcheck: no input has requires_grad=True"):
        gradcheck(lambda t: t * 2, [Tensor(np.ones(2))])


def test_numerical_grad_matches_a_known_derivative():
    """d/dx sum(x^3) = 3 x^2; central differences are exact for cubics up to eps^2 * f'''/6 = 1e-12."""
    x = Tensor(np.array([[0.5, -1.0], [2.0, 0.1]]))
    numeric = numerical_grad(lambda t: t * t * t, [x], 0, eps=1e-6)
    np.testing.assert_allclose(numeric, 3 * x.data**2, rtol=0, atol=1e-8)


def test_the_seed_gradient_has_the_outputs_dtype_and_is_a_plain_array():
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    (x * 2.0).sum().backward()  # the seed of a one-element output: 1 in float32
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 2.0]
    y = Tensor(np.array([3.0]), requires_grad=True)
    (y * y).backward()  # shape (1,): one element, seeded with ones of that shape
    assert y.grad.dtype == np.float64 and y.grad.tolist() == [6.0]
    doubled = (x * 2.0).retain_grad()
    doubled.backward(np.ones(2), retain_graph=True)  # a float64 seed for a float32 output: cast
    assert doubled.grad.dtype == np.float32
    (seed,) = tinygrad_rnn.grad(doubled, doubled, grad_outputs=np.ones(2))  # the seed itself
    assert seed.dtype == np.float32
    doubled = (x * 2.0).retain_grad()
    doubled.backward(Tensor(np.ones(2, dtype=np.float32)))  # a Tensor seed gives its values
    assert type(doubled.grad) is np.ndarray and type(x.grad) is np.ndarray


def test_two_seeds_of_one_float32_output_are_each_float32_before_they_are_summed():
    y = Tensor(np.ones(1, dtype=np.float32), requires_grad=True)
    tiny = 2.0**-24 + 2.0**-50  # float32(tiny) is 2**-24: half of float32's spacing at 1
    (g,) = tinygrad_rnn.grad([y, y], y, grad_outputs=[np.ones(1), np.array([tiny])])
    # In float32, 1 + 2**-24 is a tie and rounds to even, 1.0; summed in float64 first and then
    # cast, the seeds would give 1 + 2**-23. Each seed takes its output's dtype first (PyTorch: 1.0 too).
    assert g.dtype == np.float32 and g.tolist() == [1.0]


def test_a_tensor_made_from_an_int_array_keeps_the_float_conversion_without_a_second_copy():
    """Tensor(int array) converts to float64: that new array is the tensor's own memory already
    (nobody else holds it), so it is kept, not copied again: 1 MiB at most while building, not 2;
    the caller's int array is left as it was."""
    ints = np.arange(2**17)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        t = Tensor(ints)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert t.dtype == np.float64 and t.data[-1] == 2**17 - 1 and ints.dtype.kind == "i"
    assert peak < 1.5 * 2**20  # the float64 array (1 MiB) once
