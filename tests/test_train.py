"""The shared training loops: truncated BPTT windows, carried state, evaluation, skipping bad steps."""

import math

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.train import TrainLog, evaluate_stream, optimizer_step, train_steps, truncated_bptt


class Tiny(nn.Module):
    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.rnn = nn.RNN(3, 4, rng=rng)
        self.head = nn.Linear(4, 3, rng=rng)

    def forward(self, ids, state=None):
        output, state = self.rnn(np.eye(3)[ids], state)
        return self.head(output), state


def _stream(T=12, B=2, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3, (T, B)), rng.integers(0, 3, (T, B))


def test_evaluate_stream_equals_one_pass_over_the_whole_sequence():
    # Carrying the state across windows must give exactly the loss of one unbroken pass.
    model = Tiny()
    x, y = _stream(T=11)
    logits, _ = model(x)
    whole = F.cross_entropy(logits.reshape(-1, 3), y.reshape(-1)).item()
    assert evaluate_stream(model, x, y, num_steps=4) == pytest.approx(whole, abs=1e-12)  # 4 + 4 + 3 steps


def test_truncated_bptt_first_step_matches_a_hand_made_window():
    # The first update uses only the first window, from a zero state: compare with SGD by hand.
    x, y = _stream(T=8)
    reference = Tiny()
    logits, _ = reference(x[:3])
    reference_loss = F.cross_entropy(logits.reshape(-1, 3), y[:3].reshape(-1))
    reference_loss.backward()
    expected = {name: p.data - 0.5 * p.grad for name, p in reference.named_parameters()}

    model = Tiny()
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    seen = []
    log, _ = truncated_bptt(
        model, optimizer, x[:3], y[:3], num_steps=3, on_step=lambda s, loss: seen.append((s, loss))
    )
    assert len(log.losses) == 1 and len(log.grad_norms) == 1
    # on_step is told the step number and that step's loss (the window's loss before the update)
    assert seen == [(0, pytest.approx(reference_loss.item(), abs=1e-14))] and seen[0][1] == log.losses[0]
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.data, expected[name], rtol=0, atol=1e-14)


def test_truncated_bptt_carries_a_detached_state_and_drops_the_short_tail():
    x, y = _stream(T=10)
    model = Tiny()
    optimizer = optim.SGD(model.parameters(), lr=0.0)  # weights fixed: losses are pure forward values
    log, state = truncated_bptt(model, optimizer, x, y, num_steps=3)
    assert len(log.losses) == 3  # windows 0-2, 3-5, 6-8; step 9 dropped
    assert state.is_leaf and not state.requires_grad  # cut from the graph
    # the third window's loss with the state carried from the first two
    logits, _ = model(x[:9])
    expected = F.cross_entropy(logits[6:9].reshape(-1, 3), y[6:9].reshape(-1)).item()
    assert log.losses[2] == pytest.approx(expected, abs=1e-12)


def test_optimizer_step_returns_the_unclipped_norm_and_clips():
    w = nn.Parameter(np.array([3.0, 4.0]))
    optimizer = optim.SGD([w], lr=1.0)
    norm = optimizer_step((w * Tensor([1.0, 1.0])).sum() * 10.0, optimizer, max_norm=1.0)
    assert norm == pytest.approx(math.sqrt(200.0))  # gradient (10, 10)
    np.testing.assert_allclose(w.data, [3.0 - 1 / math.sqrt(2), 4.0 - 1 / math.sqrt(2)], atol=1e-6)


def test_optimizer_step_skips_a_non_finite_loss():
    w = nn.Parameter(np.array([1.0]))
    optimizer = optim.SGD([w], lr=1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = (w * 0.0).log().sum()  # log 0 = -inf, and its gradient 1/0
        optimizer_step(loss, optimizer)
    np.testing.assert_array_equal(w.data, [1.0])


def test_train_steps_and_mean_loss():
    w = nn.Parameter(np.array([2.0]))
    log = train_steps(lambda step: (w * w).sum(), optim.SGD([w], lr=0.25), 4)
    # w halves every step: losses 4, 1, 1/4, 1/16
    np.testing.assert_allclose(log.losses, [4.0, 1.0, 0.25, 0.0625])
    assert log.mean_loss(0.5) == pytest.approx((0.25 + 0.0625) / 2)
    with pytest.raises(ValueError, match="no steps"):
        TrainLog().mean_loss()


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("make", [lambda rng: nn.LSTMCell(3, 6, rng=rng), lambda rng: nn.LSTM(3, 6, rng=rng)])
def test_keep_gate_init_lstm_forget_gate_remembers_up_to_max_lag(make):
    from tinygrad_rnn.train import keep_gate_init

    module = make(np.random.default_rng(0))
    suffix = "_l0" if hasattr(module, "bias_hh_l0") else ""
    bias_ih, bias_hh = getattr(module, f"bias_ih{suffix}"), getattr(module, f"bias_hh{suffix}")
    before_g_o = bias_hh.data[12:].copy()
    keep_gate_init(module, max_lag=20, rng=np.random.default_rng(1))
    H = 6
    forget = _sigmoid(bias_ih.data[H : 2 * H] + bias_hh.data[H : 2 * H])  # with x = 0 and h = 0
    write = _sigmoid(bias_ih.data[:H] + bias_hh.data[:H])
    # a kept fraction f gives a memory of 1 / (1 - f) steps: between 2 and max_lag
    memory = 1.0 / (1.0 - forget)
    assert np.all(memory >= 2.0 - 1e-12) and np.all(memory <= 20.0 + 1e-12)
    assert np.ptp(memory) > 0  # one time scale per unit, not all the same
    np.testing.assert_allclose(write, 1.0 - forget, atol=1e-15)  # input gate starts as 1 - f
    np.testing.assert_array_equal(bias_hh.data[12:], before_g_o)  # g and o untouched


def test_keep_gate_init_gru_update_gate_keeps_and_rnn_is_an_error():
    from tinygrad_rnn.train import keep_gate_init

    cell = nn.GRUCell(3, 5, rng=np.random.default_rng(0))
    reset_before = cell.bias_hh.data[:5].copy()
    keep_gate_init(cell, max_lag=10, rng=np.random.default_rng(2))
    z = _sigmoid(cell.bias_ih.data[5:10] + cell.bias_hh.data[5:10])
    assert np.all(z >= 0.5 - 1e-12) and np.all(z <= 9 / 10 + 1e-12)  # u / (1 + u), u in [1, 9]
    np.testing.assert_array_equal(cell.bias_hh.data[:5], reset_before)
    # h' = (1 - z) n + z h: from h = 1 with zero input, z keeps at least half of h (|n| <= 1)
    h = cell(np.zeros((1, 3)), Tensor(np.ones((1, 5)))).numpy()[0]
    assert np.all(h >= 2 * z - 1 - 1e-12)
    with pytest.raises(ValueError, match="keep_gate_init"):
        keep_gate_init(nn.RNNCell(3, 4, rng=np.random.default_rng(0)), 10, np.random.default_rng(0))


@pytest.mark.parametrize("make", [lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, rng=0),
                                  lambda: nn.GRU(3, 4, num_layers=2, rng=0)])  # fmt: skip
def test_keep_gate_init_reaches_every_layer_and_direction(make):
    from tinygrad_rnn.train import keep_gate_init

    module = make()
    keep_gate_init(module, max_lag=30, rng=5)  # an int seed, as layers take
    H, suffixes = 4, {name[len("bias_hh") :] for name, _ in module.named_parameters() if "bias_hh" in name}
    assert len(suffixes) == module.num_layers * module.num_directions
    for suffix in suffixes:
        bias_ih, bias_hh = getattr(module, f"bias_ih{suffix}"), getattr(module, f"bias_hh{suffix}")
        kept = _sigmoid(bias_ih.data[H : 2 * H] + bias_hh.data[H : 2 * H])
        assert np.all(kept >= 0.5 - 1e-12) and np.all(kept <= 29 / 30 + 1e-12), suffix  # u / (1 + u)


@pytest.mark.parametrize(
    "module, error, message",
    [
        (nn.Linear(3, 4, rng=0), TypeError, "keep_gate_init: Linear is not a recurrent cell or layer"),
        (Tiny(), TypeError, "keep_gate_init: Tiny is not a recurrent cell or layer"),
        ("lstm", TypeError, "keep_gate_init: expected a GRU or LSTM cell or layer, got str"),
        (nn.LSTMCell(3, 4, bias=False, rng=0), ValueError, "LSTMCell was built with bias=False"),
        (nn.RNN(3, 4, rng=0), ValueError, "keep_gate_init: expected a GRU .* got RNN with 1 gate block$"),
    ],
)
def test_keep_gate_init_names_a_module_it_cannot_initialise(module, error, message):
    from tinygrad_rnn.train import keep_gate_init

    with pytest.raises(error, match=message):
        keep_gate_init(module, max_lag=10, rng=0)


@pytest.mark.parametrize("shape", [(0, 2), (5, 0)])
def test_evaluate_stream_of_an_empty_stream_is_an_error_not_a_division_by_zero(shape):
    model = Tiny()
    ids = np.zeros(shape, dtype=np.int64)
    with pytest.raises(ValueError, match=rf"evaluate_stream: the streams hold no predictions .*{shape}"):
        evaluate_stream(model, ids, ids, 4)


class TinyLSTM(nn.Module):
    """Embedding -> LSTM -> Linear: a state that is a pair, indices that become an index array."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(3, 2, rng=rng)
        self.rnn = nn.LSTM(2, 4, rng=rng)
        self.head = nn.Linear(4, 3, rng=rng)

    def forward(self, ids, state=None):
        output, state = self.rnn(self.embed(ids), state)
        return self.head(output), state


def test_compiled_truncated_bptt_and_evaluation_give_the_eager_numbers():
    x, y = _stream(T=17, B=3, seed=4)
    runs = {}
    for compiled in (False, True):
        model = TinyLSTM()
        optimizer = optim.Adam(model.parameters(), lr=0.05)
        log, state = truncated_bptt(model, optimizer, x, y, num_steps=4, max_norm=1.0, compiled=compiled)
        held_out = evaluate_stream(model, x, y, num_steps=5, compiled=compiled)  # 5+5+5+2: a short tail
        runs[compiled] = (log, state, held_out, model.state_dict())
    (eager_log, eager_state, eager_held, eager_params), (log, state, held, params) = runs[False], runs[True]
    np.testing.assert_allclose(log.losses, eager_log.losses, rtol=1e-12)
    np.testing.assert_allclose(log.grad_norms, eager_log.grad_norms, rtol=1e-12)
    assert held == pytest.approx(eager_held, rel=1e-12)
    for name, value in eager_params.items():
        np.testing.assert_allclose(params[name], value, rtol=1e-11, atol=1e-13, err_msg=name)
    for carried, eager_carried in zip(state, eager_state):  # (h, c), detached
        assert carried.is_leaf and not carried.requires_grad
        np.testing.assert_allclose(carried.data, eager_carried.data, rtol=1e-11, atol=1e-13)


def test_a_compiled_model_keeps_its_programs_across_calls():
    from tinygrad_rnn.train import _window_loss_of

    model = TinyLSTM()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x, y = _stream(T=8, B=2)
    for _ in range(3):
        truncated_bptt(model, optimizer, x, y, num_steps=4, compiled=True)
    # one program for the first window (no state yet), one for the windows that carry a state
    assert _window_loss_of(model, True).traces == 2


# ---- what mutation testing asked: arguments passed through, guards at their boundaries -------------
def test_mean_loss_of_a_diverged_run_is_inf_without_a_warning():
    log = TrainLog(losses=[1e308, 1e308, 1e308])
    assert log.mean_loss() == math.inf  # the sum overflows; the mean of huge losses is inf, silently
    assert TrainLog(losses=[1.0, 2.0, 3.0, 6.0]).mean_loss() == 3.0  # all steps by default


def test_train_steps_passes_the_step_number_and_clips_with_max_norm():
    w = nn.Parameter(np.array([3.0, 4.0]))
    asked, told = [], []

    def loss_fn(step):
        asked.append(step)
        return (w * Tensor([10.0, 10.0])).sum()  # gradient (10, 10), norm 14.1

    log = train_steps(
        loss_fn, optim.SGD([w], lr=1.0), 2, max_norm=1.0, on_step=lambda s, v: told.append((s, v))
    )
    assert asked == [0, 1]
    assert log.grad_norms == [pytest.approx(math.sqrt(200.0))] * 2  # before clipping
    # each step moves w by the clipped gradient, (10, 10) * 1 / (norm + 1e-6) as PyTorch scales it
    step = 10.0 / (math.sqrt(200.0) + 1e-6)
    np.testing.assert_allclose(w.data, [3.0 - 2 * step, 4.0 - 2 * step], rtol=1e-14)
    # on_step gets each step's loss: 10 * (3 + 4) = 70 first, then 20 less per unit w moved down
    assert told == [(0, 70.0), (1, pytest.approx(70.0 - 20.0 * step, rel=1e-14))]
    assert [v for _, v in told] == log.losses


def test_truncated_bptt_clips_with_max_norm_and_starts_from_the_state_given():
    x, y = _stream(T=3)
    start = Tensor(np.random.default_rng(5).standard_normal((1, 2, 4)))  # (layers, batch, hidden)
    reference = Tiny()
    logits, _ = reference(x, start)
    F.cross_entropy(logits.reshape(-1, 3), y.reshape(-1)).backward()
    grads = {name: p.grad for name, p in reference.named_parameters()}
    norm = math.sqrt(sum(float((g**2).sum()) for g in grads.values()))
    scale = min(1.0, 0.01 / (norm + 1e-6))  # PyTorch's clip coefficient
    model = Tiny()
    log, _ = truncated_bptt(model, optim.SGD(model.parameters(), lr=1.0), x, y, 3, state=start, max_norm=0.01)
    assert log.grad_norms == [pytest.approx(norm, rel=1e-12)] and scale < 1.0
    for name, p in model.named_parameters():
        expected = reference.state_dict()[name] - scale * grads[name]
        np.testing.assert_allclose(p.data, expected, rtol=0, atol=1e-14, err_msg=name)


def test_evaluate_stream_of_a_single_prediction_and_of_more_steps_than_rows():
    model = Tiny()
    x, y = _stream(T=1, B=1)
    logits, _ = model(x)
    one = F.cross_entropy(logits.reshape(-1, 3), y.reshape(-1)).item()
    assert evaluate_stream(model, x, y, num_steps=4) == pytest.approx(one, abs=1e-12)
    x, y = _stream(T=7, B=3)  # windows along time (axis 0), not along the batch
    logits, _ = model(x)
    whole = F.cross_entropy(logits.reshape(-1, 3), y.reshape(-1)).item()
    assert evaluate_stream(model, x, y, num_steps=2) == pytest.approx(whole, abs=1e-12)


class NotWeaklyReferable:
    """A model object that cannot be a weak key (__slots__ without __weakref__)."""

    __slots__ = ("model",)

    def __init__(self, model):
        self.model = model

    def __call__(self, ids, state=None):
        return self.model(ids, state)


def test_a_compiled_forward_that_cannot_be_cached_still_trains():
    x, y = _stream(T=6, B=2)
    eager, compiled = TinyLSTM(), TinyLSTM()
    expected, _ = truncated_bptt(eager, optim.SGD(eager.parameters(), lr=0.1), x, y, 3)
    forward = NotWeaklyReferable(compiled)
    log, _ = truncated_bptt(forward, optim.SGD(compiled.parameters(), lr=0.1), x, y, 3, compiled=True)
    np.testing.assert_allclose(log.losses, expected.losses, rtol=1e-12)


@pytest.mark.parametrize("max_lag", [True, "5", 0.5])
def test_keep_gate_init_refuses_a_max_lag_that_is_not_a_number_of_steps(max_lag):
    from tinygrad_rnn.train import keep_gate_init

    with pytest.raises(ValueError, match=r"keep_gate_init: max_lag must be a number of steps >= 1, got"):
        keep_gate_init(nn.LSTMCell(3, 4, rng=0), max_lag, rng=0)


def test_keep_gate_init_draws_u_from_its_seed_over_1_to_max_lag_minus_1():
    from tinygrad_rnn.train import keep_gate_init

    cells = [nn.GRUCell(2, 1000, rng=0) for _ in range(3)]
    for cell, seed in zip(cells, (7, 7, 8)):
        keep_gate_init(cell, max_lag=12, rng=seed)
    u = [np.exp(cell.bias_hh.data[1000:2000]) for cell in cells]
    np.testing.assert_array_equal(u[0], u[1])  # the same seed, the same draw
    assert not np.array_equal(u[0], u[2])
    assert u[0].min() >= 1.0 and u[0].max() <= 11.0 + 1e-12
    assert np.mean(u[0] > 10.0) > 0.05  # U(1, 11): a tenth of the units above 10
    with pytest.raises(TypeError, match="^keep_gate_init: "):
        keep_gate_init(cells[0], max_lag=12, rng="seed")


def test_keep_gate_init_of_a_module_without_gate_biases_is_named():
    from tinygrad_rnn.train import keep_gate_init

    class Bare(nn.Module):  # a GRU-shaped recurrent weight, and no bias attributes at all
        def __init__(self):
            self.hidden_size = 2
            self.weight_hh = nn.Parameter(np.zeros((6, 2)))

    with pytest.raises(ValueError, match="keep_gate_init: Bare was built with bias=False"):
        keep_gate_init(Bare(), max_lag=5, rng=0)


class CountingLSTM(TinyLSTM):
    """TinyLSTM that counts how often its Python forward runs."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, ids, state=None):
        self.calls += 1
        return super().forward(ids, state)


def test_compiled_evaluation_runs_jits_program_not_the_python_forward_on_every_window():
    """evaluate_stream(compiled=True) runs forward's Python only while jit traces (the first window,
    then the first that carries a state); every other window is the program. Eager: once per window."""
    x, y = _stream(T=12, B=2)  # 6 windows of 2 steps
    eager, compiled = CountingLSTM(), CountingLSTM()
    expected = evaluate_stream(eager, x, y, num_steps=2)
    assert evaluate_stream(compiled, x, y, num_steps=2, compiled=True) == pytest.approx(expected, rel=1e-12)
    assert eager.calls == 6 and compiled.calls < 6
