"""The tour's exercises (docs/TOUR.md, the end): their reference solutions in docs/exercises/ work.

Exercise 1 adds an op, softplus, as a Function; exercise 2 writes an LSTM step from the
primitive ops; exercise 3 writes a compiler pass. Each is checked here the way the tour
asks a learner to check it.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Function, Tensor, grad, gradcheck, gradgradcheck, nn, viz

EXERCISES = Path(__file__).resolve().parent.parent / "docs" / "exercises"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"tour_exercise_{name}", EXERCISES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


softplus_solution = _load("softplus")
lstm_solution = _load("lstm_step")


def _array(rng, shape, scale=1.0):
    return rng.standard_normal(shape) * scale


# ---- exercise 1: softplus ------------------------------------------------------------------------
def test_softplus_is_a_function_whose_docstring_states_its_derivative():
    assert issubclass(softplus_solution.Softplus, Function)
    math = viz.op_math(softplus_solution.Softplus)
    assert math.forward == "y = log(1 + exp(x))"
    assert math.derivative.startswith("dL/dx = g * sigmoid(x)")


@given(
    st.integers(0, 2**32 - 1), st.sampled_from([(), (1,), (3,), (2, 3)]), st.sampled_from([0.5, 3.0, 30.0])
)
def test_softplus_values_and_gradients(seed, shape, scale):
    rng = np.random.default_rng(seed)
    x = Tensor(_array(rng, shape, scale), requires_grad=True)
    y = softplus_solution.softplus(x)
    np.testing.assert_allclose(y.data, np.logaddexp(0, x.data), rtol=1e-15, atol=1e-15)
    # central differences (float64, eps 1e-6) of the first and, through create_graph, the second derivative
    assert gradcheck(softplus_solution.softplus, [x], atol=1e-7, rtol=1e-6)
    assert gradgradcheck(softplus_solution.softplus, [x], atol=1e-6, rtol=1e-5)


def test_softplus_derivatives_are_sigmoid_and_its_slope_even_far_out():
    x_values = np.array([-800.0, -40.0, -3.0, -0.5, 0.0, 0.5, 3.0, 40.0, 800.0])
    x = Tensor(x_values, requires_grad=True)
    y = softplus_solution.softplus(x)
    np.testing.assert_allclose(y.data, np.logaddexp(0, x_values), rtol=1e-15, atol=0)
    (first,) = grad(y.sum(), [x], create_graph=True)
    sigmoid = np.exp(-np.logaddexp(0, -x_values))  # 1 / (1 + e^-x), written without overflow
    np.testing.assert_allclose(first.data, sigmoid, rtol=1e-14, atol=0)
    (second,) = grad(first.sum(), [x])
    np.testing.assert_allclose(second, sigmoid * (1 - sigmoid), rtol=1e-12, atol=1e-300)


# ---- exercise 2: an LSTM step from the primitive ops ---------------------------------------------
@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_lstm_step_equals_lstm_cell_in_values_and_gradients(
    batch, input_size, hidden_size, given_state, seed
):
    rng = np.random.default_rng(seed)
    cell = nn.LSTMCell(input_size, hidden_size, rng=rng)
    x = Tensor(_array(rng, (batch, input_size)), requires_grad=True)
    if given_state:
        h = Tensor(_array(rng, (batch, hidden_size)), requires_grad=True)
        c = Tensor(_array(rng, (batch, hidden_size)), requires_grad=True)
    else:  # nn.LSTMCell's default state: zeros
        h = Tensor(np.zeros((batch, hidden_size)), requires_grad=True)
        c = Tensor(np.zeros((batch, hidden_size)), requires_grad=True)
    # weights for the two outputs, standing in for what later steps would send back
    u, w = _array(rng, (batch, hidden_size)), _array(rng, (batch, hidden_size))
    params = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]

    def loss_and_grads(step_outputs, inputs):
        h_next, c_next = step_outputs
        loss = (h_next * u).sum() + (c_next * w).sum()
        return h_next.data, c_next.data, grad(loss, inputs)

    theirs = loss_and_grads(cell(x, (h, c) if given_state else None), [x, *params])
    mine = loss_and_grads(lstm_solution.lstm_step(x, h, c, *params), [x, *params])
    np.testing.assert_allclose(mine[0], theirs[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(mine[1], theirs[1], rtol=0, atol=1e-12)
    for name, a, b in zip(["x", "weight_ih", "weight_hh", "bias_ih", "bias_hh"], mine[2], theirs[2]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=f"dL/d{name}")
    if given_state:  # the gradient carried back in time, to the previous step's h and c
        (_, _, (gh_mine, gc_mine)) = loss_and_grads(lstm_solution.lstm_step(x, h, c, *params), [h, c])
        (_, _, (gh_cell, gc_cell)) = loss_and_grads(cell(x, (h, c)), [h, c])
        np.testing.assert_allclose(gh_mine, gh_cell, rtol=0, atol=1e-12)
        np.testing.assert_allclose(gc_mine, gc_cell, rtol=0, atol=1e-12)


def test_lstm_step_passes_gradcheck():
    rng = np.random.default_rng(0)
    cell = nn.LSTMCell(2, 3, rng=rng)
    x, h, c = (Tensor(_array(rng, (2, n)), requires_grad=True) for n in (2, 3, 3))
    params = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]

    def both_outputs(*inputs):
        h_next, c_next = lstm_solution.lstm_step(*inputs)
        return h_next * 0.7 + c_next * 1.3  # both outputs reach the checked sum, weighted differently

    assert gradcheck(both_outputs, [x, h, c, *params], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("name", ["softplus", "lstm_step"])
def test_exercise_scripts_run(name, capsys):
    """`python docs/exercises/NAME.py` prints its checks (run here as __main__)."""
    import runpy

    runpy.run_path(str(EXERCISES / f"{name}.py"), run_name="__main__")
    out = capsys.readouterr().out
    if name == "softplus":
        assert out.count("True") == 3
    else:
        lines = out.splitlines()
        assert len(lines) == 2 + 7  # h' and c', then the gradients of x, h, c and the four parameters
        assert [line.split(":")[0] for line in lines[2:]] == [
            f"dL/d{name}" for name in ("x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]
        for line in lines:
            assert float(line.rsplit(" ", 1)[1]) < 1e-12


# ---- exercise 3: a compiler pass --------------------------------------------------------------
fold_solution = _load("fold_times_one")


def test_fold_times_one_removes_multiplications_by_one_and_keeps_the_numbers(monkeypatch):
    from tinygrad_rnn import jit, ops
    from tinygrad_rnn.compiler import lower
    from tinygrad_rnn.compiler import passes as compiler_passes

    def scaled(x):
        return (x * 1.0).tanh() * 1 + 1 * x

    x = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True)
    before, _ = lower(scaled, x, passes=[compiler_passes.dead_code])
    after, _ = lower(scaled, x, passes=[fold_solution.fold_times_one, compiler_passes.dead_code])
    forward_products = [n for n in after.nodes if n.kind == "op" and n.op is ops.Mul and n.phase == "forward"]
    assert forward_products == [] and after.count() < before.count()
    # three products by 1 in the forward pass, and in each one's backward the gradient times that 1
    assert "fold_times_one: 6 multiplications by 1 folded" in after.log
    monkeypatch.setattr(compiler_passes, "PASSES", [fold_solution.fold_times_one, *compiler_passes.PASSES])
    (gx,) = grad(scaled(x).sum(), x)
    jit(scaled)(x).sum().backward()
    np.testing.assert_allclose(jit(scaled)(x).data, scaled(x).data, rtol=1e-15)
    np.testing.assert_allclose(x.grad, gx, rtol=1e-15)


def test_fold_times_one_leaves_a_product_that_changes_dtype_or_shape():
    from tinygrad_rnn import ops
    from tinygrad_rnn.compiler import lower

    x32 = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    fold = [fold_solution.fold_times_one]
    upcast, _ = lower(lambda x: x * Tensor(np.float64(1.0)), x32, passes=fold)
    widened, _ = lower(lambda x: x * np.ones((2, 3)), x32.astype(np.float64), passes=fold)
    for program in (upcast, widened):  # the forward product stays (its backward's g * 1 may fold)
        assert any(n.kind == "op" and n.op is ops.Mul and n.phase == "forward" for n in program.nodes)
