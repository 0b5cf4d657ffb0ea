"""Recurrent cells and layers against PyTorch in float64: outputs, final states and gradients.

A torch module is built with its own random initialisation, its state dict is
converted to numpy and loaded into ours; both then see the same input and
initial states. The loss is a random weighted sum of the output and the final
states, so every output entry gets its own gradient weight. Agreement is
required to rtol 1e-10 / atol 1e-12: both sides compute the same float64
arithmetic, only summation order may differ (errors ~1e-15).

Every comparison runs over both of our forms: composed (the default, every step
built from primitive ops) and fused (``fused=True``, the hand-written fused ops).

Not compared here, having no PyTorch counterpart: GRU(reset_after=False) (the
Cho et al. candidate), LeakyRNNCell and SkipRNN; test_recurrent_cells.py and
test_recurrent_layers.py check those against their equations in numpy.
"""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-12
INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 2


def close(ours, theirs, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def numpy_state_dict(module):
    return {name: value.detach().numpy().copy() for name, value in module.state_dict().items()}


def torch_layer(kind, **options):
    torch.manual_seed(0)
    if kind.startswith("RNN"):
        return torch.nn.RNN(INPUT, HIDDEN, nonlinearity=kind.split("-")[1], **options).double()
    return getattr(torch.nn, kind)(INPUT, HIDDEN, **options).double()


def our_layer(kind, fused=False, **options):
    if kind.startswith("RNN"):
        return nn.RNN(INPUT, HIDDEN, nonlinearity=kind.split("-")[1], fused=fused, **options)
    return getattr(nn, kind)(INPUT, HIDDEN, fused=fused, **options)


FORMS = pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])


LAYER_KINDS = ["RNN-tanh", "RNN-relu", "GRU", "LSTM"]
# (num_layers, bidirectional, batch_first)
LAYOUTS = [(1, False, False), (2, True, False), (1, True, True), (2, False, True), (3, True, True)]


def compare_layer(kind, options, x_shape, state_shape, with_state, fused, seed=1):
    """Run torch's and our layer on the same data; compare outputs, states and all gradients."""
    rng = np.random.default_rng(seed)
    theirs = torch_layer(kind, **options)
    ours = our_layer(kind, fused, **options)
    assert ours.fused is fused
    options = {**options, "fused": fused}  # named in the error messages
    ours.load_state_dict(numpy_state_dict(theirs))
    is_lstm = kind == "LSTM"

    x = rng.standard_normal(x_shape)
    states = [rng.standard_normal(state_shape) for _ in range(2 if is_lstm else 1)] if with_state else []

    x_t = torch.tensor(x, requires_grad=True)
    states_t = [torch.tensor(s, requires_grad=True) for s in states]
    x_o = Tensor(x, requires_grad=True)
    states_o = [Tensor(s, requires_grad=True) for s in states]

    def packed(states):
        if not states:
            return None
        return tuple(states) if is_lstm else states[0]

    out_t, final_t = theirs(x_t, packed(states_t))
    out_o, final_o = ours(x_o, packed(states_o))
    finals_t = list(final_t) if is_lstm else [final_t]
    finals_o = list(final_o) if is_lstm else [final_o]

    assert out_o.shape == tuple(out_t.shape)
    close(out_o.data, out_t, f"{kind} {options}: output")
    for i, (mine, torchs) in enumerate(zip(finals_o, finals_t)):
        assert mine.shape == tuple(torchs.shape)
        close(mine.data, torchs, f"{kind} {options}: final state {i}")

    weights = [rng.standard_normal(t.shape) for t in [out_t, *finals_t]]
    loss_t = sum((t * torch.tensor(w)).sum() for t, w in zip([out_t, *finals_t], weights))
    loss_o = sum((t * w).sum() for t, w in zip([out_o, *finals_o], weights))
    loss_t.backward()
    loss_o.backward()

    close(x_o.grad, x_t.grad, f"{kind} {options}: d loss / d input")
    for i, (mine, torchs) in enumerate(zip(states_o, states_t)):
        close(mine.grad, torchs.grad, f"{kind} {options}: d loss / d initial state {i}")
    torch_params = dict(theirs.named_parameters())
    our_params = dict(ours.named_parameters())
    assert list(our_params) == list(torch_params)
    for name, p in our_params.items():
        close(p.grad, torch_params[name].grad, f"{kind} {options}: d loss / d {name}")


@FORMS
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first", LAYOUTS)
@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_state, fused):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    x_shape = (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    directions = 2 if bidirectional else 1
    compare_layer(kind, options, x_shape, (directions * num_layers, BATCH, HIDDEN), with_state, fused)


@FORMS
@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_two_layer_bidirectional_without_bias_matches_torch(kind, fused):
    options = dict(num_layers=2, bidirectional=True, bias=False)
    compare_layer(kind, options, (STEPS, BATCH, INPUT), (4, BATCH, HIDDEN), True, fused)


@FORMS
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_unbatched_sequence_matches_torch(kind, with_state, fused):
    options = dict(num_layers=2, bidirectional=True)
    compare_layer(kind, options, (STEPS, INPUT), (4, HIDDEN), with_state, fused)


@FORMS
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch-first"])
@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_a_batch_of_no_examples_matches_torch(kind, batch_first, with_state, fused):
    """Empty outputs and final states of the right shapes, zero gradients for every parameter."""
    options = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    x_shape = (0, STEPS, INPUT) if batch_first else (STEPS, 0, INPUT)
    compare_layer(kind, options, x_shape, (4, 0, HIDDEN), with_state, fused)


@FORMS
@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_dropout_is_off_in_eval_mode_like_torch(kind, fused):
    """In eval mode dropout between layers does nothing, in both libraries."""
    rng = np.random.default_rng(2)
    theirs = torch_layer(kind, num_layers=2, dropout=0.5).eval()
    ours = our_layer(kind, fused, num_layers=2, dropout=0.5).eval()
    ours.load_state_dict(numpy_state_dict(theirs))
    x = rng.standard_normal((STEPS, BATCH, INPUT))
    out_t, _ = theirs(torch.tensor(x))
    out_o, _ = ours(x)
    close(out_o.data, out_t, f"{kind} eval-mode output with dropout=0.5")


@FORMS
def test_state_dict_from_torch_has_exactly_our_keys_and_shapes(fused):
    for kind in LAYER_KINDS:
        theirs = torch_layer(kind, num_layers=3, bidirectional=True)
        ours = our_layer(kind, fused, num_layers=3, bidirectional=True)
        ours_shapes = {k: v.shape for k, v in ours.state_dict().items()}
        theirs_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert list(ours_shapes.items()) == list(theirs_shapes.items())


# ---- cells ----------------------------------------------------------------------------------
CELL_KINDS = ["RNNCell-tanh", "RNNCell-relu", "GRUCell", "LSTMCell"]


def cell_pair(kind, bias, fused=False):
    torch.manual_seed(3)
    if kind.startswith("RNNCell"):
        nonlinearity = kind.split("-")[1]
        theirs = torch.nn.RNNCell(INPUT, HIDDEN, bias=bias, nonlinearity=nonlinearity)
        ours = nn.RNNCell(INPUT, HIDDEN, bias=bias, nonlinearity=nonlinearity, fused=fused)
    else:
        theirs = getattr(torch.nn, kind)(INPUT, HIDDEN, bias=bias)
        ours = getattr(nn, kind)(INPUT, HIDDEN, bias=bias, fused=fused)
    theirs = theirs.double()
    ours.load_state_dict(numpy_state_dict(theirs))
    return theirs, ours


@FORMS
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("lead", [(BATCH,), (), (0,)], ids=["batched", "unbatched", "no-examples"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("kind", CELL_KINDS)
def test_cell_matches_torch_over_a_few_steps(kind, with_state, lead, bias, fused):
    """Three steps of the cell, feeding its state back: outputs and all gradients agree (with a
    batch of no examples too: empty states, zero parameter gradients)."""
    rng = np.random.default_rng(4)
    theirs, ours = cell_pair(kind, bias, fused)
    assert ours.fused is fused
    is_lstm = kind == "LSTMCell"
    xs = [rng.standard_normal((*lead, INPUT)) for _ in range(3)]
    states = [rng.standard_normal((*lead, HIDDEN)) for _ in range(2 if is_lstm else 1)] if with_state else []

    xs_t = [torch.tensor(x, requires_grad=True) for x in xs]
    xs_o = [Tensor(x, requires_grad=True) for x in xs]
    states_t = [torch.tensor(s, requires_grad=True) for s in states]
    states_o = [Tensor(s, requires_grad=True) for s in states]

    def run(cell, inputs, initial):
        state = (tuple(initial) if is_lstm else initial[0]) if initial else None
        hs = []
        for x in inputs:
            state = cell(x, state)
            hs.append(state[0] if is_lstm else state)
        if is_lstm:
            hs.append(state[1])  # the last cell state is an output too
        return hs

    hs_t, hs_o = run(theirs, xs_t, states_t), run(ours, xs_o, states_o)
    weights = [rng.standard_normal(h.shape) for h in hs_t]
    for i, (mine, torchs) in enumerate(zip(hs_o, hs_t)):
        close(mine.data, torchs, f"{kind}: output {i}")
    sum((h * torch.tensor(w)).sum() for h, w in zip(hs_t, weights)).backward()
    sum((h * w).sum() for h, w in zip(hs_o, weights)).backward()
    for i, (mine, torchs) in enumerate(zip(xs_o, xs_t)):
        close(mine.grad, torchs.grad, f"{kind}: d loss / d x_{i}")
    for i, (mine, torchs) in enumerate(zip(states_o, states_t)):
        close(mine.grad, torchs.grad, f"{kind}: d loss / d initial state {i}")
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, torch_params[name].grad, f"{kind}: d loss / d {name}")
    assert [n for n, _ in ours.named_parameters()] == list(torch_params)
