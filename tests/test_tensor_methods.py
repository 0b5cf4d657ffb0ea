"""Tensor methods and functions with numpy's names: the same values as numpy, exact gradients.

squeeze, expand_dims, swapaxes, split, abs, sqrt, clip, where, minimum, maximum, min, argmax
and astype. Each is checked against the numpy function of the same name on random shapes
(hypothesis), and its gradient against float64 central differences with check_gradients
(tests/strategies.py: EPS = 1e-6, ATOL = 1e-7, RTOL = 1e-6; float32 runs agree with float64
within F32_TOL = 1e-5 and stay float32). Where the derivative has a kink (abs at 0, clip at
its bounds, minimum/maximum at ties) the values drawn keep away from it by far more than
EPS, and the convention at the kink (PyTorch's) is checked separately with exact numbers.
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import BackwardSpy, arrays, broadcastable_pairs, check_gradients, shapes, upstream

import tinygrad_rnn
from tinygrad_rnn import Tensor, concat, maximum, minimum, split, stack, where


# ---- squeeze, expand_dims, swapaxes ----------------------------------------------------------------
@st.composite
def squeeze_cases(draw: st.DrawFn):
    """A shape with some size-1 axes and a squeeze argument: None, one axis, or a tuple of them."""
    shape = draw(shapes(min_dims=0, max_dims=4, max_side=2))
    ones = [a for a, n in enumerate(shape) if n == 1]
    style = draw(st.sampled_from(["none", "int", "tuple"])) if ones else "none"
    if style == "none":
        return shape, None
    picked = draw(st.lists(st.sampled_from(ones), min_size=1, max_size=len(ones), unique=True))
    picked = [a - len(shape) if draw(st.booleans()) else a for a in picked]  # negative axes too
    return shape, (picked[0] if style == "int" else tuple(picked))


@given(data=st.data(), case=squeeze_cases())
def test_squeeze_is_numpys_with_exact_gradients(data, case):
    shape, axis = case
    x = data.draw(arrays(shape), label="x")
    out = check_gradients(lambda t: t.squeeze(axis), [x])
    np.testing.assert_array_equal(out.data, np.squeeze(x, axis=axis))
    assert out.shape == np.squeeze(x, axis=axis).shape


def test_squeeze_of_an_axis_that_is_not_size_one_names_it():
    with pytest.raises(
        ValueError, match=r"squeeze: axis 1 of a tensor of shape \(2, 3\) does not have size 1"
    ):
        Tensor(np.ones((2, 3))).squeeze(1)


@given(data=st.data(), shape=shapes(max_dims=3))
def test_expand_dims_is_numpys_with_exact_gradients(data, shape):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    x = data.draw(arrays(shape), label="x")
    out = check_gradients(lambda t: t.expand_dims(axis), [x])
    expected = np.expand_dims(x, axis)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)


@given(data=st.data(), shape=shapes(min_dims=1))
def test_swapaxes_is_numpys_with_exact_gradients(data, shape):
    n = len(shape)
    a, b = (data.draw(st.integers(-n, n - 1), label=f"axis {k}") for k in (1, 2))
    x = data.draw(arrays(shape), label="x")
    out = check_gradients(lambda t: t.swapaxes(a, b), [x])
    np.testing.assert_array_equal(out.data, np.swapaxes(x, a, b))


def test_transpose_follows_numpy_and_points_to_swapaxes():
    doc = Tensor.transpose.__doc__
    assert "numpy" in doc and "swapaxes" in doc
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(Tensor(x).transpose().data, x.transpose())  # reversed, as numpy
    np.testing.assert_array_equal(Tensor(x).transpose(1, 0, 2).data, x.transpose(1, 0, 2))
    with pytest.raises(ValueError, match="not a permutation .* to exchange two, use swapaxes"):
        Tensor(x).transpose(0, 1)  # PyTorch's transpose(dim0, dim1) is numpy's swapaxes


# ---- split -----------------------------------------------------------------------------------------
@st.composite
def split_cases(draw: st.DrawFn):
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[axis]
    if draw(st.booleans()):
        sections = draw(st.sampled_from([n for n in range(1, size + 1) if size % n == 0]))
    else:  # indices: possibly unsorted, negative (counted from the end) or past the end
        sections = draw(st.lists(st.integers(-size - 1, size + 1), min_size=0, max_size=3))
    return shape, sections, axis


@given(data=st.data(), case=split_cases())
@example(data=None, case=((4,), [-1], 0))
@example(data=None, case=((3, 4), [3, -3, 1], -1))
def test_split_is_numpys_with_exact_gradients(data, case):
    shape, sections, axis = case
    x = (
        data.draw(arrays(shape), label="x")
        if data is not None
        else np.linspace(-1, 1, np.prod(shape)).reshape(shape)
    )
    parts = split(Tensor(x), sections, axis=axis)
    expected = np.split(x, sections, axis=axis)
    assert len(parts) == len(expected)
    for part, reference in zip(parts, expected):
        assert part.shape == reference.shape
        np.testing.assert_array_equal(part.data, reference)

    def weighted_parts(t):
        # part k scaled by k + 1, so a gradient sent to the wrong part would show
        return concat([p * float(k + 1) for k, p in enumerate(split(t, sections, axis=axis))], axis=axis)

    check_gradients(weighted_parts, [x])


def test_split_at_negative_indices_counts_from_the_end_as_numpy():
    x = np.arange(5.0)
    parts = split(Tensor(x), [-2])
    assert [p.data.tolist() for p in parts] == [[0.0, 1.0, 2.0], [3.0, 4.0]]
    parts = split(Tensor(x), [1, -1])
    assert [p.data.tolist() for p in parts] == [[0.0], [1.0, 2.0, 3.0], [4.0]]


def test_split_into_unequal_sections_names_the_sizes():
    with pytest.raises(ValueError, match="split: axis 1 of size 5 does not split into 2 equal parts"):
        split(Tensor(np.ones((2, 5))), 2, axis=1)
    assert tinygrad_rnn.split is split


# ---- abs, sqrt ---------------------------------------------------------------------------------------
@given(data=st.data(), shape=shapes())
def test_abs_is_numpys_with_gradient_sign_of_x(data, shape):
    x = data.draw(arrays(shape, "nonzero"), label="x")  # |x| >= 0.5: away from the kink
    out = check_gradients(lambda t: t.abs(), [x])
    np.testing.assert_array_equal(out.data, np.abs(x))
    np.testing.assert_array_equal(abs(Tensor(x)).data, np.abs(x))
    t = Tensor(x, requires_grad=True)
    t.abs().sum().backward()
    np.testing.assert_array_equal(t.grad, np.sign(x))


def test_abs_gradient_at_zero_is_zero():
    x = Tensor(np.array([-2.0, 0.0, -0.0, 3.0]), requires_grad=True)
    (abs(x) * np.array([1.0, 5.0, 7.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 0.0, 2.0])


@given(data=st.data(), shape=shapes())
def test_sqrt_is_numpys_with_exact_gradients(data, shape):
    x = data.draw(arrays(shape, "positive"), label="x")
    out = check_gradients(lambda t: t.sqrt(), [x])
    np.testing.assert_allclose(out.data, np.sqrt(x), rtol=1e-15)


# ---- clip --------------------------------------------------------------------------------------------
@st.composite
def clip_bounds(draw: st.DrawFn):
    """Bounds between the values that "spaced" arrays take (magnitudes 0.1 + 0.05 k + [0, 0.02)),
    so every value is at least 0.015 from a bound: clipped or kept, never at the kink."""
    low = draw(st.one_of(st.none(), st.integers(-6, 6).map(lambda j: np.sign(j) * (0.135 + 0.05 * abs(j)))))
    high = draw(st.one_of(st.none(), st.integers(-6, 6).map(lambda j: np.sign(j) * (0.135 + 0.05 * abs(j)))))
    if low is None and high is None:
        high = 0.135
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


@given(data=st.data(), shape=shapes(), bounds=clip_bounds())
def test_clip_is_numpys_with_gradient_one_inside_and_zero_where_clipped(data, shape, bounds):
    low, high = bounds
    x = data.draw(arrays(shape, "spaced"), label="x")
    out = check_gradients(lambda t: t.clip(low, high), [x])
    np.testing.assert_array_equal(out.data, np.clip(x, low, high))
    t = Tensor(x, requires_grad=True)
    w = upstream(x.shape)
    (t.clip(low, high) * w).sum().backward()
    inside = (x >= (-np.inf if low is None else low)) & (x <= (np.inf if high is None else high))
    np.testing.assert_array_equal(t.grad, np.where(inside, w, 0.0))


def test_clip_gradient_at_the_bounds_is_one_as_pytorchs_clamp():
    x = Tensor(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), requires_grad=True)
    y = x.clip(-1.0, 1.0)
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, 0.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="clip: give min, max or both"):
        Tensor(np.ones(2)).clip()


# ---- where, minimum, maximum --------------------------------------------------------------------------
@given(data=st.data(), shapes_=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
def test_where_is_numpys_with_exact_gradients(data, shapes_):
    cond_shape, x_shape, y_shape = shapes_.input_shapes
    condition = (
        np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed")).random(cond_shape) < 0.5
    )
    x = data.draw(arrays(x_shape), label="x")
    y = data.draw(arrays(y_shape), label="y")
    out = check_gradients(lambda a, b: where(condition, a, b), [x, y])
    np.testing.assert_array_equal(out.data, np.where(condition, x, y))
    # with one side a constant
    np.testing.assert_array_equal(where(condition, Tensor(x), 0.5).data, np.where(condition, x, 0.5))
    np.testing.assert_array_equal(where(condition, y, Tensor(x)).data, np.where(condition, y, x))


def test_where_needs_a_tensor():
    with pytest.raises(TypeError, match="where: x or y must be a Tensor"):
        where(np.array([True]), np.ones(1), np.zeros(1))
    assert tinygrad_rnn.where is where


@pytest.mark.parametrize("name", ["minimum", "maximum"])
@given(data=st.data(), shapes_=broadcastable_pairs(max_dims=3))
def test_minimum_and_maximum_are_numpys_with_exact_gradients(name, data, shapes_):
    pair = shapes_.input_shapes
    fn = {"minimum": minimum, "maximum": maximum}[name]
    # one "spaced" array split in two: all entries of both differ by >= 0.03 (no ties)
    both = data.draw(arrays((int(np.prod(pair[0])) + int(np.prod(pair[1])),), "spaced"), label="values")
    x = both[: int(np.prod(pair[0]))].reshape(pair[0])
    y = both[int(np.prod(pair[0])) :].reshape(pair[1])
    out = check_gradients(lambda a, b: fn(a, b), [x, y])
    np.testing.assert_array_equal(out.data, getattr(np, name)(x, y))
    np.testing.assert_array_equal(fn(Tensor(x), 0.3).data, getattr(np, name)(x, 0.3))  # a constant side


@pytest.mark.parametrize("name", ["minimum", "maximum"])
def test_ties_split_the_gradient_evenly_as_pytorch(name):
    fn = {"minimum": minimum, "maximum": maximum}[name]
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = Tensor(np.array([1.0, 5.0, -3.0]), requires_grad=True)
    out = fn(x, y)
    np.testing.assert_array_equal(out.data, getattr(np, name)(x.data, y.data))  # the value at a tie is x
    (out * np.array([4.0, 1.0, 1.0])).sum().backward()
    if name == "maximum":
        np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])
        np.testing.assert_array_equal(y.grad, [2.0, 1.0, 0.0])
    else:
        np.testing.assert_array_equal(x.grad, [2.0, 1.0, 0.0])
        np.testing.assert_array_equal(y.grad, [2.0, 0.0, 1.0])
    assert tinygrad_rnn.minimum is minimum and tinygrad_rnn.maximum is maximum


# ---- min, argmax -------------------------------------------------------------------------------------
@given(data=st.data(), shape=shapes(), keepdims=st.booleans())
def test_min_is_numpys_with_exact_gradients(data, shape, keepdims):
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)) if shape else st.none())
    x = data.draw(arrays(shape, "spaced"), label="x")  # a unique minimum, >= 0.03 from the next
    out = check_gradients(lambda t: t.min(axis=axis, keepdims=keepdims), [x])
    expected = np.min(x, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)


def test_min_splits_the_gradient_between_tied_minima():
    x = Tensor(np.array([[1.0, 0.0, 0.0], [2.0, 3.0, -1.0]]), requires_grad=True)
    x.min(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])


@given(data=st.data(), shape=shapes(min_dims=1))
def test_argmax_is_numpys_and_a_plain_integer_array(data, shape):
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)), label="axis")
    x = data.draw(arrays(shape, "spaced"), label="x")
    t = Tensor(x, requires_grad=True)
    result = t.argmax(axis=axis)
    assert not isinstance(result, Tensor)  # an index has no gradient
    assert np.asarray(result).dtype.kind == "i"
    np.testing.assert_array_equal(result, np.argmax(x, axis=axis))


# ---- astype ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source,target", [(np.float64, np.float32), (np.float32, np.float64)])
@given(data=st.data(), shape=shapes())
def test_astype_is_numpys_and_casts_the_gradient_back(source, target, data, shape):
    x = data.draw(arrays(shape), label="x").astype(source)
    t = Tensor(x, requires_grad=True)
    y = t.astype(target)
    assert y.dtype == target
    np.testing.assert_array_equal(y.data, x.astype(target))
    w = upstream(x.shape)
    with BackwardSpy() as spy:
        (y * w.astype(target)).sum().backward()
    (passed_on,) = [grads[0] for out, _, grads in spy.calls if out is y]
    assert np.asarray(passed_on).dtype == source  # cast back by the op itself, not later
    assert t.grad.dtype == source
    np.testing.assert_array_equal(t.grad, w.astype(target).astype(source))


@given(data=st.data(), shape=shapes())
def test_astype_inside_a_float64_graph_has_exact_gradients(data, shape):
    x = data.draw(arrays(shape), label="x")
    # (float64 only: the float32 pass of check_gradients would see the cast's float64 output)
    check_gradients(lambda t: t.astype(np.float64).tanh() * t.astype(np.float64), [x], check_float32=False)


@pytest.mark.parametrize("dtype", [np.int32, bool, "int64"])
def test_astype_to_a_non_float_dtype_is_refused(dtype):
    with pytest.raises(TypeError, match="astype: dtype must be floating point"):
        Tensor(np.ones(2)).astype(dtype)


# ---- the details mutation testing asked about: messages name the method, in-place ops, repr --------
ONE_D = Tensor(np.ones(2))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ONE_D.clip(min="a"), "clip: expected a number, got 'a'"),
        (lambda: ONE_D.clip(max="b"), "clip: expected a number, got 'b'"),
        (lambda: ONE_D.min(axis=3), "min: axis 3 is out of range"),
        (lambda: ONE_D.argmax(axis=3), "argmax: axis 3 is out of range"),
        (lambda: ONE_D.swapaxes(3, 0), "swapaxes: axis 3 is out of range"),
        (lambda: ONE_D.swapaxes(0, 4), "swapaxes: axis 4 is out of range"),
        (lambda: ONE_D.squeeze(axis=3), "squeeze: axis 3 is out of range"),
        (lambda: ONE_D.expand_dims(3), "expand_dims: axis 3 is out of range for a tensor with 2 dimension"),
        (lambda: split(ONE_D, 2, axis=3), "split: axis 3 is out of range"),
        (lambda: where(np.ones(2, bool), "a", ONE_D), "where: expected numbers (bool, int or float)"),
        (lambda: where(np.ones(2, bool), ONE_D, "b"), "where: expected numbers (bool, int or float)"),
        (lambda: where(np.ones(2, bool), ONE_D, np.ones(3)), "where: the condition of shape (2,) and x, y "
         "of shapes (2,), (3,) do not broadcast"),
    ],
)  # fmt: skip
def test_a_bad_argument_is_named_with_the_method_it_was_given_to(call, message):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "call, advice",
    [
        (lambda: np.linalg.norm(ONE_D), "use Tensor ops"),  # Tensor has no .norm
        (lambda: np.minimum(ONE_D, 0.0), "use tinygrad_rnn.minimum(x, y)"),
        (lambda: np.maximum(ONE_D, 0.0), "use tinygrad_rnn.maximum(x, y)"),
    ],
)
def test_a_numpy_function_given_a_tensor_says_what_to_use_instead(call, advice):
    with pytest.raises(TypeError) as info:
        call()
    assert f"To differentiate, {advice}; for plain values, pass tensor.data" in str(info.value)


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/=", "**="])
def test_in_place_operators_name_themselves_and_the_rewrite(symbol):
    leaf = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        exec(f"leaf {symbol} 2.0", {}, {"leaf": leaf})
    written = symbol[:-1]  # "**=" -> "**"
    assert str(info.value).startswith(f"{symbol} on a leaf that requires grad")
    assert f"write t = t {written} v;" in str(info.value)
    made = leaf * 1.0
    with pytest.raises(RuntimeError) as info:
        exec(f"made {symbol} 2.0", {}, {"made": made})
    assert str(info.value).startswith(f"{symbol}: the graph records no in-place ops")
    assert f"write t = t {written} v for a new tensor" in str(info.value)


def test_in_place_operators_compute_into_the_tensor_outside_the_graph():
    t = Tensor(np.array([2.0, 3.0]))
    other = Tensor(np.array([4.0, 1.0]))
    t /= 2.0
    np.testing.assert_array_equal(t.data, [1.0, 1.5])
    t **= 2
    np.testing.assert_array_equal(t.data, [1.0, 2.25])
    t += other  # a Tensor on the right gives its values
    np.testing.assert_array_equal(t.data, [5.0, 3.25])
    t -= other
    t *= other
    np.testing.assert_array_equal(t.data, [4.0, 2.25])


def test_asarray_gives_the_tensors_own_values_or_a_cast_copy():
    t32 = Tensor(np.array([1.5, 2.5], dtype=np.float32))
    plain = np.asarray(t32)
    assert plain.dtype == np.float32 and np.shares_memory(plain, t32.data)
    cast = np.asarray(Tensor(np.array([1.5, 2.5])), dtype=np.float32)
    assert cast.dtype == np.float32 and cast.tolist() == [1.5, 2.5]
    # The protocol method itself, called directly (as PyTorch's Tensor.__array__(dtype) may be), hands
    # back the dtype asked for: numpy's cast after the call must not be what makes np.asarray right.
    direct = Tensor(np.array([1.5, 2.5])).__array__(np.float32)
    assert type(direct) is np.ndarray and direct.dtype == np.float32 and direct.tolist() == [1.5, 2.5]


def test_repr_aligns_rows_under_the_first_and_says_when_a_gradient_is_needed():
    assert repr(Tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)) == (
        "Tensor([[0., 1.],\n        [2., 3.]], dtype=float64, requires_grad=True)"
    )
    assert repr(Tensor(np.array([1, 2], dtype=np.float32))) == "Tensor([1., 2.], dtype=float32)"


def test_plain_arrays_joined_with_tensors_take_the_first_tensors_dtype():
    t32 = Tensor(np.ones(2, dtype=np.float32))
    assert stack([np.zeros(2), t32]).dtype == np.float32  # as a constant in t32 + array would
    assert concat([np.zeros(2), np.ones(1)]).data.tolist() == [0.0, 0.0, 1.0]  # no Tensor at all: float64
