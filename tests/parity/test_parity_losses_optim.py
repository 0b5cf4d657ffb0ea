"""Losses, optimizers, clipping, Linear and Embedding against PyTorch, all in float64.

Both sides do the same float64 arithmetic, differing at most in summation
order, so values agree to ~1e-15; the tolerances below (1e-12) leave room for
that and nothing else.
"""

import numpy as np
import pytest

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor
from tinygrad_rnn.nn import Embedding, Linear, Parameter
from tinygrad_rnn.nn.utils import clip_grad_norm_, clip_grad_value_
from tinygrad_rnn.optim import SGD, Adagrad, Adam

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RTOL, ATOL = 1e-12, 1e-12
REDUCTIONS = ["mean", "sum", "none"]


def close(ours, theirs, what=""):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def both(array):
    """The same float64 values as (our Tensor, torch tensor), both requiring grad."""
    theirs = torch.tensor(array, dtype=torch.float64, requires_grad=True)
    return Tensor(array.copy(), requires_grad=True), theirs


def backward_both(ours, theirs, weights):
    """Backpropagate sum(loss * weights) on both sides (weights give each entry of a 'none' loss its own)."""
    (ours * weights).sum().backward()
    (theirs * torch.tensor(weights, dtype=torch.float64)).sum().backward()


# ---- losses ---------------------------------------------------------------------------------
LOSS_SHAPES = [((6, 4), (6,)), ((5,), ()), ((3, 4, 2), (3, 2))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("shapes", LOSS_SHAPES, ids=["NC", "C", "NCd"])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_classification_losses_match_torch(loss, shapes, ignore_index, reduction):
    input_shape, target_shape = shapes
    rng = np.random.default_rng(0)
    values = 3 * rng.standard_normal(input_shape)
    classes = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    target = rng.integers(0, classes, size=target_shape)
    if target.ndim:
        target.flat[0] = 2  # at least one sample hits ignore_index=2
    ours_in, torch_in = both(values)
    ours = getattr(F, loss)(ours_in, target, reduction=reduction, ignore_index=ignore_index)
    theirs = getattr(TF, loss)(torch_in, torch.tensor(target), reduction=reduction, ignore_index=ignore_index)
    close(ours.data, theirs, "value")
    weights = rng.uniform(0.5, 2.0, ours.shape)
    backward_both(ours, theirs, weights)
    close(ours_in.grad, torch_in.grad, "gradient")


def test_cross_entropy_huge_logits_match_torch():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4 - 1.0, 1e4]])
    target = np.array([1, 0])
    ours_in, torch_in = both(logits)
    ours, theirs = F.cross_entropy(ours_in, target), TF.cross_entropy(torch_in, torch.tensor(target))
    close(ours.data, theirs)
    ours.backward()
    theirs.backward()
    close(ours_in.grad, torch_in.grad)


def test_all_ignored_targets_match_torch_nan_and_zero_grad():
    ours_in, torch_in = both(np.ones((2, 3)))
    ours = F.cross_entropy(ours_in, np.array([-100, -100]))
    theirs = TF.cross_entropy(torch_in, torch.tensor([-100, -100]))
    assert np.isnan(ours.item()) and torch.isnan(theirs)
    ours.backward()
    theirs.backward()
    close(ours_in.grad, torch_in.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_torch(reduction):
    rng = np.random.default_rng(1)
    ours_a, torch_a = both(rng.standard_normal((3, 4)))
    ours_b, torch_b = both(rng.standard_normal((3, 4)))
    ours, theirs = F.mse_loss(ours_a, ours_b, reduction), TF.mse_loss(torch_a, torch_b, reduction=reduction)
    close(ours.data, theirs)
    backward_both(ours, theirs, rng.uniform(0.5, 2.0, ours.shape))
    close(ours_a.grad, torch_a.grad)
    close(ours_b.grad, torch_b.grad)


# ---- optimizers -----------------------------------------------------------------------------
OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.25, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3, eps=1e-6)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
]
OURS = {"SGD": SGD, "Adagrad": Adagrad, "Adam": Adam}


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_optimizer_steps_match_torch(name, options):
    rng = np.random.default_rng(2)
    starts = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ours = [Parameter(s.copy()) for s in starts]
    theirs = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]
    ours_opt, torch_opt = OURS[name](ours, **options), getattr(torch.optim, name)(theirs, **options)
    for step in range(6):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            if i == 1 and step in (0, 3):  # the second parameter sits out some steps (grad None)
                p.grad, q.grad = None, None
            else:
                g = rng.standard_normal(p.shape)
                p.grad, q.grad = g.copy(), torch.tensor(g, dtype=torch.float64)
        ours_opt.step()
        torch_opt.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            close(p.data, q, f"{name} step {step + 1}, parameter {i}")


# ---- clipping -------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = [Parameter(np.zeros(g.shape)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = g.copy(), torch.tensor(g)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    close(total, torch_total, "total norm")
    for p, q in zip(ours, theirs):
        close(p.grad, q.grad, "clipped gradient")


def test_clip_grad_value_matches_torch():
    g = np.random.default_rng(4).standard_normal((4, 5))
    p, q = Parameter(np.zeros(g.shape)), torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
    p.grad, q.grad = g.copy(), torch.tensor(g)
    clip_grad_value_([p], 0.7)
    torch.nn.utils.clip_grad_value_([q], 0.7)
    close(p.grad, q.grad)


# ---- layers ---------------------------------------------------------------------------------
def torch_state_as_numpy(module):
    return {name: value.detach().numpy().copy() for name, value in module.state_dict().items()}


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    torch.manual_seed(0)
    theirs = torch.nn.Linear(4, 3, bias=bias, dtype=torch.float64)
    ours = Linear(4, 3, bias=bias, rng=0)
    ours.load_state_dict(torch_state_as_numpy(theirs))
    x = np.random.default_rng(5).standard_normal((2, 5, 4))
    ours_x, torch_x = both(x)
    ours_y, torch_y = ours(ours_x), theirs(torch_x)
    close(ours_y.data, torch_y, "output")
    backward_both(ours_y, torch_y, np.random.default_rng(6).standard_normal(ours_y.shape))
    close(ours_x.grad, torch_x.grad, "input gradient")
    close(ours.weight.grad, theirs.weight.grad, "weight gradient")
    if bias:
        close(ours.bias.grad, theirs.bias.grad, "bias gradient")


def test_embedding_matches_torch():
    torch.manual_seed(1)
    theirs = torch.nn.Embedding(6, 3, dtype=torch.float64)
    ours = Embedding(6, 3, rng=0)
    ours.load_state_dict(torch_state_as_numpy(theirs))
    idx = np.array([[1, 4, 1], [0, 1, 5]])
    ours_y, torch_y = ours(idx), theirs(torch.tensor(idx))
    close(ours_y.data, torch_y)
    backward_both(ours_y, torch_y, np.random.default_rng(7).standard_normal(ours_y.shape))
    close(ours.weight.grad, theirs.weight.grad)
