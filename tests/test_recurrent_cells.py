"""The recurrent cells: their documented equations (written out again in numpy here),
gradients by central differences, gate order, initialisation and errors."""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, gradcheck, nn

I, H, B = 2, 3, 2

# Central differences with eps 1e-6 in float64: truncation error ~eps^2 = 1e-12 and
# rounding ~1e-16 / eps = 1e-10, so a correct gradient passes atol 1e-7 / rtol 1e-6
# with a wide margin, while a wrong one (errors of order 1e-2) cannot.
EPS, ATOL, RTOL = 1e-6, 1e-7, 1e-6

# Every test that builds a cell runs it in the default composed form and with fused=True.
both_forms = pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])


# ---- the equations of each cell in plain numpy, independent of the library --------------------
def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def relu(a):
    return np.maximum(a, 0)


def params_of(cell):
    """weight_ih, weight_hh, bias_ih, bias_hh as arrays (zero biases when the cell has none)."""
    G = cell.weight_ih.shape[0]
    b_ih = cell.bias_ih.data if cell.bias else np.zeros(G)
    b_hh = cell.bias_hh.data if cell.bias else np.zeros(G)
    return cell.weight_ih.data, cell.weight_hh.data, b_ih, b_hh


def numpy_rnn_seed_form(cell, x, h, f):
    """The seeds' form f(W [x; h] + b) with W = [W_ih | W_hh] and b = b_ih + b_hh."""
    W_ih, W_hh, b_ih, b_hh = params_of(cell)
    W = np.hstack([W_ih, W_hh])
    xh = np.concatenate([x, h], axis=-1)
    return f(xh @ W.T + (b_ih + b_hh))


def numpy_gru(cell, x, h, reset_after):
    W_ih, W_hh, b_ih, b_hh = params_of(cell)
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = np.split(W_ih, 3), np.split(W_hh, 3)
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = np.split(b_ih, 3), np.split(b_hh, 3)
    r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    if reset_after:
        n = np.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    else:
        n = np.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * n + z * h


def numpy_lstm(cell, x, h, c):
    W_ih, W_hh, b_ih, b_hh = params_of(cell)
    (W_ii, W_if, W_ig, W_io), (W_hi, W_hf, W_hg, W_ho) = np.split(W_ih, 4), np.split(W_hh, 4)
    (b_ii, b_if, b_ig, b_io), (b_hi, b_hf, b_hg, b_ho) = np.split(b_ih, 4), np.split(b_hh, 4)
    i = sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi)
    f = sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf)
    g = np.tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)
    o = sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    c_next = f * c + i * g
    return o * np.tanh(c_next), c_next


def numpy_leaky(cell, x, h, alpha):
    W_ih, W_hh, b_ih, b_hh = params_of(cell)
    v = np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
    return alpha * h + (1 - alpha) * v


def data(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


@both_forms
# ---- forward against the equations --------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nonlinearity,f", [("tanh", np.tanh), ("relu", relu)])
def test_rnn_cell_equals_the_seed_concatenated_form(nonlinearity, f, bias, fused):
    cell = nn.RNNCell(I, H, bias=bias, nonlinearity=nonlinearity, fused=fused, rng=0)
    x, h = data((B, I), 1), data((B, H), 2)
    np.testing.assert_allclose(cell(x, h).data, numpy_rnn_seed_form(cell, x, h, f), rtol=1e-13, atol=1e-14)
    # h=None means a zero initial state.
    np.testing.assert_allclose(
        cell(x).data, numpy_rnn_seed_form(cell, x, np.zeros((B, H)), f), rtol=1e-13, atol=1e-14
    )


@both_forms
def test_rnn_cell_matches_seed_002_worked_example(fused):
    """Seed 002's numpy example: x = [1, 2] (one scalar per step), its weights, its printed states.

    The seed multiplies row vectors (state @ w_cell_state), so W_hh = w_cell_state.T;
    its single bias b_cell goes into bias_ih with bias_hh = 0. Its printed numbers
    are those of the loop run a *second* time in the notebook, starting from the
    state the first run left behind (a<0> = 0 gives pre-activations [0.6, 0.5] by
    hand: 1 * [0.5, 0.6] + [0.1, -0.1]). We reproduce both runs.
    """
    cell = nn.RNNCell(1, 2, fused=fused)
    cell.load_state_dict(
        {
            "weight_ih": np.array([[0.5], [0.6]]),
            "weight_hh": np.array([[0.1, 0.2], [0.3, 0.4]]).T,
            "bias_ih": np.array([0.1, -0.1]),
            "bias_hh": np.zeros(2),
        }
    )
    h = cell(np.array([1.0]))  # first run, from a<0> = 0
    np.testing.assert_allclose(h.data, np.tanh([0.6, 0.5]), rtol=1e-15)
    h = cell(np.array([2.0]), h)
    h = cell(np.array([1.0]), h)  # second run, the one the seed printed
    np.testing.assert_allclose(h.data, [0.74026877, 0.7720626], atol=5e-9)
    np.testing.assert_allclose(h.data @ np.array([0.1, 2.0]) + 0.1, 1.71815207, atol=5e-9)
    h = cell(np.array([2.0]), h)
    np.testing.assert_allclose(h.data, [0.88656589, 0.91491336], atol=5e-9)
    np.testing.assert_allclose(h.data @ np.array([0.1, 2.0]) + 0.1, 2.0184833, atol=5e-8)


@both_forms
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_equations(reset_after, bias, fused):
    cell = nn.GRUCell(I, H, bias=bias, reset_after=reset_after, fused=fused, rng=3)
    x, h = data((B, I), 4), data((B, H), 5)
    expected = numpy_gru(cell, x, h, reset_after)
    np.testing.assert_allclose(cell(x, h).data, expected, rtol=1e-13, atol=1e-14)


@both_forms
def test_the_two_gru_forms_differ(fused):
    """reset_after moves r across W_hn, which changes the value whenever r is not all ones."""
    a = nn.GRUCell(I, H, reset_after=True, fused=fused, rng=6)
    b = nn.GRUCell(I, H, reset_after=False, fused=fused)
    b.load_state_dict(a.state_dict())
    x, h = data((B, I), 7), data((B, H), 8)
    assert np.abs(a(x, h).data - b(x, h).data).max() > 1e-3


@pytest.mark.parametrize("steps", ["textbook", "fused"])
def test_public_step_functions_default_to_tanh_and_pytorchs_gru(steps):
    """rnn_step and gru_step are public; called without the last argument they are the Elman step
    with tanh and the GRU with reset_after=True (PyTorch's form), as the cells' defaults are."""
    from tinygrad_rnn import fused as fused_steps
    from tinygrad_rnn.nn import steps as textbook_steps

    module = textbook_steps if steps == "textbook" else fused_steps
    x, h = data((B, I), 20), data((B, H), 21)

    rnn = nn.RNNCell(I, H, rng=22)
    W_ih, W_hh, b_ih, b_hh = params_of(rnn)
    gx = Tensor(x @ W_ih.T + b_ih)
    h_next = module.rnn_step(gx, Tensor(h), rnn.weight_hh, rnn.bias_hh)
    np.testing.assert_allclose(h_next.data, numpy_rnn_seed_form(rnn, x, h, np.tanh), rtol=1e-13, atol=1e-14)

    gru = nn.GRUCell(I, H, rng=23)
    W_ih, W_hh, b_ih, b_hh = params_of(gru)
    gx = Tensor(x @ W_ih.T + b_ih)
    h_next = module.gru_step(gx, Tensor(h), gru.weight_hh, gru.bias_hh).data
    np.testing.assert_allclose(h_next, numpy_gru(gru, x, h, reset_after=True), rtol=1e-13, atol=1e-14)
    assert np.abs(h_next - numpy_gru(gru, x, h, reset_after=False)).max() > 1e-3  # the forms differ here


@pytest.mark.parametrize("reset_after", [True, False])
def test_public_textbook_steps_take_one_unbatched_sample(reset_after):
    """The textbook steps split the gate blocks along the LAST axis (module docstring), so they also
    take one sample without a batch axis, gx (G*H,) and h, c (H,), as PyTorch's cells do: the
    equations hold for 1-D vectors exactly as for rows."""
    from tinygrad_rnn.nn import steps

    x, h, c = data(I, 24), data(H, 25), data(H, 26)
    gru = nn.GRUCell(I, H, rng=27)
    W_ih, _, b_ih, _ = params_of(gru)
    h_next = steps.gru_step(Tensor(x @ W_ih.T + b_ih), Tensor(h), gru.weight_hh, gru.bias_hh, reset_after)
    assert h_next.shape == (H,)
    np.testing.assert_allclose(h_next.data, numpy_gru(gru, x, h, reset_after), rtol=1e-13, atol=1e-14)

    lstm = nn.LSTMCell(I, H, rng=28)
    W_ih, _, b_ih, _ = params_of(lstm)
    gx = Tensor(x @ W_ih.T + b_ih)
    h_next, c_next = steps.lstm_step(gx, Tensor(h), Tensor(c), lstm.weight_hh, lstm.bias_hh)
    want_h, want_c = numpy_lstm(lstm, x, h, c)
    np.testing.assert_allclose(h_next.data, want_h, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(c_next.data, want_c, rtol=1e-13, atol=1e-14)


@both_forms
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_equations(bias, fused):
    cell = nn.LSTMCell(I, H, bias=bias, fused=fused, rng=9)
    x, h, c = data((B, I), 10), data((B, H), 11), data((B, H), 12)
    h_next, c_next = cell(x, (h, c))
    expected_h, expected_c = numpy_lstm(cell, x, h, c)
    np.testing.assert_allclose(h_next.data, expected_h, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(c_next.data, expected_c, rtol=1e-13, atol=1e-14)
    zero_h, zero_c = cell(x)
    expected_h, expected_c = numpy_lstm(cell, x, np.zeros((B, H)), np.zeros((B, H)))
    np.testing.assert_allclose(zero_h.data, expected_h, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(zero_c.data, expected_c, rtol=1e-13, atol=1e-14)


@both_forms
@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.95])
def test_leaky_cell_fixed_alpha_equations(alpha, fused):
    cell = nn.LeakyRNNCell(I, H, alpha=alpha, fused=fused, rng=13)
    x, h = data((B, I), 14), data((B, H), 15)
    np.testing.assert_allclose(cell(x, h).data, numpy_leaky(cell, x, h, alpha), rtol=1e-13, atol=1e-14)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


@both_forms
def test_leaky_cell_learned_alpha_is_per_unit_sigmoid_of_its_logit(fused):
    cell = nn.LeakyRNNCell(I, H, alpha=0.8, learn_alpha=True, fused=fused, rng=16)
    assert cell.alpha_logit.shape == (H,)
    np.testing.assert_allclose(cell.alpha.data, np.full(H, 0.8), rtol=1e-14)  # starts at the given alpha
    logits = np.array([-30.0, 0.3, 30.0])  # far out: alpha stays strictly between 0 and 1
    cell.alpha_logit.data = logits.copy()
    alpha = 1 / (1 + np.exp(-logits))
    assert np.all((cell.alpha.data > 0) & (cell.alpha.data < 1))
    x, h = data((B, I), 17), data((B, H), 18)
    np.testing.assert_allclose(cell(x, h).data, numpy_leaky(cell, x, h, alpha), rtol=1e-13, atol=1e-14)


@both_forms
def test_leaky_cell_remembers_about_one_over_one_minus_alpha_steps(fused):
    """With zero input weights and W_hh = 0, h_t = alpha^t h_0 + (1 - alpha^t) tanh(b)."""
    alpha = 0.9
    cell = nn.LeakyRNNCell(1, 2, alpha=alpha, fused=fused)
    cell.load_state_dict(
        {
            "weight_ih": np.zeros((2, 1)),
            "weight_hh": np.zeros((2, 2)),
            "bias_ih": np.array([0.3, -0.2]),
            "bias_hh": np.zeros(2),
        }
    )
    h0 = np.array([1.0, -1.0])
    h = Tensor(h0)
    for _ in range(10):
        h = cell(np.zeros(1), h)
    target = np.tanh([0.3, -0.2])
    np.testing.assert_allclose(h.data, alpha**10 * h0 + (1 - alpha**10) * target, rtol=1e-13)


@both_forms
# ---- unbatched input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [nn.RNNCell, nn.GRUCell, nn.LSTMCell, nn.LeakyRNNCell], ids=lambda m: m.__name__
)
def test_unbatched_cell_input_equals_batch_of_one(make, fused):
    cell = make(I, H, fused=fused, rng=19)
    x = data((I,), 20)
    state = (data((H,), 21), data((H,), 22)) if make is nn.LSTMCell else data((H,), 21)
    single = cell(x, state)
    batched_state = tuple(s[None] for s in state) if make is nn.LSTMCell else state[None]
    batch = cell(x[None], batched_state)
    for one, many in zip(*(single, batch) if make is nn.LSTMCell else ([single], [batch])):
        assert one.shape == (H,)
        np.testing.assert_array_equal(one.data, many.data[0])


# ---- gradients by central differences -----------------------------------------------------------
def two_steps(cell, x1, x2, *state):
    """A weighted sum of the states after two steps, so every entry gets its own weight."""
    weights = data((2, 2, B, H), 23)
    if isinstance(cell, nn.LSTMCell):
        s1 = cell(x1, state)
        s2 = cell(x2, s1)
        return sum(((s * w).sum() for s, w in zip([*s1, *s2], weights.reshape(4, B, H))), Tensor(0.0))
    h1 = cell(x1, state[0])
    h2 = cell(x2, h1)
    return (h1 * weights[0, 0]).sum() + (h2 * weights[1, 0]).sum()


CELLS = {
    "rnn-tanh": lambda fused: nn.RNNCell(I, H, fused=fused, rng=24),
    "rnn-relu": lambda fused: nn.RNNCell(I, H, nonlinearity="relu", fused=fused, rng=24),
    "rnn-no-bias": lambda fused: nn.RNNCell(I, H, bias=False, fused=fused, rng=24),
    "gru-reset-after": lambda fused: nn.GRUCell(I, H, fused=fused, rng=24),
    "gru-reset-before": lambda fused: nn.GRUCell(I, H, reset_after=False, fused=fused, rng=24),
    "gru-no-bias": lambda fused: nn.GRUCell(I, H, bias=False, reset_after=False, fused=fused, rng=24),
    "lstm": lambda fused: nn.LSTMCell(I, H, fused=fused, rng=24),
    "lstm-no-bias": lambda fused: nn.LSTMCell(I, H, bias=False, fused=fused, rng=24),
    "leaky-fixed": lambda fused: nn.LeakyRNNCell(I, H, alpha=0.7, fused=fused, rng=24),
    "leaky-learned": lambda fused: nn.LeakyRNNCell(I, H, alpha=0.7, learn_alpha=True, fused=fused, rng=24),
}


@both_forms
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_gradients_match_central_differences(name, fused):
    cell = CELLS[name](fused)
    if name == "leaky-learned":  # distinct alphas per unit, so a mixed-up unit would show
        cell.alpha_logit.data = np.array([-1.0, 0.5, 2.0])
    x1 = Tensor(data((B, I), 25), requires_grad=True)
    x2 = Tensor(data((B, I), 26), requires_grad=True)
    states = [Tensor(data((B, H), 27 + k), requires_grad=True) for k in range(2 if "lstm" in name else 1)]
    params = cell.parameters()
    assert gradcheck(
        lambda *inputs: two_steps(cell, x1, x2, *states), [x1, x2, *states, *params], EPS, ATOL, RTOL
    )
    # and every parameter really did receive a gradient (none silently left out of the graph)
    cell.zero_grad()
    two_steps(cell, x1, x2, *states).backward()
    assert all(p.grad is not None and np.abs(p.grad).max() > 0 for p in params)


@both_forms
# ---- gate order -------------------------------------------------------------------------------
def test_lstm_gate_order_forget_gate_carries_the_cell_state(fused):
    """Only the f block (rows H:2H) saturated open and the i block (rows 0:H) shut: c' = c."""
    cell = nn.LSTMCell(I, H, fused=fused, rng=29)
    bias = np.zeros(4 * H)
    bias[0:H], bias[H : 2 * H] = -60.0, 60.0  # i = sigmoid(-60) ~ 1e-26, f = sigmoid(60) ~ 1 - 1e-26
    cell.bias_ih.data = bias
    x, h, c = data((B, I), 30), data((B, H), 31), data((B, H), 32)
    _, c_next = cell(x, (h, c))
    np.testing.assert_allclose(c_next.data, c, rtol=1e-12, atol=1e-12)
    # the same biases one block later (on f and g) would not carry c over
    cell.bias_ih.data = np.roll(bias, H)
    _, c_other = cell(x, (h, c))
    assert np.abs(c_other.data - c).max() > 1e-2


@both_forms
def test_lstm_gate_order_output_gate_is_the_last_block(fused):
    cell = nn.LSTMCell(I, H, fused=fused, rng=33)
    cell.bias_hh.data = np.concatenate([np.zeros(3 * H), np.full(H, -60.0)])  # o ~ 0
    h_next, c_next = cell(data((B, I), 34), (data((B, H), 35), data((B, H), 36)))
    np.testing.assert_allclose(h_next.data, 0, atol=1e-20)
    assert np.abs(c_next.data).max() > 1e-2


@both_forms
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_gate_order_update_gate_is_the_middle_block(reset_after, fused):
    """z (rows H:2H) saturated at 1 keeps h; at 0 it replaces h by n."""
    cell = nn.GRUCell(I, H, reset_after=reset_after, fused=fused, rng=37)
    x, h = data((B, I), 38), data((B, H), 39)
    bias = np.zeros(3 * H)
    bias[H : 2 * H] = 60.0
    cell.bias_ih.data = bias
    np.testing.assert_allclose(cell(x, h).data, h, rtol=1e-12, atol=1e-12)
    cell.bias_ih.data = -bias
    W_ih, W_hh, b_ih, b_hh = params_of(cell)
    r = sigmoid(x @ W_ih[:H].T + b_ih[:H] + h @ W_hh[:H].T + b_hh[:H])
    hn = h @ W_hh[2 * H :].T + b_hh[2 * H :] if reset_after else None
    if reset_after:
        n = np.tanh(x @ W_ih[2 * H :].T + b_ih[2 * H :] + r * hn)
    else:
        n = np.tanh(x @ W_ih[2 * H :].T + b_ih[2 * H :] + (r * h) @ W_hh[2 * H :].T + b_hh[2 * H :])
    np.testing.assert_allclose(cell(x, h).data, n, rtol=1e-12, atol=1e-12)


# ---- initialisation, dtype, errors ---------------------------------------------------------------
@pytest.mark.parametrize(
    "make,gates", [(nn.RNNCell, 1), (nn.GRUCell, 3), (nn.LSTMCell, 4), (nn.LeakyRNNCell, 1)]
)
def test_initialisation_is_uniform_in_plus_minus_one_over_sqrt_hidden(make, gates):
    hidden = 100
    cell = make(50, hidden, rng=40)
    bound = 1 / np.sqrt(hidden)
    shapes = {
        "weight_ih": (gates * hidden, 50),
        "weight_hh": (gates * hidden, hidden),
        "bias_ih": (gates * hidden,),
        "bias_hh": (gates * hidden,),
    }
    assert {n: p.shape for n, p in cell.named_parameters()} == shapes
    for name, p in cell.named_parameters():
        values = p.data.ravel()
        assert np.abs(values).max() <= bound, name
        # U(-b, b) has mean 0 and variance b^2 / 3; n >= 100 draws put the sample
        # moments within a few standard errors of these (a normal init would not fit both).
        n = values.size
        assert abs(values.mean()) < 5 * bound / np.sqrt(3 * n), name
        assert abs(values.var() - bound**2 / 3) < 5 * bound**2 * np.sqrt(4 / 45 / n), name


ALL_CELLS = [nn.RNNCell, nn.GRUCell, nn.LSTMCell, nn.LeakyRNNCell]


@pytest.mark.parametrize("make", ALL_CELLS, ids=lambda m: m.__name__)
def test_cells_with_the_same_rng_seed_are_identical_and_different_seeds_differ(make):
    # The seed must reach the draws of every parameter: rng=1 twice gives the same cell.
    a, b, c = make(I, H, rng=1), make(I, H, rng=1), make(I, H, rng=2)
    for (name, p), (_, q), (_, r) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        assert not np.array_equal(p.data, r.data), name


@pytest.mark.parametrize("make", ALL_CELLS, ids=lambda m: m.__name__)
def test_a_bad_rng_is_refused_naming_the_cell(make):
    with pytest.raises(ValueError, match=rf"^{make.__name__}: rng seed must be >= 0, got -1"):
        make(I, H, rng=-1)
    with pytest.raises(TypeError, match=rf"^{make.__name__}: rng must be a numpy\.random\.Generator"):
        make(I, H, rng=1.5)


@pytest.mark.parametrize("make", ALL_CELLS, ids=lambda m: m.__name__)
def test_cells_are_composed_unless_asked_to_be_fused(make):
    assert make(I, H).fused is False
    assert make(I, H, fused=True).fused is True


@both_forms
def test_cell_in_float32_stays_float32(fused):
    cell = nn.LSTMCell(I, H, fused=fused, rng=41).to(np.float32)
    h, c = cell(data((B, I), 42))  # a float64 numpy array is converted to the parameters' dtype
    assert h.dtype == np.float32 and c.dtype == np.float32


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: nn.RNNCell(I, H)(np.zeros((B, I + 1))), r"RNNCell: expected input of shape \(batch, 2\)"),
        (lambda: nn.GRUCell(I, H)(np.zeros((B, I)), np.zeros((B, H + 1))), r"GRUCell: expected h .*\(2, 3\)"),
        (lambda: nn.GRUCell(I, H)(np.zeros(I), np.zeros((1, H))), r"GRUCell: expected h of shape \(3,\)"),
        (lambda: nn.LSTMCell(I, H)(np.zeros((B, I)), np.zeros((B, H))), "LSTMCell: state must be a pair"),
        (lambda: nn.LSTMCell(I, H)(np.zeros((B, I)), (np.zeros((B, H)), np.zeros((1, H)))), "expected c"),
        (lambda: nn.LeakyRNNCell(I, H)(np.zeros((B, 1, I))), "LeakyRNNCell: expected input"),
        (lambda: nn.RNNCell(I, H)(Tensor(np.zeros((B, I)), dtype=np.float32)), "dtype float32"),
    ],
)
def test_bad_cell_inputs_name_the_cell_and_shapes(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: nn.RNNCell(I, H, nonlinearity="sigmoid"), "^RNNCell: nonlinearity must be 'tanh' or 'relu'"),
        (lambda: nn.LeakyRNNCell(I, H, alpha=1.0), "alpha must be a number strictly between 0 and 1"),
        (lambda: nn.LeakyRNNCell(I, H, alpha=0), "alpha must be"),
        # Not a number at all: the same ValueError, not a TypeError from comparing "0.5" with 0.
        (lambda: nn.LeakyRNNCell(I, H, alpha="0.5"), "^LeakyRNNCell: alpha must be a number"),
        (lambda: nn.GRUCell(0, H), "^GRUCell: input_size must be a positive integer, got 0"),
        (lambda: nn.LSTMCell(I, 2.5), "^LSTMCell: hidden_size must be a positive integer, got 2.5"),
    ],
)
def test_bad_cell_construction_is_rejected(make, message):  # the message names the cell and the argument
    with pytest.raises(ValueError, match=message):
        make()


# ---- repr: PyTorch's form, "Cell(input_size, hidden_size" and then only the options not at their default
@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda: nn.RNNCell(4, 3), "RNNCell(4, 3)"),
        (lambda: nn.RNNCell(4, 3, bias=False), "RNNCell(4, 3, bias=False)"),
        (lambda: nn.RNNCell(4, 3, fused=True), "RNNCell(4, 3, fused=True)"),
        (lambda: nn.RNNCell(4, 3, nonlinearity="relu"), "RNNCell(4, 3, nonlinearity='relu')"),
        (
            lambda: nn.RNNCell(4, 3, bias=False, nonlinearity="relu", fused=True),
            "RNNCell(4, 3, bias=False, fused=True, nonlinearity='relu')",
        ),
        (lambda: nn.GRUCell(4, 3), "GRUCell(4, 3)"),
        (lambda: nn.GRUCell(4, 3, bias=False), "GRUCell(4, 3, bias=False)"),
        (lambda: nn.GRUCell(4, 3, fused=True), "GRUCell(4, 3, fused=True)"),
        (lambda: nn.GRUCell(4, 3, reset_after=False), "GRUCell(4, 3, reset_after=False)"),
        (
            lambda: nn.GRUCell(4, 3, bias=False, reset_after=False, fused=True),
            "GRUCell(4, 3, bias=False, fused=True, reset_after=False)",
        ),
        (lambda: nn.LSTMCell(4, 3), "LSTMCell(4, 3)"),
        (lambda: nn.LSTMCell(4, 3, bias=False, fused=True), "LSTMCell(4, 3, bias=False, fused=True)"),
        # The leaky cell always shows its leak (it has no PyTorch counterpart to follow).
        (lambda: nn.LeakyRNNCell(4, 3, alpha=0.25), "LeakyRNNCell(4, 3, alpha=0.25)"),
        (lambda: nn.LeakyRNNCell(4, 3, learn_alpha=True), "LeakyRNNCell(4, 3, alpha=learned)"),
        (
            lambda: nn.LeakyRNNCell(4, 3, alpha=0.5, learn_alpha=True, bias=False, fused=True),
            "LeakyRNNCell(4, 3, bias=False, fused=True, alpha=learned)",
        ),
    ],
    ids=lambda case: case if isinstance(case, str) else "make",
)
def test_cell_repr_shows_the_sizes_and_the_options_not_at_their_default(make, expected):
    assert repr(make()) == expected
