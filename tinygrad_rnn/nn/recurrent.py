"""Recurrent cells and layers, composed from the engine's ops.

Cells advance one time step: RNNCell, GRUCell, LSTMCell (PyTorch's
equations, parameter names and gate order) and LeakyRNNCell (seed 004's
leaky units). Sequence layers run a whole sequence: RNN, GRU, LSTM (stacked
layers, both directions, PyTorch's shapes and parameter names, so a
PyTorch state dict converted to numpy loads and gives the same numbers) and
SkipRNN (seed 004's skip connections through time).

The math of one time step is in nn/steps.py (the seed equations, written with
the primitive ops); cells and layers hold the parameters, check the shapes
once, and call it. ``fused=True`` calls the same steps from
tinygrad_rnn/fused.py instead, where each step is built from fused ops.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_rnn import fused as fused_steps
from tinygrad_rnn.checks import float_dtype
from tinygrad_rnn.nn import steps as textbook_steps
from tinygrad_rnn.nn.module import Module, Parameter, as_generator
from tinygrad_rnn.nn.steps import gru_step, input_drive, leaky_rnn_step, lstm_step, rnn_step, skip_rnn_step
from tinygrad_rnn.tensor import Tensor, concat, stack

__all__ = [
    "RNNCell",
    "GRUCell",
    "LSTMCell",
    "LeakyRNNCell",
    "RNN",
    "GRU",
    "LSTM",
    "SkipRNN",
    "input_drive",
    "rnn_step",
    "gru_step",
    "lstm_step",
    "leaky_rnn_step",
    "skip_rnn_step",
]

Seed = np.random.Generator | int | None
_NONLINEARITIES = ("tanh", "relu")


# ---- construction helpers -------------------------------------------------------------------
def _check_size(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _check_nonlinearity(nonlinearity: str, owner: str) -> str:
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"{owner}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def _flag(value: Any, name: str, owner: str) -> bool:
    """A yes/no option: only True or False (a string such as 'relu' in its place is a mistake)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


def _uniform(
    rng: np.random.Generator, shape: tuple[int, ...], hidden_size: int, dtype: np.dtype
) -> Parameter:
    """PyTorch's recurrent initialisation: every entry from U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    return Parameter(rng.uniform(-bound, bound, size=shape), dtype=dtype)


class _Options(Module):
    """The keyword options every cell and layer takes: fused, dtype, rng."""

    def _options(self, fused: bool, dtype: Any, rng: Seed) -> np.random.Generator:
        owner = type(self).__name__
        self.fused = _flag(fused, "fused", owner)
        self.dtype = float_dtype(dtype, owner)
        return as_generator(rng, owner)

    @property
    def steps(self) -> Any:
        """Where this module's step functions come from: nn/steps.py, or fused.py with fused=True."""
        return fused_steps if self.fused else textbook_steps

    def _parameter(self, rng: np.random.Generator, *shape: int) -> Parameter:
        return _uniform(rng, shape, self.hidden_size, self.dtype)


def _as_tensor(value: Any, dtype: np.dtype, what: str, owner: str) -> Tensor:
    """A Tensor of the parameters' dtype; plain arrays are converted, Tensors must already match."""
    if not isinstance(value, Tensor):
        return Tensor(value, dtype=dtype)
    if value.dtype != dtype:
        raise TypeError(
            f"{owner}: {what} has dtype {value.dtype} but the parameters are {dtype}; "
            f"convert one of them (Tensor(x, dtype=...) or module.to(...))"
        )
    return value


def _state_pair(state: Any, owner: str, names: tuple[str, str]) -> tuple[Any, Any]:
    """An LSTM's state: a pair of tensors, or None for zeros (then (None, None)).

    Half a pair, such as (h, None), is an error, as in PyTorch: zeros for the missing
    half would be a guess.
    """
    pair = f"({names[0]}, {names[1]})"
    if state is None:
        return None, None
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        got = f"a {type(state).__name__} of {len(state)}" if isinstance(state, (tuple, list)) else None
        raise TypeError(f"{owner}: state must be a pair {pair} or None, got {got or type(state).__name__}")
    for name, value in zip(names, state):
        if value is None:
            raise TypeError(
                f"{owner}: {name} in the state {pair} is None; pass both tensors, or state=None for zeros"
            )
    return state[0], state[1]


def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> Tensor:
    return Tensor(np.zeros(shape, dtype=dtype))


class _Cell(_Options):
    """Shared by the cells: parameters, shape checks, unbatched input."""

    gate_count = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, fused: bool, dtype: Any, rng: Seed
    ) -> None:
        owner = type(self).__name__
        self.input_size = _check_size(input_size, "input_size", owner)
        self.hidden_size = _check_size(hidden_size, "hidden_size", owner)
        self.bias = _flag(bias, "bias", owner)
        rng = self._options(fused, dtype, rng)
        G, H = self.gate_count, self.hidden_size
        self.weight_ih = self._parameter(rng, G * H, self.input_size)
        self.weight_hh = self._parameter(rng, G * H, H)
        if self.bias:
            self.bias_ih = self._parameter(rng, G * H)
            self.bias_hh = self._parameter(rng, G * H)
        else:
            self.bias_ih = self.bias_hh = None

    def _input(self, x: Any) -> tuple[Tensor, bool]:
        """x as (B, I) and whether it came batched; (I,) is one unbatched example."""
        x = _as_tensor(x, self.weight_ih.dtype, "input", type(self).__name__)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape (batch, {self.input_size}) or "
                f"({self.input_size},), got {x.shape}"
            )
        return (x, True) if x.ndim == 2 else (x.reshape(1, self.input_size), False)

    def _state(self, state: Any, batch: int, batched: bool, what: str) -> Tensor:
        """A hidden or cell state of shape (B, H); None means zeros."""
        if state is None:
            return _zeros((batch, self.hidden_size), self.weight_ih.dtype)
        state = _as_tensor(state, self.weight_ih.dtype, what, type(self).__name__)
        expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
        if state.shape != expected:
            raise ValueError(
                f"{type(self).__name__}: expected {what} of shape {expected} for an input of "
                f"{'batch ' + str(batch) if batched else 'one unbatched example'}, got {state.shape}"
            )
        return state if batched else state.reshape(1, self.hidden_size)

    def _output(self, h: Tensor, batched: bool) -> Tensor:
        return h if batched else h.reshape(self.hidden_size)

    def extra_repr(self) -> str:
        options = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}" + options + (", fused=True" if self.fused else "")


# ---- cells ----------------------------------------------------------------------------------
class RNNCell(_Cell):
    """Elman RNN cell (seeds 001 and 002): h' = f(W_ih x + b_ih + W_hh h + b_hh), f = tanh or relu.

    Seed 001 writes s_t = f(U x_t + W s_{t-1}) (U = W_ih, W = W_hh) and seed 002
    a<t> = g(W_aa a<t-1> + W_ax x<t> + b_a). Both are the same sum as the
    concatenated form W [x; h] + b used in many texts: with W = [W_ih | W_hh]
    (the two matrices side by side, shape (H, I + H)),
        W [x; h] = W_ih x + W_hh h,
    and b = b_ih + b_hh (PyTorch keeps two biases; only their sum matters).

    Parameters: weight_ih (H, I), weight_hh (H, H), bias_ih (H,), bias_hh (H,),
    all initialised from U(-1/sqrt(H), 1/sqrt(H)). forward(x, h=None) -> h'
    with x of shape (B, I) or (I,), h of shape (B, H) or (H,) (None: zeros).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        self.nonlinearity = _check_nonlinearity(nonlinearity, "RNNCell")
        super().__init__(input_size, hidden_size, bias, fused, dtype, rng)

    def forward(self, x: Any, h: Any = None) -> Tensor:
        x, batched = self._input(x)
        h = self._state(h, x.shape[0], batched, "h")
        gx = self.steps.input_drive(x, self.weight_ih, self.bias_ih)
        return self._output(
            self.steps.rnn_step(gx, h, self.weight_hh, self.bias_hh, self.nonlinearity), batched
        )

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else ", nonlinearity='relu'")


class GRUCell(_Cell):
    """Gated recurrent unit (seed 003), gates r (reset), z (update), n (candidate):

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))      reset_after=True (PyTorch, cuDNN)
        n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)      reset_after=False (Cho et al. 2014, seed 003)
        h' = (1 - z) * n + z * h

    Seed 003 writes the memory cell c<t> (= a<t> = h), the candidate c~<t> (= n),
    the relevance gate Gamma_r (= r) and the update gate Gamma_u with
        c<t> = Gamma_u * c~<t> + (1 - Gamma_u) * c<t-1>,
    so Gamma_u = 1 - z: Gamma_u near 1 writes the candidate, z near 1 keeps the old
    state. Its candidate c~<t> = tanh(W_c [Gamma_r * c<t-1>; x<t>] + b_c) applies the
    reset gate before the matmul: that is reset_after=False.

    Parameters (PyTorch layout, row blocks r, z, n): weight_ih (3H, I),
    weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,). forward(x, h=None) -> h'.
    """

    gate_count = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        reset_after: bool = True,
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        self.reset_after = _flag(reset_after, "reset_after", "GRUCell")
        super().__init__(input_size, hidden_size, bias, fused, dtype, rng)

    def forward(self, x: Any, h: Any = None) -> Tensor:
        x, batched = self._input(x)
        h = self._state(h, x.shape[0], batched, "h")
        gx = self.steps.input_drive(x, self.weight_ih, self.bias_ih)
        return self._output(
            self.steps.gru_step(gx, h, self.weight_hh, self.bias_hh, self.reset_after), batched
        )

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


class LSTMCell(_Cell):
    """Long short-term memory cell (seed 004, gated RNNs), gates i, f, g, o:

        i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate
        f  = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)        candidate
        o  = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    The cell state c is a leaky unit whose leak f is decided anew at every step.
    Parameters (PyTorch layout, row blocks i, f, g, o): weight_ih (4H, I),
    weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).
    forward(x, state=None) with state = (h, c) returns (h', c').
    """

    gate_count = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, fused, dtype, rng)

    def forward(self, x: Any, state: tuple[Any, Any] | None = None) -> tuple[Tensor, Tensor]:
        x, batched = self._input(x)
        state = _state_pair(state, "LSTMCell", ("h", "c"))
        h = self._state(state[0], x.shape[0], batched, "h")
        c = self._state(state[1], x.shape[0], batched, "c")
        gx = self.steps.input_drive(x, self.weight_ih, self.bias_ih)
        h_next, c_next = self.steps.lstm_step(gx, h, c, self.weight_hh, self.bias_hh)
        return self._output(h_next, batched), self._output(c_next, batched)


class LeakyRNNCell(_Cell):
    """Leaky unit (seed 004): a tanh RNN whose state is a running average of its updates,

        h' = alpha * h + (1 - alpha) * tanh(W_ih x + b_ih + W_hh h + b_hh),

    seed 004's mu(t) = alpha mu(t-1) + (1 - alpha) v(t) with v(t) the ordinary RNN
    update. alpha near 1 remembers for about 1 / (1 - alpha) steps, and the
    Jacobian dh'/dh = alpha I + (1 - alpha) diag(1 - v^2) W_hh has a part alpha I
    that bypasses the tanh, whose derivative would otherwise shrink it at every step.

    alpha is a fixed float in (0, 1), or with learn_alpha=True one learned value
    per unit, kept inside (0, 1) as alpha = sigmoid(alpha_logit); the Parameter
    alpha_logit (H,) starts at log(alpha / (1 - alpha)). forward(x, h=None) -> h'.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        alpha: float = 0.9,
        learn_alpha: bool = False,
        bias: bool = True,
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
            raise ValueError(f"LeakyRNNCell: alpha must be a number strictly between 0 and 1, got {alpha!r}")
        self.learn_alpha = _flag(learn_alpha, "learn_alpha", "LeakyRNNCell")
        super().__init__(input_size, hidden_size, bias, fused, dtype, rng)
        self._fixed_alpha = float(alpha)
        if self.learn_alpha:
            self.alpha_logit = Parameter(
                np.full(self.hidden_size, math.log(alpha / (1 - alpha))), dtype=self.dtype
            )

    @property
    def alpha(self) -> float | Tensor:
        """The leak: the fixed float, or sigmoid(alpha_logit) of shape (H,) when learned."""
        return self.alpha_logit.sigmoid() if self.learn_alpha else self._fixed_alpha

    def forward(self, x: Any, h: Any = None) -> Tensor:
        x, batched = self._input(x)
        h = self._state(h, x.shape[0], batched, "h")
        gx = self.steps.input_drive(x, self.weight_ih, self.bias_ih)
        return self._output(
            self.steps.leaky_rnn_step(gx, h, self.weight_hh, self.bias_hh, self.alpha), batched
        )

    def extra_repr(self) -> str:
        alpha = "learned" if self.learn_alpha else f"{self._fixed_alpha:g}"
        return super().extra_repr() + f", alpha={alpha}"


# ---- sequence layers ------------------------------------------------------------------------
class _SequenceInput:
    """Puts a layer's input into time-major (T, B, I) form and back."""

    def __init__(self, owner: str, input_size: int, batch_first: bool) -> None:
        self.owner, self.input_size, self.batch_first = owner, input_size, batch_first

    def time_major(self, x: Tensor) -> tuple[Tensor, bool]:
        """(T, B, I) and whether the input was batched; (T, I) is one unbatched sequence."""
        layout = "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self.owner}: expected input of shape {layout} or (seq_len, input_size) with "
                f"input_size {self.input_size}, got {x.shape}"
            )
        time_axis = 1 if self.batch_first and x.ndim == 3 else 0
        if x.shape[time_axis] == 0:
            raise ValueError(f"{self.owner}: the input sequence of shape {x.shape} has no time steps")
        if x.ndim == 2:
            return x.reshape(x.shape[0], 1, x.shape[1]), False
        return (x.transpose(1, 0, 2) if self.batch_first else x), True

    def restore(self, output: Tensor, batched: bool) -> Tensor:
        """The output (T, B, F) back in the input's layout."""
        if not batched:
            return output.reshape(output.shape[0], output.shape[2])
        return output.transpose(1, 0, 2) if self.batch_first else output


def _check_initial_state(
    state: Any, owner: str, what: str, dtype: np.dtype, count: int, batch: int, hidden: int, batched: bool
) -> Tensor:
    """An initial state of shape (count, B, H), or (count, H) for an unbatched input."""
    state = _as_tensor(state, dtype, what, owner)
    expected = (count, batch, hidden) if batched else (count, hidden)
    if state.shape != expected:
        layout = "(num_layers * num_directions, batch, hidden_size)"
        if not batched:
            layout = "(num_layers * num_directions, hidden_size) for an unbatched input"
        raise ValueError(f"{owner}: expected {what} of shape {expected} {layout}, got {state.shape}")
    return state if batched else state.reshape(count, 1, hidden)


class _StackedRecurrent(_Options):
    """num_layers stacked recurrent layers, each run forwards and (if bidirectional) backwards.

    Layer l > 0 reads the concatenated outputs of both directions of layer l - 1;
    dropout (inverted, train mode only) is applied between layers, not after the
    last. Subclasses give gate_count and the per-step update (_step).
    """

    gate_count = 1
    bias_hh_in_step = False  # GRU: b_hn sits inside r * (W_hn h + b_hn), so it stays in the step

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        owner = type(self).__name__
        self.input_size = _check_size(input_size, "input_size", owner)
        self.hidden_size = _check_size(hidden_size, "hidden_size", owner)
        self.num_layers = _check_size(num_layers, "num_layers", owner)
        if (  # numpy's scalars are numbers too, as for PyTorch (numbers.Number)
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float, np.integer, np.floating))
            or not 0 <= dropout <= 1
        ):
            raise ValueError(f"{owner}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.bias, self.batch_first = _flag(bias, "bias", owner), _flag(batch_first, "batch_first", owner)
        self.dropout, self.bidirectional = float(dropout), _flag(bidirectional, "bidirectional", owner)
        self.num_directions = 2 if self.bidirectional else 1
        self._rng = self._options(fused, dtype, rng)
        self._layout = _SequenceInput(owner, self.input_size, self.batch_first)
        # PyTorch's parameter order: for each layer, the forward direction, then the reverse one.
        G, H = self.gate_count, self.hidden_size
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else H * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", self._parameter(self._rng, G * H, layer_input))
                setattr(self, f"weight_hh{suffix}", self._parameter(self._rng, G * H, H))
                if self.bias:
                    setattr(self, f"bias_ih{suffix}", self._parameter(self._rng, G * H))
                    setattr(self, f"bias_hh{suffix}", self._parameter(self._rng, G * H))

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def _weights(self, suffix: str) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        return (
            getattr(self, f"weight_ih{suffix}"),
            getattr(self, f"weight_hh{suffix}"),
            getattr(self, f"bias_ih{suffix}", None),
            getattr(self, f"bias_hh{suffix}", None),
        )

    # What a subclass defines: one time step, and how its state is packed.
    def _step(self, gx: Tensor, state: Any, weight_hh: Tensor, bias_hh: Tensor | None) -> Any:
        raise NotImplementedError

    @staticmethod
    def _hidden(state: Any) -> Tensor:
        """The part of a step's state that is output (h)."""
        return state

    def _initial_states(self, state: Any, batch: int, batched: bool) -> list[Any]:
        """One initial state per (layer, direction), in h_0's order."""
        count = self.num_layers * self.num_directions
        if state is None:
            return [_zeros((batch, self.hidden_size), self.weight_ih_l0.dtype)] * count
        h0 = self._check_state(state, "h_0", batch, batched)
        return [h0[k] for k in range(count)]

    def _final_state(self, finals: list[Any], batched: bool) -> Any:
        return self._restore_state(stack(finals, axis=0), batched)

    def _check_state(self, state: Any, what: str, batch: int, batched: bool) -> Tensor:
        count = self.num_layers * self.num_directions
        dtype = self.weight_ih_l0.dtype
        return _check_initial_state(
            state, type(self).__name__, what, dtype, count, batch, self.hidden_size, batched
        )

    def _restore_state(self, state: Tensor, batched: bool) -> Tensor:
        return state if batched else state.reshape(state.shape[0], state.shape[2])

    # The layer itself.
    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Any]:
        x = _as_tensor(x, self.weight_ih_l0.dtype, "input", type(self).__name__)
        x, batched = self._layout.time_major(x)
        initial = self._initial_states(state, x.shape[1], batched)
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                k = layer * self.num_directions + direction
                output, final = self._run(layer_input, initial[k], self._weights(suffix), direction == 1)
                outputs.append(output)
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else concat(outputs, axis=2)
            if layer < self.num_layers - 1:
                layer_input = self._dropout(layer_input)
        return self._layout.restore(layer_input, batched), self._final_state(finals, batched)

    def _run(self, x: Tensor, state: Any, weights: tuple, reverse: bool) -> tuple[Tensor, Any]:
        """One direction of one layer over x (T, B, I): outputs (T, B, H) and the last state."""
        weight_ih, weight_hh, bias_ih, bias_hh = weights
        if bias_hh is not None and not self.bias_hh_in_step:
            # b_ih and b_hh enter every gate's sum side by side: add them to the input drive
            # once for the whole sequence rather than adding b_hh at every step.
            bias_ih, bias_hh = bias_ih + bias_hh, None
        gx = self.steps.input_drive(x, weight_ih, bias_ih)  # (T, B, G*H): every time step in one matmul
        T = x.shape[0]
        outputs: list[Tensor | None] = [None] * T
        for t in reversed(range(T)) if reverse else range(T):
            state = self._step(gx[t], state, weight_hh, bias_hh)
            outputs[t] = self._hidden(state)
        return stack(outputs, axis=0), state

    def _dropout(self, x: Tensor) -> Tensor:
        """Inverted dropout: zero each entry with probability p, scale the rest by 1/(1-p)."""
        if not self.training or self.dropout == 0:
            return x
        if self.dropout == 1:
            return x * 0.0
        keep = self._rng.random(x.shape) >= self.dropout
        return x * (keep / (1 - self.dropout))

    def extra_repr(self) -> str:
        options = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            options.append(f"num_layers={self.num_layers}")
        if not self.bias:
            options.append("bias=False")
        if self.batch_first:
            options.append("batch_first=True")
        if self.dropout:
            options.append(f"dropout={self.dropout:g}")
        if self.bidirectional:
            options.append("bidirectional=True")
        if self.fused:
            options.append("fused=True")
        return ", ".join(options)


class RNN(_StackedRecurrent):
    """Elman RNN over a sequence, h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), f = tanh or relu.

    See RNNCell for the equations and seeds 001/002. Shapes as PyTorch's nn.RNN:
    x (T, B, I), or (B, T, I) with batch_first, or (T, I) unbatched; state h_0
    (D * num_layers, B, H) or None (zeros), D = 2 if bidirectional else 1.
    forward(x, state=None) -> (output, h_n) with output (T, B, D * H) holding the
    last layer's h_t for every t (both directions concatenated) and h_n the last
    state of every layer and direction. Parameters weight_ih_l{k}[_reverse],
    weight_hh_l{k}[_reverse], bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse].
    The arguments come in PyTorch's positional order, nonlinearity fourth.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        self.nonlinearity = _check_nonlinearity(nonlinearity, "RNN")
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, fused, dtype, rng
        )

    def _step(self, gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
        return self.steps.rnn_step(gx, h, weight_hh, bias_hh, self.nonlinearity)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else ", nonlinearity='relu'")


class GRU(_StackedRecurrent):
    """GRU over a sequence: GRUCell's equations (gates r, z, n) at every time step.

    Shapes, state and parameter names as RNN (and PyTorch's nn.GRU), with
    3H-row weights; reset_after=False gives the Cho et al. / seed 003 candidate
    (no PyTorch equivalent). forward(x, state=None) -> (output, h_n).
    """

    gate_count = 3
    bias_hh_in_step = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        reset_after: bool = True,
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        self.reset_after = _flag(reset_after, "reset_after", "GRU")
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, fused, dtype, rng
        )

    def _step(self, gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
        return self.steps.gru_step(gx, h, weight_hh, bias_hh, self.reset_after)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


class LSTM(_StackedRecurrent):
    """LSTM over a sequence: LSTMCell's equations (gates i, f, g, o) at every time step.

    Shapes and parameter names as RNN (and PyTorch's nn.LSTM), with 4H-row
    weights; the state is a pair (h_0, c_0) of (D * num_layers, B, H) tensors or
    None. forward(x, state=None) -> (output, (h_n, c_n)).
    """

    gate_count = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, fused, dtype, rng
        )

    def _step(self, gx: Tensor, state: tuple, weight_hh: Tensor, bias_hh: Tensor | None) -> tuple:
        h, c = state
        return self.steps.lstm_step(gx, h, c, weight_hh, bias_hh)

    @staticmethod
    def _hidden(state: tuple) -> Tensor:
        return state[0]

    def _initial_states(self, state: Any, batch: int, batched: bool) -> list[Any]:
        count = self.num_layers * self.num_directions
        if state is None:
            zeros = _zeros((batch, self.hidden_size), self.weight_ih_l0.dtype)
            return [(zeros, zeros)] * count
        state = _state_pair(state, "LSTM", ("h_0", "c_0"))
        h0 = self._check_state(state[0], "h_0", batch, batched)
        c0 = self._check_state(state[1], "c_0", batch, batched)
        return [(h0[k], c0[k]) for k in range(count)]

    def _final_state(self, finals: list[Any], batched: bool) -> tuple[Tensor, Tensor]:
        h_n = stack([h for h, _ in finals], axis=0)
        c_n = stack([c for _, c in finals], axis=0)
        return self._restore_state(h_n, batched), self._restore_state(c_n, batched)


class SkipRNN(_Options):
    """tanh RNN with a skip connection through time of length d (seed 004):

        h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + W_skip h_{t-d} + b_hh),

    the seed's b split into b_ih + b_hh as in RNN. The path h_{t-d} -> h_t
    crosses d steps with one tanh, so a gradient from T steps back passes about
    T/d nonlinearities instead of T. States before the sequence: h_{-1} is the
    given initial state (zeros if None) and h_t = 0 for t < -1; so only the
    last state carries across calls (truncated BPTT windows), not the last d.

    One layer, one direction. x (T, B, I), (B, T, I) with batch_first or (T, I);
    state (1, B, H) (or (1, H) unbatched). forward(x, state=None) -> (output, h_n)
    with output (T, B, H) and h_n (1, B, H), as RNN. Parameters weight_ih_l0
    (H, I), weight_hh_l0 (H, H), weight_skip_l0 (H, H), bias_ih_l0, bias_hh_l0 (H,),
    all from U(-1/sqrt(H), 1/sqrt(H)); with weight_skip_l0 = 0 it is RNN.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        delay: int,
        bias: bool = True,
        batch_first: bool = False,
        *,
        fused: bool = False,
        dtype: Any = np.float64,
        rng: Seed = None,
    ) -> None:
        self.input_size = _check_size(input_size, "input_size", "SkipRNN")
        self.hidden_size = _check_size(hidden_size, "hidden_size", "SkipRNN")
        self.delay = _check_size(delay, "delay", "SkipRNN")
        self.bias, self.batch_first = (
            _flag(bias, "bias", "SkipRNN"),
            _flag(batch_first, "batch_first", "SkipRNN"),
        )
        self._layout = _SequenceInput("SkipRNN", self.input_size, self.batch_first)
        rng = self._options(fused, dtype, rng)
        H = self.hidden_size
        self.weight_ih_l0 = self._parameter(rng, H, self.input_size)
        self.weight_hh_l0 = self._parameter(rng, H, H)
        self.weight_skip_l0 = self._parameter(rng, H, H)
        if self.bias:
            self.bias_ih_l0 = self._parameter(rng, H)
            self.bias_hh_l0 = self._parameter(rng, H)
        else:
            self.bias_ih_l0 = self.bias_hh_l0 = None

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Tensor]:
        dtype = self.weight_ih_l0.dtype
        x = _as_tensor(x, dtype, "input", "SkipRNN")
        x, batched = self._layout.time_major(x)
        T, B, H, d = x.shape[0], x.shape[1], self.hidden_size, self.delay
        zeros = _zeros((B, H), dtype)
        h_start = zeros
        if state is not None:
            h_start = _check_initial_state(state, "SkipRNN", "h_0", dtype, 1, B, H, batched)[0]
        gx = self.steps.input_drive(x, self.weight_ih_l0, self.bias_ih_l0)  # (T, B, H) in one matmul
        h = {-1: h_start}  # h[t] for the steps computed so far; earlier ones are zero

        def h_at(t: int) -> Tensor:
            return h.get(t, zeros)

        for t in range(T):
            h[t] = self.steps.skip_rnn_step(
                gx[t], h_at(t - 1), h_at(t - d), self.weight_hh_l0, self.weight_skip_l0, self.bias_hh_l0
            )
        output = stack([h[t] for t in range(T)], axis=0)
        h_n = h[T - 1].reshape(1, B, H)
        return self._layout.restore(output, batched), h_n if batched else h_n.reshape(1, H)

    def extra_repr(self) -> str:
        options = ("" if self.bias else ", bias=False") + (", batch_first=True" if self.batch_first else "")
        options += ", fused=True" if self.fused else ""
        return f"{self.input_size}, {self.hidden_size}, delay={self.delay}" + options
