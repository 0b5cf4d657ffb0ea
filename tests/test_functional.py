"""Losses and linear: values against numpy formulas, gradients against finite differences,
stability, errors, plain-array inputs and the dtype they take."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor, gradcheck, nn, viz

# eps 1e-6 central differences in float64: truncation error ~eps^2 and rounding
# ~1e-16/eps = 1e-10, so atol 1e-7 / rtol 1e-6 is tight yet safe.
TIGHT = dict(eps=1e-6, atol=1e-7, rtol=1e-6)
REDUCTIONS = ["mean", "sum", "none"]


def numpy_cross_entropy(logits, target):
    """Per-sample -log softmax(x)[y] for (N, C) logits, with the max shifted out (stable)."""
    m = logits.max(axis=1, keepdims=True)
    log_z = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return log_z - logits[np.arange(len(target)), target]


def reduce(losses, counted, reduction):
    if reduction == "none":
        return np.where(counted, losses, 0.0)
    total = np.where(counted, losses, 0.0).sum()
    return total if reduction == "sum" else total / counted.sum()


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 4)), np.array([0, 3, 1, 1, 2, 3])


# ---- cross_entropy --------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_value_matches_numpy(batch, reduction):
    logits, target = batch
    out = F.cross_entropy(Tensor(logits), target, reduction=reduction)
    expected = reduce(numpy_cross_entropy(logits, target), np.ones(6, bool), reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignore_index_skips_samples(batch, reduction):
    logits, target = batch
    target = target.copy()
    target[[1, 4]] = 9  # ignored; 9 is also no class, so it must not be range-checked
    counted = target != 9
    out = F.cross_entropy(Tensor(logits), target, reduction=reduction, ignore_index=9)
    losses = numpy_cross_entropy(logits, np.where(counted, target, 0))
    np.testing.assert_allclose(out.data, reduce(losses, counted, reduction), rtol=1e-13)


def test_cross_entropy_gradient_is_softmax_minus_one_hot(batch):
    logits, target = batch
    x = Tensor(logits, requires_grad=True)
    F.cross_entropy(x, target).backward()
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p[np.arange(6), target] -= 1  # d/dx of mean_n (logsumexp(x_n) - x_n[y_n])
    np.testing.assert_allclose(x.grad, p / 6, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_gradcheck(batch, reduction, ignore_index):
    logits, target = batch
    x = Tensor(logits, requires_grad=True)
    weights = np.linspace(0.5, 2.0, 6)  # for "none": each sample's loss gets its own weight
    fn = lambda x: F.cross_entropy(x, target, reduction=reduction, ignore_index=ignore_index)  # noqa: E731
    weighted = (lambda x: fn(x) * weights) if reduction == "none" else fn
    assert gradcheck(weighted, [x], **TIGHT)


def test_cross_entropy_single_sample_and_class_axis_one():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal(5)
    out = F.cross_entropy(Tensor(logits), 3)
    np.testing.assert_allclose(out.data, numpy_cross_entropy(logits[None], np.array([3]))[0], rtol=1e-13)
    # (N, C, T) with target (N, T): the class axis is 1, as in PyTorch.
    logits = rng.standard_normal((2, 4, 3))
    target = np.array([[0, 3, 1], [2, 2, 0]])
    rows = logits.transpose(0, 2, 1).reshape(-1, 4)
    expected = numpy_cross_entropy(rows, target.reshape(-1)).reshape(2, 3)
    out = F.cross_entropy(Tensor(logits), target, reduction="none")
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)
    x = Tensor(logits, requires_grad=True)
    assert gradcheck(lambda x: F.cross_entropy(x, target, ignore_index=2), [x], **TIGHT)


def test_cross_entropy_accepts_tensor_targets(batch):
    logits, target = batch
    from_tensor = F.cross_entropy(Tensor(logits), Tensor(target))
    np.testing.assert_allclose(from_tensor.data, numpy_cross_entropy(logits, target).mean(), rtol=1e-13)


class _ArrayWithData(np.ndarray):
    """An ndarray subclass with a _data attribute, the name a Tensor keeps its values under."""


def test_targets_are_read_as_tensor_reads_them_also_from_an_object_with_a_data_attribute():
    """Targets given as x and as Tensor(x) are the same targets: Tensor(x) takes x._data's values,
    so the loss does too (a Tensor's own array, not what np.asarray of the object would give)."""
    source = np.zeros(2).view(_ArrayWithData)  # its own values say class 0 for both samples
    source._data = np.array([2, 1])
    np.testing.assert_array_equal(Tensor(source).data, [2.0, 1.0])
    log_probs = Tensor(np.array([[-0.5, -1.5, -2.5], [-3.0, -4.0, -5.0]]))
    assert F.nll_loss(log_probs, source, reduction="sum").item() == 2.5 + 4.0  # classes 2 and 1


def test_cross_entropy_is_stable_at_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4 - 1.0, 1e4], [5e3, 5e3, 5e3]])
    target = np.array([1, 1, 2])
    x = Tensor(logits, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow in exp would warn
        loss = F.cross_entropy(x, target, reduction="none")
        loss.sum().backward()
    # Worked by hand: row 0 loses by 1e4; row 1 is log(1 + e^1) (1 below the max); row 2 is log 3.
    np.testing.assert_allclose(loss.data, [1e4, np.log1p(np.e), np.log(3)], rtol=1e-12)
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad[2], [1 / 3, 1 / 3, -2 / 3], rtol=1e-12)


def test_cross_entropy_all_ignored_mean_is_nan_with_zero_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())  # PyTorch's answer for 0/0
    loss.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


@given(
    n=st.integers(1, 5),
    c=st.integers(1, 6),
    scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3]),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_property_matches_numpy(n, c, scale, seed):
    rng = np.random.default_rng(seed)
    logits = scale * rng.standard_normal((n, c))
    target = rng.integers(0, c, size=n)
    out = F.cross_entropy(Tensor(logits), target, reduction="sum")
    expected = numpy_cross_entropy(logits, target).sum()
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert out.item() >= -1e-12  # a negative log-probability


def test_cross_entropy_errors():
    logits = Tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"cross_entropy: target 4 .*\[0, 4\)"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target -2"):
        F.cross_entropy(logits, np.array([0, -2, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: .*\(3, 4\).*target of shape \(3,\), got \(2,\)"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(TypeError, match="cross_entropy: expected integer"):
        F.cross_entropy(logits, np.array([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match="cross_entropy: reduction"):
        F.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")


def test_losses_of_an_empty_batch_follow_pytorch():
    """An empty batch (N = 0) is no error: "none" gives shape (0,), "sum" 0, "mean" 0/0 = nan.

    The range check must not take min/max of no targets (numpy refuses that reduction).
    """
    logits, target = Tensor(np.zeros((0, 3))), np.zeros(0, dtype=np.int64)
    assert F.cross_entropy(logits, target, reduction="none").shape == (0,)
    assert F.cross_entropy(logits, target, reduction="sum").item() == 0.0
    assert np.isnan(F.cross_entropy(logits, target).item())
    assert F.nll_loss(logits, target, reduction="sum").item() == 0.0


def test_an_empty_batch_with_no_classes_and_extra_axes_follows_pytorch():
    """Input (N, C, d) = (0, 0, 3): no samples and no classes. PyTorch's nll_loss gives nan for the
    mean and 0 for the sum, as for any empty batch; the rows view must not ask reshape to infer a
    size from zero entries (its error would name a reshape the user never called)."""
    log_probs, target = Tensor(np.zeros((0, 0, 3)), requires_grad=True), np.zeros((0, 3), dtype=np.int64)
    assert F.nll_loss(log_probs, target, reduction="none").shape == (0, 3)
    assert F.nll_loss(log_probs, target, reduction="sum").item() == 0.0
    loss = F.nll_loss(log_probs, target)
    assert np.isnan(loss.item())
    loss.backward()
    assert log_probs.grad.shape == (0, 0, 3)


def test_ignored_samples_need_no_valid_class_index():
    """With one class (C = 1) only class 0 exists; an ignored sample must still pick nothing out of range.

    log_probs picked by hand: samples 0 and 2 lose 0.5 and 2.0, sample 1 is ignored.
    """
    log_probs = Tensor(np.array([[-0.5], [-1.5], [-2.0]]))
    target = np.array([0, -100, 0])
    np.testing.assert_array_equal(F.nll_loss(log_probs, target, reduction="none").data, [0.5, 0.0, 2.0])
    assert F.nll_loss(log_probs, target, reduction="sum").item() == 2.5
    assert F.nll_loss(log_probs, target).item() == 1.25


@pytest.mark.parametrize(
    ("reduction", "plain_ops", "ops_with_an_ignored_target"),
    [
        ("none", ["reshape", "neg", "index"], ["reshape", "neg", "where", "index"]),
        ("sum", ["neg", "sum", "index"], ["neg", "sum", "where", "index"]),
        ("mean", ["mul", "sum", "index"], ["mul", "sum", "where", "index"]),
    ],
)
def test_a_plain_batch_costs_one_index_op_and_the_mask_only_when_needed(
    reduction, plain_ops, ops_with_an_ignored_target
):
    """nll_loss of an (N, C) batch is -x[n, y_n] reduced: no transpose or reshape of the (N, C) input,
    and the multiply by the ignore mask only when some target is ignored (the ops backward visits):
    not when ignore_index is a class (2) that no target names."""
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    cases = [
        ([0, 3, 1], -100, plain_ops),
        ([0, 3, 1], 2, plain_ops),
        ([0, -100, 1], -100, ops_with_an_ignored_target),
        ([0, 2, 1], 2, ops_with_an_ignored_target),
    ]
    for target, ignore_index, expected in cases:
        loss = F.nll_loss(x, np.array(target), reduction=reduction, ignore_index=ignore_index)
        with viz.trace_backward() as trace:
            loss.backward(np.ones(loss.shape))
        assert [record.op for record in trace] == expected


def test_whole_valued_float_targets_are_indices_up_to_2_to_the_53():
    """Float targets (a Tensor's, or a float array) are indices while every integer up to them is a
    float: up to 2**53. Beyond it a float stands for several integers (2**53 + 1 rounds to 2**53 + 2),
    so it is refused even when it is the ignore_index; 2**53 itself is one, and can be ignored."""
    log_probs = Tensor(np.linspace(-5.0, -0.1, 400).reshape(2, 200))  # 200 classes, distinct values
    lp = log_probs.data
    loss = F.nll_loss(log_probs, Tensor(np.array([150.0, 3.0])))  # an index far above 2 * 53 = 106
    assert loss.item() == pytest.approx(-(lp[0, 150] + lp[1, 3]) / 2, rel=1e-15)
    edge = 2.0**53
    loss = F.nll_loss(log_probs, np.array([7.0, edge]), reduction="sum", ignore_index=2**53)
    assert loss.item() == -lp[0, 7]
    with pytest.raises(IndexError, match=r"nll_loss: 9\.0072e\+15 \(in a float array\) is not an index"):
        F.nll_loss(log_probs, np.array([7.0, edge + 2]), reduction="sum", ignore_index=2**53 + 2)


def test_a_write_to_the_callers_indices_after_forward_does_not_move_the_gradient():
    """The loss (and Embedding) copy the integer indices: the graph keeps them for backward, so
    reusing the caller's buffer for the next batch before backward must not change dL/dx.

    cross_entropy of zero logits: dL/dx = (softmax - one_hot(y)) / N = (1/3 - [c == y_n]) / 2 by hand.
    """
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    target = np.array([0, 1], dtype=np.intp)  # already intp, so nothing forces a copy
    loss = F.cross_entropy(x, target)
    target[:] = [2, 2]
    loss.backward()
    np.testing.assert_allclose(x.grad, (1 / 3 - np.eye(3)[[0, 1]]) / 2, rtol=1e-15)

    embedding = nn.Embedding(4, 2, rng=0)
    indices = np.array([1, 1, 3], dtype=np.intp)
    out = embedding(indices)
    indices[:] = 0
    out.sum().backward()
    np.testing.assert_array_equal(embedding.weight.grad, [[0, 0], [2, 2], [0, 0], [1, 1]])


# ---- nll_loss -------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_value_and_gradcheck(batch, reduction):
    logits, target = batch
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    target = target.copy()
    target[2] = -100
    counted = target != -100
    out = F.nll_loss(Tensor(log_probs), target, reduction=reduction)
    picked = -log_probs[np.arange(6), np.where(counted, target, 0)]
    np.testing.assert_allclose(out.data, reduce(picked, counted, reduction), rtol=1e-13)
    # nll_loss is linear in its input: dL/dlogp[n, y_n] = -1 (or -1/count), zero elsewhere.
    x = Tensor(log_probs, requires_grad=True)
    weights = np.linspace(1.0, 2.0, 6)
    fn = (lambda x: F.nll_loss(x, target, reduction) * weights) if reduction == "none" else (
        lambda x: F.nll_loss(x, target, reduction)
    )
    assert gradcheck(fn, [x], **TIGHT)


def test_nll_loss_names_itself_in_errors():
    with pytest.raises(IndexError, match="nll_loss: target 3"):
        F.nll_loss(Tensor(np.zeros((2, 3))), np.array([3, 0]))


# ---- mse_loss -------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_value_and_gradients(reduction):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    squared = (a - b) ** 2
    expected = {"mean": squared.mean(), "sum": squared.sum(), "none": squared}[reduction]
    np.testing.assert_allclose(F.mse_loss(Tensor(a), b, reduction).data, expected, rtol=1e-13)
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    weights = rng.uniform(0.5, 2.0, (3, 4)) if reduction == "none" else 1.0
    assert gradcheck(lambda x, y: F.mse_loss(x, y, reduction) * weights, [x, y], **TIGHT)


def test_mse_loss_gradient_formula():
    x = Tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    F.mse_loss(x, np.array([0.0, 2.0, 1.0])).backward()
    np.testing.assert_allclose(x.grad, 2 * np.array([1.0, 0.0, 3.0]) / 3, rtol=1e-15)


def test_mse_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(3,\) but target has shape \(3, 1\)"):
        F.mse_loss(Tensor(np.zeros(3)), np.zeros((3, 1)))


def test_mse_loss_takes_plain_arrays_and_keeps_the_inputs_dtype():
    """A plain float32 array input stays float32, and a plain target (a list) takes the input's dtype,
    as a constant does: the result is float32. Values by hand: diffs 1, -2, 0.5."""
    prediction = np.array([1.0, 0.0, 2.5], dtype=np.float32)
    target = [0.0, 2.0, 2.0]
    out = F.mse_loss(prediction, target, reduction="sum")
    assert out.dtype == np.float32
    assert out.item() == 1.0 + 4.0 + 0.25
    assert F.mse_loss(prediction, target).item() == 5.25 / 3
    assert F.mse_loss(prediction, target, reduction="none").dtype == np.float32


def test_mse_loss_names_itself_for_a_bad_reduction():
    message = r"^mse_loss: reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"
    with pytest.raises(ValueError, match=message):
        F.mse_loss(Tensor(np.zeros(2)), np.zeros(2), reduction="avg")


# ---- linear ---------------------------------------------------------------------------------
def test_linear_takes_plain_arrays_in_the_inputs_dtype():
    """x, W and b may be plain arrays or lists; W and b take x's dtype (a float32 x gives float32,
    even from float64 W and b). x W^T + b worked by hand, exact in float32."""
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    expected = np.array([[-1.5, 3.0], [-1.5, 12.0]])  # x W^T = [[-2, 4], [-2, 13]], plus b
    weight, bias = [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], [0.5, -1.0]
    for w, b in [(weight, bias), (np.array(weight), np.array(bias))]:  # lists; float64 arrays
        out = F.linear(x, w, b)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.data, expected)
    no_bias = F.linear(Tensor(x), np.array(weight))
    assert no_bias.dtype == np.float32
    np.testing.assert_array_equal(no_bias.data, [[-2.0, 4.0], [-2.0, 13.0]])


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("linear", lambda bad: F.linear(bad, np.ones((2, 3)))),
        ("cross_entropy", lambda bad: F.cross_entropy(bad, [0])),
        ("nll_loss", lambda bad: F.nll_loss(bad, [0])),
        ("mse_loss", lambda bad: F.mse_loss(bad, [0.0])),
    ],
)
def test_each_function_names_itself_when_its_input_is_not_numeric(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: input must be a Tensor or numeric array"):
        call(["a", "b", "c"])


def test_an_ignored_sample_is_never_read_so_minus_inf_there_is_harmless():
    """A masked class holding -inf in an ignored sample: the loss is the other sample's alone.

    Ignored samples pick class 0 and are then zeroed; zeroing by `* 0` would turn -inf into nan.
    """
    logits = np.array([[-np.inf, 0.0, 1.0], [0.0, -1.0, -0.5]])
    x = Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, np.array([-100, 1]))
    loss.backward()
    row = logits[1]
    softmax = np.exp(row) / np.exp(row).sum()
    np.testing.assert_allclose(loss.data, -np.log(softmax[1]), rtol=1e-15)
    np.testing.assert_allclose(x.grad[0], 0.0, atol=0)
    np.testing.assert_allclose(x.grad[1], softmax - np.eye(3)[1], rtol=1e-14)


def test_compiled_cross_entropy_reads_the_targets_only_through_their_min_and_max():
    """Under jit the targets' checks are the program's guards, printed in step.source: targets that
    are all classes, with an ignore_index that is none of them (3 with C=3), take the short path,
    two guards (smallest >= 0, largest < C), and no mask of ignored samples is formed."""
    from tinygrad_rnn.compiler import jit

    step = jit(lambda x, y: F.cross_entropy(x, y, ignore_index=3))
    z = np.array([[0.1, 0.2, 0.3], [0.5, -0.1, 0.0]])
    loss = step(Tensor(z, requires_grad=True), np.array([0, 2]))  # the smallest target is class 0
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(loss.data, -(log_probs[0, 0] + log_probs[1, 2]) / 2)
    forward = step.source.split("def backward")[0]
    ops = [line.split("# ")[1].split()[0] for line in forward.splitlines() if " = " in line and "# " in line]
    assert ops.count("min") == ops.count("max") == 1 and "not_equal" not in ops and "where" not in ops
    assert " >= 0 " in forward and " < 3 " in forward
    assert re.search(r"\.reshape\(-1\)\s+# reshape \(2,\)", forward)  # the targets, flattened for the index


def test_a_mean_over_no_counted_sample_is_nan_plus_zero_times_the_sum():
    """Every target ignored: the mean is 0/0, nan, written as sum * 0.0 + nan (the graph shows
    add), so backward sends a zero gradient into the sum and on down to the input."""
    x = Tensor(np.array([[0.0, -1.0], [-2.0, -3.0]]), requires_grad=True)
    loss = F.nll_loss(x, np.array([5, 5]), ignore_index=5)
    assert np.isnan(loss.data)
    with viz.trace_backward(keep_grads=True) as trace:
        loss.backward()
    assert [record.op for record in trace][:3] == ["add", "mul", "sum"]
    np.testing.assert_array_equal(trace[2].grad_output, 0.0)  # what reached the sum: 1 * 0.0
    np.testing.assert_array_equal(x.grad, np.zeros((2, 2)))


def test_compiled_nll_loss_flattens_targets_and_mask_with_reshape_minus_one():
    """The numpy work on the targets is part of the printed program: with a target ignored, the mask
    (targets != ignore_index) and the targets are flattened by reshape(-1) and the ignored sample's
    column is chosen by np.where; every flattening reads reshape(-1), as numpy spells "all of it"."""
    from tinygrad_rnn.compiler import jit

    step = jit(lambda x, y: F.nll_loss(x, y, ignore_index=1))
    x = Tensor(np.arange(12.0).reshape(2, 3, 2) / 10, requires_grad=True)  # (N, C, T): class axis 1
    loss = step(x, np.array([[0, 1], [2, 0]]))  # the target at (0, 1) is ignored
    np.testing.assert_allclose(loss.data, -(x.data[0, 0, 0] + x.data[1, 2, 0] + x.data[1, 0, 1]) / 3)
    forward = step.source.split("def backward")[0]
    flattened = re.findall(r"(\w+) = (\w+)\.reshape\((.*?)\)\s+# reshape \(4,\)", forward)
    assert len(flattened) == 2 and all(args == "-1" for _, _, args in flattened)
    assert re.search(r"np\.where\(\w+, \w+, 0\)", forward)
