"""Seed 001's backpropagation through time, by hand, against the engine.

The seed's network: s_t = tanh(U x_t + W s_{t-1}), o_t = V s_t,
y_hat_t = softmax(o_t), loss E = sum_t E_t with E_t = -log y_hat_t[y_t]
(cross-entropy against the class y_t). In the library's names U = weight_ih,
W = weight_hh; V is a raw Tensor. The hand formulas, with e_t = y_hat_t - onehot(y_t)
= dE_t/do_t and delta_t = dE/d(pre-activation at t):

    delta_T = (V^T e_T) * (1 - s_T^2)
    delta_t = (V^T e_t + W^T delta_{t+1}) * (1 - s_t^2)
    dE/dV = sum_t e_t s_t^T
    dE/dW = sum_t delta_t s_{t-1}^T
    dE/dU = sum_t delta_t x_t^T
    dE/ds_0 = W^T delta_1,   dE/dx_t = U^T delta_t,   dE/db = sum_t delta_t

Both sides are float64 and do the same arithmetic in a different order, so they
agree to rounding; we require 1e-10.
"""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn

TOL = 1e-10

# Each test runs the library's default composed form and its fused=True form.
both_forms = pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
INPUT, HIDDEN, CLASSES, STEPS = 4, 5, 3, 6


def softmax(o):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def bptt_by_hand(U, W, V, xs, ys, s0, b=None):
    """Forward and backward of seed 001's RNN for a batch of sequences xs (T, B, I), ys (T, B)."""
    T = len(xs)
    b = np.zeros(W.shape[0]) if b is None else b
    s = [s0]  # s[t] for t = 0..T; s[0] is the initial state
    for t in range(T):
        s.append(np.tanh(xs[t] @ U.T + s[t] @ W.T + b))
    y_hat = [None] + [softmax(s[t] @ V.T) for t in range(1, T + 1)]  # y_hat[t] = softmax(V s_t)
    onehot = [None] + [np.eye(V.shape[0])[ys[t - 1]] for t in range(1, T + 1)]
    loss = -sum((onehot[t] * np.log(y_hat[t])).sum() for t in range(1, T + 1))
    e = [None] + [y_hat[t] - onehot[t] for t in range(1, T + 1)]  # e_t = dE_t / do_t

    grads = {"U": np.zeros_like(U), "W": np.zeros_like(W), "V": np.zeros_like(V), "b": np.zeros_like(b)}
    dx = np.zeros_like(xs)
    delta_next = np.zeros_like(s0)
    for t in range(T, 0, -1):
        delta = (e[t] @ V + delta_next @ W) * (1 - s[t] ** 2)  # row-vector form of V^T e + W^T delta
        grads["V"] += e[t].T @ s[t]
        grads["W"] += delta.T @ s[t - 1]
        grads["U"] += delta.T @ xs[t - 1]
        grads["b"] += delta.sum(axis=0)
        dx[t - 1] = delta @ U
        delta_next = delta
    grads["s0"] = delta_next @ W
    grads["x"] = dx
    return loss, grads


def problem(seed, batch):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((STEPS, batch, INPUT))
    ys = rng.integers(0, CLASSES, size=(STEPS, batch))
    V = rng.standard_normal((CLASSES, HIDDEN))
    s0 = rng.standard_normal((batch, HIDDEN)) * 0.5
    return xs, ys, V, s0


@both_forms
def test_rnn_cell_bptt_equals_the_hand_formulas_for_one_sequence(fused):
    """Seed 001's exact setting: one sequence, no biases, a loop over RNNCell steps."""
    xs, ys, V_np, s0_np = problem(0, batch=1)
    cell = nn.RNNCell(INPUT, HIDDEN, bias=False, fused=fused, rng=1)
    V = Tensor(V_np, requires_grad=True)
    x = [Tensor(xs[t, 0], requires_grad=True) for t in range(STEPS)]  # unbatched: x_t of shape (I,)
    s = Tensor(s0_np[0], requires_grad=True)
    s0 = s
    loss = Tensor(0.0)
    for t in range(STEPS):
        s = cell(x[t], s)  # s_t = tanh(U x_t + W s_{t-1})
        o = V @ s  # o_t = V s_t
        loss = loss - o.log_softmax()[ys[t, 0]]  # E_t = -log softmax(o_t)[y_t]
    loss.backward()

    expected_loss, grads = bptt_by_hand(cell.weight_ih.data, cell.weight_hh.data, V_np, xs, ys, s0_np)
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=TOL)
    np.testing.assert_allclose(cell.weight_hh.grad, grads["W"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(cell.weight_ih.grad, grads["U"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(V.grad, grads["V"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(s0.grad, grads["s0"][0], rtol=TOL, atol=TOL)
    for t in range(STEPS):
        np.testing.assert_allclose(x[t].grad, grads["x"][t, 0], rtol=TOL, atol=TOL)


@both_forms
def test_rnn_layer_bptt_with_biases_equals_the_hand_formulas_for_a_batch(fused):
    """The sequence layer (one matmul for all inputs, then the time loop) on a batch of 3 sequences.

    Its two biases only enter as b = b_ih + b_hh, so both get dE/db = sum_t delta_t.
    """
    xs, ys, V_np, s0_np = problem(2, batch=3)
    rnn = nn.RNN(INPUT, HIDDEN, fused=fused, rng=3)
    V = Tensor(V_np, requires_grad=True)
    x = Tensor(xs, requires_grad=True)
    s0 = Tensor(s0_np[None], requires_grad=True)
    states, _ = rnn(x, s0)  # (T, B, H)
    log_probs = (states @ V.T).log_softmax(axis=-1)  # (T, B, K)
    t_index, b_index = np.meshgrid(np.arange(STEPS), np.arange(3), indexing="ij")
    loss = -log_probs[t_index, b_index, ys].sum()
    loss.backward()

    b = rnn.bias_ih_l0.data + rnn.bias_hh_l0.data
    expected_loss, grads = bptt_by_hand(rnn.weight_ih_l0.data, rnn.weight_hh_l0.data, V_np, xs, ys, s0_np, b)
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=TOL)
    np.testing.assert_allclose(rnn.weight_hh_l0.grad, grads["W"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(rnn.weight_ih_l0.grad, grads["U"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(rnn.bias_ih_l0.grad, grads["b"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(rnn.bias_hh_l0.grad, grads["b"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(V.grad, grads["V"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(x.grad, grads["x"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(s0.grad[0], grads["s0"], rtol=TOL, atol=TOL)


@both_forms
def test_seed_001_chain_rule_for_e3_equals_the_engine(fused):
    """The seed's expansion for one loss term, E_3 alone:

        dE_3/dW = sum_{k=1..3} dE_3/ds_3 * (prod_{j=k+1..3} ds_j/ds_{j-1}) * d+s_k/dW

    with ds_j/ds_{j-1} = diag(1 - s_j^2) W and d+s_k/dW the direct derivative
    (s_{k-1} held fixed): d+s_k/dW_ab = (1 - s_k^2)_a s_{k-1,b} at row a.
    Written with explicit Jacobian matrices, a second hand route independent of delta.
    """
    xs, ys, V_np, s0_np = problem(4, batch=1)
    cell = nn.RNNCell(INPUT, HIDDEN, bias=False, fused=fused, rng=5)
    U, W = cell.weight_ih.data, cell.weight_hh.data
    V = Tensor(V_np, requires_grad=True)
    s = [s0_np[0]]
    for t in range(3):
        s.append(np.tanh(U @ xs[t, 0] + W @ s[t]))
    dE3_ds3 = V_np.T @ (softmax(V_np @ s[3]) - np.eye(CLASSES)[ys[2, 0]])
    expected = np.zeros_like(W)
    for k in range(1, 4):
        chain = dE3_ds3
        for j in range(3, k, -1):  # dE_3/ds_k = dE_3/ds_3 * ds_3/ds_2 * ... * ds_{k+1}/ds_k
            chain = chain @ (np.diag(1 - s[j] ** 2) @ W)
        direct = np.einsum("a,b->ab", 1 - s[k] ** 2, s[k - 1])  # d+s_k[a]/dW[a, b]
        expected += chain[:, None] * direct

    h = Tensor(s0_np[0])
    for t in range(3):
        h = cell(xs[t, 0], h)
    (-(V @ h).log_softmax()[ys[2, 0]]).backward()
    np.testing.assert_allclose(cell.weight_hh.grad, expected, rtol=TOL, atol=TOL)
