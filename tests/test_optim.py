"""Optimizers against their update formulas, written out again here in plain numpy.

Each test feeds the same fixed sequence of gradients to the optimizer and to
the hand-written reference, for several steps, and compares the parameters.
"""

import pathlib
import re

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


def test_default_hyperparameters_are_pytorchs():
    """Called with the parameters alone, each optimizer takes torch.optim's defaults."""
    sgd, adagrad, adam = SGD(params(2)), Adagrad(params(2)), Adam(params(2))
    assert (sgd.lr, sgd.momentum, sgd.dampening) == (1e-3, 0.0, 0.0)
    assert (sgd.weight_decay, sgd.nesterov) == (0.0, False)
    assert (adagrad.lr, adagrad.lr_decay, adagrad.weight_decay) == (1e-2, 0.0, 0.0)
    assert (adagrad.initial_accumulator_value, adagrad.eps) == (0.0, 1e-10)
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    # and the default lr is the one used: a plain SGD step moves by 1e-3 * g
    p = Parameter(np.zeros(2))
    p.grad = np.array([2.0, -4.0])
    SGD([p]).step()
    np.testing.assert_allclose(p.data, [-2e-3, 4e-3], rtol=1e-15)


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
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=-0.1), "SGD: dampening must be a finite number"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-0.1), "SGD: weight_decay must be a finite number"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "SGD: nesterov momentum needs momentum > 0"),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
        (lambda ps: Adagrad(ps, lr_decay=-1), "Adagrad: lr_decay"),
        (lambda ps: Adagrad(ps, eps=-1e-10), "Adagrad: eps"),
        (lambda ps: Adam(ps, betas=(0.9, 1.0)), r"Adam: betas must be two numbers in \[0, 1\)"),
        (lambda ps: Adam(ps, weight_decay=-0.1), "Adam: weight_decay"),
        (lambda ps: Adam(ps, eps=-1e-8), "Adam: eps must be a finite number"),
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
def test_no_weight_decay_adds_no_term_so_an_infinite_entry_stays_infinite(optimizer_class):
    """weight_decay=0 must skip the decay term, not add 0 * theta: 0 * inf is nan, and an
    entry held at -inf (a mask, say) would turn into nan at the first step."""
    p = Parameter(np.array([-np.inf, 1.0]))
    p.grad = np.array([1.0, 1.0])
    optimizer_class([p], lr=0.1).step()
    assert p.data[0] == -np.inf
    # the finite entry takes the usual first step: lr * g for SGD, lr * sign(g) for the others
    # (up to eps: Adam's 1e-8 shifts it by about 1e-9)
    np.testing.assert_allclose(p.data[1], 0.9, rtol=1e-8)


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


@pytest.mark.parametrize("path", ["opt.npz", pathlib.Path("opt.npz")])
def test_load_state_dict_of_a_path_says_to_load_the_file_first(path):
    """A str or an os.PathLike (anything with __fspath__) is taken for a file name; the hint is
    the line to write, on an optimizer (a module's says module.load_state_dict, test_module)."""
    optimizer = Adam([Parameter(np.ones(2))])
    message = (
        rf"^Adam\.load_state_dict: got the path {re.escape(repr(path))}, not a state dict; "
        r"read the file first: optimizer\.load_state_dict\(tinygrad_rnn\.load\('opt\.npz'\)\)$"
    )
    with pytest.raises(TypeError, match=message):
        optimizer.load_state_dict(path)


def test_load_state_dict_of_something_else_says_what_a_state_dict_is():
    message = (
        r"^SGD\.load_state_dict: expected a mapping of name -> array "
        r"\(e\.g\. another optimizer's state_dict\(\) or tinygrad_rnn\.load\(path\)\), got list$"
    )
    with pytest.raises(TypeError, match=message):
        SGD(params(2), lr=0.1).load_state_dict([np.zeros(2)])


def stepped_adam_checkpoint(n):
    """The state dict of an Adam over n parameters of shape (2,), each after one step."""
    ps = params(*[2] * n)
    optimizer = Adam(ps)
    for p in ps:
        p.grad = np.ones(2)
    optimizer.step()
    return optimizer.state_dict()


def assert_load_fails_and_changes_nothing(optimizer, checkpoint, message):
    """load_state_dict raises StateDictError with exactly ``message``; the optimizer is untouched."""
    lr_before = optimizer.lr
    with pytest.raises(StateDictError) as error:
        optimizer.load_state_dict(checkpoint)
    assert str(error.value) == message
    assert optimizer.lr == lr_before and all(not s for s in optimizer.state)


def test_load_state_dict_lists_every_missing_and_unexpected_key():
    """Several missing keys, and several unexpected ones, are each listed, comma-separated,
    after the optimizer's name (here an Adam checkpoint given to SGD)."""
    message = (
        "SGD.load_state_dict: "
        "missing: param_groups.momentum, param_groups.dampening, param_groups.nesterov"
        " | unexpected: param_groups.betas, param_groups.eps, state.0.step, state.0.exp_avg,"
        " state.0.exp_avg_sq (a checkpoint of another optimizer?)"
    )
    assert_load_fails_and_changes_nothing(SGD(params(2), lr=0.1), adam_checkpoint(), message)


@pytest.mark.parametrize(
    "key",
    [
        "junk",  # no dots at all
        "state.0",  # too short
        "state.0.exp_avg.old",  # too long, though it starts like a real key
        "buffers.0.exp_avg",  # not under state.
        "state.x.exp_avg",  # the index is not a number
        "state.-1.exp_avg",  # nor a negative one
        "state.2.exp_avg",  # only parameters 0 and 1 exist
        "state.0.momentum_buffer",  # SGD's, not Adam's
    ],
)
def test_load_state_dict_names_a_stray_key_as_unexpected(key):
    """Only ``state.<i>.<name>`` with 0 <= i < number of parameters and a name of this
    optimizer's state is loaded; any other key is an error naming it, even next to an
    otherwise complete checkpoint (which it must not overwrite, nor crash on)."""
    checkpoint = stepped_adam_checkpoint(2)
    checkpoint[key] = np.zeros(2)
    message = f"Adam.load_state_dict: unexpected: {key} (a checkpoint of another optimizer?)"
    assert_load_fails_and_changes_nothing(Adam(params(2, 2)), checkpoint, message)


def test_load_state_dict_names_the_parameters_whose_state_is_incomplete():
    """A parameter has either no state (not stepped yet) or all of it; the error lists every
    parameter with only part of it, and the names it should have."""
    checkpoint = stepped_adam_checkpoint(2)
    del checkpoint["state.0.exp_avg_sq"], checkpoint["state.1.exp_avg"]
    message = "Adam.load_state_dict: parameters 0, 1 lack some of step, exp_avg, exp_avg_sq"
    assert_load_fails_and_changes_nothing(Adam(params(2, 2)), checkpoint, message)


def test_load_state_dict_takes_a_step_count_of_zero():
    """A step count is a count >= 0: a hand-built state at step 0 (zero moments) loads, and
    the next step is then Adam's first step, theta - lr * g / (|g| + eps)."""
    checkpoint = {
        "num_params": np.array(1),
        "param_groups.lr": np.array(0.1), "param_groups.betas": np.array([0.9, 0.999]),
        "param_groups.eps": np.array(1e-8), "param_groups.weight_decay": np.array(0.0),
        "state.0.step": np.array(0), "state.0.exp_avg": np.zeros(2), "state.0.exp_avg_sq": np.zeros(2),
    }  # fmt: skip
    p = Parameter(np.ones(2))
    optimizer = Adam([p])
    optimizer.load_state_dict(checkpoint)
    assert optimizer.state[0]["step"] == 0 and type(optimizer.state[0]["step"]) is int
    g = np.array([2.0, -0.5])
    p.grad = g.copy()
    optimizer.step()
    np.testing.assert_allclose(p.data, 1.0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-14)
    assert optimizer.state[0]["step"] == 1


def test_loaded_state_is_a_copy_in_the_parameters_dtype():
    """The buffers loaded are new arrays of the parameter's dtype: stepping does not write into
    the caller's checkpoint, and a float64 checkpoint gives a float32 parameter float32 buffers."""
    checkpoint = stepped_adam_checkpoint(1)
    before = {key: value.copy() for key, value in checkpoint.items()}
    p = Parameter(np.ones(2))  # float64, as the checkpoint: no conversion that would copy anyway
    optimizer = Adam([p])
    optimizer.load_state_dict(checkpoint)
    p.grad = np.ones(2)
    optimizer.step()  # updates its moments in place
    for key, value in before.items():
        np.testing.assert_array_equal(checkpoint[key], value, err_msg=key)

    p32 = Parameter(np.ones(2), dtype=np.float32)
    optimizer = Adam([p32])
    optimizer.load_state_dict(checkpoint)
    assert optimizer.state[0]["exp_avg"].dtype == np.float32
    assert optimizer.state[0]["exp_avg_sq"].dtype == np.float32
    # one step of g = 1 from zero moments: m = (1 - 0.9) g, v = (1 - 0.999) g^2
    np.testing.assert_allclose(optimizer.state[0]["exp_avg"], [0.1, 0.1], rtol=1e-7)
    np.testing.assert_allclose(optimizer.state[0]["exp_avg_sq"], [1e-3, 1e-3], rtol=1e-7)


def test_bad_betas_in_a_checkpoint_get_the_constructors_error():
    """Betas come back from a checkpoint as the tuple the constructor takes, so a bad pair
    is reported word for word as Adam(..., betas=(0.9, 1.0)) reports it."""
    with pytest.raises(ValueError) as from_constructor:
        Adam(params(2), betas=(0.9, 1.0))
    checkpoint = adam_checkpoint()
    checkpoint["param_groups.betas"] = np.array([0.9, 1.0])
    optimizer = Adam(params(2))
    with pytest.raises(ValueError) as from_checkpoint:
        optimizer.load_state_dict(checkpoint)
    assert str(from_checkpoint.value) == str(from_constructor.value)
    assert optimizer.betas == (0.9, 0.999) and not optimizer.state[0]
