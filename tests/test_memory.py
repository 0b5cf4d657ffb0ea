"""Memory after backward: the graph lets go of its values, as PyTorch's does.

After ``backward()`` without retain_graph the process holds what the user's own
variables hold plus the gradients: an activation that only the graph referred
to is freed (bookkeeping.py, section 5). Measured with tracemalloc, which sees
numpy's array buffers. Truncated BPTT holds one window's graph at a time; viz still
draws the graph's structure afterwards (tests/test_viz.py).
"""

import gc
import tracemalloc

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.train import truncated_bptt

MiB = 2**20


def traced() -> int:
    """Bytes held now, less mutmut's own: `make mutants` records, in its module, which package
    functions each test reaches, and the set it grows would count here."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, "*/mutmut/*")])
    return sum(stat.size for stat in snapshot.statistics("filename"))


@pytest.fixture
def tracing_memory():
    tracemalloc.start()
    yield
    tracemalloc.stop()


def test_after_backward_an_rnn_holds_its_gradients_not_its_activations(tracing_memory):
    # The case, smaller: nn.RNN(256, 256) on (50, 64, 256) held 45.2 MiB after backward
    # and 1.0 MiB once the loss was deleted. Here: 50 steps of a (32, 64) state in float64.
    rnn = nn.RNN(64, 64, rng=0)
    x = np.random.default_rng(1).standard_normal((50, 32, 64))
    parameter_bytes = sum(p.data.nbytes for p in rnn.parameters())
    start = traced()
    loss = rnn(x)[0].sum()
    forward = traced() - start
    assert forward > 30 * parameter_bytes  # the activations: x's copy, x W^T, h W^T, sums, tanh, ...
    loss.backward()
    after_backward = traced() - start
    del loss
    after_del = traced() - start
    # Once nothing holds the graph, the gradients are what is left (one per parameter).
    assert after_del == pytest.approx(parameter_bytes, rel=0.05)
    # While the loss is held, its graph's structure stays (viz draws it), but not its values:
    # before this change it was the whole forward (after_backward - after_del was about `forward`).
    graph_structure = after_backward - after_del
    assert graph_structure < 0.05 * forward, (forward / MiB, graph_structure / MiB)


def test_retain_graph_keeps_the_values_for_a_second_backward(tracing_memory):
    rnn = nn.RNN(16, 16, rng=0)
    x = np.random.default_rng(1).standard_normal((20, 8, 16))
    start = traced()
    loss = rnn(x)[0].sum()
    forward = traced() - start
    loss.backward(retain_graph=True)
    held = traced() - start
    assert held > 0.9 * forward  # kept: a second backward needs them
    loss.backward()
    first = rnn.weight_hh_l0.grad.copy()
    rnn.zero_grad()
    loss2 = rnn(x)[0].sum()
    loss2.backward()
    np.testing.assert_allclose(first, 2 * rnn.weight_hh_l0.grad, rtol=1e-12)  # accumulated twice


def test_an_intermediate_the_user_holds_keeps_its_values_and_others_are_freed():
    x = Tensor(np.arange(4.0), requires_grad=True)
    h = x.tanh()  # held by the user
    loss = (h * 2.0).exp().sum()  # 2 * h and exp(2 h) are held by no one but the graph
    loss.backward()
    np.testing.assert_array_equal(h.data, np.tanh(np.arange(4.0)))  # the user's tensor is whole
    np.testing.assert_allclose(x.grad, 2 * np.exp(2 * np.tanh(x.data)) * (1 - np.tanh(x.data) ** 2))
    exp_op = loss._ctx.parents[0]  # the op that made exp(2 h) stands for it now
    assert exp_op._output() is None  # so the array went with it
    assert exp_op.outline == ((4,), np.dtype(np.float64))
    with pytest.raises(RuntimeError, match="already freed"):
        loss.backward()


def test_a_released_op_keeps_no_array(tracing_memory):
    # Every value of a long chain is freed: memory after backward does not grow with its length.
    def held_after_backward(length: int) -> int:
        x = Tensor(np.ones(10_000), requires_grad=True)
        start = traced()
        y = x
        for _ in range(length):
            y = (y * 1.0001).tanh()
        loss = y.sum()
        loss.backward()
        held = traced() - start
        del loss, y
        return held - x.grad.nbytes

    short, long = held_after_backward(10), held_after_backward(40)
    assert long - short < 0.1 * 60 * 80_000  # 60 more arrays of 80 kB would be 4.8 MB; an outline is ~100 B


def test_truncated_bptt_holds_one_window_graph_at_a_time(tracing_memory):
    def peak_of(windows: int) -> int:
        rng = np.random.default_rng(0)
        embed, rnn, head = nn.Embedding(5, 16, rng=rng), nn.RNN(16, 64, rng=rng), nn.Linear(64, 5, rng=rng)
        model = nn.Sequential(embed, rnn, head)
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        ids = rng.integers(0, 5, size=(20 * windows + 1, 32))

        def forward(x, state):
            output, state = rnn(embed(x), state)
            return head(output), state

        inputs, targets = ids[:-1], ids[1:]
        gc.collect()
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        log, _ = truncated_bptt(forward, optimizer, inputs, targets, num_steps=20)
        assert len(log.losses) == windows
        return tracemalloc.get_traced_memory()[1] - start

    one, four = peak_of(1), peak_of(4)
    assert four < 1.15 * one, (one / MiB, four / MiB)  # two windows' graphs at once would be ~2x


def test_a_tensor_used_four_times_sums_its_gradients_in_one_buffer():
    """x.sum() hands back a broadcast view of its scalar gradient (no memory). Summing four such
    uses needs one buffer of x's size, made at the second use and added into from then on; x.grad
    already exists, so the total is added into it in place. So backward's peak is one buffer
    (8n bytes, plus small objects); a new copy of the running sum at each use would make it two."""
    n = 200_000
    x = Tensor(np.ones(n), requires_grad=True)
    x.grad = np.zeros(n)
    loss = x.sum() + x.sum() + x.sum() + x.sum()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(x.grad, np.full(n, 4.0))
    assert peak <= 1.5 * 8 * n, peak / (8 * n)
