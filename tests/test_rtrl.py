"""RTRL (nn/rtrl.py): the gradient carried forward in time is BPTT's, and its memory does not grow.

With the parameters fixed over a sequence, RTRL's dL_t/dtheta = dL_t/dh_t S_t is the exact
gradient of step t's loss, so summed over the sequence it equals what full BPTT computes by
walking back through all T steps. Both are the same float64 derivatives summed in a different
order: agreement to 1e-10 absolute (the gradients here are O(1); rounding gives ~1e-15).
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn.rtrl import RTRL

TOL = 1e-10
INPUT, HIDDEN, BATCH, STEPS = 3, 4, 2, 9

CELLS = {
    "RNN-tanh": lambda fused: nn.RNNCell(INPUT, HIDDEN, fused=fused, rng=1),
    "RNN-relu": lambda fused: nn.RNNCell(INPUT, HIDDEN, nonlinearity="relu", fused=fused, rng=1),
    "GRU": lambda fused: nn.GRUCell(INPUT, HIDDEN, fused=fused, rng=1),
    "GRU-reset-before": lambda fused: nn.GRUCell(INPUT, HIDDEN, reset_after=False, fused=fused, rng=1),
    "LSTM": lambda fused: nn.LSTMCell(INPUT, HIDDEN, fused=fused, rng=1),
    "Leaky": lambda fused: nn.LeakyRNNCell(INPUT, HIDDEN, learn_alpha=True, fused=fused, rng=1),
}


def sequence(seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(steps, BATCH, INPUT)), rng.integers(0, 3, size=(steps, BATCH))


def hidden(state):
    return state[0] if isinstance(state, tuple) else state


def bptt_gradients(cell, head, xs, ys, last=None):
    """Full BPTT: the sum of the step losses (or only step ``last``'s), one backward through all."""
    state, total = None, 0.0
    for t, (x, y) in enumerate(zip(xs, ys)):
        state = cell(x, state)
        if last is None or t == last:
            total = total + F.cross_entropy(head(hidden(state)), y)
        if t == last:
            break
    params = list(cell.parameters()) + list(head.parameters())
    for p in params:
        p.grad = None
    total.backward()
    grads = [p.grad.copy() for p in params]
    for p in params:
        p.grad = None
    return grads


@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
@pytest.mark.parametrize("kind", CELLS)
def test_accumulated_rtrl_gradient_equals_full_bptt(kind, fused):
    cell, head = CELLS[kind](fused), nn.Linear(HIDDEN, 3, rng=2)
    xs, ys = sequence()
    expected = bptt_gradients(cell, head, xs, ys)
    rtrl = RTRL(cell)
    for x, y in zip(xs, ys):
        rtrl.step(x, lambda h, y=y: F.cross_entropy(head(h), y))
    got = [p.grad for p in list(cell.parameters()) + list(head.parameters())]
    assert rtrl.sensitivity_count == sum(p.size for p in cell.parameters())
    for name, g, e in zip(
        [n for n, _ in cell.named_parameters()] + ["head.weight", "head.bias"], got, expected
    ):
        assert np.abs(e).max() > 1e-3, name  # a real gradient, not two zeros agreeing
        np.testing.assert_allclose(g, e, rtol=0, atol=TOL, err_msg=name)


@pytest.mark.parametrize("kind", ["RNN-tanh", "LSTM"])
def test_each_step_gives_that_steps_exact_gradient_at_once(kind):
    """Online: what step t adds is dL_t/dtheta, which BPTT gets only by walking back from t."""
    cell, head = CELLS[kind](False), nn.Linear(HIDDEN, 3, rng=2)
    xs, ys = sequence(1, steps=6)
    params = list(cell.parameters())
    expected = [bptt_gradients(cell, head, xs, ys, last=t)[: len(params)] for t in range(len(xs))]
    rtrl = RTRL(cell)
    before = [np.zeros(p.shape) for p in params]
    for t, (x, y) in enumerate(zip(xs, ys)):
        rtrl.step(x, lambda h, y=y: F.cross_entropy(head(h), y))
        for p, b, e in zip(params, before, expected[t]):
            np.testing.assert_allclose(p.grad - b, e, rtol=0, atol=TOL, err_msg=f"step {t}")
        before = [p.grad.copy() for p in params]


def test_reset_starts_a_new_sequence_and_unbatched_input_works():
    cell, head = nn.GRUCell(INPUT, HIDDEN, rng=3), nn.Linear(HIDDEN, 3, rng=4)
    xs, ys = sequence(2)
    rtrl = RTRL(cell)
    rtrl.step(xs[0], lambda h: F.cross_entropy(head(h), ys[0]))
    rtrl.reset()
    assert rtrl.state is None and rtrl.sensitivities is None  # like the cell's None state: none yet
    for p in list(cell.parameters()) + list(head.parameters()):
        p.grad = None
    expected = bptt_gradients(cell, head, xs[:, :1], ys[:, :1])  # batch of one, as an unbatched run
    for x, y in zip(xs[:, 0], ys[:, 0]):
        rtrl.step(x, lambda h, y=y: F.cross_entropy(head(h).reshape(1, 3), np.array([y])))
    for p, e in zip(list(cell.parameters()) + list(head.parameters()), expected):
        np.testing.assert_allclose(p.grad, e, rtol=0, atol=TOL)


def test_rtrl_memory_does_not_grow_with_the_sequence_while_bptts_does():
    """tracemalloc, from before the RTRL object is made. RTRL: the peak of step T (all it still
    holds plus what the step allocates) is the same at T = 40 and T = 400, within 10%. BPTT,
    which keeps every step's values until its backward pass: the peak of the whole sequence
    is over 5 times higher at T = 400.
    (gc.collect() first: it also empties Python's free lists, which tracemalloc counts as held.)"""
    cell, head = nn.LSTMCell(INPUT, HIDDEN, rng=1), nn.Linear(HIDDEN, 3, rng=2)
    xs, ys = sequence(3, steps=400)

    def rtrl_last_step_peak(steps):
        gc.collect()
        tracemalloc.start()
        rtrl = RTRL(cell)
        for t, (x, y) in enumerate(zip(xs[:steps], ys[:steps])):
            if t == steps - 1:
                gc.collect()
                tracemalloc.reset_peak()
            rtrl.step(x, lambda h, y=y: F.cross_entropy(head(h), y))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    def bptt_peak(steps):
        gc.collect()
        tracemalloc.start()
        bptt_gradients(cell, head, xs[:steps], ys[:steps])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    short, long = rtrl_last_step_peak(40), rtrl_last_step_peak(400)
    assert long <= 1.1 * short, (short, long)
    short_bptt, long_bptt = bptt_peak(40), bptt_peak(400)
    assert long_bptt > 5 * short_bptt, (short_bptt, long_bptt)


def test_state_bytes_is_what_the_sensitivities_hold():
    cell = nn.RNNCell(INPUT, HIDDEN, rng=0)
    rtrl = RTRL(cell)
    rtrl.step(np.ones((BATCH, INPUT)), lambda h: h.sum())
    P = HIDDEN * (INPUT + HIDDEN + 2)
    # h (B, H), S (P, B, H), theta's directions (P x P) in float64
    assert rtrl.state_bytes() == 8 * (BATCH * HIDDEN + P * BATCH * HIDDEN + P * P)


def test_a_cell_without_trainable_parameters_is_refused():
    cell = nn.RNNCell(INPUT, HIDDEN, rng=0)
    for p in cell.parameters():
        p.requires_grad = False
    with pytest.raises(ValueError, match="RTRL: RNNCell has no parameters that require grad"):
        RTRL(cell)


def test_a_float32_cell_trains_in_float32():
    """Inputs given as float64 arrays are converted to the cell's dtype; the state, the sensitivities
    and the gradients stay float32. Against float32 BPTT to 1e-5 (float32 rounding over a few
    hundred ops: ~1e-6 on these O(1) gradients; a wrong gradient is off by more than 1e-3)."""
    cell = nn.LSTMCell(INPUT, HIDDEN, dtype=np.float32, rng=1)
    head = nn.Linear(HIDDEN, 3, dtype=np.float32, rng=2)
    xs, ys = sequence(4, steps=4)
    expected = bptt_gradients(cell, head, xs.astype(np.float32), ys)
    rtrl = RTRL(cell)
    for x, y in zip(xs, ys):
        rtrl.step(x, lambda h, y=y: F.cross_entropy(head(h), y))
    assert [s.dtype for s in rtrl.state] == [np.float32, np.float32]
    assert [s.dtype for s in rtrl.sensitivities] == [np.float32, np.float32]
    for p, e in zip(list(cell.parameters()) + list(head.parameters()), expected):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad, e, rtol=0, atol=1e-5)
    P = 4 * HIDDEN * (INPUT + HIDDEN + 2)
    # h and c (B, H), their sensitivities (P, B, H) each, theta's directions (P x P), 4 bytes each
    assert rtrl.state_bytes() == 4 * (2 * BATCH * HIDDEN + 2 * P * BATCH * HIDDEN + P * P)


def test_a_float32_cells_first_step_needs_no_more_memory_than_the_next():
    """The zero sensitivities a sequence starts from are of the state's dtype: a float32 cell's first
    step holds one float32 S (P, B, H) of zeros while it runs, as every later step holds the previous
    S, so its peak is the same. Zeros in float64 would hold 2 S more (8-byte zeros and their float32
    cast): the bound below is half an S, with B large enough that S dwarfs Python's small objects."""
    cell = nn.RNNCell(INPUT, HIDDEN, dtype=np.float32, rng=0)
    x = np.ones((2000, INPUT), dtype=np.float32)
    gc.collect()
    tracemalloc.start()
    try:
        rtrl = RTRL(cell)
        peaks = []
        for _ in range(2):
            tracemalloc.reset_peak()
            rtrl.step(x)
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    S = rtrl.sensitivities[0].nbytes
    assert S == 4 * rtrl.sensitivity_count * 2000 * HIDDEN
    assert peaks[0] <= peaks[1] + S // 2, (peaks, S)


def test_a_tensor_input_of_another_dtype_is_the_cells_error():
    rtrl = RTRL(nn.RNNCell(INPUT, HIDDEN, dtype=np.float32, rng=0))
    with pytest.raises(TypeError, match="RNNCell: input has dtype float64 but the parameters are float32"):
        rtrl.step(Tensor(np.ones((BATCH, INPUT))))


def test_a_cell_with_one_trainable_parameter():
    cell, head = nn.RNNCell(INPUT, HIDDEN, bias=False, rng=5), nn.Linear(HIDDEN, 3, rng=2)
    xs, ys = sequence(5, steps=4)
    expected = bptt_gradients(cell, head, xs, ys)  # (freezing weight_hh does not change the others')
    cell.weight_hh.requires_grad = False
    rtrl = RTRL(cell)
    assert rtrl.sensitivity_count == HIDDEN * INPUT
    for x, y in zip(xs, ys):
        rtrl.step(x, lambda h, y=y: F.cross_entropy(head(h), y))
    assert cell.weight_hh.grad is None
    for p, e in zip([cell.weight_ih, *head.parameters()], [expected[0], *expected[-2:]]):
        np.testing.assert_allclose(p.grad, e, rtol=0, atol=TOL)
