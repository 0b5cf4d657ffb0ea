"""jit: a compiled function gives the eager engine's values and gradients, and says so when it cannot.

The oracle is the eager engine itself, whose gradients the other test files check against
central differences: for every random graph of tests/test_random_graphs.py, every layer,
cell, loss and option, the compiled function's outputs and the .grad of every input and
parameter must equal the eager ones, in float64 to 1e-12 (relative to the largest entry;
the passes reorder a few sums: a weight's gradient summed over time steps in one matmul, so
the last bits may differ) and in float32 to 32 eps (3.8e-6) of the largest entry. Both the
first call (which traces) and a later call (which only runs the program) are compared.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_random_graphs import EXAMPLES, program_inputs, programs

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Function, JitError, Tensor, detect_anomaly, grad, jit, nn, no_grad, optim
from tinygrad_rnn.compiler import lower
from tinygrad_rnn.compiler import passes as compiler_passes

F64_TOL = 1e-12
F32_TOL = 32 * float(np.finfo(np.float32).eps)


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _upstream(shape, k):
    rng = np.random.default_rng(100 + k)
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def _run(fn, args, tensors):
    """Outputs and gradients of every tensor in ``tensors`` after backward of sum(out_k * W_k)."""
    for t in tensors:
        t.grad = None
    outs = _flat(fn(*args))
    loss = None
    for k, out in enumerate(outs):
        if out.requires_grad:
            term = (out * _upstream(out.shape, k).astype(out.dtype)).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    grads = [None if t.grad is None else np.array(t.grad) for t in tensors]
    return [np.array(o.data) for o in outs], grads


def assert_close(actual, expected, dtype, what):
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, eager {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, eager {expected.shape}"
    tol = F64_TOL if dtype == np.float64 else F32_TOL
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


def compiled_equals_eager(fn, args, tensors, dtype=np.float64, calls=2):
    """jit(fn) on args, called ``calls`` times, against fn itself: outputs and every gradient."""
    expected_outs, expected_grads = _run(fn, args, tensors)
    step = jit(fn)
    for call in range(calls):
        outs, grads = _run(step, args, tensors)
        for k, (a, e) in enumerate(zip(outs, expected_outs)):
            assert_close(a, e, dtype, f"call {call}: output {k}")
        for k, (a, e) in enumerate(zip(grads, expected_grads)):
            assert (a is None) == (e is None), f"call {call}: gradient {k}: {a is None} vs eager {e is None}"
            if a is not None:
                assert_close(a, e, dtype, f"call {call}: gradient of tensor {k}")
    assert step.traces == 1
    return step


# ---- random graphs ------------------------------------------------------------------------------
@settings(max_examples=25)
@given(program=programs(), seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float64, np.float32]))
def test_random_graphs_compile_to_the_eager_values_and_gradients(program, seed, dtype):
    values = program_inputs(program, seed, ("contiguous",))
    inputs = [Tensor(x, dtype=dtype, requires_grad=True) for x in values]
    compiled_equals_eager(lambda *xs: program(*xs), inputs, inputs, dtype)


@pytest.mark.parametrize("k", range(len(EXAMPLES)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_explicit_graphs_compile_in_both_dtypes(k, dtype):
    program = EXAMPLES[k]
    inputs = [Tensor(x, dtype=dtype, requires_grad=True) for x in program_inputs(program, k, ("strided",))]
    compiled_equals_eager(lambda *xs: program(*xs), inputs, inputs, dtype)


# ---- layers, cells, losses ----------------------------------------------------------------------
I, H, T, B = 3, 4, 5, 2


def _sequence(seed, shape=(T, B, I), dtype=np.float64):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), dtype=dtype, requires_grad=True)


LAYERS = {
    "rnn-tanh": lambda d: nn.RNN(I, H, dtype=d, rng=0),
    "rnn-relu": lambda d: nn.RNN(I, H, nonlinearity="relu", dtype=d, rng=0),
    "gru": lambda d: nn.GRU(I, H, dtype=d, rng=0),
    "gru-reset-before": lambda d: nn.GRU(I, H, reset_after=False, dtype=d, rng=0),
    "lstm": lambda d: nn.LSTM(I, H, dtype=d, rng=0),
    "lstm-2-layers-bidirectional": lambda d: nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=d, rng=0),
    "gru-2-layers-eval-dropout": lambda d: nn.GRU(I, H, num_layers=2, dropout=0.5, dtype=d, rng=0).eval(),
    "rnn-batch-first-no-bias": lambda d: nn.RNN(I, H, bias=False, batch_first=True, dtype=d, rng=0),
    "skip-rnn": lambda d: nn.SkipRNN(I, H, delay=2, dtype=d, rng=0),
    "lstm-fused": lambda d: nn.LSTM(I, H, fused=True, dtype=d, rng=0),
    "gru-fused-bidirectional": lambda d: nn.GRU(I, H, bidirectional=True, fused=True, dtype=d, rng=0),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_sequence_layer_compiles_to_the_eager_outputs_states_and_gradients(name, dtype):
    layer = LAYERS[name](dtype)
    x = _sequence(1, dtype=dtype)
    state = None

    def fn(x):
        output, final = layer(x, state)
        return (output, *_flat(final))

    compiled_equals_eager(fn, [x], [x, *layer.parameters()], dtype)


CELLS = {
    "rnn-cell": lambda: nn.RNNCell(I, H, rng=0),
    "gru-cell": lambda: nn.GRUCell(I, H, rng=0),
    "gru-cell-reset-before": lambda: nn.GRUCell(I, H, reset_after=False, rng=0),
    "lstm-cell": lambda: nn.LSTMCell(I, H, rng=0),
    "leaky-cell": lambda: nn.LeakyRNNCell(I, H, alpha=0.7, rng=0),
    "leaky-cell-learned-alpha": lambda: nn.LeakyRNNCell(I, H, learn_alpha=True, rng=0),
    "lstm-cell-fused": lambda: nn.LSTMCell(I, H, fused=True, rng=0),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_cell_unrolled_over_time_compiles(name):
    cell = CELLS[name]()
    xs = _sequence(2)
    h0 = Tensor(np.random.default_rng(3).standard_normal((B, H)), requires_grad=True)

    def unrolled(xs, h0):
        state = (h0, h0 * 0.5) if isinstance(cell, nn.LSTMCell) else h0
        outputs = []
        for t in range(T):
            state = cell(xs[t], state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
        return sum(o.tanh() for o in outputs)

    compiled_equals_eager(unrolled, [xs, h0], [xs, h0, *cell.parameters()])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_with_integer_targets_compile(reduction):
    rng = np.random.default_rng(4)
    logits = Tensor(rng.standard_normal((6, 5)), requires_grad=True)
    targets = rng.integers(0, 5, 6)
    targets[2] = -100  # ignored

    def losses(logits, targets):
        ce = F.cross_entropy(logits, targets, reduction=reduction)
        nll = F.nll_loss(logits.log_softmax(axis=1), targets, reduction=reduction)
        mse = F.mse_loss(logits.tanh(), np.full((6, 5), 0.25), reduction=reduction)
        return ce, nll, mse

    compiled_equals_eager(losses, [logits, targets], [logits])


def test_a_language_model_step_sees_new_tokens_and_targets_every_call():
    embedding, lstm, head = nn.Embedding(7, 3, rng=0), nn.LSTM(3, H, rng=1), nn.Linear(H, 7, rng=2)
    params = [*embedding.parameters(), *lstm.parameters(), *head.parameters()]

    def loss_fn(tokens, targets):
        logits = head(lstm(embedding(tokens))[0])
        return F.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1))

    step = jit(loss_fn)
    rng = np.random.default_rng(5)
    for _ in range(3):
        tokens, targets = rng.integers(0, 7, (T, B)), rng.integers(0, 7, (T, B))
        expected_loss, expected_grads = _run(loss_fn, [tokens, targets], params)
        loss, grads = _run(step, [tokens, targets], params)
        assert_close(loss[0], expected_loss[0], np.float64, "loss")
        for k, (a, e) in enumerate(zip(grads, expected_grads)):
            assert_close(a, e, np.float64, f"gradient {k}")
    assert step.traces == 1


# ---- the passes ---------------------------------------------------------------------------------
PIPELINES = {
    "no passes": [],
    "dead code only": [compiler_passes.dead_code],
    "without buffers": [p for p in compiler_passes.PASSES if p is not compiler_passes.buffer_writes],
    "without stacked weight gradients": [
        p for p in compiler_passes.PASSES if p is not compiler_passes.stacked_weight_gradients
    ],
    "all": compiler_passes.PASSES,
}


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_each_pass_keeps_the_values_and_gradients(pipeline, monkeypatch):
    monkeypatch.setattr(compiler_passes, "PASSES", list(PIPELINES[pipeline]))
    layer = nn.LSTM(I, H, num_layers=2, bidirectional=True, rng=0)
    x = _sequence(6)
    compiled_equals_eager(lambda x: layer(x)[0], [x], [x, *layer.parameters()])


def test_the_passes_shrink_an_lstm_step():
    lstm, x = nn.LSTM(I, H, rng=0), _sequence(7)
    none, _ = lower(lambda x: lstm(x)[0].sum(), x, passes=[])
    every, generated = lower(lambda x: lstm(x)[0].sum(), x)
    assert every.count() < 0.85 * none.count()  # dead gradients, merged transposes, buffers
    scatters = [n for n in none.nodes if n.kind == "op" and n.op.__name__ == "Scatter"]
    assert len(scatters) >= 5 * T  # gx[t] at every step, and the 4 gate blocks of each step
    assert not [n for n in every.nodes if n.kind == "op" and n.op.__name__ == "Scatter"]  # all buffers
    weight_grad_matmuls = re.findall(r"d_weight_hh_l0 = .*", generated.source)
    assert len(weight_grad_matmuls) == 1 and "+" not in weight_grad_matmuls[0]  # one matmul, no sum over t
    assert "np.empty" in generated.source  # gx's gradient written slice by slice into one buffer


# ---- what the program reads at every call ----------------------------------------------------
def test_parameters_changed_between_calls_are_seen():
    lin = nn.Linear(3, 2, rng=0)
    x = Tensor(np.ones((4, 3)))
    step = jit(lambda x: lin(x).tanh().sum())
    opt = optim.SGD(lin.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        loss = step(x)
        loss.backward()
        expected = lin(x).tanh().sum().item()
        assert loss.item() == pytest.approx(expected, rel=1e-15)
        opt.step()
    lin.weight.data[...] = 0.0  # in place, as load_state_dict does
    assert step(x).item() == pytest.approx(float(np.tanh(lin.bias.data).sum() * 4), rel=1e-15)
    assert step.traces == 1


def test_a_new_shape_dtype_or_requires_grad_retraces():
    w = Tensor(np.ones(3), requires_grad=True)
    step = jit(lambda x: (x * w).sum())
    step(Tensor(np.ones(3)))
    step(Tensor(np.ones(3)))
    assert step.traces == 1
    step(Tensor(np.ones((2, 3))))
    step(Tensor(np.ones(3), dtype=np.float32))
    step(Tensor(np.ones(3), requires_grad=True))
    assert step.traces == 4
    w.requires_grad = False  # a parameter frozen after tracing: its gradient is no longer formed
    w.grad = None
    step(Tensor(np.ones(3))).sum()
    assert step.traces == 5


def test_a_changed_python_value_read_from_an_input_retraces():
    def mean_of_counted(logits, targets):
        return F.cross_entropy(logits, targets, ignore_index=0)

    step = jit(mean_of_counted)
    logits = Tensor(np.random.default_rng(8).standard_normal((4, 3)), requires_grad=True)
    for targets in ([1, 2, 1, 2], [0, 2, 1, 2], [0, 0, 1, 2], [2, 1, 2, 1]):
        targets = np.array(targets)
        assert step(logits, targets).item() == pytest.approx(
            mean_of_counted(logits, targets).item(), rel=1e-15
        )
    assert step.traces == 3  # the number of counted targets is read with int(): 4, 3, 2 (then 4 again)


_GUARD_LINEAR = nn.Linear(4, 3, rng=0)  # a model's parameters, read by closure

GUARDED = {  # a value read from data (a guard) that the probe run, on reordered inputs, reads differently
    "slice-tanh": lambda x: x[: int(x.data.argmax())].tanh().sum(),
    "tanh-plus-zero": lambda x: x.tanh().sum() + 0 * int(x.data.argmax()),
    "slice-sigmoid": lambda x: x[: int(x.data.argmax())].sigmoid().sum(),
    "slice-exp": lambda x: x[: int(x.data.argmax()) + 1].exp().sum(),
    "constant-before-guard": lambda x: ((1 - x) * int(x.data.argmax())).sigmoid().sum(),
    "model-slice": lambda x: _GUARD_LINEAR(x.reshape(1, 4))[:, : int(x.data.argmax())].tanh().sum(),
    "model-guard-on-weight": lambda x: (
        _GUARD_LINEAR(x.reshape(1, 4)).sigmoid() * (1 + int(_GUARD_LINEAR.weight.data.argmax()))
    ).sum(),
}


@pytest.mark.parametrize("name", GUARDED)
def test_a_guard_the_probe_reads_differently_leaves_backwards_constants_readable(name):
    # The constants an op's backward makes (tanh's 1 - y*y) come after the guard, where compare
    # stops: they stay leaves, arguments of forward, that forward must save for backward.
    fn, params = GUARDED[name], list(_GUARD_LINEAR.parameters())
    x = Tensor(np.array([0.1, 0.5, 0.9, 0.2]), requires_grad=True)
    step = compiled_equals_eager(fn, [x], [x, *params])
    assert all(leaf.kind == "leaf" for leaf in step.program.leaves)  # those classified: constants
    other = Tensor(np.array([0.7, 0.3, 0.1, 0.4]), requires_grad=True)  # another guard outcome
    expected_outs, expected_grads = _run(fn, [other], [other, *params])
    outs, grads = _run(step, [other], [other, *params])
    for a, e in zip(outs + grads, expected_outs + expected_grads):
        assert (a is None) == (e is None), name
        if a is not None:
            assert_close(a, e, np.float64, name)


class ScaledByOutside(Function):
    """y = x;  dL/dx = g * SCALE, a Tensor from outside that only the backward reads."""

    scale = Tensor(np.array([2.0, 3.0, 4.0, 5.0]))

    def forward(self, x):
        return x * 1.0

    def backward(self, g):
        return g * ScaledByOutside.scale


def test_a_leaf_only_a_backward_reads_is_passed_to_the_backward():
    x = Tensor(np.array([0.1, 0.5, 0.9, 0.2]), requires_grad=True)
    compiled_equals_eager(lambda x: ScaledByOutside.apply(x).tanh().sum(), [x], [x])


def test_an_out_of_range_index_on_a_later_call_raises_the_eager_error():
    embedding = nn.Embedding(5, 2, rng=0)
    step = jit(lambda tokens: embedding(tokens).sum())
    step(np.array([0, 4]))
    with pytest.raises(IndexError, match="Embedding: index 5 is out of range"):
        step(np.array([0, 5]))


def test_a_mask_drawn_after_a_guard_the_probe_reads_differently_is_still_refused():
    # The reordered run takes another branch at int(argmax), so the values after it are compared
    # with a third run on the same inputs: a new dropout mask on every run is not a constant.
    dropout = nn.Dropout(0.5, rng=0)  # training mode
    x = Tensor(np.array([0.1, 0.5, 0.9, 0.2, 0.3, 0.4, 0.6, 0.8]), requires_grad=True)
    with pytest.raises(JitError, match="dropout in training mode"):
        jit(lambda x: dropout(x[: int(x.data.argmax()) + 1]).sum())(x)
    dropout.eval()  # without the mask the same function compiles, and equals eager
    compiled_equals_eager(lambda x: dropout(x[: int(x.data.argmax()) + 1]).tanh().sum(), [x], [x])


def test_a_constant_that_changes_between_runs_is_refused():
    layer = nn.GRU(I, H, num_layers=2, dropout=0.5, rng=0)  # training mode: a new mask every call
    with pytest.raises(JitError, match="dropout in training mode"):
        jit(lambda x: layer(x)[0].sum())(_sequence(9))
    counter = [0]

    def counting(x):
        counter[0] += 1
        return x * float(counter[0])

    with pytest.raises(JitError, match="different"):
        jit(counting)(Tensor(np.ones(2), requires_grad=True))


def test_a_constant_built_from_an_input_by_numpy_indexing_is_refused():
    def one_hot_sum(tokens):
        return Tensor(np.eye(4)[tokens], requires_grad=True).sum(axis=0)

    with pytest.raises(JitError, match="changed|different"):
        jit(one_hot_sum)(np.array([0, 1, 1, 3]))


def test_an_outside_array_is_read_at_every_call():
    scale = np.array([1.0, 2.0])
    step = jit(lambda x: (x * scale).sum())
    x = Tensor(np.ones(2))
    assert step(x).item() == 3.0
    scale[1] = 5.0
    assert step(x).item() == 6.0


SCALE = 1.0  # read by test_an_outside_number_is_built_in_and_a_new_value_traces_again


class Tempered(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1, rng=0)
        self.temperature = 1.0

    def forward(self, x):
        return (self.lin(x) / self.temperature).sum()


def test_an_outside_number_is_built_in_and_a_new_value_traces_again():
    """A number fn reads from a global, a closure or a module's attribute is a constant of the
    program; changed between calls, the old program would be silently stale. So it traces again
    (and an earlier value finds its program again)."""
    global SCALE
    x = Tensor(np.array([[1.0, 2.0]]))
    offset = 1.0

    def fn(x):
        return (x * SCALE + offset).sum()

    step, model = jit(fn), Tempered()
    tempered = jit(model)
    logits = model.lin(x).item()
    assert step(x).item() == 5.0 and tempered(x).item() == logits
    SCALE, offset, model.temperature = 10.0, -1.0, 4.0
    assert step(x).item() == 28.0 and tempered(x).item() == logits / 4  # 10 + 20 - 2, exact
    assert step.traces == 2 and tempered.traces == 2
    SCALE, offset = 1.0, 1.0
    assert step(x).item() == 5.0 and step.traces == 2  # the first program, found again
    SCALE = 1  # the same value as an int: x * 1 and x * 1.0 are programs of their own
    assert step(x).item() == 5.0 and step.traces == 3
    SCALE = 1.0


def test_an_outside_number_fn_changes_itself_does_not_trace_every_call():
    # A counter fn moves is compared as fn left it after tracing: the program does not move it.
    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls, self.threshold = 0, float("nan")

        def forward(self, x):
            self.calls += 1
            return x.sum() * 2.0

    model = Counting()
    step = jit(model)
    for _ in range(3):
        assert step(Tensor(np.ones(2))).item() == 4.0
    assert step.traces == 1  # nan equals itself as a built-in value
    model.threshold = 1.0  # and a number is not nan
    assert step(Tensor(np.ones(2))).item() == 4.0 and step.traces == 2


class Scaled:
    def __init__(self):
        self.factor, self.lin = 2.0, nn.Linear(2, 1, rng=0)

    def step(self, x):
        return (self.lin(x) * self.factor).sum()


def test_an_attribute_of_the_object_whose_method_is_compiled_is_built_in():
    trainer = Scaled()
    step, x = jit(trainer.step), Tensor(np.array([[1.0, 2.0]]))
    assert step(x).item() == trainer.step(x).item()
    trainer.factor = -3.0
    assert step(x).item() == trainer.step(x).item() and step.traces == 2


def test_numpy_values_computed_from_an_input_are_recomputed():
    step = jit(lambda x: (x.abs() * (x.data > 0)).sum() if False else x.abs().sum())
    x = Tensor(np.array([-1.0, 2.0, -3.0]), requires_grad=True)
    assert step(x).item() == 6.0
    step(x).backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 1.0, -1.0])
    y = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    step(y).backward()  # abs() takes its sign from the values: recomputed, not frozen
    np.testing.assert_array_equal(y.grad, [1.0, -1.0, 1.0])


# ---- the compiled op in the engine's graph ----------------------------------------------------
def test_no_grad_runs_only_the_forward_program():
    w = Tensor(np.ones(3), requires_grad=True)
    step = jit(lambda x: (x * w).sum())
    with no_grad():
        out = step(Tensor(np.ones(3)))
    assert not out.requires_grad and out._ctx is None
    assert "def backward" not in step.source


def test_gradients_accumulate_and_flow_into_an_outer_graph():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    step = jit(lambda x: (x * w).sum())
    a = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    (step(a * 2) + step(a * 2)).backward()
    np.testing.assert_array_equal(w.grad, [12.0, 16.0])  # two calls: the gradients add up
    np.testing.assert_array_equal(a.grad, [4.0, 8.0])  # through the compiled op into a * 2


def test_retain_graph_allows_a_second_backward():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    loss = jit(lambda x: (x * w).tanh().sum())(Tensor(np.ones(2)))
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * first, rtol=1e-15)


@pytest.mark.parametrize("retain_graph", [False, True])
def test_backward_inside_the_compiled_function_is_refused(retain_graph):
    # Eagerly fn's backward() adds x to w.grad at every call. A program of numpy lines sets no
    # .grad: only the trace's own run would have added (twice: jit traces fn twice), later calls
    # nothing. So it is refused at fn's backward(), before anything is added.
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)

    def fn(x):
        loss = (x * w).sum()
        loss.backward(retain_graph=retain_graph)
        return loss

    with pytest.raises(JitError, match=r"fn called backward\(\) while jit traced it.*loss.backward\(\)"):
        jit(fn)(Tensor(np.array([3.0, 4.0])))
    assert w.grad is None
    fn(Tensor(np.array([3.0, 4.0])))  # the same function as written, after the refusal
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


@pytest.mark.parametrize("change", ["zero_grad", "assign", "write"])
def test_a_gradient_changed_inside_the_compiled_function_is_refused_and_kept(change):
    # Eagerly fn's zero_grad() forgets the gradients at every call; a program sets no .grad, so the
    # next backward() would add to the old ones at every call after the first: silently wrong.
    lin = nn.Linear(2, 1, rng=0)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    lin.weight.grad, lin.bias.grad = np.array([[7.0, 8.0]]), None
    kept = lin.weight.grad

    def fn(x):
        if change == "zero_grad":
            opt.zero_grad()
        elif change == "assign":
            lin.bias.grad = np.ones(1)
        else:
            lin.weight.grad[0, 0] = 0.0
        return lin(x).sum()

    named = "bias" if change == "assign" else "weight"
    with pytest.raises(JitError, match=rf"fn changed the \.grad of {named} \(.* outside the compiled func"):
        jit(fn)(Tensor(np.ones((1, 2))))
    assert lin.weight.grad is kept and lin.bias.grad is None  # each as it was
    np.testing.assert_array_equal(kept, [[7.0, 8.0]])


def test_a_gradient_holding_nan_that_fn_leaves_alone_is_no_change():
    lin = nn.Linear(2, 1, rng=0)
    lin.weight.grad = np.array([[np.nan, 1.0]])  # e.g. from a diverged step, not yet cleared
    step = jit(lambda x: lin(x).sum())
    assert step(Tensor(np.ones((1, 2)))).item() == lin(Tensor(np.ones((1, 2)))).item()


def test_grad_inside_the_compiled_function_gives_values_and_is_compiled():
    # grad() returns the gradient instead of setting .grad, so the program can compute it: here
    # dL/dw = x (1 - tanh(x w)^2) for L = sum(tanh(x w)), then its squared norm.
    w = Tensor(np.array([0.5, -1.0]), requires_grad=True)

    def fn(x):
        (dw,) = grad((x * w).tanh().sum(), [w], create_graph=True)
        return (dw * dw).sum()

    step = jit(fn)
    for x in ([1.0, 2.0], [-3.0, 0.5]):
        expected = np.sum((np.array(x) * (1 - np.tanh(np.array(x) * w.data) ** 2)) ** 2)
        np.testing.assert_allclose(step(Tensor(np.array(x))).item(), expected, rtol=1e-14)
    assert step.traces == 1 and w.grad is None


def test_a_parameter_written_between_forward_and_backward_is_refused():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    loss = jit(lambda x: (x * w).tanh().sum())(Tensor(np.ones(2)))
    w.data[0] = 5.0
    with pytest.raises(RuntimeError, match="written to in place"):
        loss.backward()


def test_a_parameter_given_a_new_array_inside_fn_is_refused_and_kept():
    # Eagerly each call doubles the weight; a program of numpy lines cannot reassign it, and
    # reading the old array every call would be silently wrong. The failed call changes nothing.
    lin, w = nn.Linear(2, 1), Tensor(np.array([1.0, -2.0]), requires_grad=True)
    weight, values = lin.weight.data.copy(), w.data.copy()

    def doubles_a_layers_weight(x):
        lin.weight.data = lin.weight.data * 2
        return lin(x).sum()

    def doubles_a_closure_tensor(x):
        w.data = w.data * 2
        return (x * w).sum()

    for fn in (doubles_a_layers_weight, doubles_a_closure_tensor):
        with pytest.raises(JitError, match=r"replaced the array of .*outside the compiled"):
            jit(fn)(Tensor(np.ones((3, 2))))
    np.testing.assert_array_equal(lin.weight.data, weight)
    np.testing.assert_array_equal(w.data, values)


def test_second_order_through_a_compiled_step_is_a_named_error():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    loss = jit(lambda x: (x * w).tanh().sum())(Tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="compiled: .*create_graph=True.*without jit"):
        loss.backward(create_graph=True)


def test_anomaly_mode_runs_the_function_as_written():
    step = jit(lambda x: x.log().sum())
    step(Tensor(np.ones(2)))
    with detect_anomaly(), pytest.raises(FloatingPointError, match="log: forward output contains"):
        step(Tensor(np.zeros(2)))


class Cube(Function):
    """y = x**3;  dL/dx = g * 3 x**2 (written with shared operators: its backward records)."""

    def forward(self, x):
        return x**3

    def backward(self, g):
        (x,) = self.inputs
        return g * 3 * x * x


class ArrayOnlyCube(Cube):
    """The same, with a backward that only works on arrays (np.square refuses a Tensor)."""

    def backward(self, g):
        (x,) = self.inputs
        return g * 3 * np.square(x)


@pytest.mark.parametrize("op", [Cube, ArrayOnlyCube])
def test_a_learners_function_without_a_table_entry_compiles(op):
    x = Tensor(np.array([[0.5, -1.5], [2.0, 0.25]]), requires_grad=True)
    step = compiled_equals_eager(lambda x: op.apply(x.tanh()) * 2, [x], [x])
    assert f"call({op.__name__}" in step.source


# ---- the program as text --------------------------------------------------------------------
def test_the_generated_source_is_python_with_one_commented_line_per_node():
    lstm = nn.LSTM(I, H, rng=0)
    step = jit(lambda x: lstm(x)[0].sum())
    step(_sequence(10))
    source = step.source
    lines = source.splitlines()
    code = []  # every statement that computes a node: not the docstrings, del, return, unpacking
    for function in ast.parse(source).body:
        for statement in function.body:
            if isinstance(statement, (ast.Delete, ast.Return)) or (
                isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            ):
                continue
            if isinstance(statement, ast.Assign) and ast.unparse(statement.value) == "saved":
                continue
            code.append(lines[statement.lineno - 1])
    assert str(step) == source
    assert all("  # " in line for line in code)  # the op and its shape, and whose backward
    assert len(code) == step.program.count()  # one line per node that computes something
    assert f"at most {step.peak_bytes / 2**20:.2f} MiB" in source
    assert "def backward(saved, " in source and "d_weight_hh_l0" in source  # named after the parameter


def test_errors_name_what_jit_cannot_take():
    with pytest.raises(TypeError, match="jit: expected a function"):
        jit(3)
    step = jit(lambda x, options: x * 2)
    with pytest.raises(TypeError, match="argument options is a dict"):
        step(Tensor(np.ones(2)), {"a": 1})
    with pytest.raises(JitError, match="returned a float"):
        jit(lambda x: 1.5)(Tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="has not been called yet"):
        jit(lambda x: x).source  # noqa: B018


def test_the_tours_excerpt_is_the_program_the_compile_demo_prints():
    """docs/TOUR.md quotes the end of the 3-step RNN's backward program: every quoted line of
    code must be a line of the program python -m demos compile generates (seed 0)."""
    from pathlib import Path

    from demos import compile as compile_demo

    tour = (Path(__file__).resolve().parent.parent / "docs" / "TOUR.md").read_text()
    block = tour.split("Here is the end of the backward program of\na 3-step RNN", 1)[1]
    block = block.split("```python\n", 1)[1].split("```", 1)[0]
    quoted = [line.split("#")[0].strip() for line in block.splitlines()]
    quoted = [line for line in quoted if line and line != "..."]
    weights, xs, ys = compile_demo.seed001_rnn(0)
    captured = {}

    class Capture:
        width = 200

        def print(self, thing, *args, **kwargs):
            captured.setdefault("printed", []).append(thing)

    compile_demo.rnn_section(Capture(), 0)
    program = next(
        str(p.code) for p in captured["printed"] if hasattr(p, "code") and "seed001_loss" in str(p.code)
    )
    lines = {line.split("  # ")[0].strip() for line in program.splitlines()}
    assert len(quoted) >= 8
    missing = [line for line in quoted if line not in lines]
    assert not missing, f"the TOUR quotes lines the program does not have: {missing}"


def test_the_tours_before_and_after_of_each_pass_are_real_programs():
    """docs/TOUR.md shows, for each pass, lines of a 2-step RNN's program before the pass and
    after it: each 'before' line must be in the program made by the passes that come first, each
    'after' line in the program made with that pass too (and a line that is 'gone' must be)."""
    from pathlib import Path

    tour = (Path(__file__).resolve().parent.parent / "docs" / "TOUR.md").read_text()
    block = tour.split("Here is each pass at work on a 2-step tanh RNN", 1)[1]
    block = block.split("```python\n", 1)[1].split("```", 1)[0]
    rnn = nn.RNN(2, 3, rng=0)
    x = Tensor(np.random.default_rng(1).standard_normal((2, 1, 2)))
    order = [
        compiler_passes.simplify,
        compiler_passes.dead_code,
        compiler_passes.common_subexpressions,
        compiler_passes.buffer_writes,
        compiler_passes.stacked_weight_gradients,
    ]

    def lines_after(count):
        _, generated = lower(lambda x: rnn(x)[0].sum(), x, passes=order[:count])
        return {line.split("  # ")[0].strip() for line in generated.source.splitlines()}

    groups = block.split("# --- ")[1:]
    assert [g.split(":")[0].split(",")[0] for g in groups] == [
        "simplify", "dead_code", "common_subexpressions", "buffer_writes", "stacked_weight_gradients"
    ]  # fmt: skip
    ends = {"simplify": 2, "dead_code": 2, "common_subexpressions": 3, "buffer_writes": 4}
    ends["stacked_weight_gradients"] = 5
    for group in groups:
        name = group.split(":")[0].split(",")[0]
        before, after = group.split("# before:\n", 1)[1].split("# after:", 1)
        before = [line for line in before.splitlines() if line]
        after = [line for line in after.splitlines()[1:] if line]
        start = order.index(getattr(compiler_passes, name))
        assert set(before) <= lines_after(start), f"{name}: 'before' lines not in the program"
        if after:
            assert set(after) <= lines_after(ends[name]), f"{name}: 'after' lines not in the program"
        else:
            assert not set(before) & lines_after(ends[name]), f"{name}: a line said to be gone is there"


def test_a_python_value_that_keeps_changing_retraces_and_warns():
    from tinygrad_rnn.compiler import JitWarning
    from tinygrad_rnn.compiler.compiled import MAX_PROGRAMS

    def scaled_by_its_max(x):
        return x * x.max().item()  # a Python float read from the input: a guard

    step = jit(scaled_by_its_max)
    for k in range(MAX_PROGRAMS):
        x = Tensor(np.array([1.0, float(k + 2)]))  # a different max each time
        np.testing.assert_array_equal(step(x).data, scaled_by_its_max(x).data)
    assert step.traces == MAX_PROGRAMS
    with pytest.warns(JitWarning, match="traced more than 8 times"):
        step(Tensor(np.array([1.0, 99.0])))
    assert step.traces == MAX_PROGRAMS  # the oldest program gave way


def test_a_value_computed_from_data_is_recomputed_not_frozen():
    def scaled(x):
        return x * Tensor(x.data.max())  # numpy on x.data: followed while tracing (a max is
        # the same for the probe run's reordered x, so only following it keeps it right)

    step = jit(scaled)
    for values in ([1.0, 2.0, 5.0], [3.0, -1.0, 0.5]):
        x = Tensor(np.array(values), requires_grad=True)
        np.testing.assert_array_equal(step(x).data, scaled(x).data)
    assert step.traces == 1
    assert ".max()" in step.source


def test_a_constant_read_by_a_path_jit_cannot_follow_is_refused():
    def copied(x):
        return x * Tensor(np.array(x.data, copy=True))  # np.array makes a plain copy: not followed

    with pytest.raises(JitError, match="different"):
        jit(copied)(Tensor(np.array([1.0, 2.0, 5.0]), requires_grad=True))


def test_np_asarray_of_a_traced_value_is_followed():
    def masked(x, mask_from):
        return (x * np.asarray(mask_from > 0)).sum()  # mask_from: an array input, np.asarray strips Traced

    step = jit(masked)
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    for values in ([1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]):
        mask_from = np.array(values)
        assert step(x, mask_from).item() == masked(x, mask_from).item()
    assert step.traces == 1


def test_nested_arguments_and_several_outputs():
    lstm = nn.LSTM(I, H, rng=0)
    x = _sequence(11)
    h0 = Tensor(np.random.default_rng(12).standard_normal((1, B, H)), requires_grad=True)
    c0 = Tensor(np.random.default_rng(13).standard_normal((1, B, H)), requires_grad=True)

    def run(x, state):
        output, (h, c) = lstm(x, state)
        return output.tanh(), (h, c)

    step = compiled_equals_eager(
        lambda x, h0, c0: (lambda out: (out[0], *out[1]))(run(x, (h0, c0))), [x, h0, c0], [x, h0, c0]
    )
    assert step.traces == 1
    nested = jit(run)
    output, (h, c) = nested(x, (h0, c0))
    expected_output, (expected_h, _) = run(x, (h0, c0))
    np.testing.assert_allclose(output.data, expected_output.data, rtol=1e-13)
    np.testing.assert_allclose(h.data, expected_h.data, rtol=1e-13)
    assert "state_0" in nested.source and "state_1" in nested.source  # (h0, c0) named after the argument


def test_jit_of_a_module_names_its_parameters():
    layer = nn.Linear(3, 2, rng=0)
    step = jit(layer)
    x = Tensor(np.ones((4, 3)))
    np.testing.assert_array_equal(step(x).data, layer(x).data)
    assert "def forward(x, weight, bias):" in step.source


def test_a_parameter_or_module_replaced_after_tracing_is_seen():
    class Model(nn.Module):
        def __init__(self):
            self.first = nn.Linear(3, 2, rng=0)
            self.second = nn.Linear(2, 1, rng=1)

        def forward(self, x):
            return self.second(self.first(x).tanh())

    model = Model()
    step = jit(lambda x: model(x).sum())
    x = Tensor(np.ones((4, 3)))
    step(x)
    model.second = nn.Linear(2, 1, rng=5)  # a new module: its parameters are new Tensors
    assert step(x).item() == pytest.approx(model(x).sum().item(), rel=1e-15)
    model.first.weight = nn.Parameter(np.zeros((2, 3)))  # a new Parameter in place of the old
    assert step(x).item() == pytest.approx(model(x).sum().item(), rel=1e-15)
    assert step.traces == 1  # the stale programs were dropped
    step(x)
    assert step.traces == 1  # nothing changed since: the last program runs


def test_a_scatter_that_picks_each_entry_once_gives_scatters_numbers():
    from tinygrad_rnn.compiler.table import picks_each_entry_once, scatter, scatter_unique

    rows, columns = np.arange(4), np.array([1, 0, 1, 1])
    assert picks_each_entry_once((rows, columns))  # each row once: the pairs are distinct
    assert picks_each_entry_once((columns, rows))  # the distinct one may be either
    assert not picks_each_entry_once((columns, columns))  # constants with repeats prove nothing
    assert not picks_each_entry_once((columns,)) and not picks_each_entry_once((slice(0, 2), 1))
    g = np.array([1.5, -0.0, 2.0, -3.0])
    unique, general = scatter_unique(g, (rows, columns), (4, 2)), scatter(g, (rows, columns), (4, 2))
    np.testing.assert_array_equal(unique, general)
    assert not np.signbit(unique[1, 0])  # 0 + (-0.0) is +0.0, as np.add.at gives


def test_python_arguments_are_fixed_per_value_and_keywords_bind():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def scaled(x, factor=2.0, *, shift=0.0):
        return (x * w * factor + shift).sum()

    step = jit(scaled)
    x = Tensor(np.array([3.0, 4.0]))
    assert step(x).item() == scaled(x).item() == 22.0
    assert step(x, 3.0).item() == 33.0 and step(x, factor=3.0, shift=1.0).item() == 35.0
    assert step.traces == 3  # factor 2.0, factor 3.0, then factor 3.0 with shift 1.0
    assert step(x, factor=3.0).item() == 33.0 and step.traces == 3


def test_an_input_returned_as_it_is_and_a_function_of_constants_only():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    same = jit(lambda x: x)(x)
    np.testing.assert_array_equal(same.data, x.data)
    same.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    constant = jit(lambda x: Tensor(np.array([5.0])) * 2)(x)  # reads nothing that needs a gradient
    assert not constant.requires_grad and constant.item() == 10.0


def test_the_tours_table_of_passes_is_the_compile_demos_full_run():
    """docs/TOUR.md's table of lines and peak memory after each pass comes from the full run of
    python -m demos compile that the report wrote to docs/results/compile.json."""
    import json
    from pathlib import Path

    from demos.report import runs_of

    root = Path(__file__).resolve().parent.parent
    record = json.loads((root / "docs" / "results" / "compile.json").read_text())
    result = runs_of(record)[0]["result"]
    tour = (root / "docs" / "TOUR.md").read_text()
    table = tour.split("| passes so far | lines | peak MiB |", 1)[1].split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    expected = [
        ["none" if p["pass"] == "no passes" else f"+ {p['pass']}", f"{p['lines']:,}", f"{p['peak_mib']:.1f}"]
        for p in result["passes"]
    ]
    expected.append(["the eager engine", "—", f"{result['eager_peak_mib']:.1f}"])
    assert rows == expected
