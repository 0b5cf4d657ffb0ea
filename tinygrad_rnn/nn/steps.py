"""One time step of every recurrent cell: the seed equations, written with the primitive ops.

Cells (one step) and sequence layers (a loop over time) both call these
functions, so there is one copy of every equation. A step takes the *input
drive* ``gx = x W_ih^T + b_ih`` already computed, because a sequence layer
computes it for all T time steps with one matmul before its time loop; only
the part that needs the previous state, ``h W_hh^T + b_hh``, is left inside
the loop. (The sequence layers add b_hh to gx once, too, and pass
``bias_hh=None`` here: the sum is the same.)

Shapes: x is (B, I), h and c are (B, H); the gate blocks of gx, W_hh and b_hh
are stacked along the last axis in PyTorch's order (RNN: one block; GRU: r, z,
n; LSTM: i, f, g, o). The same functions, with fused ops for speed, are in
``tinygrad_rnn.fused`` (``fused=True`` on a layer): the graph demo and
``make bench`` compare the two.
"""

from __future__ import annotations

from tinygrad_rnn.tensor import Tensor, split

__all__ = ["input_drive", "rnn_step", "gru_step", "lstm_step", "leaky_rnn_step", "skip_rnn_step"]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b: the affine map of a layer, with PyTorch's (out, in) weight."""
    y = x @ weight.T
    return y if bias is None else y + bias


def input_drive(x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None) -> Tensor:
    """gx = x W_ih^T + b_ih: the part of every gate that does not need h.

    For a whole sequence x (T, B, I) this is one matmul giving (T, B, G*H).
    """
    return linear(x, weight_ih, bias_ih)


def rnn_step(
    gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, nonlinearity: str = "tanh"
) -> Tensor:
    """Elman step (seeds 001, 002): h' = f(gx + h W_hh^T + b_hh), f = tanh or relu."""
    pre_activation = gx + linear(h, weight_hh, bias_hh)
    if nonlinearity == "tanh":
        return pre_activation.tanh()
    if nonlinearity == "relu":
        return pre_activation.relu()
    raise ValueError(f"rnn_step: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def gru_step(
    gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, reset_after: bool = True
) -> Tensor:
    """GRU step (seed 003); gx = x W_i[r|z|n]^T + b_i[r|z|n], stacked as (B, 3H).

    r  = sigmoid(gx_r + h W_hr^T + b_hr)                  reset gate
    z  = sigmoid(gx_z + h W_hz^T + b_hz)                  update gate
    n  = tanh(gx_n + r * (h W_hn^T + b_hn))               reset_after=True  (PyTorch)
    n  = tanh(gx_n + (r * h) W_hn^T + b_hn)               reset_after=False (Cho et al. 2014, seed 003)
    h' = (1 - z) * n + z * h
    """
    H = h.shape[-1]
    gx_r, gx_z, gx_n = split(gx, 3, axis=-1)
    if reset_after:  # the h terms of all three gates in one matmul
        gh_r, gh_z, gh_n = split(linear(h, weight_hh, bias_hh), 3, axis=-1)
    else:  # r must scale h before W_hn sees it, so the candidate's block gets its own matmul
        b_rz, b_n = (None, None) if bias_hh is None else (bias_hh[: 2 * H], bias_hh[2 * H :])
        gh_r, gh_z = split(linear(h, weight_hh[: 2 * H], b_rz), 2, axis=-1)
    r = (gx_r + gh_r).sigmoid()
    z = (gx_z + gh_z).sigmoid()
    if reset_after:
        n = (gx_n + r * gh_n).tanh()
    else:
        n = (gx_n + linear(r * h, weight_hh[2 * H :], b_n)).tanh()
    return (1 - z) * n + z * h


def lstm_step(
    gx: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, bias_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
    """LSTM step (seed 004); gx = x W_i[i|f|g|o]^T + b_i[i|f|g|o], stacked as (B, 4H).

        i  = sigmoid(gx_i + h W_hi^T + b_hi)     input gate
        f  = sigmoid(gx_f + h W_hf^T + b_hf)     forget gate
        g  = tanh(gx_g + h W_hg^T + b_hg)        candidate cell value
        o  = sigmoid(gx_o + h W_ho^T + b_ho)     output gate
        c' = f * c + i * g
        h' = o * tanh(c')
    The four gates' pre-activations come from one (B, 4H) matmul, then split.
    Returns (h', c').
    """
    i, f, g, o = split(gx + linear(h, weight_hh, bias_hh), 4, axis=-1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c_next = f * c + i * g
    return o * c_next.tanh(), c_next


def leaky_rnn_step(
    gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, alpha: float | Tensor
) -> Tensor:
    """Leaky unit (seed 004): h' = alpha * h + (1 - alpha) * tanh(gx + h W_hh^T + b_hh)."""
    return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, "tanh")


def skip_rnn_step(
    gx: Tensor,
    h_previous: Tensor,
    h_delayed: Tensor,
    weight_hh: Tensor,
    weight_skip: Tensor,
    bias_hh: Tensor | None,
) -> Tensor:
    """Skip connection through time (seed 004), d steps back:

        h_t = tanh(gx_t + h_{t-1} W_hh^T + h_{t-d} W_skip^T + b_hh)
    The delayed state enters like one more input.
    """
    return (gx + linear(h_previous, weight_hh, bias_hh) + h_delayed @ weight_skip.T).tanh()
