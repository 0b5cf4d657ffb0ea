"""The oracle: the engine and PyTorch run the same generated calls, and must agree.

Hypothesis draws small programs (a few ops over tensors of 0 to 3 dimensions, empty ones
included, float32 or float64, broadcasting, values at kinks and ties, nan and inf), module
attribute assignments, optimizer steps, gradient clipping and recurrent layers given right and
wrong states. Each call runs on both sides, and for each one:

* both succeed: the same shape, dtype and values (nan where torch has nan), and after
  backward the same gradients;
* torch raises: ours must raise too, never give a value;
* ours raises where torch gives a value: only a named error, raised by tinygrad_rnn's own code
  (not a numpy traceback from deep inside), which says why (the README's table of deliberate
  differences lists the choices).

Gradients are compared for programs whose values (inputs and results) hold no nan: through a
nan, where the function is undefined, the gradient is a convention (the README's row "gradient
through a nan value"), and the values, which are compared, are nan either way.

Tolerances (TOLERANCE): the two compute in the same precision with different algorithms
(sigmoid through tanh here, summation order, exp/log to 1 ulp), so float64 values agree to
~1e-15 relative and float32 to ~1e-6; the tolerances leave room for that after a few ops, the
absolute one scaled to the values' magnitude. numpy's RuntimeWarnings on nan and inf are
silenced here: the values are the point.
"""

from __future__ import annotations

import os
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_rnn
from tinygrad_rnn import Tensor, concat, maximum, minimum, nn, no_grad, optim, stack, where
from tinygrad_rnn.nn.utils import clip_grad_norm_

torch = pytest.importorskip("torch")

PACKAGE = os.path.dirname(os.path.abspath(tinygrad_rnn.__file__))
TOLERANCE = {np.float64: (1e-9, 1e-12), np.float32: (2e-4, 2e-6)}  # (rtol, atol per unit of magnitude)
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, np.nan, np.inf, -np.inf, 30.0, -30.0]


# ---- running one call on both sides ----------------------------------------------------------------
@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def attempt(call: Callable[[], Any]) -> Outcome:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return Outcome(value=call())
        except Exception as error:  # noqa: BLE001  (any failure is compared below)
            return Outcome(error=error)


def raised_by_us(error: BaseException) -> bool:
    """A named error: raised by tinygrad_rnn's own code, not by numpy (or Python) deep inside."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(PACKAGE)


def check_agreement(ours: Outcome, theirs: Outcome, what: str) -> bool:
    """True when both gave a value (to be compared by the caller); asserts the error rules."""
    if theirs.error is not None:
        assert ours.error is not None, f"{what}: torch raises ({theirs.error!r}) but ours gave {ours.value!r}"
        return False
    if ours.error is not None:
        assert raised_by_us(ours.error), (
            f"{what}: torch gives a value but ours raised a raw error: "
            + "".join(traceback.format_exception(ours.error))
        )
        return False
    return True


def as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(getattr(value, "_data", value))


def assert_same(ours: Any, theirs: Any, what: str) -> None:
    a, b = as_numpy(ours), as_numpy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} vs torch {b.dtype}"
    rtol, atol = TOLERANCE[a.dtype.type]
    finite = np.isfinite(b)
    scale = max(1.0, float(np.abs(b[finite]).max())) if finite.any() else 1.0
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: nan positions differ")
    np.testing.assert_array_equal(
        a[~finite & ~np.isnan(b)], b[~finite & ~np.isnan(b)], err_msg=f"{what}: inf"
    )
    np.testing.assert_allclose(a[finite], b[finite], rtol=rtol, atol=atol * scale, err_msg=what)


# ---- the ops, each as (name, ours, torch) on the same operands ------------------------------------
def _dims(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


UNARY: dict[str, tuple[Callable, Callable]] = {
    "neg": (lambda x: -x, lambda x: -x),
    "exp": (lambda x: x.exp(), torch.exp),
    "log": (lambda x: x.log(), torch.log),
    "tanh": (lambda x: x.tanh(), torch.tanh),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "relu": (lambda x: x.relu(), torch.relu),
    "abs": (lambda x: abs(x), torch.abs),
    "sqrt": (lambda x: x.sqrt(), lambda x: x**0.5),  # x ** 0.5, as here: see the README's sqrt row
    "square": (lambda x: x**2, lambda x: x**2),
    "cube": (lambda x: x**3.0, lambda x: x**3.0),
    "reciprocal": (lambda x: 1.0 / x, lambda x: 1.0 / x),
    "rsub": (lambda x: 0.5 - x, lambda x: 0.5 - x),
    "scale": (lambda x: x * 2.5, lambda x: x * 2.5),
    "reshape": (lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
    "T": (lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim))))),
    "squeeze": (lambda x: x.squeeze(), lambda x: x.squeeze()),
    "clip": (lambda x: x.clip(-1.0, 2.0), lambda x: x.clamp(-1.0, 2.0)),
    "index0": (lambda x: x[0], lambda x: x[0]),
    "slice": (lambda x: x[1:], lambda x: x[1:]),
    "where_positive": (lambda x: where(x.data > 0, x, 0.0), lambda x: torch.where(x > 0, x, 0.0)),
}
BINARY: dict[str, tuple[Callable, Callable]] = {
    "add": (lambda x, y: x + y, lambda x, y: x + y),
    "sub": (lambda x, y: x - y, lambda x, y: x - y),
    "mul": (lambda x, y: x * y, lambda x, y: x * y),
    "div": (lambda x, y: x / y, lambda x, y: x / y),
    "pow": (lambda x, y: x**y, lambda x, y: x**y),
    "matmul": (lambda x, y: x @ y, lambda x, y: x @ y),
    "maximum": (maximum, torch.maximum),
    "minimum": (minimum, torch.minimum),
    "concat": (lambda x, y: concat([x, y], axis=0), lambda x, y: torch.cat([x, y], dim=0)),
    "stack": (lambda x, y: stack([x, y], axis=0), lambda x, y: torch.stack([x, y], dim=0)),
}


def reduction(name: str, axis: Any, keepdims: bool) -> tuple[Callable, Callable]:
    dims = _dims(axis)
    torch_dims = () if dims is None else dims
    ours = {
        "sum": lambda x: x.sum(axis=axis, keepdims=keepdims),
        "mean": lambda x: x.mean(axis=axis, keepdims=keepdims),
        "max": lambda x: x.max(axis=axis, keepdims=keepdims),
        "min": lambda x: x.min(axis=axis, keepdims=keepdims),
        "softmax": lambda x: x.softmax(axis=axis),
        "log_softmax": lambda x: x.log_softmax(axis=axis),
    }[name]
    theirs = {
        "sum": lambda x: x.sum(dim=dims, keepdim=keepdims),
        "mean": lambda x: x.mean(dim=dims, keepdim=keepdims),
        "max": lambda x: torch.amax(x, dim=torch_dims, keepdim=keepdims),
        "min": lambda x: torch.amin(x, dim=torch_dims, keepdim=keepdims),
        "softmax": lambda x: torch.softmax(x, dim=axis),
        "log_softmax": lambda x: torch.log_softmax(x, dim=axis),
    }[name]
    return ours, theirs


values = st.one_of(st.sampled_from(SPECIAL), st.floats(-3, 3, allow_nan=False, width=32))


@st.composite
def leaf_arrays(draw, dtype: type, shape: tuple[int, ...] | None = None) -> np.ndarray:
    shape = (
        shape if shape is not None else draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    )
    return draw(hnp.arrays(dtype, shape, elements=values))


@st.composite
def ops(draw) -> tuple[str, Callable, Callable, int]:
    """One op: its name, both callables and how many operands it takes."""
    kind = draw(st.sampled_from(["unary", "binary", "reduction"]))
    if kind == "unary":
        name = draw(st.sampled_from(sorted(UNARY)))
        return (name, *UNARY[name], 1)
    if kind == "binary":
        name = draw(st.sampled_from(sorted(BINARY)))
        return (name, *BINARY[name], 2)
    name = draw(st.sampled_from(["sum", "mean", "max", "min", "softmax", "log_softmax"]))
    if name in ("softmax", "log_softmax"):
        axis, keepdims = draw(st.integers(-3, 2)), False
    else:
        axis = draw(
            st.one_of(st.none(), st.integers(-3, 2), st.lists(st.integers(-2, 2), min_size=1, max_size=2))
        )
        keepdims = draw(st.booleans())
    return (f"{name}(axis={axis}, keepdims={keepdims})", *reduction(name, axis, keepdims), 1)


@given(st.data())
def test_generated_op_sequences_agree_with_torch(data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    first = data.draw(leaf_arrays(dtype), label="x")
    # a second leaf that broadcasts against the first, often of the same shape
    shape = data.draw(
        st.one_of(
            st.just(first.shape), hnp.broadcastable_shapes(first.shape, min_dims=0, max_dims=3, min_side=0)
        ),
        label="shape of y",
    )
    second_dtype = data.draw(st.sampled_from([dtype, dtype, np.float32, np.float64]), label="dtype of y")
    second = data.draw(leaf_arrays(second_dtype, shape), label="y")
    needs_grad = data.draw(st.tuples(st.booleans(), st.booleans()), label="requires_grad")
    ours_pool = [Tensor(a, requires_grad=g) for a, g in zip((first, second), needs_grad)]
    torch_pool = [torch.tensor(a, requires_grad=g) for a, g in zip((first, second), needs_grad)]
    steps = data.draw(st.lists(ops(), min_size=1, max_size=4), label="ops")
    for name, ours_op, torch_op, arity in steps:
        picks = [data.draw(st.integers(0, len(ours_pool) - 1), label="operand") for _ in range(arity)]
        # Two tensors of different float dtypes promote as numpy's arrays do (the README's dtype row:
        # torch keeps float32 for float32 (n,) with float64 0-d), so torch gets them in that dtype.
        promoted = TORCH_DTYPE[np.result_type(*(ours_pool[i].dtype for i in picks)).type]
        operands = [torch_pool[i].to(promoted) for i in picks]
        ours = attempt(lambda: ours_op(*(ours_pool[i] for i in picks)))  # noqa: B023
        theirs = attempt(lambda: torch_op(*operands))  # noqa: B023
        what = f"{name} of operands {picks} (shapes {[tuple(torch_pool[i].shape) for i in picks]})"
        if check_agreement(ours, theirs, what):
            assert_same(ours.value, theirs.value, what)
            ours_pool.append(ours.value)
            torch_pool.append(theirs.value)
    out_ours, out_torch = ours_pool[-1], torch_pool[-1]
    assert out_ours.requires_grad == out_torch.requires_grad
    if not out_torch.requires_grad or any(np.isnan(as_numpy(t)).any() for t in torch_pool):
        return  # gradients through a nan value are conventions (see the module docstring)
    weights = data.draw(
        leaf_arrays(dtype, tuple(out_torch.shape)).filter(lambda w: np.isfinite(w).all()), label="w"
    )
    ours_b = attempt(lambda: (out_ours * weights).sum().backward())
    theirs_b = attempt(lambda: (out_torch * torch.tensor(weights)).sum().backward())
    if check_agreement(ours_b, theirs_b, "backward"):
        for k, (ours_leaf, torch_leaf) in enumerate(zip(ours_pool[:2], torch_pool[:2])):
            if torch_leaf.grad is None:
                assert ours_leaf.grad is None, f"leaf {k}: torch has no gradient, ours {ours_leaf.grad}"
            else:
                assert ours_leaf.grad is not None, f"leaf {k}: ours has no gradient"
                assert_same(ours_leaf.grad, torch_leaf.grad, f"gradient of leaf {k}")


# ---- modules: attribute assignment ------------------------------------------------------------------
ASSIGNED = {
    "Parameter": (
        lambda: nn.Parameter(np.eye(2)),
        lambda: torch.nn.Parameter(torch.eye(2, dtype=torch.float64)),
    ),
    "tensor": (lambda: Tensor(np.eye(2)), lambda: torch.eye(2, dtype=torch.float64)),
    "array": (lambda: np.eye(2), lambda: np.eye(2)),
    "None": (lambda: None, lambda: None),
    "number": (lambda: 1.0, lambda: 1.0),
    "module": (lambda: nn.Linear(2, 2), lambda: torch.nn.Linear(2, 2)),
}


@given(st.sampled_from(["weight", "bias", "new"]), st.sampled_from(sorted(ASSIGNED)))
def test_module_attribute_assignment_agrees_with_torch(attribute, kind):
    ours_module, torch_module = nn.Linear(2, 2, rng=0), torch.nn.Linear(2, 2).double()
    make_ours, make_torch = ASSIGNED[kind]
    ours = attempt(lambda: setattr(ours_module, attribute, make_ours()))
    theirs = attempt(lambda: setattr(torch_module, attribute, make_torch()))
    if check_agreement(ours, theirs, f"linear.{attribute} = a {kind}"):
        assert [n for n, _ in ours_module.named_parameters()] == [
            n for n, _ in torch_module.named_parameters()
        ]
        assert list(ours_module.state_dict()) == list(torch_module.state_dict())


@given(
    st.sampled_from(["as saved", "missing bias", "extra key", "wrong shape", "float32", "integers"]),
    st.booleans(),
)
def test_load_state_dict_agrees_with_torch(change, strict):
    source = torch.nn.Linear(3, 2).double()
    state = {k: v.detach().numpy().copy() for k, v in source.state_dict().items()}
    if change == "missing bias":
        del state["bias"]
    elif change == "extra key":
        state["scale"] = np.ones(2)
    elif change == "wrong shape":
        state["weight"] = np.ones((3, 2))
    elif change in ("float32", "integers"):
        state = {k: v.astype(np.float32 if change == "float32" else np.int64) for k, v in state.items()}
    ours_module, torch_module = nn.Linear(3, 2, rng=0), torch.nn.Linear(3, 2).double()
    ours_module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})
    ours = attempt(lambda: ours_module.load_state_dict(state, strict=strict))
    theirs = attempt(
        lambda: torch_module.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=strict)
    )
    if check_agreement(ours, theirs, f"load_state_dict ({change}, strict={strict})"):
        assert list(ours.value.missing_keys) == list(theirs.value.missing_keys)
        assert list(ours.value.unexpected_keys) == list(theirs.value.unexpected_keys)
        for (name, p), (_, q) in zip(ours_module.named_parameters(), torch_module.named_parameters()):
            assert_same(p.data, q, f"parameter {name} after loading")


# ---- optimizers and clipping --------------------------------------------------------------------------
hyper = st.one_of(st.sampled_from([0.0, 0.1, 0.9, 1.0, -0.1, np.inf]), st.floats(0, 1))


@given(
    st.sampled_from(["SGD", "Adam", "Adagrad"]),
    st.fixed_dictionaries({"lr": hyper, "weight_decay": hyper, "momentum": hyper}),
    st.lists(
        hnp.arrays(np.float64, (3,), elements=st.one_of(st.floats(-5, 5), st.sampled_from([0.0, 1e8]))),
        min_size=1,
        max_size=3,
    ),
)
def test_optimizer_steps_agree_with_torch(name, options, gradients):
    kwargs = dict(lr=options["lr"], weight_decay=options["weight_decay"])
    if name == "SGD":
        kwargs["momentum"] = options["momentum"]
    start = np.array([1.0, -2.0, 0.5])
    ours_p, torch_p = nn.Parameter(start), torch.nn.Parameter(torch.tensor(start))
    ours = attempt(lambda: getattr(optim, name)([ours_p], **kwargs))
    theirs = attempt(lambda: getattr(torch.optim, name)([torch_p], **kwargs))
    if not check_agreement(ours, theirs, f"{name}({kwargs})"):
        return
    for g in gradients:
        ours_p.grad, torch_p.grad = g.copy(), torch.tensor(g)
        ours.value.step()
        theirs.value.step()
        assert_same(ours_p.data, torch_p, f"{name}({kwargs}) after a step with gradient {g}")


@given(
    st.lists(
        hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), elements=values),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([0.0, 0.5, 1.0, 100.0]),
    st.sampled_from([1.0, 2.0, 3.0, np.inf]),
    st.booleans(),
)
def test_clip_grad_norm_agrees_with_torch(gradients, max_norm, norm_type, error_if_nonfinite):
    ours_ps = [nn.Parameter(np.zeros(g.shape)) for g in gradients]
    torch_ps = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in gradients]
    for p, q, g in zip(ours_ps, torch_ps, gradients):
        p.grad, q.grad = g.copy(), torch.tensor(g)
    ours = attempt(lambda: clip_grad_norm_(ours_ps, max_norm, norm_type, error_if_nonfinite))
    theirs = attempt(
        lambda: torch.nn.utils.clip_grad_norm_(torch_ps, max_norm, norm_type, error_if_nonfinite)
    )
    if check_agreement(ours, theirs, "clip_grad_norm_"):
        assert_same(np.float64(ours.value), theirs.value, "the total norm")
        for k, (p, q) in enumerate(zip(ours_ps, torch_ps)):
            assert_same(p.grad, q.grad, f"clipped gradient {k}")


# ---- recurrent layers given right and wrong states ----------------------------------------------------
@given(
    st.sampled_from(["RNN", "GRU", "LSTM"]),
    st.integers(1, 2),  # num_layers
    st.booleans(),  # bidirectional
    st.booleans(),  # batch_first
    st.booleans(),  # batched input
    st.data(),
)
def test_recurrent_layers_with_right_and_wrong_states_agree_with_torch(
    name, layers, bidirectional, batch_first, batched, data
):
    I, H, T, B = 2, 3, 4, 2
    ours_layer = getattr(nn, name)(
        I, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first
    )
    torch_layer = getattr(torch.nn, name)(
        I, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first
    ).double()
    ours_layer.load_state_dict({k: v.detach().numpy() for k, v in torch_layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(
        ((B, T, I) if batch_first else (T, B, I)) if batched else (T, I)
    )
    count = layers * (2 if bidirectional else 1)
    right = (count, B, H) if batched else (count, H)
    state_shape = data.draw(
        st.sampled_from([right, (count + 1,) + right[1:], right[:-1] + (H + 1,), right[1:]])
    )
    h0 = np.random.default_rng(1).standard_normal(state_shape)
    form = data.draw(
        st.sampled_from(["none", "h", "pair", "half", "triple"] if name == "LSTM" else ["none", "h"])
    )
    states = {
        "none": (None, None),
        "h": (h0, torch.tensor(h0)),
        "pair": ((h0, h0), (torch.tensor(h0), torch.tensor(h0))),
        "half": ((h0, None), (torch.tensor(h0), None)),
        "triple": ((h0, h0, h0), (torch.tensor(h0),) * 3),
    }
    ours_state, torch_state = states[form]
    ours = attempt(lambda: ours_layer(x, ours_state))
    theirs = attempt(lambda: torch_layer(torch.tensor(x), torch_state))
    if check_agreement(ours, theirs, f"{name} with state {form} of shape {state_shape}"):
        assert_same(ours.value[0], theirs.value[0], "output")
        final_ours, final_torch = ours.value[1], theirs.value[1]
        if name == "LSTM":
            assume(isinstance(final_torch, tuple))
            for a, b in zip(final_ours, final_torch):
                assert_same(a, b, "final state")
        else:
            assert_same(final_ours, final_torch, "final state")


def test_no_grad_and_the_oracles_error_rule():
    """The oracle's own rule: an error raised inside tinygrad_rnn counts as named, numpy's does not."""
    with no_grad():
        ours = attempt(lambda: Tensor(np.ones(2)) @ Tensor(np.ones(3)))
    assert ours.error is not None and raised_by_us(ours.error)
    raw = attempt(lambda: np.ones(2) @ np.ones(3))
    assert raw.error is not None and not raised_by_us(raw.error)
