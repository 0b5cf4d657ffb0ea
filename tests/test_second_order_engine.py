"""Higher order beyond single ops: third derivatives, gradgradcheck, recurrent networks' Hessian-vector
products, and how no_grad, detach, retain_graph, anomaly mode and fused ops behave around a recorded
backward (create_graph=True).

Tolerances (float64): third derivatives against formulas derived by hand, rtol 1e-10 and atol 1e-12
(the same number computed by two float64 expressions); everything compared with central differences
uses eps = 1e-5 and atol = rtol = 1e-6, as justified in test_second_order.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_second_order import HVP_ATOL, HVP_EPS, HVP_RTOL, THIRD_ATOL, THIRD_RTOL

from tinygrad_rnn import (
    AnomalyError,
    Function,
    GradcheckError,
    Tensor,
    detect_anomaly,
    fused,
    grad,
    gradcheck,
    gradgradcheck,
    nn,
    no_grad,
    ops,
)
from tinygrad_rnn.tensor import is_grad_enabled


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- third derivatives ---------------------------------------------------------------------------
def engine_derivatives(fn, x: np.ndarray, order: int = 3) -> list[np.ndarray]:
    """f', f'', ... of an elementwise fn at every entry of x, each by differentiating the last
    (the sum of an elementwise function's derivative has entry k's next derivative at k)."""
    t = Tensor(np.array(x), requires_grad=True)
    value, found = fn(t).sum(), []
    for _ in range(order):
        (derivative,) = grad(value, t, create_graph=True)
        found.append(derivative.data.copy())
        value = derivative.sum()
    return found


X_ANY = np.array([-2.0, -0.9, -0.2, 0.0, 0.4, 1.3, 2.0])
X_POSITIVE = np.array([0.5, 0.8, 1.0, 1.7, 2.5])

# name -> (fn, points, [f', f'', f'''] derived by hand)
THIRD = {
    # y = tanh x: y' = 1 - y^2, y'' = -2 y (1 - y^2), y''' = -2 (1 - y^2)(1 - 3 y^2)
    "tanh": (
        Tensor.tanh,
        X_ANY,
        lambda x: [1 - np.tanh(x) ** 2, -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)],
        lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2),
    ),
    # s = sigmoid x: s' = s (1 - s), s'' = s (1 - s)(1 - 2 s), s''' = s (1 - s)(1 - 6 s + 6 s^2)
    "sigmoid": (
        Tensor.sigmoid,
        X_ANY,
        lambda x: [sigmoid(x) * (1 - sigmoid(x)), sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x))],
        lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 6 * sigmoid(x) + 6 * sigmoid(x) ** 2),
    ),
    "exp": (Tensor.exp, X_ANY, lambda x: [np.exp(x), np.exp(x)], np.exp),
    # log x: 1/x, -1/x^2, 2/x^3
    "log": (Tensor.log, X_POSITIVE, lambda x: [1 / x, -1 / x**2], lambda x: 2 / x**3),
    # x * x * x through two Muls: 3 x^2, 6 x, 6
    "mul": (lambda t: t * t * t, X_ANY, lambda x: [3 * x**2, 6 * x], lambda x: 6 + 0 * x),
    # x ** 2.5 (PowConst): 2.5 x^1.5, 3.75 x^0.5, 1.875 x^-0.5
    "pow constant": (
        lambda t: t**2.5,
        X_POSITIVE,
        lambda x: [2.5 * x**1.5, 3.75 * x**0.5],
        lambda x: 1.875 / x**0.5,
    ),
    # x ** -2: -2 x^-3, 6 x^-4, -24 x^-5
    "pow negative": (lambda t: t**-2, X_POSITIVE, lambda x: [-2 / x**3, 6 / x**4], lambda x: -24 / x**5),
    # 1.7 ** x (Pow, the exponent a Tensor): c^x (log c)^k
    "pow tensor exponent": (
        lambda t: 1.7**t,
        X_ANY,
        lambda x: [1.7**x * np.log(1.7), 1.7**x * np.log(1.7) ** 2],
        lambda x: 1.7**x * np.log(1.7) ** 3,
    ),
}


@pytest.mark.parametrize("name", THIRD)
def test_third_derivative_against_hand_derived_formula(name):
    fn, x, first_two, third = THIRD[name]
    d1, d2, d3 = engine_derivatives(fn, x)
    expected_d1, expected_d2 = first_two(x)
    np.testing.assert_allclose(d1, expected_d1, rtol=THIRD_RTOL, atol=THIRD_ATOL)
    np.testing.assert_allclose(d2, expected_d2, rtol=THIRD_RTOL, atol=THIRD_ATOL)
    np.testing.assert_allclose(d3, third(x), rtol=THIRD_RTOL, atol=THIRD_ATOL)


@pytest.mark.parametrize("name", THIRD)
def test_third_derivative_against_differences_of_the_second(name):
    fn, x, _, _ = THIRD[name]
    d3 = engine_derivatives(fn, x)[2]
    plus, minus = engine_derivatives(fn, x + HVP_EPS, 2)[1], engine_derivatives(fn, x - HVP_EPS, 2)[1]
    np.testing.assert_allclose(d3, (plus - minus) / (2 * HVP_EPS), rtol=HVP_RTOL, atol=HVP_ATOL)


def test_mixed_third_derivatives_of_mul_and_pow():
    """d3/dx2dy of x*x*y is 2; of x**y it is (2y - 1) x^(y-2) + y (y - 1) x^(y-2) log x."""
    xv, yv = np.array([0.6, 1.4, 2.2]), np.array([-1.3, 0.7, 2.5])
    for fn, expected in (
        (lambda a, b: a * a * b, 2 + 0 * xv),
        (lambda a, b: a**b, (2 * yv - 1) * xv ** (yv - 2) + yv * (yv - 1) * xv ** (yv - 2) * np.log(xv)),
    ):
        x, y = Tensor(xv, requires_grad=True), Tensor(yv, requires_grad=True)
        (dx,) = grad(fn(x, y).sum(), x, create_graph=True)
        (dxx,) = grad(dx.sum(), x, create_graph=True)
        (dxxy,) = grad(dxx.sum(), y)
        np.testing.assert_allclose(dxxy, expected, rtol=THIRD_RTOL, atol=THIRD_ATOL)


# ---- gradgradcheck -------------------------------------------------------------------------------
def test_gradgradcheck_passes_for_correct_ops():
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert gradgradcheck(lambda x, w: (x @ w).tanh() * (x @ w).sigmoid(), [a, b])
    assert gradgradcheck(lambda x, w: (x @ w).log_softmax(axis=-1) * (x @ w).softmax(axis=0), [a, b])
    assert gradgradcheck(lambda x: (x * x).exp() / (1 + x * x), [a])


class SquareWithFrozenSlope(Function):
    """y = x**2 with a backward that is right to first order (2 x g) but reads x detached, so the
    recorded backward does not depend on x: its second derivative comes out 0 instead of 2 g."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        (x,) = self.inputs
        frozen = x.detach() if isinstance(x, Tensor) else x
        return g * 2 * frozen


def test_gradgradcheck_names_the_input_index_and_values_of_a_wrong_second_derivative():
    """f(a, b) = sum(tanh(a) * b^2) with the square's slope frozen: dL/db = 2 b tanh(a) is right, but
    its derivative in b comes out 0 instead of 2 tanh(a), so input 1 fails and input 0 passes."""
    av, bv = np.array([0.3, -1.1, 0.8]), np.array([1.2, 0.5, -0.7])

    def fn(a, b):
        return a.tanh() * SquareWithFrozenSlope.apply(b)

    a, b = Tensor(av.copy(), requires_grad=True), Tensor(bv.copy(), requires_grad=True)
    assert gradcheck(fn, [a, b])  # the first order is right
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(fn, [a, b], seed=5)
    message = str(caught.value)
    # the directions gradgradcheck draws, and what H v is at input 1: d/db <g, v> with
    # g_a = (1 - tanh^2 a) b^2 and g_b = 2 b tanh a
    rng = np.random.default_rng(5)
    v_a, v_b = rng.standard_normal(3), rng.standard_normal(3)
    cross = 2 * bv * (1 - np.tanh(av) ** 2) * v_a
    numerical, analytic = cross + 2 * np.tanh(av) * v_b, cross  # the frozen slope loses 2 tanh(a) v_b
    k = int(np.argmax(np.abs(analytic - numerical) - (1e-5 + 1e-4 * np.abs(numerical))))
    match = re.search(
        r"input (\d+) \(shape \(3,\)\) at index \((\d+),\): analytic (\S+) vs numerical (\S+)", message
    )
    assert match, message
    assert int(match[1]) == 1 and int(match[2]) == k
    assert float(match[3]) == pytest.approx(analytic[k], abs=1e-9)
    assert float(match[4]) == pytest.approx(numerical[k], abs=1e-6)


def test_gradgradcheck_refuses_float32_and_says_why():
    x = Tensor(np.array([0.5, 1.0], dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=r"input 0 is float32; central differences need float64.*cancels"):
        gradgradcheck(lambda t: t.tanh(), [x])


def test_gradgradcheck_accepts_a_constant_gradient():
    """Linear functions: the gradient does not depend on the inputs, the second derivative is 0."""
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = Tensor(np.array([1.5, 0.25, -3.0]), requires_grad=True)
    assert gradgradcheck(lambda a: a * 3.0 + 1.0, [x])
    assert gradgradcheck(lambda a, b: a * 2.0 - b + a @ np.ones(3), [x, y])
    assert gradgradcheck(lambda a, b: a * b, [x, y])  # gradients (b, a): H is constant, not 0


def test_gradgradcheck_catches_a_missing_constant_second_derivative():
    """x*y computed with a frozen slope on both sides: H should be [[0, 1], [1, 0]], comes out 0."""

    class FrozenMul(Function):
        def forward(self, x, y):
            return x * y

        def backward(self, g):
            x, y = (t.detach() if isinstance(t, Tensor) else t for t in self.inputs)
            return g * y, g * x

    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = Tensor(np.array([1.5, 0.25]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"gradgradcheck: input 0 .* analytic 0\.0 vs numerical"):
        gradgradcheck(lambda a, b: FrozenMul.apply(a, b), [x, y])


def test_gradgradcheck_takes_an_ignored_input_and_one_that_enters_linearly():
    """b ignored: its first derivative is unused. b added: its first derivative is the constant 1,
    so the second-order graph does not reach it. Both have second derivative 0, which is right."""
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = Tensor(np.array([1.5, 0.25]), requires_grad=True)
    assert gradgradcheck(lambda a, b: a * a, [x, y]) is True
    assert gradgradcheck(lambda a, b: a * a + b.sum(), [x, y]) is True


def test_gradgradcheck_draws_its_direction_from_seed_0_by_default():
    """With the square's slope frozen, H v comes out 0 instead of 2 v, so the worst entry is where
    |v| is largest and the numerical value there is 2 v_k, v = default_rng(0).standard_normal."""
    x = Tensor(np.array([0.5, -1.0, 2.0, 0.3]), requires_grad=True)
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(SquareWithFrozenSlope.apply, [x])
    v = np.random.default_rng(0).standard_normal(4)
    k = int(np.argmax(np.abs(v)))
    match = re.search(r"at index \((\d+),\): analytic (\S+) vs numerical (\S+)", str(caught.value))
    assert match, str(caught.value)
    assert int(match[1]) == k and float(match[2]) == 0.0
    assert float(match[3]) == pytest.approx(2 * v[k], abs=1e-8)  # a quadratic: differences exact to rounding
    with pytest.raises(GradcheckError) as explicit:
        gradgradcheck(SquareWithFrozenSlope.apply, [x], seed=0)
    assert str(explicit.value) == str(caught.value)


def test_gradgradcheck_resolves_tiny_second_derivatives_by_relative_error():
    """L = 1e-12 sum(x^2): H v = 2e-12 v. <g, v> is about 1e-12, so its differences must be taken
    of <g, v> itself (nothing of order 1 added to it, which would round them away); with atol = 0
    and rtol = 1e-6 the check then passes (central differences of a quadratic are exact to rounding)."""
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    assert gradgradcheck(lambda a: a * a * 1e-12, [x], atol=0.0, rtol=1e-6) is True


# ---- recurrent networks --------------------------------------------------------------------------
RECURRENT = {
    "rnn": lambda rng: nn.RNN(3, 4, rng=rng),
    "gru reset_after": lambda rng: nn.GRU(3, 4, rng=rng),
    "gru reset_before": lambda rng: nn.GRU(3, 4, reset_after=False, rng=rng),
    "lstm": lambda rng: nn.LSTM(3, 4, rng=rng),
}


def sequence_loss(layer, x: Tensor, target: np.ndarray) -> Tensor:
    output, _ = layer(x)
    return ((output - target) ** 2).sum() * 0.5 + output.tanh().sum()


@pytest.mark.parametrize("kind", RECURRENT)
def test_recurrent_hessian_vector_product(kind):
    """H v of a sequence loss in every parameter and the input (T = 4, B = 2, composed form)."""
    rng = np.random.default_rng(3)
    layer = RECURRENT[kind](rng)
    x = rng.uniform(-1, 1, (4, 2, 3))
    target = rng.uniform(-1, 1, (4, 2, 4))
    params = layer.parameters()
    v = [rng.uniform(-1, 1, p.shape) for p in params] + [rng.uniform(-1, 1, x.shape)]

    x_tensor = Tensor(x, requires_grad=True)
    inputs = [*params, x_tensor]
    gradients = grad(sequence_loss(layer, x_tensor, target), inputs, create_graph=True)
    products = grad(sum((g * d).sum() for g, d in zip(gradients, v)), inputs)
    assert all(p.grad is None for p in params)

    def gradients_at(sign: float) -> tuple:
        saved = [np.array(p.data) for p in params]
        for p, value, d in zip(params, saved, v):
            p.data = value + sign * HVP_EPS * d
        shifted = Tensor(x + sign * HVP_EPS * v[-1], requires_grad=True)
        found = grad(sequence_loss(layer, shifted, target), [*params, shifted])
        for p, value in zip(params, saved):
            p.data = value
        return found

    for name, hv, plus, minus in zip(
        [n for n, _ in layer.named_parameters()] + ["x"], products, gradients_at(1.0), gradients_at(-1.0)
    ):
        np.testing.assert_allclose(
            hv, (plus - minus) / (2 * HVP_EPS), rtol=HVP_RTOL, atol=HVP_ATOL, err_msg=f"{kind}: {name}"
        )


# ---- no_grad, detach, retain_graph, anomaly mode ------------------------------------------------
def test_create_graph_under_no_grad_still_records():
    """As in PyTorch: the backward pass is recorded when create_graph says so, whatever the outer mode."""
    x = Tensor(np.array([0.3, -0.8]), requires_grad=True)
    loss = x.tanh().sum()
    with no_grad():
        (g,) = grad(loss, x, create_graph=True)
        assert not is_grad_enabled()  # restored after the recorded pass
        (plain,) = grad(loss, x, retain_graph=True)
    assert g.requires_grad and isinstance(plain, np.ndarray)
    (second,) = grad(g.sum(), x)
    y = np.tanh(x.data)
    np.testing.assert_allclose(second, -2 * y * (1 - y**2), rtol=1e-12)


def test_no_grad_forward_has_nothing_to_differentiate():
    x = Tensor(np.array([0.3]), requires_grad=True)
    with no_grad():
        loss = (x * x).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad(loss, x, create_graph=True)


def test_detached_input_has_no_second_derivative_through_it():
    """L = sum(stop(x)^2 * x + x^2): dL/dx = stop(x)^2 + 2x, so H = 2 I (not 2 I + 2 diag(x))."""
    xv = np.array([0.7, -1.3, 2.0])
    x = Tensor(xv, requires_grad=True)
    loss = (x.detach() ** 2 * x + x * x).sum()
    (g,) = grad(loss, x, create_graph=True)
    np.testing.assert_allclose(g.data, xv**2 + 2 * xv, rtol=1e-14)
    v = np.array([1.0, -2.0, 0.5])
    (hv,) = grad((g * v).sum(), x)
    np.testing.assert_allclose(hv, 2 * v, rtol=1e-14)


def test_retain_graph_false_after_create_graph_frees_the_graph():
    x = Tensor(np.array([0.3, -0.8]), requires_grad=True)
    loss = x.tanh().sum()
    loss.backward(create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="already freed"):
        loss.backward()
    with pytest.raises(RuntimeError, match="tanh was already freed"):  # H needs tanh's saved output
        grad(x.grad.sum(), x)

    loss = x.tanh().sum()
    grad(loss, x, create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="already freed"):
        loss.backward()


def test_create_graph_retains_the_graph_by_default():
    x = Tensor(np.array([0.3, -0.8]), requires_grad=True)
    loss = x.tanh().sum()
    (g,) = grad(loss, x, create_graph=True)
    loss.backward()  # the graph is still there
    np.testing.assert_allclose(x.grad, g.data, rtol=1e-15)


def test_anomaly_mode_names_the_op_of_a_nonfinite_second_derivative():
    """x**1.5 at 0: the first derivative 1.5 sqrt(x) is 0, the second 0.75 / sqrt(x) is inf."""
    with detect_anomaly():
        x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
        (g,) = grad((x**1.5).sum(), x, create_graph=True)  # finite: no error
        np.testing.assert_allclose(g.data, [0.0, 1.5])
        with pytest.raises(AnomalyError, match=r"pow: gradient for input 0 contains inf"):
            grad(g.sum(), x, retain_graph=True)
        with pytest.raises(AnomalyError, match=r"pow: forward output contains inf.*test_second_order_engine"):
            grad(g.sum(), x, create_graph=True)  # recorded: the op that makes the inf is named where it runs
    with np.errstate(divide="ignore"):
        (h,) = grad(g.sum(), x)  # outside anomaly mode the inf goes through
    assert np.isinf(h[0]) and h[1] == pytest.approx(0.75)


def test_backward_with_create_graph_twice_accumulates_tensors():
    xv = np.array([0.3, -0.8, 1.5])
    x = Tensor(xv, requires_grad=True)
    loss = (x**3).sum()
    loss.backward(create_graph=True)
    loss.backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.data, 2 * 3 * xv**2, rtol=1e-14)
    (h,) = grad(x.grad.sum(), x)
    np.testing.assert_allclose(h, 2 * 6 * xv, rtol=1e-14)


def test_plain_then_recorded_backward_accumulates():
    x = Tensor(np.array([0.5, 2.0]), requires_grad=True)
    loss = (x**3).sum()
    loss.backward(retain_graph=True)  # .grad an array
    loss.backward(create_graph=True)  # then a Tensor is added
    assert isinstance(x.grad, Tensor)
    np.testing.assert_allclose(x.grad.data, 2 * 3 * x.data**2, rtol=1e-14)
    (h,) = grad(x.grad.sum(), x)
    np.testing.assert_allclose(h, 6 * x.data, rtol=1e-14)  # only the recorded half depends on x


def test_grad_leaves_dot_grad_untouched():
    x = Tensor(np.array([0.5, 2.0]), requires_grad=True)
    y = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    before = np.array([7.0, 8.0])
    x.grad = before
    loss = (x * y).tanh().sum()
    (gx,) = grad(loss, x, create_graph=True)
    grad(gx.sum(), [x, y])
    assert x.grad is before and np.array_equal(before, [7.0, 8.0]) and y.grad is None


def test_allow_unused():
    x = Tensor(np.array([0.5, 2.0]), requires_grad=True)
    y = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    z = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    loss = (x * y + y * y).sum()
    with pytest.raises(RuntimeError, match=r"grad: input 2 \(shape \(2,\)\) was not used"):
        grad(loss, [x, y, z], retain_graph=True)
    gx, gy, gz = grad(loss, [x, y, z], create_graph=True, allow_unused=True)
    assert gz is None
    # dL/dx = y does not depend on x: its derivative in x is "unused" too, in y it is 1
    with pytest.raises(RuntimeError, match="input 0"):
        grad(gx.sum(), [x, y], retain_graph=True)
    hx, hy = grad(gx.sum(), [x, y], allow_unused=True)
    assert hx is None
    np.testing.assert_array_equal(hy, [1.0, 1.0])


def test_grad_outputs_weight_the_outputs_and_can_be_differentiated():
    """grad_outputs u gives J^T u; with u a Tensor, d<J^T u, w>/du = J w: a Jacobian-vector product
    from two reverse passes, checked against differences of the function along w."""
    xv = np.array([0.4, -0.9, 1.6])
    x = Tensor(xv, requires_grad=True)
    w = np.array([0.5, -1.0, 2.0])

    def f(t):
        return (t * t).tanh() * t[np.array([2, 0, 1])]

    out = f(x)
    u = np.array([1.0, 2.0, -0.5])
    (jtu,) = grad(out, x, grad_outputs=u, retain_graph=True)
    eye = np.eye(3)
    columns = [
        (f(Tensor(xv + HVP_EPS * e)).data - f(Tensor(xv - HVP_EPS * e)).data) / (2 * HVP_EPS) for e in eye
    ]
    jacobian = np.stack(columns, axis=1)  # J[i, k] = d out_i / d x_k
    np.testing.assert_allclose(jtu, jacobian.T @ u, rtol=HVP_RTOL, atol=HVP_ATOL)

    u_tensor = Tensor(np.zeros(3), requires_grad=True)
    (vjp,) = grad(out, x, grad_outputs=u_tensor, create_graph=True)
    (jvp,) = grad(vjp, u_tensor, grad_outputs=w)
    np.testing.assert_allclose(jvp, jacobian @ w, rtol=HVP_RTOL, atol=HVP_ATOL)

    with pytest.raises(ValueError, match="2 outputs but 1 grad_outputs"):
        grad([out, out], x, grad_outputs=[u])


def test_grad_of_several_outputs_sums_their_weighted_gradients():
    x = Tensor(np.array([0.4, -0.9]), requires_grad=True)
    a, b = x.tanh(), x * x
    u, w = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    (g,) = grad([a, b], x, grad_outputs=[u, w])
    np.testing.assert_allclose(g, u * (1 - np.tanh(x.data) ** 2) + w * 2 * x.data, rtol=1e-14)


# ---- fused ops refuse a recorded backward --------------------------------------------------------
# name -> (layer with fused=..., the fused op that backward reaches first)
FUSED_LAYERS = {
    "rnn": (lambda fused, rng: nn.RNN(3, 4, fused=fused, rng=rng), "tanh_affine"),
    "gru reset_after": (lambda fused, rng: nn.GRU(3, 4, fused=fused, rng=rng), "affine"),
    "gru reset_before": (
        lambda fused, rng: nn.GRU(3, 4, reset_after=False, fused=fused, rng=rng),
        "tanh_affine",
    ),
    "lstm": (lambda fused, rng: nn.LSTM(3, 4, fused=fused, rng=rng), "affine_gates"),
}


@pytest.mark.parametrize("kind", FUSED_LAYERS)
def test_fused_layers_refuse_create_graph_and_name_the_op(kind):
    build, op_name = FUSED_LAYERS[kind]
    rng = np.random.default_rng(0)
    layer = build(True, rng)
    x = rng.uniform(-1, 1, (3, 2, 3))
    output, _ = layer(x)
    with pytest.raises(RuntimeError, match=rf"^{op_name}: a fused op .*create_graph=True.*fused=False"):
        grad(output.sum(), layer.parameters(), create_graph=True)
    # first order still works, and the same layer composed (fused=False) records its backward
    params = layer.parameters()
    assert all(g.shape == p.shape for g, p in zip(grad(layer(x)[0].sum(), params), params))
    composed = build(False, np.random.default_rng(0))
    gradients = grad(composed(x)[0].sum(), composed.parameters(), create_graph=True)
    assert all(isinstance(g, Tensor) for g in gradients)


@pytest.mark.parametrize(
    "op, options, name",
    [
        (fused.Affine, {}, "affine"),
        (fused.TanhAffine, {}, "tanh_affine"),
        (fused.AffineGates, {"activations": ("sigmoid", "tanh")}, "affine_gates"),
    ],
)
def test_fused_ops_refuse_create_graph(op, options, name):
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    out = op.apply(x, w, b, **options)
    with pytest.raises(RuntimeError, match=rf"^{name}: .*fused=False"):
        out.backward(np.ones((2, 4)), create_graph=True)


# ---- a learner's GELU: recompute in backward, or gradgradcheck says what was kept on self ---------
_C = np.sqrt(2 / np.pi)


class Gelu(Function):
    """y = x (1 + tanh(u)) / 2, u = c (x + 0.044715 x^3);  dL/dx = g ((1 + t) / 2 + x (1 - t^2) u' / 2)."""

    def forward(self, x):
        return 0.5 * x * (1 + np.tanh(_C * (x + 0.044715 * x**3)))

    def backward(self, g):
        (x,) = self.inputs
        t = ops.tanh(_C * (x + 0.044715 * x * x * x))  # recomputed: arrays and Tensors alike
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _C * (1 + 3 * 0.044715 * x * x))


class GeluKeepingTanh(Gelu):
    """y = x (1 + tanh(u)) / 2;  dL/dx = the same, with tanh(u) kept on self in forward."""

    def forward(self, x):
        self.t = np.tanh(_C * (x + 0.044715 * x**3))
        return 0.5 * x * (1 + self.t)

    def backward(self, g):
        (x,) = self.inputs
        t = self.t  # a constant when the backward is recorded
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _C * (1 + 3 * 0.044715 * x * x))


def test_a_backward_that_keeps_an_array_on_self_passes_gradcheck_and_gradgradcheck_names_it():
    x = Tensor(np.array([-2.0, -0.5, 0.3, 1.7]), requires_grad=True)
    for op in (Gelu, GeluKeepingTanh):
        assert gradcheck(lambda t, op=op: op.apply(t), [x], atol=1e-8, rtol=1e-6)
    assert gradgradcheck(lambda t: Gelu.apply(t), [x], atol=1e-7, rtol=1e-5)
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(lambda t: GeluKeepingTanh.apply(t), [x])
    message = str(caught.value)
    assert message.startswith("gradgradcheck: input 0 (shape (4,))")
    assert "an array its forward kept on self (here: GeluKeepingTanh.t (4,))" in message
    assert "recompute it in backward from self.inputs or self.output" in message


def test_the_library_ops_arrays_are_not_named_as_a_likely_cause():
    """Max keeps its tie shares on self (a constant, rightly): a failure elsewhere does not blame it."""

    def fn(t):
        return SquareWithFrozenSlope.apply(t).max() + t.sum()

    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(fn, [x])
    message = str(caught.value)
    assert "here:" not in message
    assert "a backward that uses an array its forward kept on self. In a recorded backward" in message


class DoubleKeepingOtherThings(Function):
    """y = 2 x (dL/dx = 2 g, right to every order), keeping on self a float array (named, though this
    backward does not use it), an index array and a Python float (neither can carry a derivative)."""

    def forward(self, x):
        self.doubled = 2 * x
        self.order = np.argsort(x)
        self.factor = 2.0
        return self.doubled

    def backward(self, g):
        return g * self.factor


def test_gradgradcheck_names_the_float_arrays_kept_by_every_op_of_the_graph_once_each():
    x = Tensor(np.array([-2.0, -0.5, 0.3, 1.7]), requires_grad=True)
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(lambda t: DoubleKeepingOtherThings.apply(GeluKeepingTanh.apply(t)), [x])
    # both ops' float arrays, sorted, comma-separated; not the index array nor the Python float
    here = "(here: DoubleKeepingOtherThings.doubled (4,), GeluKeepingTanh.t (4,))."
    assert f"an array its forward kept on self {here} In a recorded backward" in str(caught.value)


def test_the_likely_cause_walks_past_leaves_and_names_an_op_reached_twice_once():
    """y * y reaches the op of y along two edges, and t + ... puts the leaf t on the walk's stack."""

    def fn(t):
        y = GeluKeepingTanh.apply(t)
        return y * y + t

    x = Tensor(np.array([-2.0, -0.5, 0.3, 1.7]), requires_grad=True)
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(fn, [x])
    assert "kept on self (here: GeluKeepingTanh.t (4,)). In a recorded backward" in str(caught.value)


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid"])
def test_the_helpers_a_backward_uses_take_arrays_and_tensors_alike(name):
    values = np.array([0.25, 1.0, 3.0])
    helper, method = getattr(ops, name), getattr(Tensor, name)
    on_array = helper(values)
    on_tensor = helper(Tensor(values, requires_grad=True))
    assert isinstance(on_array, np.ndarray) and isinstance(on_tensor, Tensor) and on_tensor.requires_grad
    np.testing.assert_array_equal(on_array, method(Tensor(values)).data)
    np.testing.assert_array_equal(on_tensor.data, on_array)
    reference = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}
    np.testing.assert_allclose(on_array, reference[name](values), rtol=1e-15, atol=2e-16)


def test_grad_of_several_outputs_seeds_each_with_one_and_one_array_is_not_enough():
    x = Tensor(np.array([0.4, -0.9]), requires_grad=True)
    a, b = x.tanh().sum(), (x * x).sum()
    (g,) = grad([a, b], x, retain_graph=True)  # no grad_outputs: 1 for each one-element output
    np.testing.assert_allclose(g, (1 - np.tanh(x.data) ** 2) + 2 * x.data, rtol=1e-14)
    with pytest.raises(ValueError, match="grad: 2 outputs but 1 grad_outputs"):
        grad([a, b], x, grad_outputs=np.array(1.0))  # one array is one output's weight, not both
    with pytest.raises(RuntimeError, match=r"^grad: called on a non-scalar tensor of shape \(2,\)"):
        grad(x * 2.0, x)
