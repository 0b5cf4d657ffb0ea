"""Sequence layers RNN, GRU, LSTM and SkipRNN: wiring of layers and directions, shapes,
PyTorch's parameter names, gradients by central differences, dropout and errors.

The wiring check rebuilds each layer by hand from the cells (whose equations are
checked against numpy in test_recurrent_cells.py): layer l reads the
concatenated outputs of layer l - 1, the reverse direction walks t = T-1 .. 0,
h_n stacks the last states in (layer, direction) order.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, concat, gradcheck, nn, stack

I, H = 2, 3

# Central differences, eps 1e-6, float64: a correct gradient is within ~1e-9, so
# atol 1e-7 / rtol 1e-6 is tight yet safe.
EPS, ATOL, RTOL = 1e-6, 1e-7, 1e-6

# Every test that builds a layer runs it in the default composed form and with fused=True.
both_forms = pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])


def data(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def make_layer(kind, **options):
    if kind == "GRU-reset-before":
        return nn.GRU(I, H, reset_after=False, **options)
    if kind.startswith("RNN"):
        return nn.RNN(I, H, nonlinearity=kind.split("-")[1], **options)
    return getattr(nn, kind)(I, H, **options)


def cell_for(kind, layer, suffix, input_size):
    """The cell holding the weights of one (layer, direction) of ``layer``."""
    if kind.startswith("RNN"):
        cell = nn.RNNCell(input_size, H, bias=layer.bias, nonlinearity=kind.split("-")[1])
    elif kind.startswith("GRU"):
        cell = nn.GRUCell(input_size, H, bias=layer.bias, reset_after=kind == "GRU")
    else:
        cell = nn.LSTMCell(input_size, H, bias=layer.bias)
    # Share the layer's Parameters, so gradients land in the same place.
    for name in ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if layer.bias else []):
        setattr(cell, name, getattr(layer, name + suffix))
    return cell


def layer_by_hand(kind, layer, x, state):
    """The stacked, possibly bidirectional layer written as loops over cells (time-major x)."""
    is_lstm = kind == "LSTM"
    T, batch = x.shape[0], x.shape[1]
    D = 2 if layer.bidirectional else 1
    finals, inputs = [], [x[t] for t in range(T)]
    for l in range(layer.num_layers):
        per_direction = []
        for direction in range(D):
            suffix = f"_l{l}" + ("_reverse" if direction else "")
            cell = cell_for(kind, layer, suffix, inputs[0].shape[-1])
            k = l * D + direction
            if state is None:
                s = (np.zeros((batch, H)),) * 2 if is_lstm else np.zeros((batch, H))
            else:
                s = (state[0][k], state[1][k]) if is_lstm else state[k]
            outputs = [None] * T
            times = range(T - 1, -1, -1) if direction else range(T)
            for t in times:
                s = cell(inputs[t], s)
                outputs[t] = s[0] if is_lstm else s
            per_direction.append(outputs)
            finals.append(s)
        inputs = [concat([outs[t] for outs in per_direction], axis=1) for t in range(T)]
    output = stack(inputs, axis=0)
    if is_lstm:
        return output, (stack([h for h, _ in finals]), stack([c for _, c in finals]))
    return output, stack(finals)


KINDS = ["RNN-tanh", "RNN-relu", "GRU", "GRU-reset-before", "LSTM"]


@both_forms
@given(
    kind=st.sampled_from(KINDS),
    num_layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    bias=st.booleans(),
    steps=st.integers(1, 4),
    batch=st.integers(1, 3),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_layer_equals_its_cells_wired_by_hand(
    kind, num_layers, bidirectional, batch_first, bias, steps, batch, with_state, seed, fused
):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    layer = make_layer(kind, fused=fused, rng=seed, **options)
    D = 2 if bidirectional else 1
    x = data((steps, batch, I), seed + 1)
    states = [data((D * num_layers, batch, H), seed + 2 + k) for k in range(2 if kind == "LSTM" else 1)]
    state = None if not with_state else (tuple(states) if kind == "LSTM" else states[0])

    output, final = layer(x.transpose(1, 0, 2) if batch_first else x, state)
    expected_output, expected_final = layer_by_hand(kind, layer, Tensor(x), state)

    expected_output = expected_output.data.transpose(1, 0, 2) if batch_first else expected_output.data
    assert output.shape == expected_output.shape
    assert output.shape == ((batch, steps, D * H) if batch_first else (steps, batch, D * H))
    np.testing.assert_allclose(output.data, expected_output, rtol=1e-13, atol=1e-14)
    for mine, theirs in zip(*((final, expected_final) if kind == "LSTM" else ([final], [expected_final]))):
        assert mine.shape == (D * num_layers, batch, H)
        np.testing.assert_allclose(mine.data, theirs.data, rtol=1e-13, atol=1e-14)


@both_forms
def test_final_state_of_each_direction_is_its_last_step(fused):
    """Forward direction ends at t = T-1, the reverse one at t = 0 (PyTorch's convention)."""
    layer = nn.GRU(I, H, bidirectional=True, fused=fused, rng=3)
    output, h_n = layer(data((4, 2, I), 4))
    np.testing.assert_array_equal(h_n.data[0], output.data[-1, :, :H])
    np.testing.assert_array_equal(h_n.data[1], output.data[0, :, H:])


# ---- PyTorch's names and shapes ----------------------------------------------------------------
def test_parameter_names_and_shapes_follow_pytorch():
    # Written out from torch.nn.LSTM(2, 3, num_layers=2, bidirectional=True).named_parameters().
    expected = [
        ("weight_ih_l0", (12, 2)),
        ("weight_hh_l0", (12, 3)),
        ("bias_ih_l0", (12,)),
        ("bias_hh_l0", (12,)),
        ("weight_ih_l0_reverse", (12, 2)),
        ("weight_hh_l0_reverse", (12, 3)),
        ("bias_ih_l0_reverse", (12,)),
        ("bias_hh_l0_reverse", (12,)),
        ("weight_ih_l1", (12, 6)),
        ("weight_hh_l1", (12, 3)),
        ("bias_ih_l1", (12,)),
        ("bias_hh_l1", (12,)),
        ("weight_ih_l1_reverse", (12, 6)),
        ("weight_hh_l1_reverse", (12, 3)),
        ("bias_ih_l1_reverse", (12,)),
        ("bias_hh_l1_reverse", (12,)),
    ]
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    assert [(n, p.shape) for n, p in lstm.named_parameters()] == expected
    gru = nn.GRU(2, 3, num_layers=2, bidirectional=True)
    assert [(n, p.shape[0]) for n, p in gru.named_parameters()] == [(n, 9) for n, _ in expected]
    rnn = nn.RNN(2, 3, num_layers=2, bidirectional=True)
    assert [(n, p.shape[0]) for n, p in rnn.named_parameters()] == [(n, 3) for n, _ in expected]


def test_without_bias_there_are_only_weights():
    names = [n for n, _ in nn.GRU(2, 3, num_layers=2, bias=False).named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]


def test_a_state_dict_round_trips_between_layers():
    a = nn.LSTM(I, H, num_layers=2, bidirectional=True, rng=5)
    b = nn.LSTM(I, H, num_layers=2, bidirectional=True, rng=6)
    x = data((3, 2, I), 7)
    assert not np.allclose(a(x)[0].data, b(x)[0].data)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x)[0].data, b(x)[0].data)


@pytest.mark.parametrize("make", [nn.RNN, nn.GRU, nn.LSTM], ids=lambda m: m.__name__)
def test_initialisation_is_uniform_in_plus_minus_one_over_sqrt_hidden(make):
    layer = make(4, 64, num_layers=2, bidirectional=True, rng=8)
    bound = 1 / np.sqrt(64)
    values = np.concatenate([p.data.ravel() for p in layer.parameters()])
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound  # the whole interval is used, not a narrower one
    assert abs(values.var() - bound**2 / 3) < 0.05 * bound**2  # U(-b, b) has variance b^2 / 3


def test_skip_rnn_parameters_are_named_shaped_and_initialised_as_documented():
    # SkipRNN's docstring: weight_ih_l0 (H, I), weight_hh_l0 (H, H), weight_skip_l0 (H, H), bias_ih_l0,
    # bias_hh_l0 (H,), all from U(-1/sqrt(H), 1/sqrt(H)).
    hidden = 64
    layer = nn.SkipRNN(4, hidden, delay=3, rng=9)
    assert [(n, p.shape) for n, p in layer.named_parameters()] == [
        ("weight_ih_l0", (hidden, 4)),
        ("weight_hh_l0", (hidden, hidden)),
        ("weight_skip_l0", (hidden, hidden)),
        ("bias_ih_l0", (hidden,)),
        ("bias_hh_l0", (hidden,)),
    ]
    bound = 1 / np.sqrt(hidden)
    values = np.concatenate([p.data.ravel() for p in layer.parameters()])
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound  # the whole interval is used, not a narrower one
    assert abs(values.var() - bound**2 / 3) < 0.05 * bound**2  # U(-b, b) has variance b^2 / 3
    no_bias = nn.SkipRNN(4, hidden, delay=3, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "weight_skip_l0"]
    assert no_bias.bias_ih_l0 is None and no_bias.bias_hh_l0 is None


# ---- unbatched, batch_first ---------------------------------------------------------------------
@both_forms
@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_sequence_equals_batch_of_one(kind, fused):
    layer = make_layer(kind, num_layers=2, bidirectional=True, fused=fused, rng=9)
    x = data((4, I), 10)
    states = [data((4, H), 11 + k) for k in range(2 if kind == "LSTM" else 1)]
    state = tuple(states) if kind == "LSTM" else states[0]
    batched_state = tuple(s[:, None] for s in states) if kind == "LSTM" else states[0][:, None]
    output, final = layer(x, state)
    output_b, final_b = layer(x[:, None], batched_state)
    assert output.shape == (4, 2 * H)
    np.testing.assert_array_equal(output.data, output_b.data[:, 0])
    for one, many in zip(*((final, final_b) if kind == "LSTM" else ([final], [final_b]))):
        assert one.shape == (4, H)
        np.testing.assert_array_equal(one.data, many.data[:, 0])


# ---- gradients by central differences -----------------------------------------------------------
LAYER_CASES = {  # name: (kind, options, with given initial states)
    "rnn-tanh-2-layer-bidirectional-batch-first": (
        "RNN-tanh",
        dict(num_layers=2, bidirectional=True, batch_first=True),
        True,
    ),
    "rnn-relu-2-layer": ("RNN-relu", dict(num_layers=2), True),
    "gru-2-layer-bidirectional": ("GRU", dict(num_layers=2, bidirectional=True), True),
    "gru-reset-before-bidirectional": ("GRU-reset-before", dict(bidirectional=True, batch_first=True), True),
    "gru-no-bias-zero-state": ("GRU", dict(num_layers=2, bias=False), False),
    "lstm-2-layer-bidirectional": ("LSTM", dict(num_layers=2, bidirectional=True), True),
    "lstm-batch-first-no-bias": ("LSTM", dict(batch_first=True, bias=False), True),
}


@both_forms
@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_layer_gradients_match_central_differences(case, fused):
    kind, options, with_state = LAYER_CASES[case]
    layer = make_layer(kind, rng=12, fused=fused, **options)
    T, batch = 3, 2
    D = 2 if options.get("bidirectional") else 1
    count = D * options.get("num_layers", 1)
    x_shape = (batch, T, I) if options.get("batch_first") else (T, batch, I)
    x = Tensor(data(x_shape, 13), requires_grad=True)
    n_states = (2 if kind == "LSTM" else 1) if with_state else 0
    states = [Tensor(data((count, batch, H), 14 + k), requires_grad=True) for k in range(n_states)]
    state = (tuple(states) if kind == "LSTM" else states[0]) if states else None
    out_weights = data((*x_shape[:2], D * H), 16)
    state_weights = data((2, count, batch, H), 17)

    def loss(*_):
        output, final = layer(x, state)
        finals = list(final) if kind == "LSTM" else [final]
        total = (output * out_weights).sum()
        for f, w in zip(finals, state_weights):
            total = total + (f * w).sum()
        return total

    assert gradcheck(loss, [x, *states, *layer.parameters()], EPS, ATOL, RTOL)


# ---- dropout between layers -------------------------------------------------------------------
@both_forms
def test_dropout_acts_between_layers_in_train_mode_only(fused):
    x = data((4, 2, I), 18)
    stacked = nn.GRU(I, H, num_layers=2, dropout=0.5, fused=fused, rng=19)
    train_output = stacked(x)[0].data
    assert not np.allclose(train_output, stacked(x)[0].data)  # a new mask every call
    stacked.eval()
    eval_output = stacked(x)[0].data
    plain = nn.GRU(I, H, num_layers=2, fused=fused)
    plain.load_state_dict(stacked.state_dict())
    np.testing.assert_array_equal(eval_output, plain(x)[0].data)
    assert not np.allclose(train_output, eval_output)
    # never after the last layer: a one-layer network is unaffected even in train mode
    single = nn.GRU(I, H, dropout=0.5, fused=fused, rng=20)
    np.testing.assert_array_equal(single(x)[0].data, single.eval()(x)[0].data)


@both_forms
def test_dropout_one_cuts_the_first_layer_off(fused):
    """With p = 1 the second layer sees zeros, so the output no longer depends on x."""
    layer = nn.RNN(I, H, num_layers=2, dropout=1.0, fused=fused, rng=21)
    np.testing.assert_array_equal(layer(data((3, 2, I), 22))[0].data, layer(data((3, 2, I), 23))[0].data)


def test_inverted_dropout_keeps_one_minus_p_of_the_entries_scaled_by_one_over_one_minus_p():
    layer = nn.LSTM(I, H, num_layers=2, dropout=0.25, rng=24)
    dropped = layer._dropout(Tensor(np.ones((100, 10, 20)))).data
    assert set(np.unique(dropped)) == {0.0, 1 / 0.75}
    # 20,000 Bernoulli(0.75) draws: the kept fraction is within 0.015 of 0.75 (5 standard errors)
    assert abs((dropped > 0).mean() - 0.75) < 0.015


# ---- gate order through the layer ---------------------------------------------------------------
@both_forms
def test_lstm_layer_forget_gate_carries_the_cell_state_through_time(fused):
    layer = nn.LSTM(I, H, fused=fused, rng=25)
    bias = np.zeros(4 * H)
    bias[:H], bias[H : 2 * H] = -60.0, 60.0  # input gate shut, forget gate open
    layer.bias_hh_l0.data = bias
    c0 = data((1, 2, H), 26)
    _, (_, c_n) = layer(data((5, 2, I), 27), (np.zeros((1, 2, H)), c0))
    np.testing.assert_allclose(c_n.data, c0, rtol=1e-12, atol=1e-12)


# ---- SkipRNN ---------------------------------------------------------------------------------
def numpy_skip_rnn(layer, x, h_start):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + W_skip h_{t-d} + b_hh), h_{-1} = h_start, else 0."""
    W_ih, W_hh, W_skip = layer.weight_ih_l0.data, layer.weight_hh_l0.data, layer.weight_skip_l0.data
    b = layer.bias_ih_l0.data + layer.bias_hh_l0.data if layer.bias else 0.0
    T, d = len(x), layer.delay
    h = np.zeros((T + d, *h_start.shape))  # h[d + t] holds h_t; h[d - 1] is h_{-1}
    h[d - 1] = h_start
    for t in range(T):
        h[d + t] = np.tanh(x[t] @ W_ih.T + h[d + t - 1] @ W_hh.T + h[t] @ W_skip.T + b)
    return h[d:]


@pytest.mark.parametrize("delay", [1, 2, 3, 7])
@pytest.mark.parametrize("with_state", [False, True])
@both_forms
def test_skip_rnn_equations(delay, with_state, fused):
    layer = nn.SkipRNN(I, H, delay=delay, fused=fused, rng=28)
    x = data((6, 2, I), 29)
    h_start = data((2, H), 30) if with_state else np.zeros((2, H))
    output, h_n = layer(x, h_start[None] if with_state else None)
    expected = numpy_skip_rnn(layer, x, h_start)
    np.testing.assert_allclose(output.data, expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(h_n.data, output.data[-1:])
    assert h_n.shape == (1, 2, H)


@both_forms
def test_skip_rnn_without_its_skip_weights_is_an_rnn(fused):
    skip = nn.SkipRNN(I, H, delay=2, fused=fused, rng=31)
    skip.weight_skip_l0.data[:] = 0
    rnn = nn.RNN(I, H, fused=fused)
    rnn.load_state_dict({k: v for k, v in skip.state_dict().items() if k != "weight_skip_l0"})
    x, h0 = data((5, 2, I), 32), data((1, 2, H), 33)
    np.testing.assert_allclose(skip(x, h0)[0].data, rnn(x, h0)[0].data, rtol=1e-14, atol=1e-15)


@both_forms
def test_skip_rnn_batch_first_unbatched_and_no_bias(fused):
    layer = nn.SkipRNN(I, H, delay=2, batch_first=True, bias=False, fused=fused, rng=34)
    assert [n for n, _ in layer.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "weight_skip_l0"]
    x = data((2, 5, I), 35)
    output, h_n = layer(x)
    assert output.shape == (2, 5, H) and h_n.shape == (1, 2, H)
    np.testing.assert_allclose(
        output.data,
        numpy_skip_rnn(layer, x.transpose(1, 0, 2), np.zeros((2, H))).transpose(1, 0, 2),
        rtol=1e-13,
        atol=1e-14,
    )
    single, single_n = layer(x[0], data((1, H), 36))
    expected = numpy_skip_rnn(layer, x[0][:, None], data((1, H), 36))[:, 0]  # a batch of one
    assert single.shape == (5, H) and single_n.shape == (1, H)
    np.testing.assert_allclose(single.data, expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("delay,batch_first", [(2, False), (3, True)])
@both_forms
def test_skip_rnn_gradients_match_central_differences(delay, batch_first, fused):
    layer = nn.SkipRNN(I, H, delay=delay, batch_first=batch_first, fused=fused, rng=37)
    x = Tensor(data((2, 4, I) if batch_first else (4, 2, I), 38), requires_grad=True)
    h0 = Tensor(data((1, 2, H), 39), requires_grad=True)
    weights = data((2, 4, H) if batch_first else (4, 2, H), 40)

    def loss(*_):
        output, h_n = layer(x, h0)
        return (output * weights).sum() + (h_n * 0.5).sum()

    assert gradcheck(loss, [x, h0, *layer.parameters()], EPS, ATOL, RTOL)


@both_forms
def test_skip_connection_reaches_back_delay_steps_in_one_hop(fused):
    """With W_hh = 0, h_t depends on x_s only if t - s is a multiple of d."""
    layer = nn.SkipRNN(1, 2, delay=3, fused=fused, rng=41)
    layer.weight_hh_l0.data[:] = 0
    x = Tensor(data((7, 1, 1), 42), requires_grad=True)
    output, _ = layer(x)
    output[6].sum().backward()
    reached = np.abs(x.grad[:, 0, 0]) > 0
    assert reached.tolist() == [True, False, False, True, False, False, True]


# ---- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: nn.LSTM(I, H)(np.zeros((3, 2, I + 1))),
            r"LSTM: expected input of shape \(seq_len, batch, input_size\) .* input_size 2, got \(3, 2, 3\)",
        ),
        (
            lambda: nn.GRU(I, H, batch_first=True)(np.zeros((2, 3, 4, I))),
            r"GRU: expected input of shape \(batch, seq_len, input_size\)",
        ),
        (
            lambda: nn.RNN(I, H, num_layers=2)(np.zeros((3, 2, I)), np.zeros((1, 2, H))),
            r"RNN: expected h_0 of shape \(2, 2, 3\) .*, got \(1, 2, 3\)",
        ),
        (
            lambda: nn.RNN(I, H)(np.zeros((3, I)), np.zeros((1, 2, H))),
            r"RNN: expected h_0 of shape \(1, 3\) .*unbatched",
        ),
        (lambda: nn.LSTM(I, H)(np.zeros((3, 2, I)), np.zeros((1, 2, H))), "LSTM: state must be a pair"),
        (
            lambda: nn.LSTM(I, H, bidirectional=True)(
                np.zeros((3, 2, I)), (np.zeros((2, 2, H)), np.zeros((1, 2, H)))
            ),
            r"LSTM: expected c_0 of shape \(2, 2, 3\)",
        ),
        (lambda: nn.GRU(I, H)(np.zeros((0, 2, I))), "GRU: the input sequence .* has no time steps"),
        (
            lambda: nn.SkipRNN(I, H, delay=2)(np.zeros((3, 2, I + 1))),
            r"^SkipRNN: expected input of shape \(seq_len, batch, input_size\) .*, got \(3, 2, 3\)",
        ),
        (
            lambda: nn.SkipRNN(I, H, delay=2, batch_first=True)(np.zeros((2, 3, 4, I))),
            r"^SkipRNN: expected input of shape \(batch, seq_len, input_size\)",
        ),
        (
            lambda: nn.SkipRNN(I, H, delay=2)(np.zeros((3, 2, I)), np.zeros((2, 2, H))),
            r"SkipRNN: expected h_0 of shape \(1, 2, 3\)",
        ),
        (lambda: nn.GRU(I, H)(Tensor(np.zeros((3, 2, I)), dtype=np.float32)), "GRU: input has dtype float32"),
    ],
)
def test_bad_layer_inputs_name_the_layer_and_shapes(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: nn.RNN(I, H, nonlinearity="sigmoid"), "RNN: nonlinearity must be 'tanh' or 'relu'"),
        (lambda: nn.LSTM(I, H, num_layers=0), "LSTM: num_layers must be a positive integer"),
        (lambda: nn.GRU(I, H, dropout=1.5), r"GRU: dropout must be a probability in \[0, 1\]"),
        (lambda: nn.SkipRNN(I, H, delay=0), "SkipRNN: delay must be a positive integer"),
        (lambda: nn.RNN(0, H), "^RNN: input_size must be a positive integer, got 0"),
        (lambda: nn.GRU(I, 0), "^GRU: hidden_size must be a positive integer, got 0"),
        # dropout is a number in [0, 1]: True, a string or a negative number is refused (as PyTorch does).
        (lambda: nn.GRU(I, H, dropout=True), r"^GRU: dropout must be a probability in \[0, 1\], got True"),
        (
            lambda: nn.LSTM(I, H, dropout="0.5"),
            r"^LSTM: dropout must be a probability in \[0, 1\], got '0.5'",
        ),
        (lambda: nn.RNN(I, H, dropout=-0.25), r"^RNN: dropout must be a probability in \[0, 1\], got -0.25"),
        (lambda: nn.SkipRNN(0, H, delay=1), "^SkipRNN: input_size must be a positive integer, got 0"),
        (lambda: nn.SkipRNN(I, -1, delay=1), "^SkipRNN: hidden_size must be a positive integer, got -1"),
    ],
)
def test_bad_layer_construction_is_rejected(make, message):  # the message names the layer and the argument
    with pytest.raises(ValueError, match=message):
        make()


@both_forms
def test_float32_layer_gives_float32_outputs(fused):
    layer = nn.LSTM(I, H, num_layers=2, bidirectional=True, fused=fused, rng=43).to(np.float32)
    output, (h_n, c_n) = layer(data((3, 2, I), 44))
    assert output.dtype == h_n.dtype == c_n.dtype == np.float32


# ---- construction: seeds, defaults, repr ------------------------------------------------------
ALL_LAYERS = [
    lambda **options: nn.RNN(I, H, **options),
    lambda **options: nn.GRU(I, H, **options),
    lambda **options: nn.LSTM(I, H, **options),
    lambda **options: nn.SkipRNN(I, H, delay=2, **options),
]
LAYER_IDS = ["RNN", "GRU", "LSTM", "SkipRNN"]


@pytest.mark.parametrize("make", ALL_LAYERS, ids=LAYER_IDS)
def test_layers_with_the_same_rng_seed_are_identical_and_different_seeds_differ(make):
    # The seed must reach the draws of every parameter: rng=1 twice gives the same layer.
    a, b, c = make(rng=1), make(rng=1), make(rng=2)
    for (name, p), (_, q), (_, r) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        assert not np.array_equal(p.data, r.data), name


@pytest.mark.parametrize("make", ALL_LAYERS, ids=LAYER_IDS)
def test_a_bad_rng_is_refused_naming_the_layer(make):
    name = type(make()).__name__
    with pytest.raises(ValueError, match=rf"^{name}: rng seed must be >= 0, got -1"):
        make(rng=-1)
    with pytest.raises(TypeError, match=rf"^{name}: rng must be a numpy\.random\.Generator"):
        make(rng="seed")


@pytest.mark.parametrize("make", ALL_LAYERS, ids=LAYER_IDS)
def test_layers_are_composed_unless_asked_to_be_fused(make):
    assert make().fused is False
    assert make(fused=True).fused is True


@pytest.mark.parametrize("p", [np.float32(0.25), np.float64(0.25), np.int64(0), np.int64(1)], ids=repr)
def test_a_numpy_scalar_is_a_dropout_probability(p):
    # PyTorch accepts any numbers.Number in [0, 1]; numpy's scalars are such numbers.
    layer = nn.GRU(I, H, num_layers=2, dropout=p)
    assert type(layer.dropout) is float and layer.dropout == float(p)


@pytest.mark.parametrize(
    "make,expected",
    [
        # PyTorch's form: "Layer(input_size, hidden_size" and then only the options not at their default.
        (lambda: nn.RNN(10, 20), "RNN(10, 20)"),
        (lambda: nn.RNN(10, 20, num_layers=2), "RNN(10, 20, num_layers=2)"),
        (lambda: nn.RNN(10, 20, bias=False), "RNN(10, 20, bias=False)"),
        (lambda: nn.RNN(10, 20, batch_first=True), "RNN(10, 20, batch_first=True)"),
        (lambda: nn.RNN(10, 20, num_layers=2, dropout=0.5), "RNN(10, 20, num_layers=2, dropout=0.5)"),
        (lambda: nn.RNN(10, 20, bidirectional=True), "RNN(10, 20, bidirectional=True)"),
        (lambda: nn.RNN(10, 20, fused=True), "RNN(10, 20, fused=True)"),
        (lambda: nn.RNN(10, 20, nonlinearity="relu"), "RNN(10, 20, nonlinearity='relu')"),
        (
            lambda: nn.RNN(
                10, 20, 2, "relu", bias=False, batch_first=True, dropout=0.5, bidirectional=True, fused=True
            ),
            "RNN(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True, "
            "fused=True, nonlinearity='relu')",
        ),
        (lambda: nn.GRU(10, 20), "GRU(10, 20)"),
        (lambda: nn.GRU(10, 20, reset_after=False), "GRU(10, 20, reset_after=False)"),
        (
            lambda: nn.GRU(10, 20, 2, False, True, 0.5, True, False, fused=True),
            "GRU(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True, "
            "fused=True, reset_after=False)",
        ),
        (lambda: nn.LSTM(10, 20), "LSTM(10, 20)"),
        (
            lambda: nn.LSTM(10, 20, 2, False, True, 0.5, True, fused=True),
            "LSTM(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True, "
            "fused=True)",
        ),
        (lambda: nn.SkipRNN(10, 20, 4), "SkipRNN(10, 20, delay=4)"),
        (lambda: nn.SkipRNN(10, 20, 4, bias=False), "SkipRNN(10, 20, delay=4, bias=False)"),
        (lambda: nn.SkipRNN(10, 20, 4, batch_first=True), "SkipRNN(10, 20, delay=4, batch_first=True)"),
        (lambda: nn.SkipRNN(10, 20, 4, fused=True), "SkipRNN(10, 20, delay=4, fused=True)"),
        (
            lambda: nn.SkipRNN(10, 20, 4, False, True, fused=True),
            "SkipRNN(10, 20, delay=4, bias=False, batch_first=True, fused=True)",
        ),
    ],
    ids=lambda case: case if isinstance(case, str) else "make",
)
def test_layer_repr_shows_the_sizes_and_the_options_not_at_their_default(make, expected):
    assert repr(make()) == expected
