"""Forward mode against PyTorch: jvp as torch.func.jvp, jacobian and hessian as torch.autograd.functional.

Compositions of many ops and the recurrent cells (RNN, GRU, LSTM, with their weights shared
through a PyTorch state dict) in float64. Our jacobian is forward mode and PyTorch's reverse
mode; our hessian is forward over reverse and PyTorch's reverse over reverse: the same
derivatives summed in another order, so they agree to rounding, RTOL 1e-10 / ATOL 1e-12 (as the
other parity tests; the errors seen are ~1e-15).
"""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, concat, hessian, jacobian, jvp, nn, stack, where
from tinygrad_rnn.nn import steps

torch = pytest.importorskip("torch")
from torch.func import functional_call  # noqa: E402

RTOL, ATOL = 1e-10, 1e-12
MASK = np.array([[True, False], [False, True], [True, True]])


def close(ours, theirs, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=RTOL, atol=ATOL, err_msg=what)


class Ours:
    sum = staticmethod(lambda x, axis, keep: x.sum(axis, keep))
    max = staticmethod(lambda x, axis, keep: x.max(axis, keep))
    cat = staticmethod(lambda xs, axis: concat(xs, axis))
    stack = staticmethod(lambda xs, axis: stack(xs, axis))
    where = staticmethod(lambda c, x, y: where(c, x, y))
    permute = staticmethod(lambda x, *axes: x.transpose(*axes))


class Torch:
    sum = staticmethod(lambda x, axis, keep: x.sum(dim=axis, keepdim=keep))
    max = staticmethod(lambda x, axis, keep: x.amax(dim=axis, keepdim=keep))
    cat = staticmethod(lambda xs, axis: torch.cat(xs, axis))
    stack = staticmethod(lambda xs, axis: torch.stack(xs, axis))
    where = staticmethod(lambda c, x, y: torch.where(torch.tensor(c), x, y))
    permute = staticmethod(lambda x, *axes: x.permute(*axes))


# x (2, 3), w (3, 4): together they run every op of ops.py (AsType, BroadcastTo and Scatter
# only in the recorded backward of the Hessian, which runs them on its own).
COMPOSITIONS = {
    "affine-softmax": lambda L, x, w: ((x @ w).tanh() * L.sum(x, 1, True).sigmoid()).softmax(0).log(),
    "max-concat": lambda L, x, w: L.max(L.cat([x, (x * 2).exp()], 1), 1, False) + (x.relu() ** 2).sum(),
    "index-pow-where": lambda L, x, w: L.stack(
        [
            L.where(MASK, (x[:, [0, 2, 2]] / (1 + w[0:2, 0:3] ** 2)).reshape(3, 2), -x.T),
            L.permute((x.T.abs() + 0.5) ** w[:, :2], 1, 0).log_softmax(1).T,
        ],
        0,
    ),
    "matmul-vector": lambda L, x, w: (x @ w[:, 1]) - (w.T @ x[0] / 3).sum(),
}


def data(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(2, 3)), rng.normal(size=(3, 4))]


def as_torch(arrays, requires_grad=False):
    return tuple(torch.tensor(a, requires_grad=requires_grad) for a in arrays)


@pytest.mark.parametrize("name", COMPOSITIONS)
def test_compositions_jvp_jacobian_hessian(name):
    f = COMPOSITIONS[name]
    primals, tangents = data(0), data(1)
    out, tangent = jvp(lambda *xs: f(Ours, *xs), tuple(primals), tuple(tangents))
    out_t, tangent_t = torch.func.jvp(lambda *xs: f(Torch, *xs), as_torch(primals), as_torch(tangents))
    close(out.data, out_t, f"{name}: value")
    close(tangent.data, tangent_t, f"{name}: jvp")

    J = jacobian(lambda *xs: f(Ours, *xs), tuple(primals))
    J_t = torch.autograd.functional.jacobian(lambda *xs: f(Torch, *xs), as_torch(primals))
    for i in range(2):
        close(J[i], J_t[i], f"{name}: jacobian by input {i}")

    u = np.random.default_rng(2).normal(size=out.shape)  # a scalar with every entry weighted
    H = hessian(lambda *xs: (f(Ours, *xs) * u).sum(), tuple(primals))
    H_t = torch.autograd.functional.hessian(
        lambda *xs: (f(Torch, *xs) * torch.tensor(u)).sum(), as_torch(primals)
    )
    for i in range(2):
        for j in range(2):
            close(H[i][j], H_t[i][j], f"{name}: hessian block {i}{j}")


def test_one_tensor_in_and_out_gives_bare_arrays_as_torch():
    x = data(3)[0]
    J = jacobian(lambda t: t.tanh() @ t.T, Tensor(x))
    H = hessian(lambda t: (t.sigmoid() ** 3).sum(), x)
    J_t = torch.autograd.functional.jacobian(lambda t: t.tanh() @ t.T, torch.tensor(x))
    H_t = torch.autograd.functional.hessian(lambda t: (t.sigmoid() ** 3).sum(), torch.tensor(x))
    assert isinstance(J, np.ndarray) and isinstance(H, np.ndarray)
    close(J, J_t, "jacobian")
    close(H, H_t, "hessian")


# ---- the recurrent cells ----------------------------------------------------------------------------
INPUT, HIDDEN, BATCH = 3, 4, 2
CELLS = ["RNN-tanh", "RNN-relu", "GRU", "LSTM"]
NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def cells(kind, fused=False):
    torch.manual_seed(0)
    if kind.startswith("RNN"):
        nonlinearity = kind.split("-")[1]
        theirs = torch.nn.RNNCell(INPUT, HIDDEN, nonlinearity=nonlinearity).double()
        ours = nn.RNNCell(INPUT, HIDDEN, nonlinearity=nonlinearity, fused=fused)
    else:
        theirs = getattr(torch.nn, f"{kind}Cell")(INPUT, HIDDEN).double()
        ours = getattr(nn, f"{kind}Cell")(INPUT, HIDDEN, fused=fused)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def cell_inputs(kind, seed):
    rng = np.random.default_rng(seed)
    states = 2 if kind == "LSTM" else 1
    return [rng.normal(size=(BATCH, INPUT))] + [rng.normal(size=(BATCH, HIDDEN)) for _ in range(states)]


def torch_step(theirs, kind):
    """(x, h[, c], *weights) -> h' (or (h', c')): the torch cell as a function of everything."""

    def step(x, *rest):
        states, weights = rest[: 2 if kind == "LSTM" else 1], rest[-4:]
        state = tuple(states) if kind == "LSTM" else states[0]
        return functional_call(theirs, dict(zip(NAMES, weights)), (x, state))

    return step


def our_step(kind):
    """The same with the step functions of nn/steps.py, which take the weights as arguments."""

    def step(x, *rest):
        states, (w_ih, w_hh, b_ih, b_hh) = rest[: 2 if kind == "LSTM" else 1], rest[-4:]
        gx = steps.input_drive(x, w_ih, b_ih)
        if kind == "LSTM":
            return steps.lstm_step(gx, *states, w_hh, b_hh)
        if kind == "GRU":
            return steps.gru_step(gx, states[0], w_hh, b_hh)
        return steps.rnn_step(gx, states[0], w_hh, b_hh, kind.split("-")[1])

    return step


@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
@pytest.mark.parametrize("kind", CELLS)
def test_cell_jvp_through_inputs_states_and_parameters(kind, fused):
    """The module itself, its parameters as primals (fn reads them from the module)."""
    ours, theirs = cells(kind, fused)
    params = [getattr(ours, n) for n in NAMES]
    primals = cell_inputs(kind, 0)
    rng = np.random.default_rng(1)
    tangents = [rng.normal(size=p.shape) for p in primals + params]

    def run(x, *rest):
        states = rest[: len(primals) - 1]
        return ours(x, tuple(states) if kind == "LSTM" else states[0])

    out, tangent = jvp(run, (*primals, *params), tuple(tangents))
    weights = [getattr(theirs, n) for n in NAMES]
    out_t, tangent_t = torch.func.jvp(
        torch_step(theirs, kind), (*as_torch(primals), *(w.detach() for w in weights)), as_torch(tangents)
    )
    if kind != "LSTM":  # one output; the LSTM's are (h', c')
        out, tangent, out_t, tangent_t = (out,), (tangent,), (out_t,), (tangent_t,)
    for o, t, o_t, t_t in zip(out, tangent, out_t, tangent_t):
        close(o.data, o_t, f"{kind}: value")
        close(t.data, t_t, f"{kind}: jvp")


@pytest.mark.parametrize("kind", CELLS)
def test_cell_jacobian_and_hessian_by_every_argument(kind):
    ours, theirs = cells(kind)
    weights = [getattr(theirs, n).detach().numpy() for n in NAMES]
    arguments = (*cell_inputs(kind, 0), *weights)
    J = jacobian(our_step(kind), arguments)
    J_t = torch.autograd.functional.jacobian(torch_step(theirs, kind), as_torch(arguments))
    if kind != "LSTM":
        J, J_t = (J,), (J_t,)
    for k, (row, row_t) in enumerate(zip(J, J_t)):
        for i, (block, block_t) in enumerate(zip(row, row_t)):
            close(block, block_t, f"{kind}: jacobian of output {k} by argument {i}")

    u = np.random.default_rng(5).normal(size=(BATCH, HIDDEN))

    def scalar(step, weight):
        def loss(*xs):
            out = step(*xs)
            h = out[0] if kind == "LSTM" else out
            return (h * weight).sum() + (h * h).sum()

        return loss

    H = hessian(scalar(our_step(kind), u), arguments)
    H_t = torch.autograd.functional.hessian(
        scalar(torch_step(theirs, kind), torch.tensor(u)), as_torch(arguments)
    )
    for i, (row, row_t) in enumerate(zip(H, H_t)):
        for j, (block, block_t) in enumerate(zip(row, row_t)):
            close(block, block_t, f"{kind}: hessian block {i}{j}")
