"""Gradient clipping, detach_state and the truncated-BPTT window iterator."""

import numpy as np
import pytest

from tinygrad_rnn import Tensor
from tinygrad_rnn.nn import Parameter
from tinygrad_rnn.nn.utils import bptt_windows, clip_grad_norm_, clip_grad_value_, detach_state


def params_with_grads(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    params = [Parameter(np.zeros(shape)) for shape in [(3, 4), (4,), (2, 2, 2)]]
    for p in params:
        p.grad = scale * rng.standard_normal(p.shape)
    return params


def all_grads(params):
    return np.concatenate([p.grad.ravel() for p in params if p.grad is not None])


# ---- clip_grad_norm_ ------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, np.inf])
def test_clip_grad_norm_returns_norm_of_all_grads_and_clips_to_max(norm_type):
    params = params_with_grads(scale=5.0)
    before = all_grads(params)
    total = clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    np.testing.assert_allclose(total, np.linalg.norm(before, ord=norm_type), rtol=1e-13)
    after = all_grads(params)
    np.testing.assert_allclose(np.linalg.norm(after, ord=norm_type), 1.5, rtol=1e-6)
    np.testing.assert_allclose(after, before * (1.5 / (total + 1e-6)), rtol=1e-13)  # same direction


def test_clip_grad_norm_leaves_small_grads_alone_and_skips_missing():
    params = params_with_grads(scale=0.01)
    params.append(Parameter(np.ones(3)))  # no grad: skipped, not an error
    before = all_grads(params)
    total = clip_grad_norm_(params, max_norm=10.0)
    np.testing.assert_allclose(total, np.linalg.norm(before), rtol=1e-13)
    np.testing.assert_array_equal(all_grads(params), before)
    assert params[-1].grad is None
    assert clip_grad_norm_([Parameter(np.ones(2))], 1.0) == 0.0


def test_clip_grad_norm_single_tensor_and_float32():
    p = Parameter(np.zeros(4), dtype=np.float32)
    p.grad = np.array([3.0, 4.0, 0.0, 0.0], dtype=np.float32)
    assert clip_grad_norm_(p, 1.0) == pytest.approx(5.0)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, [0.6, 0.8, 0, 0], rtol=1e-6)


def test_clip_grad_norm_errors():
    params = params_with_grads()
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm"):
        clip_grad_norm_(params, -1.0)
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type"):
        clip_grad_norm_(params, 1.0, norm_type=0)
    params[0].grad[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="clip_grad_norm_: the total gradient norm is nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


# ---- clip_grad_value_ -----------------------------------------------------------------------
def test_clip_grad_value_clamps_each_entry():
    params = params_with_grads(scale=2.0)
    before = [p.grad.copy() for p in params]
    clip_grad_value_(params, 0.5)
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad, np.minimum(np.maximum(g, -0.5), 0.5))
    assert max(np.abs(g).max() for g in before) > 0.5  # something was actually clipped
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value"):
        clip_grad_value_(params, -1.0)


# ---- detach_state ---------------------------------------------------------------------------
def test_detach_state_keeps_values_and_structure_and_cuts_the_graph():
    w = Tensor(np.ones(2), requires_grad=True)
    h, c = w * 2.0, w * 3.0
    state = (h, [c, (h,)])
    detached = detach_state(state)
    assert isinstance(detached, tuple) and isinstance(detached[1], list) and isinstance(detached[1][1], tuple)
    for new, old in [(detached[0], h), (detached[1][0], c), (detached[1][1][0], h)]:
        assert not new.requires_grad and new.is_leaf
        assert new.data is old.data or np.shares_memory(new.data, old.data)
    assert h.requires_grad  # the original is untouched
    assert detach_state(None) is None
    with pytest.raises(TypeError, match="detach_state: expected a Tensor"):
        detach_state({"h": h})


# ---- bptt_windows ---------------------------------------------------------------------------
def test_bptt_windows_time_major_with_shorter_last_window():
    x = np.arange(7 * 2 * 3).reshape(7, 2, 3)
    y = np.arange(7 * 2).reshape(7, 2)
    windows = list(bptt_windows(x, y, 3))
    assert [w[0].shape for w in windows] == [(3, 2, 3), (3, 2, 3), (1, 2, 3)]
    np.testing.assert_array_equal(np.concatenate([w[0] for w in windows]), x)
    np.testing.assert_array_equal(np.concatenate([w[1] for w in windows]), y)
    np.testing.assert_array_equal(windows[1][1], y[3:6])


def test_bptt_windows_batch_first_and_drop_last():
    x = np.arange(2 * 8).reshape(2, 8)
    windows = list(bptt_windows(x, x + 100, 3, time_axis=1, drop_last=True))
    assert len(windows) == 2
    np.testing.assert_array_equal(windows[1][0], x[:, 3:6])
    np.testing.assert_array_equal(windows[1][1], x[:, 3:6] + 100)
    assert len(list(bptt_windows(x, None, 4, time_axis=-1, drop_last=True))) == 2  # 4 divides 8
    assert list(bptt_windows(x, None, 9, time_axis=1, drop_last=True)) == []


def test_bptt_windows_of_one_step_each():
    # k=1 is the smallest window length allowed: one window per time step
    x = np.arange(4 * 2).reshape(4, 2)
    windows = list(bptt_windows(x, x + 10, 1))
    assert len(windows) == 4
    for t, (xs, ys) in enumerate(windows):
        np.testing.assert_array_equal(xs, x[t : t + 1])
        np.testing.assert_array_equal(ys, x[t : t + 1] + 10)
    assert len(list(bptt_windows(x, None, np.int64(1), drop_last=True))) == 4


def test_bptt_windows_errors():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="bptt_windows: window length k"):
        list(bptt_windows(x, x, 0))
    with pytest.raises(ValueError, match=r"bptt_windows: inputs have 5 steps .*targets have shape \(4, 2\)"):
        list(bptt_windows(x, np.zeros((4, 2)), 2))
    with pytest.raises(ValueError, match="bptt_windows: time_axis 2"):
        list(bptt_windows(x, None, 2, time_axis=2))


# ---- truncated BPTT: the gradient stops at the window edge -----------------------------------
def tiny_rnn(x_window, h, w_ih, w_hh):
    """h_t = tanh(x_t W_ih + h_{t-1} W_hh), one step per row of the window; returns (states, h_T)."""
    states = []
    for t in range(x_window.shape[0]):
        h = (x_window[t] @ w_ih + h @ w_hh).tanh()
        states.append(h)
    return states, h


@pytest.mark.parametrize("detach", [True, False])
def test_detached_state_cuts_the_gradient_at_the_window_edge(detach):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((6, 2, 3)), requires_grad=True)  # (time, batch, features)
    w_ih = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w_hh = Tensor(0.5 * rng.standard_normal((4, 4)), requires_grad=True)
    h = Tensor(np.zeros((2, 4)))
    windows = bptt_windows(x, None, 3)
    first, _ = next(windows)
    _, h = tiny_rnn(first, h, w_ih, w_hh)  # window 1: only carries the state forward
    if detach:
        h = detach_state(h)
    second, _ = next(windows)
    states, _ = tiny_rnn(second, h, w_ih, w_hh)
    states[-1].sum().backward()  # the loss comes from window 2 only
    first_window_grad = x.grad[:3]
    assert np.abs(x.grad[3:]).max() > 1e-3  # window 2's own inputs always get a gradient
    if detach:
        np.testing.assert_array_equal(first_window_grad, 0.0)
    else:
        assert np.abs(first_window_grad).max() > 1e-3


def test_detached_windows_give_the_same_forward_values_as_one_pass():
    """Detaching changes only the gradient: the states equal those of one untruncated pass."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 1, 2))
    w_ih, w_hh = Tensor(rng.standard_normal((2, 3))), Tensor(rng.standard_normal((3, 3)))
    full, _ = tiny_rnn(Tensor(x), Tensor(np.zeros((1, 3))), w_ih, w_hh)
    h, windowed = None, []
    for window, _ in bptt_windows(x, None, 3):
        h = detach_state(h) if h is not None else Tensor(np.zeros((1, 3)))
        states, h = tiny_rnn(Tensor(window), h, w_ih, w_hh)
        windowed += states
    np.testing.assert_array_equal(np.stack([s.data for s in windowed]), np.stack([s.data for s in full]))


def test_clip_grad_norm_clips_a_norm_just_above_max_norm():
    """A norm between max_norm and 2 max_norm must be clipped too (not only large excesses)."""
    p = Parameter(np.zeros(2))
    p.grad = np.array([3.0, 4.0])  # norm 5
    total = clip_grad_norm_(p, max_norm=4.0)
    assert total == 5.0
    np.testing.assert_allclose(p.grad, np.array([3.0, 4.0]) * 4.0 / (5.0 + 1e-6), rtol=1e-15)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_clip_grad_norm_error_if_nonfinite_catches_inf_as_well_as_nan(bad):
    params = params_with_grads()
    params[1].grad[2] = bad
    with pytest.raises(FloatingPointError, match=r"clip_grad_norm_: the total gradient norm is (inf|nan)"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert params[1].grad[2] is not None and not np.isfinite(params[1].grad[2])  # nothing was scaled


@pytest.mark.parametrize(
    "call, shown",
    [
        (lambda ps: clip_grad_norm_(ps, "1"), r"clip_grad_norm_: max_norm must be a real number, got str"),
        (lambda ps: clip_grad_norm_(ps, 1.0, norm_type="2"), r"clip_grad_norm_: norm_type .* got str '2'"),
        (lambda ps: clip_grad_norm_(ps, None), r"clip_grad_norm_: max_norm .* got NoneType None"),
        (lambda ps: clip_grad_value_(ps, "0.5"), r"clip_grad_value_: clip_value .* got str '0.5'"),
    ],
)
def test_clip_arguments_that_are_not_numbers_are_named(call, shown):
    with pytest.raises(TypeError, match=shown):
        call(params_with_grads())


def test_clip_grad_norm_accepts_numpy_scalars():
    p = Parameter(np.zeros(2))
    p.grad = np.array([3.0, 4.0])
    assert clip_grad_norm_(p, np.float32(10.0), norm_type=np.array(2.0)) == 5.0


# ---- what mutation testing asked: boundaries, the messages' meaning, inputs of other types ----------
def test_clip_grad_norm_of_a_norm_that_overflows_is_inf_and_zeroes_the_gradients_as_pytorch():
    # Each entry is finite, but the sum of squares is not (as in torch.nn.utils.clip_grad_norm_,
    # which gives inf and multiplies by 1 / inf = 0). No RuntimeWarning: pytest would fail on one.
    p = Parameter(np.zeros(2))
    p.grad = np.array([1e300, 1e300])
    assert clip_grad_norm_(p, 1.0) == np.inf
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])
    p.grad = np.array([1e300, 1e300])
    overflow = r"is inf \(the gradients are finite; their norm overflows\)"
    with pytest.raises(FloatingPointError, match=overflow):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    p.grad = np.array([np.nan, 1.0])
    with pytest.raises(FloatingPointError, match=r"is nan \(a gradient holds nan or inf\)"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_leaves_a_norm_between_half_and_all_of_max_norm_alone():
    p = Parameter(np.zeros(2))
    p.grad = np.array([0.6, 0.8])  # norm 1, max_norm 1.5: scale 1.5 would grow the gradient
    assert clip_grad_norm_(p, 1.5) == pytest.approx(1.0)
    np.testing.assert_array_equal(p.grad, [0.6, 0.8])


def test_clip_with_a_limit_of_zero_or_below_one():
    p = Parameter(np.zeros(2))
    p.grad = np.array([3.0, -4.0])
    assert clip_grad_norm_(p, 0.5) == 5.0  # any max_norm >= 0 is allowed, as in PyTorch
    np.testing.assert_allclose(p.grad, np.array([3.0, -4.0]) * 0.5 / (5.0 + 1e-6), rtol=1e-15)
    clip_grad_norm_(p, 0.0)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])
    p.grad = np.array([3.0, -4.0])
    clip_grad_value_(p, 0.0)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])


@pytest.mark.parametrize(
    "params, got",
    [(Parameter(np.ones(2)), "one Tensor"), (5, "int"), (None, "NoneType")],
)
def test_optimizers_name_what_they_got_instead_of_parameters(params, got):
    from tinygrad_rnn import optim

    message = f"SGD: params must be an iterable of Tensors (e.g. model.parameters()), got {got}"
    with pytest.raises(TypeError) as info:
        optim.SGD(params, lr=0.1)
    assert str(info.value) == message


def test_a_gradient_that_is_not_an_array_is_named_by_its_type():
    p = Parameter(np.zeros(2))
    p.grad = [1.0, 2.0]  # a list: it has no shape to compare
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(2,\) but its \.grad has list; "):
        clip_grad_norm_([p], 1.0)


@pytest.mark.parametrize("k", [True, 2.0, "3"])
def test_bptt_windows_refuses_a_window_length_that_is_not_an_int(k):
    with pytest.raises(ValueError, match="bptt_windows: window length k must be a positive integer"):
        list(bptt_windows(np.zeros((6, 2)), None, k))


def test_bptt_windows_of_nested_lists_and_a_negative_time_axis():
    windows = list(bptt_windows([[1, 2, 3], [4, 5, 6]], [[0, 1, 0], [1, 0, 1]], 2, time_axis=-1))
    assert [x.tolist() for x, _ in windows] == [[[1, 2], [4, 5]], [[3], [6]]]
    assert [y.tolist() for _, y in windows] == [[[0, 1], [1, 0]], [[0], [1]]]
    first = next(bptt_windows(np.arange(6).reshape(3, 2), None, 2, time_axis=-2))[0]
    assert first.tolist() == [[0, 1], [2, 3]]  # -2 is axis 0 of a 2-d array


def test_bptt_windows_refuses_targets_without_the_time_axis():
    # batch-first inputs (B, T, F) with time_axis=1, and one target per sequence: shape (B,)
    message = r"inputs have 5 steps along time_axis 1 .* targets have shape \(2,\)"
    with pytest.raises(ValueError, match=message):
        list(bptt_windows(np.zeros((2, 5, 3)), np.zeros(2), 2, time_axis=1))


def test_clip_grad_norm_measures_float64_gradients_without_copying_them():
    """The norm reads a float64 gradient where it lies: no copy of it is made (tracemalloc sees
    numpy's buffers), so clipping a 1 MiB gradient does not take another MiB."""
    import tracemalloc

    p = Parameter(np.zeros(2**17))
    p.grad = np.full(2**17, 1e-3)  # float64, 1 MiB; norm sqrt(2**17) * 1e-3 = 0.362
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        total = clip_grad_norm_([p], max_norm=10.0)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert total == pytest.approx(np.sqrt(2**17) * 1e-3)
    assert peak < 2**19  # well under the gradient's 1 MiB


def test_clip_grad_norm_writes_nothing_when_the_scale_is_exactly_one():
    """Clipping multiplies by max_norm / (total + 1e-6) only when that is below 1 (or nan): at
    exactly 1 the gradients are not written, so a read-only gradient is accepted."""
    p = Parameter(np.zeros(2))
    grad = np.array([3.0, 4.0])  # norm 5
    grad.flags.writeable = False
    p.grad = grad
    assert clip_grad_norm_([p], max_norm=5.0 + 1e-6) == 5.0  # scale (5 + 1e-6) / (5 + 1e-6) = 1
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])
