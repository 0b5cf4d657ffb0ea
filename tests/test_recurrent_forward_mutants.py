"""What mutation testing of the recurrent cells' and layers' forward passes found untested:
which argument an error names. A state or input of the wrong dtype or shape must be named
by the module and by the argument (h or c, h_0 or c_0, input), with the layout expected,
so that a caller knows which of the tensors passed to fix; a sequence of no steps is named as
such in either layout, and a refused rng names the module.
"""

import re

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn

I, H, B = 2, 3, 2


def float32(shape):
    return Tensor(np.zeros(shape), dtype=np.float32)


def exactly(message):
    """A pattern for pytest.raises(match=...) that accepts this message and nothing else."""
    return "^" + re.escape(message) + "$"


def dtype_message(owner, what):
    return (
        f"{owner}: {what} has dtype float32 but the parameters are float64; "
        "convert one of them (Tensor(x, dtype=...) or module.to(...))"
    )


# ---- cells: _Cell._state and each cell's forward name the state -------------------------------
x_cell, h_cell = np.zeros((B, I)), np.zeros((B, H))

CELL_STATES = {
    # name: (the cell, a call passing `bad` as the named state)
    "RNNCell h": ("RNNCell", "h", lambda bad: nn.RNNCell(I, H)(x_cell, bad)),
    "GRUCell h": ("GRUCell", "h", lambda bad: nn.GRUCell(I, H)(x_cell, bad)),
    "LeakyRNNCell h": ("LeakyRNNCell", "h", lambda bad: nn.LeakyRNNCell(I, H)(x_cell, bad)),
    "LSTMCell h": ("LSTMCell", "h", lambda bad: nn.LSTMCell(I, H)(x_cell, (bad, h_cell))),
    "LSTMCell c": ("LSTMCell", "c", lambda bad: nn.LSTMCell(I, H)(x_cell, (h_cell, bad))),
}


@pytest.mark.parametrize("case", CELL_STATES, ids=list(CELL_STATES))
def test_a_cell_names_the_state_of_the_wrong_dtype(case):
    owner, what, call = CELL_STATES[case]
    with pytest.raises(TypeError, match=exactly(dtype_message(owner, what))):
        call(float32((B, H)))


@pytest.mark.parametrize("case", CELL_STATES, ids=list(CELL_STATES))
def test_a_cell_names_the_state_of_the_wrong_shape(case):
    owner, what, call = CELL_STATES[case]
    expected = f"{owner}: expected {what} of shape (2, 3) for an input of batch 2, got (2, 4)"
    with pytest.raises(ValueError, match=exactly(expected)):
        call(np.zeros((B, H + 1)))


@pytest.mark.parametrize(
    "call,got",
    [
        # Not a sequence at all: named by its type (it has no length to report).
        (lambda: nn.LSTMCell(I, H)(x_cell, 5), "int"),
        (lambda: nn.LSTMCell(I, H)(x_cell, h_cell), "ndarray"),
        (lambda: nn.LSTM(I, H)(np.zeros((3, B, I)), np.zeros((1, B, H))), "ndarray"),
        # A sequence of the wrong length: its type and length.
        (lambda: nn.LSTMCell(I, H)(x_cell, (h_cell, h_cell, h_cell)), "a tuple of 3"),
    ],
    ids=["cell-int", "cell-array", "layer-array", "cell-triple"],
)
def test_an_lstm_state_that_is_not_a_pair_is_named_by_what_it_is(call, got):
    with pytest.raises(TypeError, match=rf"state must be a pair \(h(_0)?, c(_0)?\) or None, got {got}$"):
        call()


# ---- layers: _check_initial_state, LSTM._initial_states, SkipRNN.forward -----------------------
x_layer = np.zeros((3, B, I))

LAYER_STATES = {
    "RNN h_0": ("RNN", "h_0", lambda bad: nn.RNN(I, H)(x_layer, bad)),
    "LSTM h_0": ("LSTM", "h_0", lambda bad: nn.LSTM(I, H)(x_layer, (bad, np.zeros((1, B, H))))),
    "LSTM c_0": ("LSTM", "c_0", lambda bad: nn.LSTM(I, H)(x_layer, (np.zeros((1, B, H)), bad))),
    "SkipRNN h_0": ("SkipRNN", "h_0", lambda bad: nn.SkipRNN(I, H, delay=2)(x_layer, bad)),
}


@pytest.mark.parametrize("case", LAYER_STATES, ids=list(LAYER_STATES))
def test_a_layer_names_the_initial_state_of_the_wrong_dtype(case):
    owner, what, call = LAYER_STATES[case]
    with pytest.raises(TypeError, match=exactly(dtype_message(owner, what))):
        call(float32((1, B, H)))


@pytest.mark.parametrize("case", LAYER_STATES, ids=list(LAYER_STATES))
def test_a_layer_names_the_initial_state_of_the_wrong_shape_and_its_layout(case):
    owner, what, call = LAYER_STATES[case]
    expected = (
        f"{owner}: expected {what} of shape (1, 2, 3) (num_layers * num_directions, batch, hidden_size), "
        "got (2, 2, 3)"
    )
    with pytest.raises(ValueError, match=exactly(expected)):
        call(np.zeros((2, B, H)))


def test_an_unbatched_layer_names_the_unbatched_layout_of_its_initial_state():
    expected = (
        "GRU: expected h_0 of shape (2, 3) (num_layers * num_directions, hidden_size) for an unbatched "
        "input, got (2, 1, 3)"
    )
    with pytest.raises(ValueError, match=exactly(expected)):
        nn.GRU(I, H, num_layers=2)(np.zeros((4, I)), np.zeros((2, 1, H)))


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM", "SkipRNN"])
def test_a_layer_names_an_input_of_the_wrong_dtype(kind):
    layer = nn.SkipRNN(I, H, delay=2) if kind == "SkipRNN" else getattr(nn, kind)(I, H)
    with pytest.raises(TypeError, match=exactly(dtype_message(kind, "input"))):
        layer(float32((3, B, I)))


# ---- layers: _SequenceInput.time_major finds the time axis in either layout ------------------
@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch-first"])
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM", "SkipRNN"])
def test_a_batched_sequence_of_no_steps_is_named_as_such_in_either_layout(kind, batch_first):
    # PyTorch refuses a sequence of length 0 too. With batch_first the time axis of a 3-D input
    # is axis 1: (2, 0, I) is two sequences of no steps, not an empty batch.
    shape = (2, 0, I) if batch_first else (0, 2, I)
    layer = (
        nn.SkipRNN(I, H, delay=2, batch_first=batch_first)
        if kind == "SkipRNN"
        else getattr(nn, kind)(I, H, batch_first=batch_first)
    )
    message = f"{kind}: the input sequence of shape {shape} has no time steps"
    with pytest.raises(ValueError, match=exactly(message)):
        layer(np.zeros(shape))


# ---- construction options: _Options._options names the module --------------------------------
MODULES = {
    "RNNCell": lambda **o: nn.RNNCell(I, H, **o),
    "GRUCell": lambda **o: nn.GRUCell(I, H, **o),
    "LSTMCell": lambda **o: nn.LSTMCell(I, H, **o),
    "LeakyRNNCell": lambda **o: nn.LeakyRNNCell(I, H, **o),
    "RNN": lambda **o: nn.RNN(I, H, **o),
    "GRU": lambda **o: nn.GRU(I, H, **o),
    "LSTM": lambda **o: nn.LSTM(I, H, **o),
    "SkipRNN": lambda **o: nn.SkipRNN(I, H, delay=2, **o),
}


@pytest.mark.parametrize("name", MODULES)
def test_a_bad_rng_is_refused_naming_the_module(name):
    not_a_generator = rf"^{name}: rng must be a numpy\.random\.Generator, an int seed >= 0 or None"
    with pytest.raises(TypeError, match=not_a_generator):
        MODULES[name](rng="0")
    with pytest.raises(ValueError, match=exactly(f"{name}: rng seed must be >= 0, got -1")):
        MODULES[name](rng=-1)
