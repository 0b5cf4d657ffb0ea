"""The fused ops (tinygrad_rnn.fused) and every layer and cell with ``fused=True`` equal their
composition from primitive ops: the values and every gradient.

A fused op's backward is a second, hand-written copy of the calculus, so each is checked
three ways: against its composition from primitive ops (the composed graph's backward),
against central differences (check_gradients in tests/strategies.py: EPS = 1e-6,
ATOL = 1e-7, RTOL = 1e-6), and against numpy formulas written out here.

Tolerances, fused vs composed:

* float64: ``FUSED_TOL`` = 1e-12, relative and absolute. The two forms compute the same sums
  in a different order (a folded 2-D matmul, an in-place bias add), so they differ by a few
  rounding errors of ~1e-16 on O(1) values; any wrong factor, block or transpose is O(0.1).
* float32: ``F32_FUSED_TOL`` = 64 * float32 eps ~ 7.6e-6, relative and absolute times the scale
  max(1, max |value|): both forms round each op to ~6e-8, and the few ops and short sums here
  accumulate well under 64 ulps; both must also stay float32.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import arrays, check_gradients

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor, concat, fused, gradcheck, nn
from tinygrad_rnn.fused import Affine, AffineGates, TanhAffine

FUSED_TOL = 1e-12
F32_FUSED_TOL = 64 * float(np.finfo(np.float32).eps)

BIAS_KINDS = ("none", "vector", "full", "broadcast row")
ACTIVATIONS = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}


def assert_agree(fused_value, composed_value, dtype, what):
    fused_value, composed_value = np.asarray(fused_value), np.asarray(composed_value)
    assert fused_value.dtype == composed_value.dtype == dtype, f"{what}: dtype {fused_value.dtype}"
    assert fused_value.shape == composed_value.shape, what
    if dtype == np.float64:
        np.testing.assert_allclose(fused_value, composed_value, rtol=FUSED_TOL, atol=FUSED_TOL, err_msg=what)
    else:
        scale = max(1.0, float(np.max(np.abs(composed_value), initial=0.0)))
        tol = F32_FUSED_TOL
        np.testing.assert_allclose(fused_value, composed_value, rtol=tol, atol=tol * scale, err_msg=what)


# ---- the fused ops against their compositions ------------------------------------------------------
@st.composite
def affine_shapes(draw: st.DrawFn, blocks: int = 1):
    """(x shape (..., n), weight shape (blocks * m, n), bias shape or None), 0 to 2 batch axes."""
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3)) * blocks
    kind = draw(st.sampled_from(BIAS_KINDS))
    out = batch + (m,)
    bias = {"none": None, "vector": (m,), "full": out, "broadcast row": (1,) * len(batch) + (m,)}[kind]
    return batch + (n,), (m, n), bias


def composed_affine(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def composed_gates(activations):
    def gates(x, w, b=None):
        z = composed_affine(x, w, b)
        m = z.shape[-1] // len(activations)
        blocks = [z[..., k * m : (k + 1) * m] for k in range(len(activations))]
        return concat([getattr(blk, kind)() for blk, kind in zip(blocks, activations)], axis=-1)

    return gates


def fused_and_composed(name, activations=None):
    if name == "affine":
        return (lambda *t: Affine.apply(*t)), composed_affine
    if name == "tanh_affine":
        return (lambda *t: TanhAffine.apply(*t)), (lambda *t: composed_affine(*t).tanh())
    return (lambda *t: AffineGates.apply(*t, activations=activations)), composed_gates(activations)


def compare_forms(fused_fn, composed_fn, values, dtype):
    """Outputs and the gradient of every input of the two forms, for the loss sum(out * U)."""
    results = []
    for fn in (fused_fn, composed_fn):
        tensors = [Tensor(v, dtype=dtype, requires_grad=True) for v in values]
        out = fn(*tensors)
        upstream = np.random.default_rng(7).uniform(-1.5, 1.5, out.shape)
        (out * upstream).sum().backward()
        results.append((out.data, [t.grad for t in tensors]))
    (out_f, grads_f), (out_c, grads_c) = results
    assert_agree(out_f, out_c, dtype, "forward value")
    for i, (gf, gc) in enumerate(zip(grads_f, grads_c)):
        assert_agree(gf, gc, dtype, f"gradient of input {i}")


@pytest.mark.parametrize("name", ["affine", "tanh_affine"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(shapes=affine_shapes(), seed=st.integers(0, 2**32 - 1))
@example(shapes=((2, 3, 4), (3, 4), (1, 1, 3)), seed=0)
def test_affine_and_tanh_affine_equal_their_composition(name, dtype, shapes, seed):
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-2, 2, s) for s in shapes if s is not None]
    compare_forms(*fused_and_composed(name), values, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(
    data=st.data(),
    activations=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=1, max_size=4).map(tuple),
    seed=st.integers(0, 2**32 - 1),
)
def test_affine_gates_equal_their_composition(dtype, data, activations, seed):
    shapes = data.draw(affine_shapes(blocks=len(activations)), label="shapes")
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-2, 2, s) for s in shapes if s is not None]
    compare_forms(*fused_and_composed("affine_gates", activations), values, dtype)


def _inputs(data, shapes):
    return [data.draw(arrays(s), label=f"input {k}") for k, s in enumerate(shapes) if s is not None]


@given(data=st.data(), shapes=affine_shapes())
def test_fused_linear_is_x_times_w_transposed_plus_b_with_exact_gradients(data, shapes):
    values = _inputs(data, shapes)
    expected = values[0] @ values[1].T + (values[2] if len(values) == 3 else 0)
    for linear in (fused.linear, F.linear):
        out = check_gradients(lambda *t, linear=linear: linear(*t), values)
        np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-13)


@given(data=st.data(), shapes=affine_shapes())
def test_tanh_affine_is_tanh_of_the_affine_map_with_exact_gradients(data, shapes):
    values = _inputs(data, shapes)
    out = check_gradients(lambda *t: TanhAffine.apply(*t), values)
    expected = np.tanh(values[0] @ values[1].T + (values[2] if len(values) == 3 else 0))
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-13)


@given(
    data=st.data(),
    activations=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=1, max_size=4).map(tuple),
)
def test_affine_gates_apply_each_blocks_activation_with_exact_gradients(data, activations):
    """The weight's rows come in len(activations) blocks; block k goes through activations[k]."""
    values = _inputs(data, data.draw(affine_shapes(blocks=len(activations)), label="shapes"))
    out = check_gradients(lambda *t: AffineGates.apply(*t, activations=activations), values)
    pre = values[0] @ values[1].T + (values[2] if len(values) == 3 else 0)
    expected = np.concatenate(
        [ACTIVATIONS[k](part) for k, part in zip(activations, np.split(pre, len(activations), axis=-1))],
        axis=-1,
    )
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-13)


def test_weight_used_at_every_step_gets_the_sum_of_its_per_step_gradients():
    """h_t = tanh(x_t + h_{t-1} W^T) with TanhAffine uses W at T steps: dL/dW is summed by hand here."""
    rng = np.random.default_rng(0)
    steps, batch, hidden = 5, 3, 4
    xs = rng.standard_normal((steps, batch, hidden))
    w = Tensor(rng.standard_normal((hidden, hidden)) * 0.5, requires_grad=True)
    h = Tensor(np.zeros((batch, hidden)))
    hs = []
    for t in range(steps):
        h = TanhAffine.apply(h, w, Tensor(xs[t]))
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


def test_a_weight_reached_by_fused_composed_dense_and_indexed_gradients_sums_them_all():
    """W feeds a fused and a composed linear, an elementwise op (dense) and an index (IndexedGrad)."""
    rng = np.random.default_rng(1)
    x1, x2 = Tensor(rng.standard_normal((2, 3))), Tensor(rng.standard_normal((4, 3)))

    def f(w):
        return (
            fused.linear(x1, w).sum()
            + F.linear(x2, w).tanh().sum()
            + TanhAffine.apply(x1, w).sum()
            + (w * w).sum()
            + w[np.array([1, 1, 3])].exp().sum()
        )

    w = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    # float64 central differences, eps 1e-6: truncation error ~1e-12, well inside atol 1e-7 / rtol 1e-6.
    assert gradcheck(f, [w], eps=1e-6, atol=1e-7, rtol=1e-6)


def test_float32_affine_stays_float32_and_a_float64_bias_promotes_like_plus():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((2, 3)), dtype=np.float32, requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3)), dtype=np.float32, requires_grad=True)
    b32 = Tensor(rng.standard_normal(4), dtype=np.float32, requires_grad=True)
    out = Affine.apply(x, w, b32)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b32.grad.dtype == np.float32
    b64 = Tensor(rng.standard_normal(4), requires_grad=True)
    promoted = Affine.apply(x, w, b64)
    assert promoted.dtype == (x @ w.T + b64).dtype == np.float64
    np.testing.assert_allclose(promoted.data, (x @ w.T + b64).data, rtol=1e-6)  # float32 products
    x.grad = w.grad = None
    promoted.sum().backward()
    assert x.grad.dtype == w.grad.dtype == np.float32 and b64.grad.dtype == np.float64


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
def test_sigmoid_far_out_is_silent_and_within_its_stated_error(dtype):
    # ops.Sigmoid computes (1 + tanh(x/2)) / 2 and states its error: at most 1.1e-16 in float64
    # and 6e-8 in float32 (about an ulp of 1), so the far negative tail is 0 below x = -38 / -20.
    x = Tensor(np.array([-1000.0, -100.0, -30.0, -10.0, 0.0, 30.0, 1000.0]), dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning escapes
        y = x.sigmoid()
        y.sum().backward()
    exact = np.exp(-np.logaddexp(0.0, -x.data.astype(np.float64)))  # 1 / (1 + e^-x), overflow-free
    stated = {np.float64: 1.1102230246251565e-16, np.float32: 6e-8}[dtype]
    assert np.all(np.abs(y.data - exact) <= stated)
    assert y.data[0] == 0 and y.data[1] == 0 and y.data[-1] == 1  # saturated exactly, no nan
    assert np.all(np.isfinite(x.grad)) and x.grad[0] == 0 and x.grad[-1] == 0


def test_affine_gates_sigmoid_blocks_never_overflow():
    x = Tensor(np.array([[1.0]]), requires_grad=True)
    w = Tensor(np.array([[-1000.0], [1000.0]]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = AffineGates.apply(x, w, activations=("sigmoid", "sigmoid"))
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [[0.0, 1.0]])
    np.testing.assert_array_equal(w.grad, [[0.0], [0.0]])  # both saturated: zero slope, no nan


@pytest.mark.parametrize("name", ["affine", "tanh_affine", "affine_gates"])
def test_a_fused_op_refuses_a_recorded_backward_and_names_the_composed_form(name):
    fused_fn, _ = fused_and_composed(name, ("sigmoid", "tanh"))
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{name}: .*create_graph=True.*fused=False"):
        fused_fn(x, w).sum().backward(create_graph=True)


# ---- every layer and cell: fused=True against its composed twin ------------------------------------
I, H = 2, 3

CELL_KINDS = {
    "RNNCell-tanh": lambda **o: nn.RNNCell(I, H, **o),
    "RNNCell-relu": lambda **o: nn.RNNCell(I, H, nonlinearity="relu", **o),
    "GRUCell-reset-after": lambda **o: nn.GRUCell(I, H, **o),
    "GRUCell-reset-before": lambda **o: nn.GRUCell(I, H, reset_after=False, **o),
    "LSTMCell": lambda **o: nn.LSTMCell(I, H, **o),
    "LeakyRNNCell-fixed": lambda **o: nn.LeakyRNNCell(I, H, alpha=0.7, **o),
    "LeakyRNNCell-learned": lambda **o: nn.LeakyRNNCell(I, H, alpha=0.7, learn_alpha=True, **o),
}


def twins(make, dtype, **options):
    """A composed module and a fused one holding copies of the same parameters."""
    composed = make(fused=False, dtype=dtype, **options)
    twin = make(fused=True, dtype=dtype, **{k: v for k, v in options.items() if k != "rng"})
    twin.load_state_dict(composed.state_dict())
    return composed, twin


def outputs_and_gradients(module, run, inputs, dtype):
    """Run ``run(module, *tensors)`` -> list of Tensors; backprop sum(out_k * U_k); return the
    output values and the gradients of the inputs and of every parameter (by name)."""
    tensors = [Tensor(v, dtype=dtype, requires_grad=True) for v in inputs]
    outs = run(module, *tensors)
    rng = np.random.default_rng(11)
    loss = sum(((o * rng.uniform(-1.5, 1.5, o.shape)).sum() for o in outs), Tensor(np.zeros((), dtype)))
    loss.backward()
    grads = {f"input {k}": t.grad for k, t in enumerate(tensors)}
    grads.update({name: p.grad for name, p in module.named_parameters()})
    return [o.data for o in outs], grads


def assert_twins_agree(composed, twin, run, inputs, dtype):
    outs_c, grads_c = outputs_and_gradients(composed, run, inputs, dtype)
    outs_f, grads_f = outputs_and_gradients(twin, run, inputs, dtype)
    for k, (of, oc) in enumerate(zip(outs_f, outs_c)):
        assert_agree(of, oc, dtype, f"output {k}")
    assert grads_f.keys() == grads_c.keys()
    for name in grads_c:
        assert grads_c[name] is not None and grads_f[name] is not None, f"{name} got no gradient"
        assert_agree(grads_f[name], grads_c[name], dtype, f"gradient of {name}")


def two_cell_steps(cell, x1, x2, *state):
    if isinstance(cell, nn.LSTMCell):
        s1 = cell(x1, tuple(state))
        s2 = cell(x2, s1)
        return [*s1, *s2]
    h1 = cell(x1, state[0])
    return [h1, cell(x2, h1)]


@pytest.mark.parametrize("kind", list(CELL_KINDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(batch=st.integers(1, 3), bias=st.booleans(), unbatched=st.booleans(), seed=st.integers(0, 2**16))
def test_fused_cell_equals_its_composed_twin(kind, dtype, batch, bias, unbatched, seed):
    composed, twin = twins(CELL_KINDS[kind], dtype, bias=bias, rng=seed)
    if kind == "LeakyRNNCell-learned":  # distinct leaks per unit, so a mixed-up unit would show
        composed.alpha_logit.data = np.array([-1.0, 0.5, 2.0], dtype=dtype)
        twin.alpha_logit.data = composed.alpha_logit.data.copy()
    rng = np.random.default_rng(seed + 1)
    lead = () if unbatched else (batch,)
    n_states = 2 if kind == "LSTMCell" else 1
    inputs = [rng.standard_normal(lead + (I,)) for _ in range(2)]
    inputs += [rng.standard_normal(lead + (H,)) for _ in range(n_states)]
    assert_twins_agree(composed, twin, two_cell_steps, inputs, dtype)


LAYER_KINDS = {
    "RNN-tanh": lambda **o: nn.RNN(I, H, nonlinearity="tanh", **o),
    "RNN-relu": lambda **o: nn.RNN(I, H, nonlinearity="relu", **o),
    "GRU-reset-after": lambda **o: nn.GRU(I, H, **o),
    "GRU-reset-before": lambda **o: nn.GRU(I, H, reset_after=False, **o),
    "LSTM": lambda **o: nn.LSTM(I, H, **o),
}


def run_layer(layer, x, *state):
    initial = None if not state else (tuple(state) if isinstance(layer, nn.LSTM) else state[0])
    output, final = layer(x, initial)
    return [output, *(final if isinstance(layer, nn.LSTM) else [final])]


@pytest.mark.parametrize("kind", list(LAYER_KINDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    bias=st.booleans(),
    dropout=st.sampled_from([0.0, 0.5]),
    steps=st.integers(1, 3),
    batch=st.integers(1, 2),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
@example(
    num_layers=2, bidirectional=True, batch_first=True, bias=True, dropout=0.5, steps=3, batch=2,
    with_state=True, seed=0,
)  # fmt: skip
def test_fused_layer_equals_its_composed_twin(
    kind, dtype, num_layers, bidirectional, batch_first, bias, dropout, steps, batch, with_state, seed
):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    options.update(bias=bias, dropout=dropout)
    # The same rng seed for both: equal parameters and, in train mode, equal dropout masks.
    composed = LAYER_KINDS[kind](fused=False, dtype=dtype, rng=seed, **options)
    twin = LAYER_KINDS[kind](fused=True, dtype=dtype, rng=seed, **options)
    twin.load_state_dict(composed.state_dict())
    assert composed.training and twin.training
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, steps, I) if batch_first else (steps, batch, I))
    count = num_layers * (2 if bidirectional else 1)
    n_states = (2 if kind == "LSTM" else 1) if with_state else 0
    states = [rng.standard_normal((count, batch, H)) for _ in range(n_states)]
    assert_twins_agree(composed, twin, run_layer, [x, *states], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(
    delay=st.integers(1, 4),
    batch_first=st.booleans(),
    bias=st.booleans(),
    steps=st.integers(1, 5),
    batch=st.integers(1, 2),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_fused_skip_rnn_equals_its_composed_twin(
    dtype, delay, batch_first, bias, steps, batch, with_state, seed
):
    def make(**o):
        return nn.SkipRNN(I, H, delay=delay, batch_first=batch_first, bias=bias, **o)

    composed, twin = twins(make, dtype, rng=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, steps, I) if batch_first else (steps, batch, I))
    states = [rng.standard_normal((1, batch, H))] if with_state else []
    assert_twins_agree(composed, twin, run_layer, [x, *states], dtype)


def _ops_per_time_step(fused: bool) -> dict[str, int]:
    """The ops one more time step adds to nn.LSTM's graph (T = 4 against T = 3), by name."""
    counts = []
    for steps in (3, 4):
        output, _ = nn.LSTM(3, 4, rng=0, fused=fused)(Tensor(np.ones((steps, 2, 3))))
        seen, stack, names = set(), [output], {}
        while stack:
            tensor = stack.pop()
            if id(tensor) in seen or tensor._ctx is None:
                continue
            seen.add(id(tensor))
            names[tensor._ctx.name] = names.get(tensor._ctx.name, 0) + 1
            stack.extend(tensor._ctx.parents)
        counts.append(names)
    return {name: counts[1].get(name, 0) - counts[0].get(name, 0) for name in counts[1]}


def test_an_lstm_time_step_records_what_the_tour_says():
    """docs/TOUR.md section 8: AffineGates is one node instead of seven (transpose, matmul, add, three
    sigmoids, a tanh); the four gate slices stay; a step records 17 ops composed, 11 fused."""
    composed, fused_ = _ops_per_time_step(False), _ops_per_time_step(True)
    assert sum(composed.values()) == 17 and sum(fused_.values()) == 11
    replaced = {"transpose": 1, "matmul": 1, "add": 1, "sigmoid": 3, "tanh": 1}
    for name, n in replaced.items():
        assert composed.get(name, 0) - fused_.get(name, 0) == n, name
    assert fused_["affine_gates"] == 1 and composed["index"] == fused_["index"] == 5  # gx[t], 4 gates


def test_affine_with_a_frozen_weight_still_sends_x_and_b_their_gradients():
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3)))  # frozen: only x and b learn
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    Affine.apply(x, w, b).sum().backward()
    np.testing.assert_allclose(x.grad, np.ones((2, 4)) @ w.data, rtol=1e-14)  # dL/dx = g @ W, g = 1
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0, 2.0])  # g summed over the 2 rows
    assert w.grad is None


def test_affine_computes_no_gradient_for_an_input_that_needs_none():
    """Only W needs a gradient: dL/dx = g W and dL/db = g summed over rows are not formed. With
    g = 3e38 in float32 both would overflow (6e38 > 3.4e38) and numpy would warn; dL/dW = g^T x
    (x = 1e-3) is 6e35, finite."""
    x = Tensor(np.full((2, 2), 1e-3, np.float32))
    w = Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    b = Tensor(np.zeros(2, np.float32))
    z = fused.linear(x, w, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z.backward(np.full((2, 2), 3e38, np.float32))
    np.testing.assert_allclose(w.grad, np.full((2, 2), 6e35), rtol=1e-6)
    assert x.grad is None and b.grad is None


def test_tanh_affine_forward_takes_tanh_in_place_one_array_at_a_time():
    """TanhAffine's forward holds one (B, m) array at a time: tanh overwrites x W^T + b instead of
    making a second array (measured with tracemalloc, which sees numpy's buffers)."""
    import tracemalloc

    x = Tensor(np.full((128, 4), 0.1))
    w = Tensor(np.full((1024, 4), 0.5), requires_grad=True)  # z is (128, 1024) float64: 1 MiB
    b = Tensor(np.zeros(1024))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = fused.TanhAffine.apply(x, w, b)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(y.data, np.tanh(4 * 0.1 * 0.5))  # each entry: 4 products 0.1 * 0.5
    assert peak < 1.5 * 2**20  # one MiB array, not two
