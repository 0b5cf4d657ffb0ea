"""Hand-derived numpy training steps: forward, cross-entropy, full BPTT, SGD.

These are what the engine's step costs are measured against, and what its
gradients are checked against (tests/test_bench_reference.py). Nothing here
uses the engine: every gradient below is derived by hand, with the chain rule
written out next to the code.

Conventions (the same for every model, and the same as the engine's models):

* Time-major arrays: inputs and targets are (T, B); hidden states (T, B, H).
* Row vectors: a layer computes ``x @ W.T + b`` with PyTorch's (out, in)
  weight layout, so parameter names, shapes and gate orders are PyTorch's
  (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``;
  LSTM gates i, f, g, o; GRU gates r, z, n).
* The loss is the mean over all T*B predictions of the softmax cross-entropy
  ``-log softmax(logits)[target]``.
* The initial state is zero.

A parameter set is a dict ``{name: array}`` keyed like the engine model's
``state_dict()``; a ``NumpyTrainer`` owns a copy of one and updates it in place
with plain SGD, ``p <- p - lr * dL/dp``.

Matrix calculus used throughout (g = dL/dY for Y = X @ W.T + b, rows = samples):
    dL/dX = g @ W,   dL/dW = g.T @ X,   dL/db = sum of g's rows.
Because the weights are shared by all time steps, their gradients are sums
over t; stacking every step's rows lets one matmul do that sum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Params = dict[str, np.ndarray]
Grads = dict[str, np.ndarray]

__all__ = [
    "softmax_cross_entropy",
    "rnn_layer",
    "gru_layer",
    "lstm_layer",
    "char_rnn_loss_and_grads",
    "language_model_loss_and_grads",
    "r2rt_loss_and_grads",
    "NumpyTrainer",
]


# ---- loss ----------------------------------------------------------------------------------------
def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of N rows of logits (N, C) against integer targets (N,).

    p = softmax(logits) row by row (shifted by the row max so exp cannot overflow),
    L = -(1/N) sum_n log p[n, y_n],
    dL/dlogits = (p - onehot(y)) / N.
    """
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, targets]))
    dlogits = exp / total  # p
    dlogits[rows, targets] -= 1
    dlogits /= n
    return loss, dlogits


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) written as (1 + tanh(x/2)) / 2, which never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * x))


# ---- recurrent layers: forward returns the hidden states and a backward closure ------------------
# Each layer takes x (T, B, D) and weights (PyTorch layout) and returns
#   hs (T, B, H): the hidden state after every step, and
#   backward(dhs) -> (dx, grads): dL/dx (T, B, D) and {weight_ih, weight_hh, bias_ih, bias_hh}
# where dhs = dL/dhs comes only from the layer's outputs (the recurrence is handled inside).
LayerBackward = Callable[[np.ndarray], tuple[np.ndarray, Grads]]


def rnn_layer(x, w_ih, w_hh, b_ih, b_hh) -> tuple[np.ndarray, LayerBackward]:
    """Vanilla (Elman) RNN:  h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),  h_0 = 0.

    BPTT: the gradient reaching h_t is its output's gradient plus what flows back
    from step t+1:
        dh_t  = dhs_t + da_{t+1} W_hh          (da_{T+1} = 0)
        da_t  = dh_t * (1 - h_t^2)             (tanh' = 1 - tanh^2)
        dW_hh = sum_t da_t^T h_{t-1},  dW_ih = sum_t da_t^T x_t,  db_ih = db_hh = sum_t da_t
        dx_t  = da_t W_ih
    """
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    # The input's share of every step in one matmul: (T*B, D) @ (D, H).
    projected = (x.reshape(steps * batch, -1) @ w_ih.T + (b_ih + b_hh)).reshape(steps, batch, hidden)
    hs = np.empty((steps, batch, hidden), dtype=x.dtype)
    h = np.zeros((batch, hidden), dtype=x.dtype)
    for t in range(steps):
        h = np.tanh(projected[t] + h @ w_hh.T)
        hs[t] = h

    def backward(dhs: np.ndarray) -> tuple[np.ndarray, Grads]:
        da = np.empty_like(hs)  # da[t] = dL/d(pre-activation at t)
        dh_next = np.zeros((batch, hidden), dtype=x.dtype)  # da_{t+1} W_hh
        for t in reversed(range(steps)):
            da[t] = (dhs[t] + dh_next) * (1 - hs[t] * hs[t])
            dh_next = da[t] @ w_hh
        return _weight_grads(x, hs, da, da, w_ih)

    return hs, backward


def gru_layer(x, w_ih, w_hh, b_ih, b_hh) -> tuple[np.ndarray, LayerBackward]:
    """GRU in PyTorch's form (reset applied after the hidden matmul), gates r, z, n:

        gi_t = x_t W_ih^T + b_ih = [gi_r, gi_z, gi_n],   gh_t = h_{t-1} W_hh^T + b_hh = [gh_r, gh_z, gh_n]
        r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n)
        h_t = (1 - z) * n + z * h_{t-1}

    BPTT, with dh = dhs_t + (gradient from step t+1):
        dn = dh (1 - z),  dz = dh (h_{t-1} - n),  dh_{t-1} gets dh z directly
        dgi_n = dn (1 - n^2),  dgh_n = dgi_n r,  dr = dgi_n gh_n
        dgi_r = dgh_r = dr r (1 - r),  dgi_z = dgh_z = dz z (1 - z)
        dh_{t-1} += dgh_t W_hh;  dW_hh = sum_t dgh_t^T h_{t-1},  dW_ih = sum_t dgi_t^T x_t
        db_ih = sum_t dgi_t,  db_hh = sum_t dgh_t,  dx_t = dgi_t W_ih
    """
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    gi = (x.reshape(steps * batch, -1) @ w_ih.T + b_ih).reshape(steps, batch, 3 * hidden)
    hs = np.empty((steps, batch, hidden), dtype=x.dtype)
    gates = np.empty((steps, batch, 3 * hidden), dtype=x.dtype)  # r, z, n after their nonlinearity
    gh_n = np.empty((steps, batch, hidden), dtype=x.dtype)  # r multiplies this, so backward needs it
    h = np.zeros((batch, hidden), dtype=x.dtype)
    for t in range(steps):
        gh = h @ w_hh.T + b_hh
        rz = _sigmoid(gi[t, :, : 2 * hidden] + gh[:, : 2 * hidden])
        r, z = rz[:, :hidden], rz[:, hidden:]
        n = np.tanh(gi[t, :, 2 * hidden :] + r * gh[:, 2 * hidden :])
        h = (1 - z) * n + z * h
        gates[t, :, : 2 * hidden], gates[t, :, 2 * hidden :] = rz, n
        gh_n[t] = gh[:, 2 * hidden :]
        hs[t] = h

    def backward(dhs: np.ndarray) -> tuple[np.ndarray, Grads]:
        dgi = np.empty_like(gates)
        dgh = np.empty_like(gates)
        dh_next = np.zeros((batch, hidden), dtype=x.dtype)
        for t in reversed(range(steps)):
            r, z, n = gates[t, :, :hidden], gates[t, :, hidden : 2 * hidden], gates[t, :, 2 * hidden :]
            h_prev = hs[t - 1] if t > 0 else np.zeros_like(dh_next)
            dh = dhs[t] + dh_next
            dn_pre = dh * (1 - z) * (1 - n * n)
            dr_pre = dn_pre * gh_n[t] * r * (1 - r)
            dz_pre = dh * (h_prev - n) * z * (1 - z)
            dgi[t] = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
            dgh[t] = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)
            dh_next = dh * z + dgh[t] @ w_hh
        return _weight_grads(x, hs, dgi, dgh, w_ih)

    return hs, backward


def lstm_layer(x, w_ih, w_hh, b_ih, b_hh) -> tuple[np.ndarray, LayerBackward]:
    """LSTM in PyTorch's form, gates i, f, g, o from one (B, 4H) pre-activation:

        a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh = [a_i, a_f, a_g, a_o]
        i, f, o = sigmoid(a_i, a_f, a_o),  g = tanh(a_g)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0

    BPTT, with dh = dhs_t + dh from step t+1 and dc_next from step t+1:
        do = dh tanh(c_t),  dc = dc_next + dh o (1 - tanh(c_t)^2)
        di = dc g,  df = dc c_{t-1},  dg = dc i,  dc_{t-1} = dc f
        da = [di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)]
        dh_{t-1} = da W_hh;  dW_hh = sum_t da^T h_{t-1},  dW_ih = sum_t da^T x_t,  db = sum_t da
    """
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    projected = (x.reshape(steps * batch, -1) @ w_ih.T + (b_ih + b_hh)).reshape(steps, batch, 4 * hidden)
    hs = np.empty((steps, batch, hidden), dtype=x.dtype)
    cs = np.empty((steps, batch, hidden), dtype=x.dtype)
    gates = np.empty((steps, batch, 4 * hidden), dtype=x.dtype)  # i, f, g, o after their nonlinearity
    h = np.zeros((batch, hidden), dtype=x.dtype)
    c = np.zeros((batch, hidden), dtype=x.dtype)
    for t in range(steps):
        a = projected[t] + h @ w_hh.T
        act = gates[t]
        act[:] = _sigmoid(a)  # right for i, f, o; g is overwritten with its tanh next
        act[:, 2 * hidden : 3 * hidden] = np.tanh(a[:, 2 * hidden : 3 * hidden])
        i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
        c = f * c + i * g
        h = o * np.tanh(c)
        cs[t], hs[t] = c, h

    def backward(dhs: np.ndarray) -> tuple[np.ndarray, Grads]:
        da = np.empty_like(gates)
        dh_next = np.zeros((batch, hidden), dtype=x.dtype)
        dc_next = np.zeros((batch, hidden), dtype=x.dtype)
        for t in reversed(range(steps)):
            i, f, g, o = (gates[t, :, k * hidden : (k + 1) * hidden] for k in range(4))
            c_prev = cs[t - 1] if t > 0 else np.zeros_like(dc_next)
            tanh_c = np.tanh(cs[t])
            dh = dhs[t] + dh_next
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
            da[t, :, :hidden] = dc * g * i * (1 - i)
            da[t, :, hidden : 2 * hidden] = dc * c_prev * f * (1 - f)
            da[t, :, 2 * hidden : 3 * hidden] = dc * i * (1 - g * g)
            da[t, :, 3 * hidden :] = dh * tanh_c * o * (1 - o)
            dc_next = dc * f
            dh_next = da[t] @ w_hh
        return _weight_grads(x, hs, da, da, w_ih)

    return hs, backward


def _weight_grads(x, hs, d_input_pre, d_hidden_pre, w_ih) -> tuple[np.ndarray, Grads]:
    """Sum the per-step weight gradients of a layer in one matmul each.

    d_input_pre[t] = dL/d(x_t W_ih^T + b_ih), d_hidden_pre[t] = dL/d(h_{t-1} W_hh^T + b_hh)
    (the same array for RNN and LSTM, where both enter one sum).
    """
    steps, batch, _ = x.shape
    rows = steps * batch
    h_prev = np.concatenate([np.zeros_like(hs[:1]), hs[:-1]]).reshape(rows, -1)
    di = d_input_pre.reshape(rows, -1)
    dh = d_hidden_pre.reshape(rows, -1)
    grads = {
        "weight_ih_l0": di.T @ x.reshape(rows, -1),
        "weight_hh_l0": dh.T @ h_prev,
        "bias_ih_l0": di.sum(axis=0),
        "bias_hh_l0": dh.sum(axis=0),
    }
    dx = (di @ w_ih).reshape(x.shape)
    return dx, grads


_LAYERS = {"rnn": rnn_layer, "gru": gru_layer, "lstm": lstm_layer}


def _layer_weights(params: Params, prefix: str) -> tuple[np.ndarray, ...]:
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    return tuple(params[f"{prefix}.{name}"] for name in names)


def _head(params: Params, hs: np.ndarray, targets: np.ndarray) -> tuple[float, Grads, np.ndarray]:
    """logits = hs @ head.weight^T + head.bias, mean cross-entropy; returns loss, head grads, dL/dhs."""
    steps, batch, hidden = hs.shape
    rows = hs.reshape(steps * batch, hidden)
    logits = rows @ params["head.weight"].T + params["head.bias"]
    loss, dlogits = softmax_cross_entropy(logits, targets.reshape(-1))
    grads = {"head.weight": dlogits.T @ rows, "head.bias": dlogits.sum(axis=0)}
    dhs = (dlogits @ params["head.weight"]).reshape(hs.shape)
    return loss, grads, dhs


# ---- the benchmark models --------------------------------------------------------------------------
def char_rnn_loss_and_grads(params: Params, onehot: np.ndarray, targets: np.ndarray) -> tuple[float, Grads]:
    """min-char-rnn: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), y_t = head(h_t).

    ``onehot`` (T, B, V) holds the one-hot input characters, ``targets`` (T, B)
    the next characters. (min-char-rnn's single b_h is b_ih + b_hh here; both
    get the same gradient.)
    """
    hs, layer_backward = rnn_layer(onehot, *_layer_weights(params, "rnn"))
    loss, grads, dhs = _head(params, hs, targets)
    _, layer_grads = layer_backward(dhs)
    grads.update({f"rnn.{k}": v for k, v in layer_grads.items()})
    return loss, grads


def language_model_loss_and_grads(
    kind: str, params: Params, tokens: np.ndarray, targets: np.ndarray
) -> tuple[float, Grads]:
    """Embedding -> RNN/GRU/LSTM (``kind``) -> Linear head, on integer tokens (T, B).

    The embedding is a row lookup x_t = E[token_t], so dL/dE gets dx_t added
    at row token_t (np.add.at adds every repeated token).
    """
    embedding = params["embedding.weight"]
    x = embedding[tokens]
    hs, layer_backward = _LAYERS[kind](x, *_layer_weights(params, "rnn"))
    loss, grads, dhs = _head(params, hs, targets)
    dx, layer_grads = layer_backward(dhs)
    grads.update({f"rnn.{k}": v for k, v in layer_grads.items()})
    dembedding = np.zeros_like(embedding)
    np.add.at(dembedding, tokens.reshape(-1), dx.reshape(-1, embedding.shape[1]))
    grads["embedding.weight"] = dembedding
    return loss, grads


def r2rt_loss_and_grads(params: Params, onehot: np.ndarray, targets: np.ndarray) -> tuple[float, Grads]:
    """Seed 000 (r2rt): S_t = tanh([X_t, S_{t-1}] W + b_s),  P_t = softmax(S_t U + b_p),  S_0 = 0.

    X_t (B, 2) is the one-hot input bit, W is (2 + H, H), U is (H, 2) (the seed's
    row-vector layout). Splitting W's rows as W = [W_x; W_s] gives
    [X_t, S_{t-1}] W = X_t W_x + S_{t-1} W_s, so the input part of all steps is
    one matmul. BPTT:
        dS_t = dlogits_t U^T + da_{t+1} W_s^T,   da_t = dS_t (1 - S_t^2)
        dW = sum_t [X_t, S_{t-1}]^T da_t,  db_s = sum_t da_t
        dU = sum_t S_t^T dlogits_t,  db_p = sum_t dlogits_t
    """
    w, b_s, u, b_p = params["W"], params["b_s"], params["U"], params["b_p"]
    steps, batch, classes = onehot.shape
    hidden = w.shape[1]
    w_x, w_s = w[:classes], w[classes:]
    projected = (onehot.reshape(steps * batch, classes) @ w_x + b_s).reshape(steps, batch, hidden)
    states = np.empty((steps, batch, hidden), dtype=w.dtype)
    s = np.zeros((batch, hidden), dtype=w.dtype)
    for t in range(steps):
        s = np.tanh(projected[t] + s @ w_s)
        states[t] = s
    rows = states.reshape(steps * batch, hidden)
    loss, dlogits = softmax_cross_entropy(rows @ u + b_p, targets.reshape(-1))
    grads = {"U": rows.T @ dlogits, "b_p": dlogits.sum(axis=0)}
    ds_out = (dlogits @ u.T).reshape(states.shape)
    da = np.empty_like(states)
    ds_next = np.zeros((batch, hidden), dtype=w.dtype)
    for t in reversed(range(steps)):
        da[t] = (ds_out[t] + ds_next) * (1 - states[t] * states[t])
        ds_next = da[t] @ w_s.T
    previous = np.concatenate([np.zeros_like(states[:1]), states[:-1]])
    inputs = np.concatenate([onehot, previous], axis=2).reshape(steps * batch, classes + hidden)
    da_rows = da.reshape(steps * batch, hidden)
    grads["W"] = inputs.T @ da_rows
    grads["b_s"] = da_rows.sum(axis=0)
    return loss, grads


class NumpyTrainer:
    """One SGD training step of a benchmark model in plain numpy, on its own copy of the parameters.

    ``loss_and_grads(params, inputs, targets)`` is one of the functions above
    (for the language models, bound to its kind).
    """

    def __init__(self, loss_and_grads, params: Params, inputs: np.ndarray, targets: np.ndarray, lr: float):
        self.loss_and_grads = loss_and_grads
        self.params = {name: np.array(value, copy=True) for name, value in params.items()}
        self.inputs, self.targets, self.lr = inputs, targets, lr

    def gradients(self) -> tuple[float, Grads]:
        return self.loss_and_grads(self.params, self.inputs, self.targets)

    def step(self) -> float:
        """Forward, loss, BPTT, then p <- p - lr * dL/dp in place."""
        loss, grads = self.gradients()
        for name, grad in grads.items():
            self.params[name] -= self.lr * grad
        return loss
