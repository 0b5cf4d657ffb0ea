"""No silent wrong results: the engine refuses what would give a wrong number, and says why.

Writes to arrays that an op saved for backward (bookkeeping.WatchedArray and the version
counters), Tensors used as masks, integer dtypes, float32 gradchecks, empty reductions and
batches, truth values of Tensors, numpy functions on Tensors, the layers' argument order and
flags; and the regressions that deliberate bugs (mutants) once slipped past: gradients that
must accumulate across backward() calls, float32 gradients, the state left behind by an
AnomalyError, gradcheck's two-sided comparison and ReLU's kink.

Gradient checks use float64 central differences (check_gradients in tests/strategies.py:
EPS = 1e-6, ATOL = 1e-7, RTOL = 1e-6). Results that must be exactly equal (a gradient
accumulated twice is 2x the gradient of one call: doubling is exact in floating point) are
compared with assert_array_equal.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import BackwardSpy, arrays, assert_float32_agrees, check_gradients, shapes

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import (
    AnomalyError,
    Function,
    GradcheckError,
    Tensor,
    detect_anomaly,
    gradcheck,
    gradgradcheck,
    nn,
    optim,
)
from tinygrad_rnn.bookkeeping import WatchedArray

# ---- writes to saved arrays ------------------------------------------------------------------------
# Each writes to x's memory in one of the ways bookkeeping.py's docstring lists as tracked.


def _iadd(x: Tensor) -> None:
    x.data += 1.0


def _iadd_through_a_name(x: Tensor) -> None:
    values = x.data
    values *= 3.0


def _replace(x: Tensor) -> None:
    x.data = np.array([10.0, 10.0])


def _sgd_step(x: Tensor) -> None:
    x.grad = np.ones(2)
    optim.SGD([x], lr=0.1).step()
    x.grad = None  # (so that the test can see backward store nothing)


def _through_reshape(x: Tensor) -> None:
    x.reshape(2, 1).data[:] = 10.0


def _through_transpose(x: Tensor) -> None:
    x.T.data[...] = 10.0


def _through_a_slice(x: Tensor) -> None:
    x[0:1].data[:] = 10.0


def _through_detach(x: Tensor) -> None:
    x.detach().data[:] = 10.0


def _through_a_view_of_data(x: Tensor) -> None:
    view = x.data[::-1]
    view[0] = 10.0


TRACKED_WRITES = {
    "setitem": lambda x: x.data.__setitem__(slice(None), 10.0),
    "+=": _iadd,
    "*= through a second name": _iadd_through_a_name,
    "ufunc out=": lambda x: np.multiply(x.data, 2.0, out=x.data),
    "ufunc.at": lambda x: np.add.at(x.data, [0, 0], 1.0),
    "fill": lambda x: x.data.fill(10.0),
    "sort": lambda x: x.data.sort(),
    "put": lambda x: x.data.put(0, 10.0),
    "np.copyto": lambda x: np.copyto(x.data, [10.0, 20.0]),
    "np.put": lambda x: np.put(x.data, [1], [10.0]),
    "np.place": lambda x: np.place(x.data, x.data > 0, [10.0]),
    "np.putmask": lambda x: np.putmask(x.data, x.data > 0, 10.0),
    # the same functions with the target passed by keyword
    "np.copyto(dst=...)": lambda x: np.copyto(dst=x.data, src=[10.0, 20.0]),
    "np.place(arr=...)": lambda x: np.place(arr=x.data, mask=np.array([True, False]), vals=[10.0]),
    "np.put(a=...)": lambda x: np.put(a=x.data, ind=[0], v=[10.0]),
    # numpy functions (not ufuncs) that write their result into out=
    "np.dot out=": lambda x: np.dot(np.array([[0.0, 1.0], [1.0, 0.0]]), x.data.copy(), out=x.data),
    "np.take out=": lambda x: np.take(x.data.copy(), [1, 0], out=x.data),
    "np.matmul out=": lambda x: np.matmul(np.array([[0.0, 1.0], [1.0, 0.0]]), x.data.copy(), out=x.data),
    "partition": lambda x: x.data.partition(0),
    "t.data = new": _replace,
    "optim.SGD step": _sgd_step,
    "through reshape": _through_reshape,
    "through transpose": _through_transpose,
    "through a slice": _through_a_slice,
    "through detach()": _through_detach,
    "through a view of .data": _through_a_view_of_data,
    "through np.reshape(x.data)": lambda x: np.reshape(x.data, (2, 1)).__setitem__(0, 10.0),
    "through Tensor(x)": lambda x: Tensor(x).data.__setitem__(0, 10.0),
    "through Tensor(x.data)": lambda x: Tensor(x.data).data.__setitem__(0, 10.0),
    "through Tensor(x[::-1])": lambda x: Tensor(x[::-1]).data.__setitem__(0, 10.0),
}


@pytest.mark.parametrize("name", list(TRACKED_WRITES))
def test_a_write_to_a_saved_input_makes_backward_refuse_and_name_the_op_and_tensor(name):
    x = Tensor(np.array([2.0, -1.0]), requires_grad=True)
    y = (x * x).sum()  # mul saves x: dy/dx = 2x would be computed from the new values
    TRACKED_WRITES[name](x)
    with pytest.raises(
        RuntimeError, match=r"backward: input 0 of mul \(shape \(2,\)\) was written to in place"
    ):
        y.backward()
    assert x.grad is None  # nothing half-computed was stored


@pytest.mark.parametrize("name", ["setitem", "+=", "t.data = new", "through detach()"])
def test_a_write_to_a_saved_output_makes_backward_refuse(name):
    """tanh saves its output y (dL/dx = g (1 - y^2)); a write to y would change the gradient."""
    x = Tensor(np.array([0.5, -0.5]), requires_grad=True)
    y = x.tanh()
    loss = y.sum()
    TRACKED_WRITES[name](y)
    with pytest.raises(RuntimeError, match=r"the output of tanh \(shape \(2,\)\) was written to in place"):
        loss.backward()


def test_a_write_to_the_base_of_a_saved_view_is_caught():
    """y = x.reshape(...) shares x's memory; mul saved y, so a write to x changes what it saved."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.reshape(2, 1)
    loss = (y * y).sum()
    x.data[1] = 10.0
    with pytest.raises(RuntimeError, match=r"input 0 of mul \(shape \(2, 1\)\) was written to in place"):
        loss.backward()


def test_a_write_between_two_backward_calls_of_a_retained_graph_is_caught():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    x.data[:] = 10.0
    with pytest.raises(RuntimeError, match="input 0 of mul .* written to in place"):
        loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # unchanged by the refused call


def test_an_optimizer_step_between_two_losses_is_caught_at_the_second_backward():
    w = nn.Parameter(np.array([1.0, 2.0]))
    first, second = (w * w).sum(), (w * 3).exp().sum()
    first.backward()
    optim.SGD([w], lr=0.5).step()
    with pytest.raises(RuntimeError, match="backward: input 0 of mul .* written to in place"):
        second.backward()


def test_writing_to_an_input_that_no_op_saved_is_harmless():
    """add and sum never read their inputs' values in backward, so a write cannot change a gradient."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = (x + c).sum()
    x.data[:] = 10.0
    c.data += 1.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    np.testing.assert_array_equal(c.grad, [1.0, 1.0])


def test_writing_after_backward_then_a_new_forward_is_harmless():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    x.data[:] = [10.0, -1.0]  # e.g. an optimizer step after backward
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [20.0, -2.0])


def test_tensors_made_from_copies_do_not_share_the_counter():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    for other in (Tensor(x.data.copy()), Tensor(x, dtype=np.float32), nn.Parameter(x)):
        other.data[:] = 10.0  # a copy of the values: x is unchanged
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_reading_and_writing_to_copies_are_harmless():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    copy = x.data.copy()
    copy[:] = 100.0
    np.exp(x.data)
    _ = x.data[0] + x.data.sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_data_behaves_like_an_ndarray():
    x = Tensor(np.array([[1.0, -2.0], [3.0, 4.0]]), requires_grad=True)
    assert x.data is x.data  # one view, handed out every time
    assert isinstance(x.data, np.ndarray)
    np.testing.assert_array_equal(x.data, [[1.0, -2.0], [3.0, 4.0]])
    # numpy functions and operators give plain ndarrays (no counter travels with new values).
    d = x.data
    for result in (
        np.exp(d),
        d + 1,
        d * d,
        np.abs(d),
        np.copy(d),
        d @ d,
        np.where(d > 0, d, 0),
        np.sort(d),
        d.sum(axis=0),
    ):
        assert type(result) is np.ndarray
    assert type(np.concatenate([d, d])) is np.ndarray and type(np.asarray(x)) is np.ndarray
    assert type(Tensor(d)._data) is np.ndarray  # a new Tensor made from it holds a plain array
    assert not isinstance(d.sum(), WatchedArray) and float(d.sum()) == 6.0
    assert d.shape == (2, 2) and d.dtype == np.float64
    # New arrays made by methods (copy, astype, flatten) are not tied to x: writing to them is no
    # write to x (they may still show the WatchedArray type, without a counter).
    stamp = x._written[0]
    for fresh in (d.copy(), d.astype(np.float32), d.flatten()):
        assert isinstance(fresh, np.ndarray) and not np.shares_memory(fresh, d)
        fresh[...] = 0
    assert x._written[0] == stamp
    np.testing.assert_array_equal(x.data, [[1.0, -2.0], [3.0, 4.0]])


def test_the_in_place_methods_of_data_pass_every_argument_on_to_numpy():
    """fill, sort, partition and put on t.data write the values numpy's own methods would
    (worked out by hand below), whether their arguments come by position or by keyword."""
    rows = [[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]
    columns_sorted = [[0.0, 1.0, 2.0], [3.0, 5.0, 4.0]]
    cases = [
        (rows, lambda d: d.fill(7.0), np.full((2, 3), 7.0)),
        (rows, lambda d: d.sort(0), columns_sorted),  # axis 0 by position
        (rows, lambda d: d.sort(axis=0), columns_sorted),
        ([3.0, 1.0, 2.0], lambda d: d.partition(kth=1), [1.0, 2.0, 3.0]),  # 3 entries: kth=1 sorts
        (rows, lambda d: d.put([0, 10], [9.0, 8.0], mode="clip"), [[9.0, 1.0, 2.0], [0.0, 5.0, 8.0]]),
    ]
    for values, write, expected in cases:
        x = Tensor(np.array(values))
        write(x.data)
        np.testing.assert_array_equal(x.data, expected)


def test_a_ufunc_with_two_outputs_into_data_returns_both_as_numpy_does():
    """np.divmod(a, b, out=(q, r)) returns the tuple (q, r), as for plain arrays, and writes
    floor(a / b) and a - b * floor(a / b) into the two tensors' data."""
    quotient, remainder = Tensor(np.zeros(2)), Tensor(np.zeros(2))
    result = np.divmod(np.array([7.0, -7.0]), 3.0, out=(quotient.data, remainder.data))
    assert isinstance(result, tuple) and len(result) == 2
    np.testing.assert_array_equal(result[0], [2.0, -3.0])
    np.testing.assert_array_equal(result[1], [1.0, 2.0])
    np.testing.assert_array_equal(quotient.data, [2.0, -3.0])
    np.testing.assert_array_equal(remainder.data, [1.0, 2.0])


def test_data_prints_and_pickles_as_the_plain_array_it_shows():
    """repr and pickle show the values as numpy would for a plain array: no WatchedArray, no counter."""
    x = Tensor(np.array([1.0, -2.0]))
    assert repr(x.data) == "array([ 1., -2.])"
    restored = pickle.loads(pickle.dumps(x.data))
    assert type(restored) is np.ndarray and not np.shares_memory(restored, x._data)
    np.testing.assert_array_equal(restored, [1.0, -2.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.Adagrad(p, lr=0.1),
        lambda p: optim.Adam(p),
    ],
    ids=["SGD", "Adagrad", "Adam"],
)
def test_an_optimizer_updates_the_same_storage_in_place(make):
    w = nn.Parameter(np.array([1.0, -2.0, 3.0]))
    held, array = w.data, w._data  # what a user (or a model) may hold on to
    before = held.copy()
    w.grad = np.array([0.5, 0.5, -0.5])
    make([w]).step()
    assert w.data is held and w._data is array  # same objects: nothing was replaced
    assert np.shares_memory(held, w.data)
    assert not np.array_equal(held, before)  # and the holder sees the new values


# ---- a Tensor is not a mask -------------------------------------------------------------------------
def test_a_boolean_tensor_as_an_index_is_refused_with_the_reason():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    mask = Tensor(np.array([True, False, True]))
    assert mask.dtype == np.float64  # the Tensor holds 1., 0., 1.: it cannot be a mask
    with pytest.raises(
        TypeError, match=r"index: a Tensor cannot be an index.*np\.array\(\[True, False, True\]\)"
    ):
        x[mask]
    with pytest.raises(TypeError, match="a Tensor cannot be an index"):
        x[Tensor([0.0, 2.0])]
    with pytest.raises(TypeError, match="a Tensor cannot be an index"):
        Tensor(np.ones((2, 3)))[:, mask]


@st.composite
def masked(draw: st.DrawFn):
    """A shape, a boolean mask over its leading axes (a numpy array or a nested list) and how."""
    shape = draw(shapes(min_dims=1, max_dims=3))
    mask_dims = draw(st.integers(1, len(shape)))
    seed = draw(st.integers(0, 2**32 - 1))
    mask = np.random.default_rng(seed).random(shape[:mask_dims]) < 0.5
    as_list = draw(st.booleans())
    return shape, (mask.tolist() if as_list else mask), mask


@given(data=st.data(), case=masked())
def test_numpy_and_list_boolean_masks_select_like_numpy_with_exact_gradients(data, case):
    shape, index, mask = case
    x = data.draw(arrays(shape), label="x")
    out = check_gradients(lambda t: t[index], [x])
    np.testing.assert_array_equal(out.data, x[mask])


def test_a_mask_on_a_later_axis_and_a_mask_that_selects_nothing():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x[:, [True, False, True]]
    np.testing.assert_array_equal(y.data, [[0.0, 2.0], [3.0, 5.0]])
    (y * np.array([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, 2.0], [3.0, 0.0, 4.0]])
    x.grad = None
    empty = x[np.zeros(2, dtype=bool)]
    assert empty.shape == (0, 3)
    (empty.sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def test_an_empty_list_index_selects_nothing_as_in_numpy():
    """np.asarray([]) is float64, but numpy reads an empty list index as no positions."""
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    assert x[[]].shape == np.arange(6.0).reshape(3, 2)[[]].shape == (0, 2)
    assert x[:, []].shape == (3, 0)
    (x[[]].sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad, np.ones((3, 2)))
    with pytest.raises(
        IndexError, match="index: an index array must hold integers or booleans, got dtype float64"
    ):
        x[[0.0, 1.0]]


# ---- Tensors hold floating point numbers --------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, "int8", np.uint8])
def test_an_integer_or_bool_dtype_is_a_clear_type_error(dtype):
    with pytest.raises(TypeError, match=r"Tensor: dtype must be floating point \(np.float32 or np.float64\)"):
        Tensor([1.5], dtype=dtype)


def test_integer_data_without_a_dtype_becomes_float64():
    t = Tensor(np.array([1, 2], dtype=np.int32))
    assert t.dtype == np.float64 and t.data.tolist() == [1.0, 2.0]


# ---- gradcheck needs float64 ---------------------------------------------------------------------------
@pytest.mark.parametrize("check", [gradcheck, gradgradcheck], ids=["gradcheck", "gradgradcheck"])
def test_gradcheck_refuses_float32_and_says_why(check):
    good = Tensor(np.ones(2), requires_grad=True)
    x32 = Tensor(np.ones(2), dtype=np.float32, requires_grad=True)
    with pytest.raises(ValueError) as info:
        check(lambda a, b: a * b.astype(np.float64), [good, x32])
    message = str(info.value)
    name = check.__name__
    assert message.startswith(f"{name}: input 1 is float32; central differences need float64")
    assert "cancels" in message and "digits" in message  # the reason: cancellation in the difference
    assert "dtype=np.float64" in message  # and the fix


def test_gradcheck_ignores_the_dtype_of_inputs_it_does_not_check():
    x = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    constant32 = Tensor(np.array([1.0, 2.0]), dtype=np.float32)  # requires no grad: not checked
    assert gradcheck(lambda a, c: a * c.astype(np.float64), [x, constant32])


# ---- clear errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "max", "min", "argmax"])
def test_reducing_over_a_zero_size_axis_names_the_op_and_shape(name):
    x = Tensor(np.zeros((2, 0, 3)), requires_grad=True)
    with pytest.raises(
        ValueError, match=rf"{name}: a tensor of shape \(2, 0, 3\) has no entries along axis 1"
    ):
        getattr(x, name)(axis=1)
    if name in ("max", "min", "argmax"):
        with pytest.raises(ValueError, match=rf"{name}: .* has no entries along all axes"):
            getattr(x, name)()


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "max", "min", "argmax"])
def test_reducing_a_tensor_with_an_empty_other_axis_still_works(name):
    """Only the reduced axis must be non-empty: (0, 3) reduced over axis 1 is an empty result."""
    result = getattr(Tensor(np.zeros((0, 3))), name)(axis=1)
    assert np.asarray(getattr(result, "data", result)).shape == ((0, 3) if "softmax" in name else (0,))


def test_the_truth_value_of_a_tensor_is_an_error_that_suggests_item():
    loss = Tensor(np.array(0.5), requires_grad=True) * 2
    with pytest.raises(
        TypeError, match=r"truth value of a Tensor \(shape \(\)\) is ambiguous.*loss\.item\(\)"
    ):
        bool(loss)
    with pytest.raises(TypeError, match="truth value of a Tensor"):
        if loss:
            pass
    with pytest.raises(TypeError, match=r"truth value of a Tensor \(shape \(3,\)\)"):
        bool(Tensor(np.ones(3)))
    assert loss.item() > 0.9  # the suggested way works


@pytest.mark.parametrize(
    "call,advice",
    [
        (lambda t: np.sum(t), r"use tensor\.sum\(\.\.\.\)"),
        (lambda t: np.mean(t), r"use tensor\.mean\(\.\.\.\)"),
        (lambda t: np.max(t), r"use tensor\.max\(\.\.\.\)"),
        (lambda t: np.reshape(t, (3,)), r"use tensor\.reshape\(\.\.\.\)"),
        (lambda t: np.concatenate([t, t]), "use Tensor ops"),
    ],
)
def test_a_numpy_function_on_a_tensor_says_what_to_use(call, advice):
    t = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match=rf"np\.\w+ was given a Tensor: .*no gradient would flow.*{advice}"):
        call(t)


# A batch of zero examples: PyTorch (2.13, checked) gives empty outputs for cells and layers, and
# the sum of a loss over no examples has zero gradient in every parameter. So here too.
CELLS = {
    "RNNCell": lambda fused: nn.RNNCell(2, 3, fused=fused),
    "GRUCell": lambda fused: nn.GRUCell(2, 3, fused=fused),
    "LSTMCell": lambda fused: nn.LSTMCell(2, 3, fused=fused),
    "LeakyRNNCell": lambda fused: nn.LeakyRNNCell(2, 3, fused=fused),
}
LAYERS = {
    "RNN": lambda fused, **o: nn.RNN(2, 3, num_layers=2, bidirectional=True, fused=fused, **o),
    "GRU": lambda fused, **o: nn.GRU(2, 3, num_layers=2, bidirectional=True, fused=fused, **o),
    "LSTM": lambda fused, **o: nn.LSTM(2, 3, num_layers=2, bidirectional=True, fused=fused, **o),
    "SkipRNN": lambda fused, **o: nn.SkipRNN(2, 3, delay=2, fused=fused, **o),
}


def assert_no_gradient_from_no_examples(module, x):
    assert x.grad.shape == x.shape
    for name, parameter in module.named_parameters():
        np.testing.assert_array_equal(parameter.grad, np.zeros(parameter.shape), err_msg=name)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("name", list(CELLS))
def test_a_batch_of_zero_examples_gives_empty_states_in_every_cell(name, fused):
    cell = CELLS[name](fused)
    x = Tensor(np.zeros((0, 2)), requires_grad=True)
    given = np.zeros((0, 3))
    out = cell(x, (given, given)) if name == "LSTMCell" else cell(x, given)
    states = out if name == "LSTMCell" else (out,)
    assert [s.shape for s in states] == [(0, 3)] * len(states)
    sum(s.sum() for s in states).backward()
    assert_no_gradient_from_no_examples(cell, x)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("name", list(LAYERS))
def test_a_batch_of_zero_examples_gives_empty_outputs_in_every_layer(name, batch_first, fused):
    layer = LAYERS[name](fused, batch_first=batch_first)
    x = Tensor(np.zeros((0, 4, 2) if batch_first else (4, 0, 2)), requires_grad=True)
    output, final = layer(x)
    features = 6 if name != "SkipRNN" else 3  # two directions of 3, or one
    assert output.shape == ((0, 4, features) if batch_first else (4, 0, features))
    finals = final if name == "LSTM" else (final,)
    count = 4 if name != "SkipRNN" else 1  # num_layers * num_directions
    assert [f.shape for f in finals] == [(count, 0, 3)] * len(finals)
    (output.sum() + sum(f.sum() for f in finals)).backward()
    assert_no_gradient_from_no_examples(layer, x)


def test_rnn_takes_its_arguments_in_pytorchs_positional_order():
    """torch.nn.RNN(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout,
    bidirectional)."""
    relu = nn.RNN(4, 6, 1, "relu", rng=0)
    assert relu.nonlinearity == "relu" and relu.num_layers == 1
    x = np.random.default_rng(1).standard_normal((3, 2, 4))
    output, _ = relu(x)
    # One step by hand from h_0 = 0: relu(W_ih x_0 + b_ih + b_hh).
    first = np.maximum(x[0] @ relu.weight_ih_l0.data.T + relu.bias_ih_l0.data + relu.bias_hh_l0.data, 0)
    np.testing.assert_allclose(output.data[0], first, rtol=1e-14, atol=1e-15)
    assert (output.data == 0).any()  # relu clips some units, which tanh would not
    every = nn.RNN(4, 6, 2, "tanh", False, True, 0.25, True)
    assert (every.num_layers, every.nonlinearity, every.bias, every.batch_first) == (2, "tanh", False, True)
    assert every.dropout == 0.25 and every.bidirectional is True
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu', got False"):
        nn.RNN(4, 6, 1, False)  # bias in the fourth place (another library's order) is caught


FLAGGED = {  # module: (factory(**flags), its flags)
    "RNNCell": (lambda **f: nn.RNNCell(2, 3, **f), ["bias", "fused"]),
    "GRUCell": (lambda **f: nn.GRUCell(2, 3, **f), ["bias", "reset_after", "fused"]),
    "LSTMCell": (lambda **f: nn.LSTMCell(2, 3, **f), ["bias", "fused"]),
    "LeakyRNNCell": (lambda **f: nn.LeakyRNNCell(2, 3, **f), ["bias", "learn_alpha", "fused"]),
    "RNN": (lambda **f: nn.RNN(2, 3, **f), ["bias", "batch_first", "bidirectional", "fused"]),
    "GRU": (lambda **f: nn.GRU(2, 3, **f), ["bias", "batch_first", "bidirectional", "reset_after", "fused"]),
    "LSTM": (lambda **f: nn.LSTM(2, 3, **f), ["bias", "batch_first", "bidirectional", "fused"]),
    "SkipRNN": (lambda **f: nn.SkipRNN(2, 3, delay=2, **f), ["bias", "batch_first", "fused"]),
}
FLAG_CASES = [(module, flag) for module, (_, flags) in FLAGGED.items() for flag in flags]


@pytest.mark.parametrize("module,flag", FLAG_CASES)
@pytest.mark.parametrize("value", [1, 0, "yes", "relu", None, 1.0])
def test_flags_accept_only_bools(module, flag, value):
    make, _ = FLAGGED[module]
    with pytest.raises(TypeError, match=rf"{module}: {flag} must be True or False, got {value!r}"):
        make(**{flag: value})


@pytest.mark.parametrize("module,flag", FLAG_CASES)
def test_flags_accept_python_and_numpy_bools(module, flag):
    make, _ = FLAGGED[module]
    for value in (True, False, np.True_, np.False_):
        built = make(**{flag: value})
        assert getattr(built, flag) is bool(value)


DTYPED = {
    "RNNCell": (lambda d: nn.RNNCell(2, 3, dtype=d, rng=0), "cell"),
    "GRUCell": (lambda d: nn.GRUCell(2, 3, reset_after=False, dtype=d, rng=0), "cell"),
    "LSTMCell": (lambda d: nn.LSTMCell(2, 3, dtype=d, rng=0), "cell"),
    "LeakyRNNCell": (lambda d: nn.LeakyRNNCell(2, 3, learn_alpha=True, dtype=d, rng=0), "cell"),
    "RNN": (lambda d: nn.RNN(2, 3, 2, "relu", bidirectional=True, dtype=d, rng=0), "layer"),
    "GRU": (lambda d: nn.GRU(2, 3, 2, dtype=d, rng=0), "layer"),
    "LSTM": (lambda d: nn.LSTM(2, 3, 2, bidirectional=True, dtype=d, rng=0), "layer"),
    "SkipRNN": (lambda d: nn.SkipRNN(2, 3, delay=2, dtype=d, rng=0), "layer"),
}


@pytest.mark.parametrize("name", list(DTYPED))
def test_dtype_float32_gives_float32_parameters_outputs_and_gradients(name):
    make, kind = DTYPED[name]
    module = make(np.float32)
    twin = make(np.float64)
    twin.load_state_dict({k: v.astype(np.float64) for k, v in module.state_dict().items()})
    assert all(p.dtype == np.float32 for p in module.parameters())
    assert all(p.dtype == np.float64 for p in twin.parameters())
    x = np.random.default_rng(1).standard_normal((2, 2) if kind == "cell" else (3, 2, 2))
    results = []
    for m in (module, twin):
        out = m(x)  # a float64 numpy array is converted to the parameters' dtype
        outs = []
        for item in out if isinstance(out, tuple) else (out,):  # h, (h, c), (output, h_n), (output, (h, c))
            outs.extend(item if isinstance(item, tuple) else (item,))
        sum((o.sum() for o in outs), Tensor(np.zeros((), m.parameters()[0].dtype))).backward()
        results.append((outs, m.named_parameters()))
    # The same parameters rounded to float32: values and gradients agree with float64 within
    # F32_TOL (tests/strategies.py), and are float32.
    for k, (o32, o64) in enumerate(zip(results[0][0], results[1][0])):
        assert_float32_agrees(o32.data, o64.data, f"output {k}")
    for (n32, p32), (_, p64) in zip(results[0][1], results[1][1]):
        assert_float32_agrees(p32.grad, p64.grad, f"gradient of {n32}")


@pytest.mark.parametrize("name", list(DTYPED))
@pytest.mark.parametrize("dtype", [np.int32, np.int64, bool])
def test_an_integer_dtype_is_refused_by_every_cell_and_layer(name, dtype):
    make, _ = DTYPED[name]
    with pytest.raises(TypeError, match=rf"{name}: dtype must be floating point"):
        make(dtype)


def test_import_tinygrad_rnn_then_tinygrad_rnn_nn_works_in_a_fresh_interpreter():
    code = "import tinygrad_rnn; print(tinygrad_rnn.nn.RNN.__name__, tinygrad_rnn.optim.SGD.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["RNN", "SGD"]


# ---- regressions that mutants slipped past ---------------------------------------------------------------
def _twice_is_double(loss_fn, params):
    """backward() of the same loss, built afresh, twice: every .grad must be exactly 2x one call."""
    for p in params:
        p.grad = None
    loss_fn().backward()
    once = [p.grad.copy() for p in params]
    loss_fn().backward()
    for k, (p, g) in enumerate(zip(params, once)):
        assert np.abs(g).max() > 0, f"parameter {k} got a zero gradient: the test would prove nothing"
        np.testing.assert_array_equal(p.grad, 2 * g, err_msg=f"parameter {k}")


def test_gradients_accumulate_across_two_backward_calls_through_indexing():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    upstream = rng.standard_normal((4, 3))
    _twice_is_double(lambda: (w[np.array([0, 2, 2, 4])] * upstream).sum(), [w])  # repeats: add.at
    _twice_is_double(lambda: (w[1:3] * upstream[:2]).sum(), [w])  # a slice: one indexed block
    _twice_is_double(lambda: (w[1] * upstream[0]).sum(), [w])  # an int


def test_gradients_accumulate_across_two_backward_calls_through_embedding():
    emb = nn.Embedding(5, 3, rng=0)
    upstream = np.random.default_rng(1).standard_normal((2, 3, 3))
    _twice_is_double(lambda: (emb(np.array([[1, 1, 3], [0, 4, 1]])) * upstream).sum(), [emb.weight])


def test_gradients_accumulate_across_two_backward_calls_through_linear():
    rng = np.random.default_rng(2)
    lin = nn.Linear(3, 4, rng=3)
    x = Tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    upstream = rng.standard_normal((2, 5, 4))
    _twice_is_double(lambda: (F.linear(x, lin.weight, lin.bias) * upstream).sum(), [lin.weight, lin.bias, x])
    _twice_is_double(lambda: (lin(x) * upstream).sum(), [lin.weight, lin.bias, x])


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.RNN(2, 3, 2, bidirectional=True, fused=True, rng=4),
        lambda: nn.GRU(2, 3, reset_after=False, fused=True, rng=4),
        lambda: nn.LSTM(2, 3, 2, fused=True, rng=4),
        lambda: nn.SkipRNN(2, 3, delay=2, fused=True, rng=4),
    ],
    ids=["RNN", "GRU-reset-before", "LSTM", "SkipRNN"],
)
def test_gradients_accumulate_across_two_backward_calls_through_fused_layers(make):
    layer = make()
    x = np.random.default_rng(5).standard_normal((4, 2, 2))
    upstream = np.random.default_rng(6).standard_normal((4, 2, layer(x)[0].shape[-1]))
    _twice_is_double(lambda: (layer(x)[0] * upstream).sum(), layer.parameters())


def test_a_float32_weight_used_with_float64_input_keeps_a_float32_gradient():
    rng = np.random.default_rng(7)
    w64 = rng.standard_normal((4, 3))
    x = Tensor(rng.standard_normal((2, 3)))  # float64: the product is float64
    w = Tensor(w64, dtype=np.float32, requires_grad=True)
    y = x @ w.T
    assert y.dtype == np.float64
    y.sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, np.ones((2, 4)).T @ x.data, rtol=1e-6)
    # through indexing (an IndexedGrad that arrives as float64)
    w.grad = None
    picked = w[np.array([0, 0, 3])] * Tensor(rng.standard_normal((3, 3)))
    assert picked.dtype == np.float64
    picked.sum().backward()
    assert w.grad.dtype == np.float32
    # and accumulated a second time, still float32
    (w[np.array([1])] * x[:1]).sum().backward()
    assert w.grad.dtype == np.float32


def test_a_float32_intermediate_passes_float32_gradients_on_in_a_mixed_graph():
    """h = 2 w is float32; h @ x (x float64) sends h a float64 gradient, which is cast back to
    float32 before h's op runs, so the whole float32 part of the graph computes in float32."""
    rng = np.random.default_rng(8)
    w = Tensor(rng.standard_normal((3, 4)), dtype=np.float32, requires_grad=True)
    x = Tensor(rng.standard_normal((4, 2)))
    h = w * 2.0
    assert h.dtype == np.float32
    loss = (h @ x).sum()
    with BackwardSpy() as spy:
        loss.backward()
    (arriving,) = [grad for out, grad, _ in spy.calls if out is h]
    assert np.asarray(arriving).dtype == np.float32
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, 2 * np.ones((3, 2)) @ x.data.T, rtol=1e-6)


class _NanGradient(Function):
    """y = x;  backward deliberately returns nan (to trigger anomaly mode in backward)."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g * np.nan


def test_after_an_anomaly_error_the_next_good_backward_gives_the_right_gradient():
    x = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    mid = x * 2  # waits for the gradients of both uses below
    bad = _NanGradient.apply(mid).sum()
    good = mid.sum()
    total = bad + good  # backward reaches good's sum (so mid holds a partial sum) before _nangradient
    with detect_anomaly(), pytest.raises(AnomalyError, match="_nangradient: gradient for input 0 .* nan"):
        total.backward()
    assert x.grad is None
    mid.sum().backward()  # a new graph through the same intermediate
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


class _ScaledSquare(Function):
    """y = x^2 with backward scaled by ``factor`` (1 is right)."""

    def __init__(self, factor: float):
        self.factor = factor

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return self.factor * 2 * self.x * g


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["x>0", "x<0"])
@pytest.mark.parametrize("factor", [0.5, 0.9, 1.1, 2.0, -1.0, 0.0])
def test_gradcheck_catches_an_analytic_gradient_smaller_or_larger_than_the_numerical_one(factor, sign):
    # All entries of one sign: then 0.5 x the true gradient is below it everywhere (for x > 0),
    # and a one-sided comparison (analytic - numerical > tol) would miss it.
    x = Tensor(sign * np.array([0.5, 1.5, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match="gradcheck: input 0"):
        gradcheck(lambda t: _ScaledSquare.apply(t, factor=factor), [x], atol=1e-7, rtol=1e-6)
    assert gradcheck(lambda t: _ScaledSquare.apply(t, factor=1.0), [x], atol=1e-7, rtol=1e-6)


def test_relu_gradient_at_exactly_zero_is_zero():
    x = Tensor(np.array([-1.0, 0.0, -0.0, 2.0, 1e-300]), requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0, 1.0, 1.0])
    # the same through an RNN with relu: a unit whose pre-activation is exactly 0 passes nothing back
    cell = nn.RNNCell(1, 1, bias=False, nonlinearity="relu")
    cell.load_state_dict({"weight_ih": np.array([[1.0]]), "weight_hh": np.array([[1.0]])})
    inp = Tensor(np.array([[0.0]]), requires_grad=True)
    cell(inp).sum().backward()
    np.testing.assert_array_equal(inp.grad, [[0.0]])


def test_no_warnings_from_the_write_checks_on_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = nn.Parameter(np.ones(3))
        opt = optim.SGD([w], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
    np.testing.assert_allclose(w.data, 0.8**3 * np.ones(3), rtol=1e-15)
