"""Optimizers against their update formulas, written out again here in plain numpy.

Each test feeds the same fixed sequence of gradients to the optimizer and to
the hand-written reference, for several steps, and compares the parameters.
"""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, load, save
from tinygrad_rnn.nn import Linear, Module, Parameter, StateDictError
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
        (lambda ps: SGD(ps, lr=-0.1), "SGD: lr must be a finite number >= 0"),
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


# ---- traps --------------------------------------------------------------------------------
def test_momentum_buffer_does_not_follow_in_place_changes_of_the_gradient():
    """Clipping p.grad in place between steps must not rewrite the momentum history."""
    g0 = np.array([1.0, -2.0])
    p = Parameter(np.zeros(2))
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    p.grad = g0.copy()
    optimizer.step()
    p.grad *= 0.5  # in place, as clip_grad_norm_ does; the second gradient is g0 / 2
    optimizer.step()
    np.testing.assert_allclose(p.data, -0.1 * g0 - 0.1 * (0.9 * g0 + 0.5 * g0), rtol=1e-15)
    np.testing.assert_array_equal(p.grad, 0.5 * g0)  # and step() leaves the gradient alone


@pytest.mark.parametrize("optimizer_class", [SGD, Adagrad, Adam])
def test_a_module_instead_of_its_parameters_is_named(optimizer_class):
    name = optimizer_class.__name__
    message = rf"{name}: got the module Linear itself; .*{name}\(model\.parameters\(\)"
    with pytest.raises(TypeError, match=message):
        optimizer_class(Linear(2, 1, rng=0), lr=0.1)


@pytest.mark.parametrize("optimizer_class", [SGD, Adagrad, Adam])
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf"), np.float32("nan"), "0.1", True])
def test_a_learning_rate_that_is_not_a_finite_number_is_named(optimizer_class, lr):
    message = rf"{optimizer_class.__name__}: lr must be a finite number >= 0, got"
    with pytest.raises(ValueError, match=message):
        optimizer_class([Parameter(np.ones(2))], lr=lr)


# ---- state dicts: exact resume ----------------------------------------------------------------
OPTIMIZERS = [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: SGD(ps, lr=0.05, momentum=0.8, dampening=0.2),
    lambda ps: Adagrad(ps, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01),
]


class Regressor(Module):
    """A Linear layer and a scale that only some steps use (its state lags behind)."""

    def __init__(self, seed):
        self.linear = Linear(3, 2, rng=seed)
        self.scale = Parameter(np.ones(2))

    def loss(self, step):
        rng = np.random.default_rng(step)  # each step its own batch, the same in every run
        x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
        out = self.linear(x) * self.scale if step % 3 == 0 else self.linear(x)
        return mse_loss(out, y)


def train(model, optimizer, steps):
    for step in steps:
        optimizer.zero_grad()
        model.loss(step).backward()
        optimizer.step()


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_checkpoint_through_save_and_load_resumes_bit_for_bit(make, tmp_path):
    straight = Regressor(seed=0)
    train(straight, make(straight.parameters()), range(20))

    first = Regressor(seed=0)
    optimizer = make(first.parameters())
    train(first, optimizer, range(10))
    save(first.state_dict(), tmp_path / "model.npz")
    save(optimizer.state_dict(), tmp_path / "optimizer.npz")

    resumed = Regressor(seed=1)  # other starting values, overwritten by the checkpoint
    resumed_optimizer = make(resumed.parameters())
    resumed_optimizer.lr = 123.0  # hyperparameters come from the checkpoint too
    resumed.load_state_dict(load(tmp_path / "model.npz"))
    resumed_optimizer.load_state_dict(load(tmp_path / "optimizer.npz"))
    assert resumed_optimizer.lr == optimizer.lr
    train(resumed, resumed_optimizer, range(10, 20))
    for (name, p), q in zip(straight.named_parameters(), resumed.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)


def test_state_dict_is_a_flat_dict_of_array_copies_with_pytorch_names():
    p, unused = Parameter(np.ones(2)), Parameter(np.ones(3))
    optimizer = Adam([p, unused], lr=0.01, betas=(0.8, 0.9))
    p.grad = np.array([1.0, -1.0])
    optimizer.step()
    optimizer.step()
    state = optimizer.state_dict()
    assert set(state) == {
        "num_params",
        "param_groups.lr", "param_groups.betas", "param_groups.eps", "param_groups.weight_decay",
        "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq",
    }  # fmt: skip
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert state["state.0.step"] == 2 and state["num_params"] == 2
    np.testing.assert_array_equal(state["param_groups.betas"], [0.8, 0.9])
    # m after two steps of the same g: (1 - 0.8) g + 0.8 (1 - 0.8) g = 0.36 g
    np.testing.assert_allclose(state["state.0.exp_avg"], 0.36 * p.grad, rtol=1e-15)
    state["state.0.exp_avg"][:] = 99.0
    assert not np.any(optimizer.state[0]["exp_avg"] == 99.0)


def adam_checkpoint():
    p = Parameter(np.ones(2))
    optimizer = Adam([p])
    p.grad = np.ones(2)
    optimizer.step()
    return optimizer.state_dict()


def params(*sizes):
    return [Parameter(np.ones(size)) for size in sizes]


SGD_HYPERPARAMETERS = {f"param_groups.{name}": 0.0 for name in SGD.hyperparameters}


@pytest.mark.parametrize(
    "build, edit, message",
    [
        (lambda: Adam(params(2, 1)), {}, "checkpoint is for 1 parameters, this optimizer has 2"),
        (lambda: Adam(params(3)), {}, r"state\.0\.exp_avg: checkpoint \(2,\) vs parameter \(3,\)"),
        (lambda: SGD(params(2), lr=0.1), {}, r"missing: param_groups\.momentum"),
        (lambda: SGD(params(2), lr=0.1), SGD_HYPERPARAMETERS, r"unexpected: .*exp_avg.*another optimizer"),
        (lambda: Adam(params(2)), {"param_groups.lr": -1.0}, "lr must be a finite number"),
        (lambda: Adam(params(2)), {"state.0.step": 1.5}, r"state\.0\.step must be a count"),
        (lambda: Adam(params(2)), {"state.0.exp_avg": [1j, 0]}, "real numbers"),
    ],
)
def test_load_state_dict_names_what_does_not_fit_and_changes_nothing(build, edit, message):
    optimizer = build()
    checkpoint = adam_checkpoint()
    checkpoint.update((key, np.array(value)) for key, value in edit.items())
    lr_before = optimizer.lr
    with pytest.raises((StateDictError, ValueError), match=message):
        optimizer.load_state_dict(checkpoint)
    assert optimizer.lr == lr_before and all(not s for s in optimizer.state)


def test_load_state_dict_of_a_path_says_to_load_the_file_first():
    optimizer = Adam([Parameter(np.ones(2))])
    message = r"got the path 'opt\.npz'.*load_state_dict\(tinygrad_rnn\.load\('opt\.npz'\)\)"
    with pytest.raises(TypeError, match=message):
        optimizer.load_state_dict("opt.npz")
