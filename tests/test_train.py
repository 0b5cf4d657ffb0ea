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
    F.cross_entropy(logits.reshape(-1, 3), y[:3].reshape(-1)).backward()
    expected = {name: p.data - 0.5 * p.grad for name, p in reference.named_parameters()}

    model = Tiny()
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    seen = []
    log, _ = truncated_bptt(
        model, optimizer, x[:3], y[:3], num_steps=3, on_step=lambda s, loss: seen.append(s)
    )
    assert seen == [0] and len(log.losses) == 1 and len(log.grad_norms) == 1
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
