"""The deliberate differences from PyTorch: one test per row of the README's table.

PyTorch is the oracle for every value (tests/parity compares the two); where tinygrad_rnn
chooses otherwise, mostly to follow numpy, the choice is a row of the table "Deliberate
differences from PyTorch" in README.md, and the row names its test here. The last test checks
that the table and this file name the same tests. PyTorch's behaviour is stated in each test
(torch 2.13); these tests do not need torch.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor, maximum, nn, optim, split
from tinygrad_rnn.nn.utils import clip_grad_norm_

README = Path(__file__).resolve().parents[1] / "README.md"


def test_transpose_permutes_all_axes_as_numpy():
    # numpy: transpose(axes) permutes all axes, .T reverses them. PyTorch: transpose(d0, d1) swaps two
    # (and .T on more than 2 dims is deprecated). Here numpy's; swapaxes(a, b) is PyTorch's transpose.
    x = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.transpose(2, 0, 1).shape == (4, 2, 3) and x.T.shape == (4, 3, 2)
    assert x.swapaxes(0, 2).shape == (4, 3, 2)
    with pytest.raises(ValueError, match="not a permutation"):
        x.transpose(0, 1)  # PyTorch's call: an error that points to swapaxes


def test_max_over_an_axis_gives_the_values_and_splits_a_tie():
    # PyTorch: t.max(dim) returns (values, indices) and sends the gradient to one index;
    # torch.amax returns the values and splits it evenly among ties. Here: amax's, as numpy's max.
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True)
    m = x.max(axis=1)
    assert isinstance(m, Tensor) and list(m.data) == [3.0, 2.0]
    m.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_comparisons_give_numpy_bool_arrays():
    # numpy: bool arrays. PyTorch: bool tensors. Here numpy's: a comparison has no gradient, and a
    # bool array indexes, masks and feeds where() directly.
    t = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    mask = t > 0
    assert type(mask) is np.ndarray and mask.dtype == np.bool_ and list(mask) == [False, True]


def test_data_without_a_dtype_becomes_float64():
    # numpy: int64 for integers, float64 for floats. PyTorch: int64, and float32 (its default dtype)
    # for floats. Here every tensor is differentiable, so real: float64, numpy's float type.
    assert Tensor([1, 2]).dtype == np.float64 and Tensor([1.5]).dtype == np.float64
    assert nn.Linear(2, 2).weight.dtype == np.float64  # layers too (dtype=np.float32 to choose)


def test_a_constant_takes_the_tensors_float_dtype():
    # numpy: a float32 array + a float64 array is float64. PyTorch does not mix ndarrays into
    # tensors; a float32 tensor + a float64 tensor is float64. Here a constant (a number or an
    # array that is not a Tensor) takes the Tensor's dtype, so constants never upcast a float32
    # model; two Tensors promote as numpy does.
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    assert (x + np.ones(2)).dtype == np.float32 and (x * 0.5).dtype == np.float32
    assert (x + Tensor(np.ones(2))).dtype == np.float64
    # A 0-d float64 Tensor too: numpy's float64 (PyTorch keeps float32 when the 0-d one is float64).
    assert (x + Tensor(np.float64(1.0))).dtype == np.float64


def test_tensor_of_an_array_copies_and_of_a_tensor_shares():
    # numpy: np.asarray shares the array. PyTorch: torch.tensor(array) copies, torch.from_numpy
    # shares. Here Tensor(array) copies (so later writes to the array cannot reach the graph) and
    # Tensor(t) / Tensor(t.data) share t's memory (writes through either are tracked).
    a = np.ones(2)
    assert not np.shares_memory(Tensor(a).data, a)
    t = Tensor(a)
    assert np.shares_memory(Tensor(t).data, t.data) and np.shares_memory(Tensor(t.data).data, t.data)


def test_in_place_arithmetic_on_a_recorded_tensor_is_refused():
    # numpy: in place. PyTorch: in place, recorded in the graph (it refuses leaves that require
    # grad). Here the graph records no in-place op: such a += is an error that says to write
    # t = t + v; on tensors outside the graph (or under no_grad) += is in place, as in both.
    x = Tensor(np.ones(2), requires_grad=True)
    h = x * 2.0
    with pytest.raises(RuntimeError, match="records no in-place ops"):
        h += 1


def test_whole_valued_float_targets_are_class_indices():
    # PyTorch: a float target of cross_entropy is class probabilities (shape of the logits).
    # Here targets are class indices; whole-valued floats count as indices (a Tensor stores
    # integers as floats), and class probabilities are not supported (a shape error).
    logits = Tensor(np.array([[2.0, 0.0, -1.0]]))
    expected = -(2.0 - np.log(np.exp(2.0) + 1.0 + np.exp(-1.0)))  # -log softmax(logits)[0]
    assert F.cross_entropy(logits, np.array([0.0])).item() == pytest.approx(expected, rel=1e-15)
    with pytest.raises(ValueError, match="needs a target of shape"):
        F.cross_entropy(logits, np.array([[1.0, 0.0, 0.0]]))


def test_mse_loss_refuses_shapes_that_differ():
    # PyTorch broadcasts input (3, 1) against target (3,) to (3, 3), with a warning: usually a bug.
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(3, 1\) but target has shape \(3,\)"):
        F.mse_loss(Tensor(np.zeros((3, 1))), np.zeros(3))


def test_a_gradient_of_the_wrong_shape_is_refused_at_step_not_at_assignment():
    # PyTorch refuses `w.grad = tensor(1.)` for a (3,) parameter at the assignment. Here .grad is a
    # plain attribute, so the assignment goes through and step() (and the clippers) refuse it.
    w = nn.Parameter(np.ones(3))
    w.grad = np.array(1.0)
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(3,\) but its \.grad has shape \(\)"):
        optim.SGD([w], lr=0.1).step()


def test_dropout_with_p_one_is_refused():
    # PyTorch: nn.Dropout(1.0) zeroes everything. Here p must be below 1 (a layer that drops
    # everything is a mistake); the recurrent layers' dropout=1 is PyTorch's (zeros between layers).
    with pytest.raises(ValueError, match=r"Dropout: p is the probability of dropping an entry, in \[0, 1\)"):
        nn.Dropout(1.0)


def test_a_tensor_as_an_index_is_refused():
    # PyTorch indexes with integer and bool tensors. A Tensor here holds floats, so Tensor([True,
    # False]) would be 1., 0.: positions, not a mask. Index with numpy arrays or lists.
    t = Tensor(np.arange(3.0))
    with pytest.raises(TypeError, match="a Tensor cannot be an index"):
        t[Tensor(np.array([0.0, 2.0]))]
    assert list(t[np.array([0, 2])].data) == [0.0, 2.0]


def test_softmax_over_an_axis_of_no_entries_is_refused():
    # PyTorch: softmax and log_softmax over an axis of size 0 give an empty result (and so
    # cross_entropy of logits (0, 0) is nan). Here an error: a softmax over no classes is no
    # distribution, and numpy's max, which the stable form needs, has no value over no entries.
    # Over a nonempty axis of an empty tensor (an empty batch) the result is empty, as PyTorch's.
    with pytest.raises(ValueError, match=r"log_softmax: a tensor of shape \(2, 0\) has no entries along"):
        Tensor(np.zeros((2, 0))).log_softmax(axis=1)
    with pytest.raises(ValueError, match=r"softmax: a tensor of shape \(0, 0\) has no entries along axis 1"):
        F.cross_entropy(Tensor(np.zeros((0, 0))), np.zeros(0, dtype=np.int64))
    assert Tensor(np.zeros((0, 3))).softmax(axis=1).shape == (0, 3)


def test_split_into_a_number_of_parts_as_numpy():
    # numpy.split(x, 2): two equal parts. torch.split(x, 2): parts of size 2. Here numpy's.
    parts = split(Tensor(np.arange(6.0)), 2)
    assert [p.shape for p in parts] == [(3,), (3,)]


def test_sigmoid_is_zero_far_in_the_negative_tail():
    # PyTorch: sigmoid(-40) = 4.2e-18 (float64), sigmoid(-20) = 2.1e-9 (float32). Here
    # (1 + tanh(x / 2)) / 2 (3x faster, never overflows) is 0 there: the absolute error is at most
    # 1.1e-16 (float64) or 6e-8 (float32), the relative error in the far tail is 100%.
    exact64, exact32 = 1 / (1 + math.exp(40.0)), 1 / (1 + math.exp(20.0))
    y64 = Tensor(np.array([-40.0])).sigmoid().item()
    y32 = Tensor(np.array([-20.0], dtype=np.float32)).sigmoid().item()
    assert y64 == 0.0 and abs(y64 - exact64) < 1.1e-16
    assert y32 == 0.0 and abs(y32 - exact32) < 6e-8


def test_sqrt_is_x_to_the_half_so_its_derivative_at_minus_zero_is_plus_inf():
    # torch.sqrt'(-0.0) = 1 / (2 sqrt(-0.0)) = 1 / -0.0 = -inf; torch's x ** 0.5 and this sqrt,
    # which is x ** 0.5, give +inf: the one-sided derivative at 0 that exists.
    x = Tensor(np.array([-0.0, 0.0, 4.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert list(x.grad) == [np.inf, np.inf, 0.25]


def test_gradients_through_a_nan_follow_their_own_convention():
    # Where a value is nan the function is undefined, and each library picks a gradient. PyTorch:
    # torch.amax sends nan to every entry of the row, torch.max to the nan entry; torch.maximum
    # gives the whole gradient to both operands. Here: the nan entries of a max share it (as
    # torch.max), and maximum/minimum give half to each operand, as at a tie.
    x = Tensor(np.array([np.nan, 1.0]), requires_grad=True)
    x.max().backward()
    assert list(x.grad) == [1.0, 0.0]
    a, b = Tensor(np.array([np.nan]), requires_grad=True), Tensor(np.array([2.0]), requires_grad=True)
    maximum(a, b).sum().backward()
    assert list(a.grad) == [0.5] and list(b.grad) == [0.5]


def test_clip_grad_norm_returns_a_python_float():
    # PyTorch returns a 0-d tensor. Here a float (there is no device to keep it on).
    w = nn.Parameter(np.ones(2))
    w.grad = np.array([3.0, 4.0])
    total = clip_grad_norm_([w], 10.0)
    assert type(total) is float and total == 5.0


def test_the_readme_table_names_exactly_these_tests():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Deliberate differences from PyTorch", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    named = [re.search(r"`(test_\w+)`", row)[1] for row in rows if "---" not in row]
    here = [name for name in globals() if name.startswith("test_") and "readme" not in name]
    assert sorted(named) == sorted(here)
