"""Second order against PyTorch: the engine's Hessian-vector products equal torch.autograd.grad twice.

For a scalar loss L of inputs theta and a direction v (one array per input),
H v = d/dtheta <dL/dtheta, v>. The engine computes it by double backpropagation:
``g = tinygrad_rnn.grad(L, theta, create_graph=True)``, then
``grad(sum_i <g_i, v_i>, theta)``; PyTorch the same with ``torch.autograd.grad``
(create_graph=True) twice. Both sides compute the same float64 arithmetic,
grouped differently, so the products agree to rounding error: RTOL 1e-9 and
ATOL 1e-11 (a Hessian entry sums many more products than a gradient entry; the
first-order gradients are checked on the way, to the same tolerance).

The recurrent layers and cells run in their composed form (the default): the
fused form refuses create_graph, see tests/test_fused_refuses_create_graph.py.
"""

import numpy as np
import pytest

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor, grad, nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RTOL, ATOL = 1e-9, 1e-11
INPUT, HIDDEN, STEPS, BATCH, CLASSES = 3, 4, 4, 2, 5


class Engine:
    """What a loss needs from a library, for the engine."""

    name = "tinygrad_rnn"

    @staticmethod
    def leaf(array):
        return Tensor(array.copy(), requires_grad=True)

    @staticmethod
    def const(array):
        return array  # numpy arrays mix with Tensors

    @staticmethod
    def cross_entropy(logits, targets):
        return F.cross_entropy(logits, targets)

    @staticmethod
    def hvp(loss, inputs, directions):
        grads = grad(loss, inputs, create_graph=True)
        inner = sum((g * v).sum() for g, v in zip(grads, directions))
        products = grad(inner, inputs)  # arrays: this second pass is not recorded
        return [g.data for g in grads], list(products)


class Torch:
    """The same for PyTorch, in float64."""

    name = "torch"

    @staticmethod
    def leaf(array):
        return torch.tensor(array, dtype=torch.float64, requires_grad=True)

    @staticmethod
    def const(array):
        return torch.tensor(array)

    @staticmethod
    def cross_entropy(logits, targets):
        return TF.cross_entropy(logits, torch.tensor(targets))

    @staticmethod
    def hvp(loss, inputs, directions):
        grads = torch.autograd.grad(loss, inputs, create_graph=True)
        inner = sum((g * torch.tensor(v)).sum() for g, v in zip(grads, directions))
        products = torch.autograd.grad(inner, inputs)
        return [g.detach().numpy() for g in grads], [h.numpy() for h in products]


def assert_same_hvp(ours, theirs, names, what):
    (our_grads, our_products), (their_grads, their_products) = ours, theirs
    for name, mine, torchs in zip(names, our_grads, their_grads):
        np.testing.assert_allclose(mine, torchs, rtol=RTOL, atol=ATOL, err_msg=f"{what}: dL/d{name}")
    for name, mine, torchs in zip(names, our_products, their_products):
        assert np.abs(torchs).max() > 1e-6, f"{what}: H v for {name} is ~0; the check would be empty"
        np.testing.assert_allclose(mine, torchs, rtol=RTOL, atol=ATOL, err_msg=f"{what}: (H v) for {name}")


# ---- primitive ops composed -----------------------------------------------------------------
# Each takes (lib, a, b) with a (3, 4) and b (4, 5) and returns a scalar; written with the
# operators and methods both libraries share (softmax(-1) is axis / dim -1 in both).
WEIGHTS = np.random.default_rng(7).standard_normal((3, 5))
TARGETS = np.array([4, 0, 2])
COMPOSITIONS = {
    "tanh-matmul-pow": lambda lib, a, b: ((a @ b).tanh() ** 2).sum(),
    "sigmoid-times-tanh": lambda lib, a, b: ((a @ b).sigmoid() * (a @ b).tanh() * lib.const(WEIGHTS)).sum(),
    "softmax": lambda lib, a, b: ((a @ b).softmax(-1) * lib.const(WEIGHTS)).sum(),
    "log_softmax": lambda lib, a, b: ((a @ b).log_softmax(-1) * lib.const(WEIGHTS)).sum(),
    "cross-entropy": lambda lib, a, b: lib.cross_entropy(a @ b, TARGETS),
    "cross-entropy-of-tanh": lambda lib, a, b: lib.cross_entropy((a @ b).tanh() * 3, TARGETS),
    "div": lambda lib, a, b: ((a @ b) / (1 + (a @ b) ** 2)).sum(),
    "div-of-tensors": lambda lib, a, b: (a.exp() / (1 + a * a)).sum() + (b / (b * b + 2).sum()).sum(),
    "pow-negative-exponent": lambda lib, a, b: ((a * a + 1) ** -1.5).sum() + ((b @ b.T) ** 2).mean(),
    "pow-tensor-exponent": lambda lib, a, b: (
        (a.sigmoid() ** a.tanh()).sum() + ((b * b + 1) ** b.tanh()).sum()
    ),
    "matmul-chain": lambda lib, a, b: ((a @ b) @ (a @ b).T).tanh().sum(),
    "softplus-log-exp": lambda lib, a, b: ((a @ b).exp() + 1).log().mean(),
}


@pytest.mark.parametrize("name", list(COMPOSITIONS))
def test_primitive_op_hessian_vector_products_match_torch(name):
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    directions = [rng.standard_normal((3, 4)), rng.standard_normal((4, 5))]
    results = []
    for lib in (Engine, Torch):
        inputs = [lib.leaf(a), lib.leaf(b)]
        loss = COMPOSITIONS[name](lib, *inputs)
        results.append(lib.hvp(loss, inputs, directions))
    assert_same_hvp(*results, ["a", "b"], name)


# ---- recurrent layers and cells -------------------------------------------------------------
KINDS = ["RNN-tanh", "RNN-relu", "GRU", "LSTM"]


def make_layers(kind, num_layers, bidirectional):
    torch.manual_seed(5)
    options = dict(num_layers=num_layers, bidirectional=bidirectional)
    if kind.startswith("RNN"):
        nonlinearity = kind.split("-")[1]
        theirs = torch.nn.RNN(INPUT, HIDDEN, nonlinearity=nonlinearity, **options)
        ours = nn.RNN(INPUT, HIDDEN, nonlinearity=nonlinearity, **options)
    else:
        theirs = getattr(torch.nn, kind)(INPUT, HIDDEN, **options)
        ours = getattr(nn, kind)(INPUT, HIDDEN, **options)
    theirs = theirs.double()
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    assert ours.fused is False
    return theirs, ours


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)], ids=["1-layer", "2-layer-bi"])
@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_layer_loss_hessian_vector_products_match_torch(kind, num_layers, bidirectional):
    """L = cross-entropy of a linear head on the outputs + a weighted sum of the final states squared,
    differentiated twice with respect to every parameter, the input and the initial state(s)."""
    rng = np.random.default_rng(13)
    theirs, ours = make_layers(kind, num_layers, bidirectional)
    directions_count = 2 if bidirectional else 1
    state_shape = (directions_count * num_layers, BATCH, HIDDEN)
    is_lstm = kind == "LSTM"
    x = rng.standard_normal((STEPS, BATCH, INPUT))
    states = [rng.standard_normal(state_shape) for _ in range(2 if is_lstm else 1)]
    head = rng.standard_normal((directions_count * HIDDEN, CLASSES))
    targets = rng.integers(0, CLASSES, STEPS * BATCH)
    final_weights = [rng.standard_normal(state_shape) for _ in states]

    results, names = [], None
    for lib, module in ((Engine, ours), (Torch, theirs)):
        params = dict(module.named_parameters())
        x_, head_ = lib.leaf(x), lib.leaf(head)
        states_ = [lib.leaf(s) for s in states]
        out, final = module(x_, tuple(states_) if is_lstm else states_[0])
        finals = list(final) if is_lstm else [final]
        logits = out.reshape(-1, directions_count * HIDDEN) @ head_
        loss = lib.cross_entropy(logits, targets)
        loss = loss + sum((f**2 * lib.const(w)).sum() for f, w in zip(finals, final_weights)) * 0.5
        inputs = [*params.values(), x_, head_, *states_]
        names = [*params, "x", "head", *(f"state {i}" for i in range(len(states)))]
        directions = [np.random.default_rng(17 + i).standard_normal(t.shape) for i, t in enumerate(inputs)]
        results.append(lib.hvp(loss, inputs, directions))
    assert_same_hvp(*results, names, f"{kind} layers={num_layers} bidirectional={bidirectional}")


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_recurrent_cell_loss_hessian_vector_products_match_torch(kind):
    """Three steps of the cell feeding its state back; L = sum of weights * tanh(h_t) over t."""
    rng = np.random.default_rng(19)
    torch.manual_seed(6)
    theirs = getattr(torch.nn, kind)(INPUT, HIDDEN).double()
    ours = getattr(nn, kind)(INPUT, HIDDEN)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    is_lstm = kind == "LSTMCell"
    xs = [rng.standard_normal((BATCH, INPUT)) for _ in range(3)]
    state = [rng.standard_normal((BATCH, HIDDEN)) for _ in range(2 if is_lstm else 1)]
    weights = [rng.standard_normal((BATCH, HIDDEN)) for _ in xs]

    results, names = [], None
    for lib, cell in ((Engine, ours), (Torch, theirs)):
        params = dict(cell.named_parameters())
        xs_, state_ = [lib.leaf(x) for x in xs], [lib.leaf(s) for s in state]
        current = tuple(state_) if is_lstm else state_[0]
        loss = 0
        for x_, w in zip(xs_, weights):
            current = cell(x_, current)
            h = current[0] if is_lstm else current
            loss = loss + (h.tanh() * lib.const(w)).sum()
        inputs = [*params.values(), *xs_, *state_]
        names = [*params, *(f"x_{t}" for t in range(len(xs))), *(f"state {i}" for i in range(len(state)))]
        directions = [np.random.default_rng(23 + i).standard_normal(t.shape) for i, t in enumerate(inputs)]
        results.append(lib.hvp(loss, inputs, directions))
    assert_same_hvp(*results, names, kind)
