"""Fused layers refuse a recorded backward (create_graph=True), with an error that says why and what to do.

A fused op's backward is written by hand on numpy arrays (tinygrad_rnn/fused.py), so
it cannot be recorded as a graph. Asked to, it raises a RuntimeError that names the
op and points to the composed form (fused=False), which supports second order. The
composed twin of each module is checked to do what the error promises: its recorded
gradients are Tensors holding the fused module's first-order gradients (to 1e-12 in
float64: the same arithmetic, differently grouped).
"""

import numpy as np
import pytest

from tinygrad_rnn import grad, nn
from tinygrad_rnn.tensor import Tensor, is_grad_enabled

INPUT, HIDDEN, STEPS, BATCH = 3, 4, 3, 2
FUSED_OPS = ("affine_gates", "tanh_affine", "affine")  # longest first: "affine" is in the others

# name -> (constructor taking fused=..., is a cell, fused op that backward meets first)
MODULES = {
    "RNNCell-tanh": (lambda fused: nn.RNNCell(INPUT, HIDDEN, fused=fused, rng=0), True, "tanh_affine"),
    "RNNCell-relu": (
        lambda fused: nn.RNNCell(INPUT, HIDDEN, nonlinearity="relu", fused=fused, rng=0),
        True,
        "affine",
    ),
    "GRUCell": (lambda fused: nn.GRUCell(INPUT, HIDDEN, fused=fused, rng=0), True, "affine"),
    "GRUCell-reset-before": (
        lambda fused: nn.GRUCell(INPUT, HIDDEN, reset_after=False, fused=fused, rng=0),
        True,
        "tanh_affine",
    ),
    "LSTMCell": (lambda fused: nn.LSTMCell(INPUT, HIDDEN, fused=fused, rng=0), True, "affine_gates"),
    "LeakyRNNCell": (
        lambda fused: nn.LeakyRNNCell(INPUT, HIDDEN, learn_alpha=True, fused=fused, rng=0),
        True,
        "tanh_affine",
    ),
    "RNN": (lambda fused: nn.RNN(INPUT, HIDDEN, fused=fused, rng=0), False, "tanh_affine"),
    "GRU": (lambda fused: nn.GRU(INPUT, HIDDEN, num_layers=2, fused=fused, rng=0), False, "affine"),
    "LSTM": (
        lambda fused: nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, fused=fused, rng=0),
        False,
        "affine_gates",
    ),
    "SkipRNN": (lambda fused: nn.SkipRNN(INPUT, HIDDEN, delay=2, fused=fused, rng=0), False, "tanh_affine"),
}


def loss_of(module, is_cell):
    """A scalar of every output: a weighted sum, so each entry has its own gradient."""
    rng = np.random.default_rng(1)
    if is_cell:
        out = module(rng.standard_normal((BATCH, INPUT)))
        outputs = list(out) if isinstance(out, tuple) else [out]
    else:
        out, final = module(rng.standard_normal((STEPS, BATCH, INPUT)))
        outputs = [out, *(final if isinstance(final, tuple) else [final])]
    return sum((o * rng.standard_normal(o.shape)).sum() for o in outputs)


def fused_op_named(message):
    return next((name for name in FUSED_OPS if message.startswith(name + ":")), None)


@pytest.mark.parametrize("name", list(MODULES))
def test_fused_module_refuses_create_graph_and_names_the_op(name):
    make, is_cell, first_op = MODULES[name]
    module = make(True)
    with pytest.raises(RuntimeError) as backward_error:
        loss_of(module, is_cell).backward(create_graph=True)
    message = str(backward_error.value)
    assert fused_op_named(message) == first_op, message
    assert "create_graph=True" in message and "fused=False" in message, message
    assert is_grad_enabled()  # the failed recorded pass switched recording back on
    assert all(p.grad is None for p in module.parameters())  # and left no partial gradient

    with pytest.raises(RuntimeError) as grad_error:
        grad(loss_of(module, is_cell), list(module.parameters()), create_graph=True)
    assert str(grad_error.value) == message


@pytest.mark.parametrize("name", list(MODULES))
def test_composed_twin_records_the_gradients_the_fused_module_computes(name):
    make, is_cell, _ = MODULES[name]
    fused, composed = make(True), make(False)
    composed.load_state_dict(fused.state_dict())
    loss_of(fused, is_cell).backward()
    loss_of(composed, is_cell).backward(create_graph=True)
    fused_params = dict(fused.named_parameters())
    for key, p in composed.named_parameters():
        assert isinstance(p.grad, Tensor), key  # (a relu cell's W_ih gradient is constant: no graph)
        np.testing.assert_allclose(p.grad.data, fused_params[key].grad, rtol=1e-12, atol=1e-12, err_msg=key)


def test_a_plain_backward_still_works_after_the_refusal():
    """The refused recorded pass keeps the graph (create_graph retains it), so the first-order
    gradient can still be taken from the same loss, equal to a fresh module's."""
    make, is_cell, _ = MODULES["LSTM"]
    module, fresh = make(True), make(True)
    loss = loss_of(module, is_cell)
    with pytest.raises(RuntimeError):
        loss.backward(create_graph=True)
    loss.backward()
    loss_of(fresh, is_cell).backward()
    fresh_params = dict(fresh.named_parameters())
    for key, p in module.named_parameters():
        np.testing.assert_array_equal(p.grad, fresh_params[key].grad, err_msg=key)
