"""Bad input raises at the user's call, with a message naming the op and the shapes or values.

Every case asserts the exception type and the message content: each message starts with the
op's name (as the user spelled the call) and shows the shapes, axes or values involved.
"""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest

from tinygrad_rnn import Tensor, concat, stack


def t(*shape: int, requires_grad: bool = True) -> Tensor:
    return Tensor(np.ones(shape), requires_grad=requires_grad)


def shapes_text(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    """The regex for 'shapes (a) and (b)' in a message."""
    return re.escape(f"{a}") + r".*" + re.escape(f"{b}")


# ---- matmul ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "what"),
    [
        ((3, 4), (5, 2), r"last dimension \(4\) must equal y's second-to-last dimension \(5\)"),
        ((3,), (4,), r"last dimension \(3\) must equal y's only dimension \(4\)"),
        ((2, 3), (2,), r"last dimension \(3\) must equal y's only dimension \(2\)"),
        ((4,), (3, 2), r"last dimension \(4\) must equal y's second-to-last dimension \(3\)"),
        ((2, 3, 4), (3, 4, 5), r"batch dimensions"),
    ],
)
def test_matmul_of_incompatible_shapes(a, b, what):
    with pytest.raises(ValueError, match=r"^matmul: .*" + shapes_text(a, b)) as info:
        t(*a) @ t(*b)
    assert re.search(what, str(info.value))


def test_matmul_of_a_0d_operand():
    with pytest.raises(
        ValueError, match=r"^matmul: operands must be at least 1-D, got shapes \(\) and \(2,\)"
    ):
        t() @ t(2)


def test_matmul_with_an_ndarray_names_both_shapes():
    with pytest.raises(ValueError, match=r"^matmul: shapes \(2, 3\) and \(2, 3\) are incompatible"):
        np.ones((2, 3)) @ t(2, 3)


# ---- broadcasting ----------------------------------------------------------------------------------
BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize(("a", "b"), [((2, 3), (4,)), ((3, 2), (2, 1, 4)), ((2,), (3,))])
def test_broadcast_of_incompatible_shapes(name, a, b):
    op = BINARY[name]
    pattern = rf"^{name}: cannot broadcast shapes " + re.escape(f"{a} and {b}")
    with pytest.raises(ValueError, match=pattern):
        op(t(*a), t(*b))
    with pytest.raises(ValueError, match=pattern):  # a numpy array on the left
        op(np.ones(a), t(*b))
    with pytest.raises(ValueError, match=pattern):  # a numpy array on the right
        op(t(*a), np.ones(b))


# ---- concat and stack ------------------------------------------------------------------------------
def test_concat_of_mismatched_shapes():
    with pytest.raises(
        ValueError, match=r"^concat: tensor 1 has shape \(2, 4\) but tensor 0 has shape \(3, 3\)"
    ):
        concat([t(3, 3), t(2, 4)], axis=0)
    with pytest.raises(
        ValueError, match=r"^concat: tensor 2 has shape \(3,\) but tensor 0 has shape \(3, 3\)"
    ):
        concat([t(3, 3), t(1, 3), t(3)])
    with pytest.raises(ValueError, match=r"dimensions except axis 1 must match"):
        concat([t(2, 3), t(3, 3)], axis=-1)


def test_stack_of_mismatched_shapes():
    with pytest.raises(
        ValueError, match=r"^stack: tensor 1 has shape \(3, 2\) but tensor 0 has shape \(2, 3\)"
    ):
        stack([t(2, 3), t(3, 2)])


@pytest.mark.parametrize("fn", [concat, stack])
def test_concat_and_stack_of_an_empty_list(fn):
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"^{name}: needs at least one tensor, got an empty list"):
        fn([])
    with pytest.raises(TypeError, match=rf"^{name}: expected a list of tensors, got a single Tensor"):
        fn(t(2, 2))


def test_concat_of_0d_tensors():
    with pytest.raises(ValueError, match=r"^concat: cannot concatenate 0-d tensors; use stack\(\)"):
        concat([t(), t()])


# ---- reshape, transpose, indexing ------------------------------------------------------------------
def test_reshape_to_a_different_size():
    with pytest.raises(
        ValueError,
        match=r"^reshape: cannot reshape a tensor of shape \(2, 3\) \(6 entries\) into shape \(4, 2\)",
    ):
        t(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"^reshape: .*\(2, 3\).*\(4, -1\)"):
        t(2, 3).reshape((4, -1))


def test_reshape_to_a_non_integer_size():
    with pytest.raises(TypeError, match=r"^reshape: sizes must be integers, got \(2.5, 2\)"):
        t(5).reshape(2.5, 2)


def test_transpose_with_axes_that_are_not_a_permutation():
    with pytest.raises(ValueError, match=r"^transpose: axes \(0, 0, 1\) are not a permutation of the 3 axes"):
        t(2, 3, 4).transpose(0, 0, 1)
    with pytest.raises(
        ValueError, match=r"^transpose: axes \(1, 0\) are not a permutation .*shape \(2, 3, 4\)"
    ):
        t(2, 3, 4).transpose(1, 0)


def test_index_out_of_range():
    with pytest.raises(IndexError, match=r"^index: .*out of bounds.*\(tensor of shape \(3, 2\), index 5\)"):
        t(3, 2)[5]
    with pytest.raises(IndexError, match=r"^index: an index array must hold integers or bool"):
        t(3)[np.array([0.5])]


# ---- axes ------------------------------------------------------------------------------------------
AXIS_OPS = {
    "sum": lambda x, axis: x.sum(axis=axis),
    "mean": lambda x, axis: x.mean(axis=axis),
    "max": lambda x, axis: x.max(axis=axis),
    "softmax": lambda x, axis: x.softmax(axis=axis),
    "log_softmax": lambda x, axis: x.log_softmax(axis=axis),
    "concat": lambda x, axis: concat([x, x], axis=axis),
    "transpose": lambda x, axis: x.transpose(axis, 0),
}


@pytest.mark.parametrize("name", AXIS_OPS)
@pytest.mark.parametrize("axis", [2, -3, 7])
def test_axis_out_of_range(name, axis):
    with pytest.raises(
        ValueError, match=rf"^{name}: axis {axis} is out of range for a tensor with 2 dimension"
    ):
        AXIS_OPS[name](t(2, 3), axis)


@pytest.mark.parametrize("axis", [3, -4])
def test_stack_axis_out_of_range(axis):
    """stack makes a new axis: for 2-D inputs the result has 3 dimensions, axes -3..2."""
    with pytest.raises(
        ValueError, match=rf"^stack: axis {axis} is out of range for a tensor with 3 dimension"
    ):
        stack([t(2, 3), t(2, 3)], axis=axis)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_axis_in_a_tuple_out_of_range_and_repeated(name):
    x = t(2, 3)
    with pytest.raises(ValueError, match=rf"^{name}: axis 2 is out of range"):
        getattr(x, name)(axis=(0, 2))
    with pytest.raises(ValueError, match=rf"^{name}: repeated axis in \(1, -1\)"):
        getattr(x, name)(axis=(1, -1))
    with pytest.raises(TypeError, match=rf"^{name}: axis must be an int, got 1.0"):
        getattr(x, name)(axis=1.0)


def test_max_of_an_empty_tensor():
    with pytest.raises(ValueError, match=r"^max: a tensor of shape \(0, 2\) has no entries along all axes"):
        t(0, 2).max()
    with pytest.raises(ValueError, match=r"^max: a tensor of shape \(0, 2\) has no entries along axis 0"):
        t(0, 2).max(axis=0)
    assert t(0, 2).max(axis=1).shape == (0,)  # numpy: a max over a non-empty axis of an empty array is fine


# ---- backward --------------------------------------------------------------------------------------
def test_backward_on_a_non_scalar_without_a_gradient():
    with pytest.raises(
        RuntimeError, match=r"^backward: called on a non-scalar tensor of shape \(2, 3\) without"
    ):
        (t(2, 3) * 2).backward()


def test_backward_with_a_gradient_of_the_wrong_shape():
    with pytest.raises(
        ValueError, match=r"^backward: grad has shape \(3, 2\) but the tensor has shape \(2, 3\)"
    ):
        (t(2, 3) * 2).backward(np.ones((3, 2)))
    with pytest.raises(
        ValueError, match=r"^backward: grad has shape \(6,\) but the tensor has shape \(2, 3\)"
    ):
        (t(2, 3) * 2).backward(np.ones(6))


def test_backward_with_a_non_numeric_gradient():
    with pytest.raises(TypeError, match=r"^backward: expected numbers .* got str 'one'"):
        (t(1) * 2).backward("one")


def test_backward_on_a_tensor_without_a_graph():
    with pytest.raises(RuntimeError, match=r"^backward: this tensor does not require grad"):
        (t(1, requires_grad=False) * 2).backward()


# ---- non-numeric input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", "str 'abc'"),
        ("1.5", "str '1.5'"),
        (None, "NoneType None"),
        ([1, "a"], "list"),
        (object(), "object"),
    ],
    ids=["text", "numeric-looking text", "None", "mixed list", "object"],
)
def test_non_numeric_input(value, shown):
    with pytest.raises(TypeError, match=rf"^Tensor: expected numbers \(bool, int or float\), got {shown}"):
        Tensor(value)
    with pytest.raises(TypeError, match=rf"^Tensor: expected numbers .*got {shown}"):
        Tensor(value, dtype=np.float32)  # numpy alone would turn None into nan and "1.5" into 1.5
    for name, op in [
        ("add", operator.add),
        ("mul", operator.mul),
        ("sub", operator.sub),
        ("div", operator.truediv),
    ]:
        with pytest.raises(TypeError, match=rf"^{name}: expected numbers .*got {shown}"):
            op(t(2), value)
        with pytest.raises(TypeError, match=rf"^{name}: expected numbers .*got {shown}"):
            op(value, t(2))


def test_non_numeric_operands_of_pow_matmul_and_concat():
    with pytest.raises(TypeError, match=r"^pow: expected a number, got '2'"):
        t(2) ** "2"
    with pytest.raises(TypeError, match=r"^pow: expected a number, got None"):
        t(2) ** None
    with pytest.raises(TypeError, match=r"^pow: expected numbers .*got str 'e'"):
        "e" ** t(2)
    with pytest.raises(TypeError, match=r"^matmul: expected numbers .*got list \[\['a'\]\]"):
        t(1, 1) @ [["a"]]
    with pytest.raises(TypeError, match=r"^pow: expected numbers .*got list \['a', 'b'\]"):
        t(2) ** ["a", "b"]  # not a number, so the Tensor-exponent path converts it (and names pow)
    with pytest.raises(TypeError, match=r"^matmul: expected numbers .*got list \[\['a'\]\]"):
        [["a"]] @ t(1, 1)  # a list has no @, so Python asks the Tensor on the right
    with pytest.raises(TypeError, match=r"^concat: expected numbers .*got str 'x'"):
        concat([t(2), "x"])
    with pytest.raises(TypeError, match=r"^stack: expected numbers .*got NoneType None"):
        stack([t(2), None])


def test_complex_and_ragged_input():
    with pytest.raises(TypeError, match=r"^Tensor: expected numbers .*complex128"):
        Tensor(np.array([1 + 2j]))
    with pytest.raises(TypeError, match=r"^Tensor: cannot make a numeric array from list"):
        Tensor([[1.0, 2.0], [3.0]])


# ---- the description of bad input in messages: whole up to 40 characters, else cut ---------------
@pytest.mark.parametrize(
    "text, shown",
    [
        ("x" * 36, "list ['" + "x" * 36 + "']"),  # repr of 40 characters: whole
        ("x" * 37, "list ['" + "x" * 35 + "..."),  # 41: the first 37, then ...
    ],
)
def test_bad_input_is_described_whole_up_to_40_characters(text, shown):
    with pytest.raises(TypeError) as info:
        Tensor([text])
    assert f"got {shown} (numpy dtype <U{len(text)})" in str(info.value)


def test_an_empty_reduction_names_its_axis_or_axes():
    with pytest.raises(ValueError, match=r"shape \(2, 0\) has no entries along axis 1 to reduce"):
        Tensor(np.zeros((2, 0))).max(axis=1)
    with pytest.raises(ValueError, match=r"shape \(0, 2, 3\) has no entries along axis \(0, 1\) to reduce"):
        Tensor(np.zeros((0, 2, 3))).max(axis=(0, 1))


@pytest.mark.parametrize("batch_size", [True, "3", 0])
def test_a_count_is_a_positive_int_and_one_is_enough(batch_size):
    from tinygrad_rnn.data import recall_batch

    with pytest.raises(ValueError, match=r"recall_batch: batch_size must be an integer >= 1, got"):
        recall_batch(batch_size, 3, 4, np.random.default_rng(0))
    x, y = recall_batch(1, 3, 4, np.random.default_rng(0))
    assert x.shape == (4, 1, 5) and y.shape == (1,)
