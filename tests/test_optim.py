"""Optimizers against their update formulas, written out again here in plain numpy.

Each test feeds the same fixed sequence of gradients to the optimizer and to
the hand-written reference, for several steps, and compares the parameters.
"""

import numpy as np
import pytest

from tinygrad_rnn import Tensor
from tinygrad_rnn.nn import Linear, Parameter
from tinygrad_rnn.nn.functional import mse_loss
from tinygrad_rnn.optim import SGD, Adagrad, Adam

STEPS = 5


def gradient_sequence(shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(STEPS)]


def run(optimizer_class, start, grads, **options):
    """Parameters after feeding ``grads`` one per step; also checks the update is in place."""
    p = Parameter(start.copy())
    storage = p.data
    optimizer = optimizer_class([p], **options)
    history = []
    for g in grads:
        p.grad = g.copy()
        optimizer.step()
        history.append(p.data.copy())
    assert p.data is storage  # updated in place, not replaced
    return history


START = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])


# ---- SGD ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.1),
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.05, momentum=0.8, dampening=0.3),
        dict(lr=0.1, momentum=0.9, nesterov=True),
        dict(lr=0.1, momentum=0.5, weight_decay=0.01),
        dict(lr=0.2, weight_decay=0.1),
    ],
)
def test_sgd_matches_formula(options):
    grads = gradient_sequence(START.shape)
    lr, mu = options["lr"], options.get("momentum", 0.0)
    tau, wd = options.get("dampening", 0.0), options.get("weight_decay", 0.0)
    nesterov = options.get("nesterov", False)
    theta, velocity, expected = START.copy(), None, []
    for g in grads:
        d = g + wd * theta
        if mu:
            # PyTorch: the buffer starts as the first (decayed) gradient itself, undamped.
            velocity = d.copy() if velocity is None else mu * velocity + (1 - tau) * d
            d = d + mu * velocity if nesterov else velocity
        theta = theta - lr * d
        expected.append(theta)
    for ours, theirs in zip(run(SGD, START, grads, **options), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_sgd_first_momentum_step_is_a_plain_step_and_second_uses_buffer():
    g0, g1 = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    history = run(SGD, np.zeros(2), [g0, g1], lr=0.1, momentum=0.9)
    np.testing.assert_allclose(history[0], -0.1 * g0, rtol=1e-15)
    np.testing.assert_allclose(history[1], -0.1 * g0 - 0.1 * (0.9 * g0 + g1), rtol=1e-15)


# ---- Adagrad --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(lr=0.1, lr_decay=0.05),
        dict(lr=0.1, initial_accumulator_value=0.5),
        dict(lr=0.1, weight_decay=0.2, lr_decay=0.01, eps=1e-6),
    ],
)
def test_adagrad_matches_formula(options):
    grads = gradient_sequence(START.shape, seed=1)
    lr, decay = options.get("lr", 0.01), options.get("lr_decay", 0.0)
    wd, eps = options.get("weight_decay", 0.0), options.get("eps", 1e-10)
    theta = START.copy()
    accumulated = np.full_like(theta, options.get("initial_accumulator_value", 0.0))
    expected = []
    for t, g in enumerate(grads, start=1):
        g = g + wd * theta
        accumulated = accumulated + g**2
        theta = theta - lr / (1 + (t - 1) * decay) * g / (np.sqrt(accumulated) + eps)
        expected.append(theta)
    for ours, theirs in zip(run(Adagrad, START, grads, **options), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_adagrad_first_step_moves_each_entry_by_lr():
    # With s = g^2 after one step, the step is lr * g / |g| = lr * sign(g) (eps is negligible).
    history = run(Adagrad, np.zeros(3), [np.array([3.0, -0.01, 1e3])], lr=0.5)
    np.testing.assert_allclose(history[0], [-0.5, 0.5, -0.5], rtol=1e-8)


# ---- Adam -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(lr=0.01, betas=(0.8, 0.99)),
        dict(lr=0.01, weight_decay=0.1, eps=1e-6),
        dict(lr=0.05, betas=(0.0, 0.5)),
    ],
)
def test_adam_matches_bias_corrected_formula(options):
    grads = gradient_sequence(START.shape, seed=2)
    lr, (b1, b2) = options.get("lr", 1e-3), options.get("betas", (0.9, 0.999))
    eps, wd = options.get("eps", 1e-8), options.get("weight_decay", 0.0)
    theta, m, v, expected = START.copy(), np.zeros_like(START), np.zeros_like(START), []
    for t, g in enumerate(grads, start=1):
        g = g + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(theta)
    for ours, theirs in zip(run(Adam, START, grads, **options), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_adam_bias_correction_makes_the_first_step_lr_sized():
    # Uncorrected, the first step would be lr * 0.1 g / sqrt(0.001 g^2) = 3.16 lr * sign(g).
    history = run(Adam, np.zeros(3), [np.array([2.0, -1e-3, 50.0])], lr=0.01)
    np.testing.assert_allclose(history[0], [-0.01, 0.01, -0.01], rtol=1e-4)


# ---- shared behaviour -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adagrad(ps), lambda ps: Adam(ps)]
)
def test_parameter_without_grad_is_skipped_and_its_state_waits(make):
    used, unused = Parameter(np.ones(2)), Parameter(np.ones(2))
    optimizer = make([used, unused])
    used.grad = np.array([1.0, -1.0])
    optimizer.step()
    np.testing.assert_array_equal(unused.data, np.ones(2))
    # Its first real step must equal a fresh optimizer's first step.
    unused.grad, used.grad = np.array([0.3, 0.7]), None
    optimizer.step()
    fresh = Parameter(np.ones(2))
    fresh.grad = np.array([0.3, 0.7])
    make([fresh]).step()
    np.testing.assert_array_equal(unused.data, fresh.data)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), Adagrad, Adam])
def test_float32_parameters_stay_float32(make):
    p = Parameter(np.ones(3), dtype=np.float32)
    optimizer = make([p])
    for _ in range(2):
        p.grad = np.full(3, 0.5, dtype=np.float32)
        optimizer.step()
    assert p.dtype == np.float32 and not np.array_equal(p.data, np.ones(3))
    assert all(v.dtype == np.float32 for v in optimizer.state[0].values() if isinstance(v, np.ndarray))


def test_zero_grad_forgets_gradients():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(3))
    a.grad, b.grad = np.ones(2), np.ones(3)
    optimizer = SGD([a, b], lr=0.1)
    optimizer.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("optimizer_class, lr", [(SGD, 0.1), (Adam, 0.05)])
def test_optimizer_fits_a_line(optimizer_class, lr):
    """End to end: Linear + mse_loss + the optimizer recover y = 2x - 1."""
    layer = Linear(1, 1, rng=0)
    x = np.linspace(-1, 1, 16)[:, None]
    y = 2 * x - 1
    optimizer = optimizer_class(layer.parameters(), lr=lr)
    for _ in range(400):
        optimizer.zero_grad()
        mse_loss(layer(x), y).backward()
        optimizer.step()
    np.testing.assert_allclose([layer.weight.item(), layer.bias.item()], [2.0, -1.0], atol=1e-3)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda ps: SGD(ps, lr=-0.1), "SGD: lr must be a number >= 0"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-1), "SGD: momentum"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "SGD: nesterov momentum needs momentum > 0"),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
        (lambda ps: Adagrad(ps, lr_decay=-1), "Adagrad: lr_decay"),
        (lambda ps: Adagrad(ps, eps=-1e-10), "Adagrad: eps"),
        (lambda ps: Adam(ps, betas=(0.9, 1.0)), r"Adam: betas must be two numbers in \[0, 1\)"),
        (lambda ps: Adam(ps, weight_decay=-0.1), "Adam: weight_decay"),
        (lambda ps: Adam([]), "Adam: got an empty parameter list"),
        (lambda ps: Adam(ps + ps), "Adam: parameter 1 appears twice"),
    ],
)
def test_bad_hyperparameters_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build([Parameter(np.ones(2))])


def test_params_must_be_an_iterable_of_tensors():
    with pytest.raises(TypeError, match="SGD: params must be an iterable of Tensors"):
        SGD(Parameter(np.ones(2)), lr=0.1)
    with pytest.raises(TypeError, match="SGD: parameter 0 is a ndarray"):
        SGD([np.ones(2)], lr=0.1)
    assert isinstance(SGD([Tensor(np.ones(2), requires_grad=True)], lr=0.1).params[0], Tensor)
