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

Run ``python docs/exercises/lstm_step.py`` to compare it with nn.LSTMCell.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import Tensor, nn


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
    cell = nn.LSTMCell(3, 5, rng=rng)
    x = Tensor(rng.standard_normal((2, 3)))
    h, c = Tensor(rng.standard_normal((2, 5))), Tensor(rng.standard_normal((2, 5)))
    mine = lstm_step(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    theirs = cell(x, (h, c))
    for name, a, b in zip(("h'", "c'"), mine, theirs):
        print(f"{name}: largest difference from nn.LSTMCell {np.max(np.abs(a.data - b.data)):.1e}")
