"""Fused ops: several primitive ops as one, for speed. Opt-in, with ``fused=True``.

Why frameworks fuse: every graph node costs bookkeeping (a Python object, a
gradient to sum, a saved array), and every elementwise op reads and writes
whole arrays. One op for ``tanh(x @ W.T + b)`` keeps one array instead of
three and makes one node instead of four, and its backward is one formula
written by hand: the derivative the composed ops would give, multiplied out.

The cost is the lesson of this module: the hand-written backward is a second
copy of the calculus, so it can be wrong where the composed form cannot.
Every fused op and every layer with ``fused=True`` is tested equal to its
composed twin (tests/test_fused.py), and ``make bench`` measures what the
fusion buys. The fused ops have no recorded backward: with
``backward(create_graph=True)`` they raise and ask for the composed form.

The step functions at the end mirror ``tinygrad_rnn.nn.steps`` one for one.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.bookkeeping import RowProducts
from tinygrad_rnn.ops import unbroadcast
from tinygrad_rnn.tensor import Function, Tensor

__all__ = ["Affine", "TanhAffine", "AffineGates", "linear", "rnn_step", "gru_step", "lstm_step"]
__all__ += ["leaky_rnn_step", "skip_rnn_step"]


class _Fused(Function):
    def composed_only(self, g) -> None:
        if isinstance(g, Tensor):
            raise RuntimeError(
                f"{self.name}: a fused op has a hand-written backward on arrays only, so it cannot be "
                "recorded (create_graph=True); build the layer with fused=False (the composed form)"
            )


class Affine(_Fused):
    """z = x @ W.T + b;  dL/dx = g @ W,  dL/dW = g.T @ x,  dL/db = g summed to b's shape.

    Replaces transpose -> matmul -> add: one node instead of three, and no
    (..., m) array for x @ W.T kept apart from z. x is (..., n), W (m, n), and b
    broadcasts to z (..., m), e.g. one time step's input drive gx_t; with two
    inputs there is no b. Batch axes are folded into rows: one 2-D matmul each.
    dL/dW goes back as its factors (bookkeeping.RowProducts): a weight used at
    every time step gets one matmul over all steps' rows.
    """

    name = "affine"

    def forward(self, x, weight, bias=None):
        z = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])
        if bias is None:
            return z
        self.bias_shape = bias.shape
        if bias.dtype == z.dtype:
            z += bias  # z is a fresh array: add in place
            return z
        return z + bias  # e.g. a float64 b with float32 x and W: float64, as x @ W.T + b

    def backward(self, g):
        self.composed_only(g)
        x, weight = self.inputs[:2]
        needs = self.needs_grad
        g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        gx = (g_rows @ weight).reshape(x.shape) if needs[0] else None
        gw = RowProducts(g_rows, x_rows) if needs[1] else None  # g_rows.T @ x_rows, summed over uses
        if len(needs) == 2:
            return gx, gw
        return gx, gw, unbroadcast(g, self.bias_shape) if needs[2] else None


class TanhAffine(Affine):
    """y = tanh(x @ W.T + b);  dL/dx = a @ W,  dL/dW = a.T @ x,  dL/db = a summed, a = g * (1 - y**2).

    Replaces transpose -> matmul -> add -> tanh: the Elman step
    h' = tanh(gx_t + h W_hh^T) as one node per time step instead of four, one
    array instead of three; its backward is seed 001's BPTT step.
    """

    name = "tanh_affine"

    def forward(self, x, weight, bias=None):
        z = super().forward(x, weight, bias)
        return np.tanh(z, out=z)  # z is a fresh array: no second one

    def backward(self, g):
        self.composed_only(g)
        y = self.output
        return super().backward(g * (1 - y * y))


class AffineGates(Affine):
    """y = f_k(x @ W.T + b) on column block k;  dL/dx = a @ W,  dL/dW = a.T @ x,  a = g * f_k'(block k).

    The columns split into equal blocks, one per entry of ``activations``
    ("sigmoid": f' = y (1 - y), "tanh": f' = 1 - y**2). The LSTM's gates i, f, g, o
    are ("sigmoid", "sigmoid", "tanh", "sigmoid"). Replaces transpose -> matmul ->
    add -> 4 slices -> 4 activations: one node instead of eleven, one (B, 4H) array
    instead of ten.
    """

    name = "affine_gates"

    def __init__(self, activations: tuple[str, ...]):
        self.activations = activations

    def forward(self, x, weight, bias=None):
        z = super().forward(x, weight, bias)
        for block, kind in zip(np.split(z, len(self.activations), axis=-1), self.activations):
            if kind == "tanh":
                np.tanh(block, out=block)
            else:  # ops.Sigmoid's overflow-free (1 + tanh(x/2)) / 2, in place
                block *= 0.5
                np.tanh(block, out=block)
                block += 1
                block *= 0.5
        return z

    def backward(self, g):
        self.composed_only(g)
        y = self.output
        slope = np.empty_like(y)
        count = len(self.activations)
        for y_k, slope_k, kind in zip(
            np.split(y, count, axis=-1), np.split(slope, count, axis=-1), self.activations
        ):
            slope_k[...] = 1 - y_k * y_k if kind == "tanh" else y_k * (1 - y_k)
        return super().backward(g * slope)


_LSTM_ACTIVATIONS = ("sigmoid", "sigmoid", "tanh", "sigmoid")  # gates i, f, g, o


# ---- the step functions of nn/steps.py, with the fused ops ----------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b as one Affine node."""
    return Affine.apply(x, weight) if bias is None else Affine.apply(x, weight, bias)


def input_drive(x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None) -> Tensor:
    return linear(x, weight_ih, bias_ih)


def rnn_step(
    gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, nonlinearity: str = "tanh"
) -> Tensor:
    """h' = f(gx + h W_hh^T + b_hh): one TanhAffine node for tanh, Affine then relu for relu."""
    bias = gx if bias_hh is None else gx + bias_hh
    if nonlinearity == "tanh":
        return TanhAffine.apply(h, weight_hh, bias)
    if nonlinearity == "relu":
        return Affine.apply(h, weight_hh, bias).relu()
    raise ValueError(f"rnn_step: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def gru_step(
    gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, reset_after: bool = True
) -> Tensor:
    """nn.steps.gru_step with Affine for the matmuls, r and z through one sigmoid, and
    h' = n + z * (h - n): three ops instead of the four of (1 - z) * n + z * h."""
    H = h.shape[-1]
    if reset_after:
        gh = linear(h, weight_hh, bias_hh)
        rz = (gx[:, : 2 * H] + gh[:, : 2 * H]).sigmoid()
        n = (gx[:, 2 * H :] + rz[:, :H] * gh[:, 2 * H :]).tanh()
    else:
        bias_rz, bias_n = (None, None) if bias_hh is None else (bias_hh[: 2 * H], bias_hh[2 * H :])
        rz = linear(
            h, weight_hh[: 2 * H], gx[:, : 2 * H] if bias_rz is None else gx[:, : 2 * H] + bias_rz
        ).sigmoid()
        n_bias = gx[:, 2 * H :] if bias_n is None else gx[:, 2 * H :] + bias_n
        n = TanhAffine.apply(rz[:, :H] * h, weight_hh[2 * H :], n_bias)
    return n + rz[:, H:] * (h - n)


def lstm_step(
    gx: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, bias_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
    """nn.steps.lstm_step with the four gates as one AffineGates node."""
    H = h.shape[-1]
    gates = AffineGates.apply(
        h, weight_hh, gx if bias_hh is None else gx + bias_hh, activations=_LSTM_ACTIVATIONS
    )
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
    c_next = f * c + i * g
    return o * c_next.tanh(), c_next


def leaky_rnn_step(
    gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, alpha: float | Tensor
) -> Tensor:
    """nn.steps.leaky_rnn_step around the fused Elman step (one TanhAffine node)."""
    return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, "tanh")


def skip_rnn_step(
    gx: Tensor,
    h_previous: Tensor,
    h_delayed: Tensor,
    weight_hh: Tensor,
    weight_skip: Tensor,
    bias_hh: Tensor | None,
) -> Tensor:
    """The delayed state enters like an extra input: rnn_step with h_{t-d} W_skip^T added to gx."""
    return rnn_step(linear(h_delayed, weight_skip, gx), h_previous, weight_hh, bias_hh, "tanh")
