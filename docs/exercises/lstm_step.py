"""Exercise 2, a reference solution: an LSTM step from the primitive ops, checked against nn.LSTMCell.

The equations (seed 004, in PyTorch's gate order i, f, g, o), one per line:

    i  = sigmoid(x W_ii^T + b_ii + h W_hi^T + b_hi)     input gate
    f  = sigmoid(x W_if^T + b_if + h W_hf^T + b_hf)     forget gate
    g  = tanh(x W_ig^T + b_ig + h W_hg^T + b_hg)        candidate cell value
    o  = sigmoid(x W_io^T + b_io + h W_ho^T + b_ho)     output gate
    c' = f * c + i * g
    h' = o * tanh(c')

nn.LSTMCell stores the four gates' weights stacked: weight_ih is (4H, I) with the
row blocks i, f, g, o, so W_ii = weight_ih[0:H], W_if = weight_ih[H:2H], and so on.
Here every gate gets its own two matmuls, as the equations are written; nn/steps.py
does one (B, 4H) matmul and splits it. The numbers must agree to rounding.

Run ``python docs/exercises/lstm_step.py`` to compare it with nn.LSTMCell: the values of h' and c',
and the gradients of a loss of both with respect to x, h, c and the four parameters.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import Tensor, grad, nn


def lstm_step(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor,
    bias_hh: Tensor,
) -> tuple[Tensor, Tensor]:
    """One LSTM step: (h', c') from x (B, I), h and c (B, H), and nn.LSTMCell's parameters."""
    H = h.shape[-1]

    def pre_activation(k: int) -> Tensor:
        """Gate k's sum: row block k of each weight and bias."""
        rows = slice(k * H, (k + 1) * H)
        return x @ weight_ih[rows].T + bias_ih[rows] + h @ weight_hh[rows].T + bias_hh[rows]

    i = pre_activation(0).sigmoid()
    f = pre_activation(1).sigmoid()
    g = pre_activation(2).tanh()
    o = pre_activation(3).sigmoid()
    c_next = f * c + i * g
    h_next = o * c_next.tanh()
    return h_next, c_next


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    cell = nn.LSTMCell(3, 5, rng=rng)  # float64, as gradients are compared to ~1e-12
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = Tensor(rng.standard_normal((2, 5)), requires_grad=True)
    c = Tensor(rng.standard_normal((2, 5)), requires_grad=True)
    u, w = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))  # weights for a loss of both outputs
    params = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    mine = lstm_step(x, h, c, *params)
    theirs = cell(x, (h, c))
    for name, a, b in zip(("h'", "c'"), mine, theirs):
        print(f"{name}: largest difference from nn.LSTMCell {np.max(np.abs(a.data - b.data)):.1e}")
    names = ["x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    leaves = [x, h, c, *params]
    mine_grads = grad((mine[0] * u).sum() + (mine[1] * w).sum(), leaves)
    their_grads = grad((theirs[0] * u).sum() + (theirs[1] * w).sum(), leaves)
    for name, a, b in zip(names, mine_grads, their_grads):
        print(f"dL/d{name}: largest difference from nn.LSTMCell {np.max(np.abs(a - b)):.1e}")
