"""No silent wrong results, round two (issue 19): each trap a new user found, with the right
answer or a named error at the user's call. PyTorch is the oracle: each test says what it does.

Expected values are derived by hand in the comments (d/dx sum(x * c) = c, and so on), never
read back from the engine. Gradients are float64; where a value is compared it is exact or
within a stated tolerance.
"""

from __future__ import annotations

import io
import os
import re
import warnings

import numpy as np
import pytest
from rich.console import Console

import tinygrad_rnn.nn.functional as F
from demos.__main__ import main as demos_main
from tinygrad_rnn import Tensor, gradcheck, gradgradcheck, load, nn, no_grad, optim, save, stack, where
from tinygrad_rnn.data import adding_batch, batch_rows, read_corpus_file, recall_batch
from tinygrad_rnn.io import write_atomically
from tinygrad_rnn.nn.utils import clip_grad_norm_, clip_grad_value_
from tinygrad_rnn.train import truncated_bptt


def leaf(values) -> Tensor:
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ==== 1. silent wrong results =======================================================================
def test_iterating_a_0d_tensor_is_an_error_and_a_1d_tensor_gives_its_rows():
    # numpy: TypeError "iteration over a 0-d array"; PyTorch: TypeError "iteration over a 0-d tensor".
    # It gave [] (iteration fell back to t[0], whose IndexError ended it at once).
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(Tensor(1.0))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(1.0))
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    rows = list(x)
    assert [r.shape for r in rows] == [(2,), (2,)]
    (rows[0] * 10.0 + rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[10.0, 10.0], [1.0, 1.0]])


def test_the_array_given_to_tensor_is_copied_so_a_later_write_cannot_change_the_gradient():
    # The case: d/dx sum(x * x) = 2x at x = [1, 1] is [2, 2], whatever happens to `a` later.
    # PyTorch: torch.tensor(a) copies (torch.from_numpy shares; Tensor(t.data) is ours for that).
    a = np.array([1.0, 1.0])
    x = Tensor(a, requires_grad=True)
    y = (x * x).sum()
    a[0] = 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    np.testing.assert_array_equal(x.data, [1.0, 1.0])


def test_a_memory_mapped_array_given_to_tensor_is_copied(tmp_path):
    # np.asarray(memmap) is a plain view of the file's memory (another object, owning nothing):
    # it is still the caller's memory, so Tensor and a constant operand copy it.
    m = np.memmap(tmp_path / "m.dat", dtype=np.float64, mode="w+", shape=(2,))
    m[:] = [1.0, 2.0]
    t = Tensor(m)
    x = leaf([1.0, 1.0])
    y = (x * m).sum()
    m[0] = 100.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])  # d/dx sum(x * c) = c as forward saw it


class _Holder:
    """An object that gives numpy its own array (as array-like containers may)."""

    def __init__(self, values):
        self.values = np.array(values, dtype=np.float64)

    def __array__(self, dtype=None, copy=None):
        return self.values


def test_an_object_whose___array___hands_over_its_own_memory_is_copied():
    # np.asarray(holder) is holder.values itself: an array that owns its memory, yet the caller's.
    # torch.tensor(holder) copies; so must Tensor, and so must a constant operand.
    holder = _Holder([1.0, 2.0])
    t = Tensor(holder)
    x = leaf([1.0, 1.0])
    y = (x * holder).sum()
    holder.values[0] = 100.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


class _TaggedArray(np.ndarray):
    """An ndarray subclass with an attribute named _data, as a Tensor has (and a masked array)."""


def test_a_tensor_made_from_an_arrays_data_attribute_copies_what_that_attribute_hands_over():
    # Tensor(a) reads a's values from a._data (the attribute a Tensor keeps them in). Whether the
    # result is already fresh is decided from what the values came from, _data, not from a: here a
    # is an ndarray (whose conversions are fresh) but _data hands over memory it keeps, so a copy.
    holder = _Holder([1.0, 2.0])
    source = np.zeros(2).view(_TaggedArray)
    source._data = holder
    t = Tensor(source)
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    holder.values[0] = 100.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_a_tensor_made_from_a_tensors_memory_still_shares_it_and_its_write_stamp():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    for other in (Tensor(x), Tensor(x.data)):
        assert np.shares_memory(other.data, x.data)
    Tensor(x.data).data[0] = 5.0  # a write to x's memory, through another tensor
    with pytest.raises(RuntimeError, match="written to in place"):
        y.backward()


def test_a_constant_operand_written_after_forward_does_not_change_the_gradient():
    # d/dx sum(x * c) = c = [1, 2] as forward saw it (it gave [100, 2] after c[0] = 100).
    x = leaf([1.0, 1.0])
    c = np.array([1.0, 2.0])
    y = (x * c).sum()
    c[0] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])
    # x @ W with W = I: d/dx sum(x W) = rows sums of W = [1, 1], not [14, 14] after W[:] = 7.
    x = leaf([[1.0, 1.0]])
    W = np.eye(2)
    y = (x @ W).sum()
    W[:] = 7.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0]])
    # where's branches and stack's plain arrays are constants too
    x = leaf([1.0, 2.0])
    other = np.array([3.0, 4.0])
    y = (where(np.array([True, False]), x, other) * stack([x, other]).sum(axis=0)).sum()
    other[:] = 0.0
    y.backward()
    # y = x0 * (x0 + 3) + 4 * (x1 + 4): dy/dx0 = 2 x0 + 3 = 5, dy/dx1 = 4
    np.testing.assert_array_equal(x.grad, [5.0, 4.0])


def test_an_index_array_written_after_forward_does_not_move_the_gradient():
    x = leaf([1.0, 1.0, 1.0])
    idx = np.array([0])
    y = x[idx].sum()
    idx[0] = 2
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0])
    x = leaf([1.0, 1.0, 1.0])
    mask = np.array([True, False, False])
    y = x[(mask,)].sum()
    mask[:] = True
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0])


def test_the_mean_over_no_entries_is_nan_as_in_numpy_and_pytorch():
    # numpy: nan (with a RuntimeWarning); PyTorch: nan. It was 0, a third value.
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning on the way
        assert np.isnan(x.mean().item())
        assert x.mean(axis=0).shape == (3,) and np.isnan(x.mean(axis=0).data).all()
        assert x.mean(axis=1).shape == (0,)
        x.mean(axis=0).sum().backward()
    assert x.grad.shape == (0, 3)
    assert Tensor(np.array([1.0, 2.0, 6.0])).mean().item() == 3.0  # a mean over entries is unchanged


def test_max_with_a_nan_sends_no_nan_to_the_rows_it_did_not_use():
    # The issue's case: only row 1's max is used, so row 0 (which holds a nan) gets gradient 0.
    x = leaf([[np.nan, 1.0], [2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it divided 0/0 for the nan row
        m = x.max(axis=1)
        m[1].backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0], [0.0, 1.0]])
    assert np.isnan(m.data[0])  # the max of a row with a nan is nan, as numpy and PyTorch say
    # The nan row's own max: its gradient goes to the nan entry (PyTorch's amax/max do the same).
    x = leaf([[np.nan, 1.0], [2.0, 3.0]])
    x.max(axis=1)[0].backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0], [0.0, 0.0]])


def test_the_derivative_of_a_negative_base_power_in_its_exponent_is_nan():
    # d/dx (-2)**x = (-2)**x log(-2): undefined, nan in PyTorch; it was 0, a wrong number.
    x = Tensor(2.0, requires_grad=True)
    ((-2.0) ** x).sum().backward()
    assert np.isnan(x.grad)


def test_in_place_arithmetic_on_a_leaf_that_requires_grad_is_refused_as_in_pytorch():
    # PyTorch: "a leaf Variable that requires grad is being used in an in-place operation".
    # It rebound x to a new non-leaf tensor without a word.
    x = leaf([1.0, 2.0])
    original = x
    with pytest.raises(RuntimeError, match=r"\+= on a leaf that requires grad.*x = x \+ v|t = t \+ v"):
        x += 1
    assert x is original and x.is_leaf and list(x.data) == [1.0, 2.0]
    for op in ("-=", "*=", "/=", "**="):
        with pytest.raises(RuntimeError, match="leaf that requires grad"):
            exec(f"x {op} 2", {}, {"x": x})


def test_in_place_arithmetic_changes_the_tensor_itself_where_pytorch_does():
    # Under no_grad (a manual update) and on tensors that need no gradient, t += v writes into t,
    # so every name for t sees it (numpy and PyTorch alike), and the write is tracked.
    w = leaf([1.0, 2.0])
    alias = w
    with no_grad():
        w -= 0.5 * np.array([2.0, 2.0])
    assert w is alias and list(alias.data) == [0.0, 1.0] and w.is_leaf
    c = Tensor(np.array([1.0, 2.0]))
    d = c
    c *= 3
    assert list(d.data) == [3.0, 6.0]
    x = leaf([1.0, 1.0])
    y = (x * c).sum()  # saves c
    c += 1
    with pytest.raises(RuntimeError, match="written to in place"):
        y.backward()
    with pytest.raises(ValueError, match=r"\+=: cannot write into a tensor of shape \(2,\)"):
        c += np.ones(3)


def test_in_place_arithmetic_the_graph_would_need_to_record_is_refused():
    # PyTorch records these in-place ops; this engine records none, so it says what to write.
    x = leaf([1.0, 2.0])
    h = x * 2.0
    with pytest.raises(RuntimeError, match=r"records no in-place ops.*t = t \+ v"):
        h += 1
    c = Tensor(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="records no in-place ops"):
        c += x  # c would have to become part of the graph
    assert list(c.data) == [1.0, 2.0]


@pytest.mark.parametrize("value", [Tensor(np.eye(2)), np.eye(2), 1.0])
def test_assigning_a_non_parameter_to_a_parameter_attribute_is_refused(value):
    # PyTorch: TypeError "cannot assign 'torch.FloatTensor' as parameter 'weight'". It silently
    # dropped the weight from parameters() and state_dict().
    lin = nn.Linear(2, 2, rng=0)
    weight = lin.weight
    with pytest.raises(TypeError, match=r"Linear\.weight is a Parameter; .*nn\.Parameter\(\.\.\.\)"):
        lin.weight = value
    assert lin.weight is weight and [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    lin.weight = nn.Parameter(np.eye(2))  # another Parameter, or None, is fine (as in PyTorch)
    np.testing.assert_array_equal(lin.state_dict()["weight"], np.eye(2))
    lin.bias = None
    assert list(lin.state_dict()) == ["weight"]


def test_assigning_a_non_module_to_a_module_attribute_is_refused():
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    outer = nn.Module()
    outer.inner = model
    with pytest.raises(TypeError, match=r"Module\.inner is a Module; .*assign a Module or None"):
        outer.inner = "model"
    assert outer.inner is model


@pytest.mark.parametrize("mode", ["False", 0, None])
def test_train_takes_only_a_bool(mode):
    # PyTorch: ValueError "training mode is expected to be boolean". train('False') left it on.
    dropout = nn.Dropout(0.5)
    with pytest.raises(ValueError, match=r"Dropout\.train: mode must be True or False"):
        dropout.train(mode)
    assert dropout.training is True
    assert dropout.train(False).training is False and dropout.train(np.bool_(True)).training is True


def test_an_optimizer_refuses_a_tensor_that_is_not_a_leaf():
    # PyTorch: ValueError "can't optimize a non-leaf Tensor". step() changed a copy nobody reads.
    w = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"SGD: parameter 0 .* made by mul, so it is not a leaf"):
        optim.SGD([w * 2], lr=0.1)


def test_clip_grad_norm_measures_huge_float32_gradients_in_float64():
    # Gradients of 4e30 (finite in float32, whose max is 3.4e38): their squares overflow float32.
    # norm = sqrt(3 * (4e30)^2) = 4e30 * sqrt(3) ~ 6.9e30; then every entry is 4e30 / norm = 1/sqrt(3).
    w = nn.Parameter(np.ones(3, dtype=np.float32))
    w.grad = np.full(3, 4e30, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        total = clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert total == pytest.approx(4e30 * np.sqrt(3), rel=1e-6)
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, np.full(3, 1 / np.sqrt(3)), rtol=1e-6)
    # A real inf still stops it, and now the message is true.
    w.grad = np.array([np.inf, 0.0, 0.0], dtype=np.float32)
    with pytest.raises(FloatingPointError, match="a gradient holds nan or inf"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    # Finite gradients whose norm overflows even float64 (1e200^2) are named as such.
    v = nn.Parameter(np.ones(2))
    v.grad = np.array([1e200, 1e200])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's overflow warning inside norm
        with pytest.raises(FloatingPointError, match="the gradients are finite; their norm overflows"):
            clip_grad_norm_([v], 1.0, error_if_nonfinite=True)


def test_a_gradient_of_the_wrong_shape_is_refused_at_step_and_by_the_clippers():
    # PyTorch refuses `w.grad = tensor(1.)` for a (3,) parameter at the assignment; .grad is a plain
    # attribute here, so step() and clip_grad_norm_ refuse it (they broadcast it before).
    w = nn.Parameter(np.ones(3))
    w.grad = np.array(1.0)
    for optimizer in (optim.SGD([w], lr=0.1), optim.Adam([w]), optim.Adagrad([w])):
        # the message starts with the optimizer's own name (SGD.step, Adam.step, ...)
        name = type(optimizer).__name__
        wrong = rf"^{name}\.step: parameter 0 has shape \(3,\) but its \.grad has shape \(\)"
        with pytest.raises(ValueError, match=wrong):
            optimizer.step()
    np.testing.assert_array_equal(w.data, np.ones(3))
    w.grad = np.ones(2)
    with pytest.raises(ValueError, match=r"clip_grad_norm_: parameter 0 has shape \(3,\) .* \(2,\)"):
        clip_grad_norm_([w], 1.0)
    with pytest.raises(ValueError, match="clip_grad_value_: parameter 0"):
        clip_grad_value_([w], 1.0)


def test_truncated_bptt_refuses_streams_shorter_than_one_window():
    rnn, head = nn.RNN(2, 3, rng=0), nn.Linear(3, 2, rng=0)
    optimizer = optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.1)

    def forward(x, state):
        output, state = rnn(np.eye(2)[x], state)
        return head(output), state

    ids = np.zeros((5, 2), dtype=int)
    with pytest.raises(ValueError, match=r"truncated_bptt: the streams have 4 time steps .* num_steps=10"):
        truncated_bptt(forward, optimizer, ids[:-1], ids[1:], num_steps=10)
    log, _ = truncated_bptt(forward, optimizer, ids[:-1], ids[1:], num_steps=4)
    assert len(log.losses) == 1


def _quiet_main(argv):
    return demos_main(argv, console=Console(file=io.StringIO()))


def test_an_empty_json_path_is_refused_not_skipped(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _quiet_main(["forward", "--smoke", "--json", ""])
    assert exit_info.value.code == 2
    assert "--json: expected a file path, got an empty string" in capsys.readouterr().err


def test_json_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert _quiet_main(["forward", "--smoke", "--json", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "results.json"]  # no temporary left


def test_a_special_file_is_never_replaced(tmp_path, capsys):
    # As root, `--json /dev/full` once replaced the device with a regular file. A pipe stands in for
    # the device here (the same kind of path: it exists and is not a regular file).
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SystemExit):
        _quiet_main(["forward", "--smoke", "--json", str(fifo)])
    assert "is not a regular file" in capsys.readouterr().err
    with pytest.raises(OSError, match=r"write: '.*pipe' is not a regular file"):
        write_atomically(str(fifo), lambda file: file.write(b"x"))
    link = tmp_path / "to_pipe"
    link.symlink_to(fifo)
    with pytest.raises(OSError, match="through the symlink"):
        write_atomically(str(link), lambda file: file.write(b"x"))
    assert fifo.is_fifo() and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "to_pipe"]


@pytest.mark.parametrize(
    "content, expected",
    [(b"text\n\n" + bytes(range(128, 256)), "is not UTF-8 text (byte 0x80 at offset 6"),
     (b"ELF\x00\x01\x02 binary", "holds NUL bytes")],
)  # fmt: skip
def test_a_corpus_that_is_not_utf8_text_is_refused_naming_it(tmp_path, capsys, content, expected):
    corpus = tmp_path / "lib.so"
    corpus.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(expected)):
        read_corpus_file(str(corpus))
    with pytest.raises(SystemExit):
        _quiet_main(["language-model", "--smoke", "--corpus", str(corpus)])
    error = capsys.readouterr().err
    assert f"--corpus {corpus}: " in error and expected in error


def test_an_unreadable_corpus_is_named(tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "secret.txt"
    corpus.write_text("a\n\nb\n", encoding="utf-8")
    real_open = open

    def refusing_open(path, *args, **kwargs):  # root reads anything, so chmod cannot stand in
        if str(path) == str(corpus):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    with pytest.raises(PermissionError, match=r"Permission denied"):
        read_corpus_file(str(corpus))
    with pytest.raises(SystemExit):
        _quiet_main(["language-model", "--smoke", "--corpus", str(corpus)])
    assert "secret.txt: cannot be read (Permission denied)" in capsys.readouterr().err


# ==== 2. raw tracebacks become named errors (or work, as in PyTorch) ===============================
def test_numpy_ufuncs_on_a_tensor_name_the_method_and_operators_still_work():
    t = leaf([0.0, 1.0])
    with pytest.raises(TypeError, match=r"np\.exp was given a Tensor: .* use tensor\.exp\(\.\.\.\)"):
        np.exp(t)
    with pytest.raises(TypeError, match=r"np\.maximum .* use tinygrad_rnn\.maximum\(x, y\)"):
        np.maximum(t, 0.5)
    a = np.array([2.0, 3.0])
    with pytest.raises(TypeError, match=r"array = array \+ tensor"):
        a += t  # it rebound `a` to a Tensor
    assert isinstance(a, np.ndarray) and list(a) == [2.0, 3.0]
    y = a * t + a - t  # array <op> tensor: the Tensor's reflected operator, recorded
    assert isinstance(y, Tensor) and (a < t).dtype == np.bool_
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, a - 1.0)  # d/dt (a t + a - t) = a - 1


def test_float_and_format_of_a_one_element_tensor_as_in_pytorch():
    loss = Tensor(np.array(0.123456)) * 1.0
    assert float(loss) == 0.123456 and f"{loss:.4f}" == "0.1235"
    assert float(Tensor(np.array([[2.5]]))) == 2.5  # one element of any shape (PyTorch too)
    assert f"{Tensor(np.ones(2))}" == str(Tensor(np.ones(2)))
    with pytest.raises(TypeError, match=r"float\(\): only a one-element tensor .* shape \(2,\)"):
        float(Tensor(np.ones(2)))
    with pytest.raises(TypeError, match=r"format: '\.4f' formats a number, .* shape \(1,\)"):
        f"{Tensor(np.ones(1)):.4f}"  # PyTorch formats 0-d tensors only, too


def test_item_of_a_tensor_of_several_entries_names_item_and_the_shape():
    # numpy and PyTorch refuse too (numpy: ValueError, whose type is kept); one entry of any shape is fine
    assert Tensor(np.array([[2.5]])).item() == 2.5 and isinstance(Tensor(np.array([[2.5]])).item(), float)
    named = r"item: only a one-element tensor is a number, got shape \(2, 3\) \(6 entries\)"
    with pytest.raises(ValueError, match=named):
        Tensor(np.ones((2, 3))).item()
    with pytest.raises(ValueError, match=r"got shape \(0,\) \(0 entries\)"):
        Tensor(np.ones(0)).item()


def test_a_list_of_tensors_given_to_tensor_says_stack():
    with pytest.raises(TypeError, match=r"Tensor: got a list of Tensors; join them with stack"):
        Tensor([Tensor(1.0), Tensor(2.0)])
    # 1-d tensors numpy would even convert, silently dropping the graph: refused too
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=r"Tensor: got a tuple of Tensors"):
        Tensor((x, x))


def test_where_with_a_mask_of_the_wrong_shape_names_the_mask():
    message = r"where: the condition of shape \(3,\) and x, y of shapes \(2,\), \(\)"
    with pytest.raises(ValueError, match=message):
        where(np.ones(3, dtype=bool), leaf([1.0, 2.0]), 0.0)


def test_no_grad_without_parentheses():
    with pytest.raises(TypeError, match=r"write `with no_grad\(\):`, with parentheses"):
        with no_grad:
            pass

    @no_grad  # as in PyTorch, the bare decorator works
    def double(t):
        return t * 2

    y = double(leaf([1.0]))
    assert not y.requires_grad and double.__name__ == "double"


def test_gradcheck_takes_one_tensor_as_torch_gradcheck_does():
    for shape in ((1,), (2,)):
        x = Tensor(np.linspace(0.5, 1.5, shape[0]), requires_grad=True)
        assert gradcheck(lambda t: (t * t).tanh(), x)
        assert gradgradcheck(lambda t: (t * t).tanh(), x)
    # and a wrong gradient is still caught: Exp whose backward forgot the factor y
    from tinygrad_rnn.gradcheck import GradcheckError
    from tinygrad_rnn.tensor import Function

    class WrongExp(Function):
        def forward(self, x):
            return np.exp(x)

        def backward(self, g):
            return g

    with pytest.raises(GradcheckError):
        gradcheck(lambda t: WrongExp.apply(t), Tensor(np.array([1.0]), requires_grad=True))


@pytest.mark.parametrize("layer", ["LSTM", "LSTMCell"])
def test_half_an_lstm_state_is_named(layer):
    # PyTorch refuses (h, None) too; zeros for the missing half would be a guess.
    if layer == "LSTM":
        module, x, h = nn.LSTM(2, 3), np.ones((4, 1, 2)), np.zeros((1, 1, 3))
        names = ("h_0", "c_0")
    else:
        module, x, h = nn.LSTMCell(2, 3), np.ones((1, 2)), np.zeros((1, 3))
        names = ("h", "c")
    missing = rf"{layer}: {names[1]} in the state \({names[0]}, {names[1]}\) is None"
    with pytest.raises(TypeError, match=missing):
        module(x, (h, None))
    with pytest.raises(TypeError, match=rf"{layer}: {names[0]} in the state"):
        module(x, (None, h))
    with pytest.raises(TypeError, match=rf"{layer}: state must be a pair .* got a tuple of 3"):
        module(x, (h, h, h))


def test_a_manual_sgd_step_under_no_grad_updates_the_parameter_in_place():
    # PyTorch's manual SGD; the weight used to leave parameters() as a plain Tensor.
    lin = nn.Linear(2, 2, rng=0)
    weight, before = lin.weight, lin.weight.data.copy()
    lin(np.array([[1.0, 2.0]])).sum().backward()  # d/dW sum(x W^T + b) = [[1, 2], [1, 2]]
    with no_grad():
        lin.weight -= 0.1 * lin.weight.grad
    assert lin.weight is weight and [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    np.testing.assert_allclose(lin.weight.data, before - 0.1 * np.array([[1.0, 2.0], [1.0, 2.0]]), rtol=1e-15)


def test_a_float_target_too_large_to_be_an_index_is_named():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it cast 1e20 to intp with a RuntimeWarning
        with pytest.raises(IndexError, match=r"cross_entropy: 1e\+20 \(in a float array\) is not an index"):
            F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 1e20]))


def test_the_parameters_method_or_a_module_instead_of_parameters_is_named():
    model = nn.Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match=r"SGD: got the method parameters itself, not its result"):
        optim.SGD(model.parameters, lr=0.1)
    model(np.ones((1, 2))).sum().backward()
    # PyTorch raises too ("'Linear' object is not iterable"): a named error, not a value
    message = r"clip_grad_norm_: got the module Linear itself.*model\.parameters\(\)"
    with pytest.raises(TypeError, match=message):
        clip_grad_norm_(model, 1.0)


def test_a_hyperparameter_assigned_later_is_checked_at_the_assignment():
    optimizer = optim.SGD(nn.Linear(2, 2, rng=0).parameters(), lr=0.1, momentum=0.9, nesterov=True)
    with pytest.raises(ValueError, match=r"SGD: lr must be a finite number >= 0, got '0\.01'"):
        optimizer.lr = "0.01"
    with pytest.raises(ValueError, match="nesterov momentum needs momentum > 0"):
        optimizer.momentum = 0
    assert optimizer.lr == 0.1 and optimizer.momentum == 0.9
    optimizer.lr = 1
    assert optimizer.lr == 1.0 and type(optimizer.lr) is float
    adam = optim.Adam(nn.Linear(2, 2, rng=0).parameters())
    adam.betas = [0.5, 0.6]
    assert adam.betas == (0.5, 0.6)
    with pytest.raises(ValueError, match="Adam: betas must be two numbers in"):
        adam.betas = (0.5, 1.0)


@pytest.mark.parametrize(
    "make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.1)]
)
def test_a_recorded_gradient_steps_and_clips_by_its_values(make):
    # backward(create_graph=True) leaves Tensor gradients; PyTorch steps with their values.
    # So the result must equal the same step from a plain backward.
    x = np.array([[1.0, -2.0]])
    models = [nn.Linear(2, 2, rng=3), nn.Linear(2, 2, rng=3)]
    for model, create_graph in zip(models, (True, False)):
        ((model(x) ** 2).sum()).backward(create_graph=create_graph)
        norm = clip_grad_norm_(model.parameters(), 1.0)
        make(model.parameters()).step()
        model.norm = norm
    assert isinstance(models[0].weight.grad, Tensor) and isinstance(models[1].weight.grad, np.ndarray)
    assert models[0].norm == models[1].norm > 1.0  # so the clipping scaled
    for recorded, plain in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(recorded.data, plain.data)


def test_save_to_a_folder_or_an_unwritable_place_names_the_users_path(tmp_path, monkeypatch):
    with pytest.raises(IsADirectoryError, match=rf"save: '{tmp_path}' is a folder; give the path of a file"):
        save({"a": np.ones(1)}, tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IsADirectoryError, match="save: '.' is a folder"):
        save({"a": np.ones(1)}, ".")

    def refuse(*args, **kwargs):  # what mkstemp raises in a folder we may not write (root may write anywhere)
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.npz.abc.tmp"))

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(PermissionError, match=r"save: cannot write 'm\.npz': Permission denied") as info:
        save({"a": np.ones(1)}, "m.npz")
    assert ".tmp" not in str(info.value)  # the user's path, not the temporary file's


def test_an_empty_state_dict_saves_and_loads_back_empty(tmp_path):
    # PyTorch: torch.save({}) then torch.load gives {}. load said "not a zip archive".
    save({}, tmp_path / "empty.npz")
    assert load(tmp_path / "empty.npz") == {}
    assert nn.Sequential().load_state_dict(load(tmp_path / "empty.npz")) == ([], [])


def test_the_data_helpers_name_a_batch_size_below_one():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="batch_rows: batch_size must be an integer >= 1, got 0"):
        batch_rows(np.arange(10), 0)
    with pytest.raises(ValueError, match="recall_batch: batch_size must be an integer >= 1, got -1"):
        recall_batch(-1, 3, 4, rng)
    with pytest.raises(ValueError, match="adding_batch: batch_size must be an integer >= 1, got 0"):
        adding_batch(0, 5, rng)
    assert batch_rows(np.arange(10), 3).shape == (3, 3)


# ==== 5. gaps that mutation testing by hand found in the modules `make mutants` leaves out ==========
# Each test kills a change to the code that no test noticed (issue 19, part 5); the line it guards
# is named in the comment.
def test_lstm_layers_refuse_a_state_of_three_tensors():  # recurrent.py: len(state) != 2
    h = np.zeros((1, 1, 3))
    with pytest.raises(TypeError, match=r"LSTM: state must be a pair \(h_0, c_0\) or None, got a tuple of 3"):
        nn.LSTM(2, 3)(np.ones((4, 1, 2)), (h, h, h))
    with pytest.raises(TypeError, match=r"LSTMCell: state must be a pair \(h, c\) or None, got a list of 1"):
        nn.LSTMCell(2, 3)(np.ones((1, 2)), [np.zeros((1, 3))])


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
def test_an_unbatched_batch_first_sequence_of_no_steps_is_named_as_such(name):
    # (0, 2) is one unbatched sequence of 0 steps: its time axis is 0 even with batch_first.
    with pytest.raises(ValueError, match=rf"{name}: the input sequence of shape \(0, 2\) has no time steps"):
        getattr(nn, name)(2, 3, batch_first=True)(np.zeros((0, 2)))


def test_the_layers_dropout_keeps_an_entry_whose_draw_equals_p():  # recurrent.py: random(...) >= dropout
    # As nn.Dropout: m = [u >= p] keeps an entry with probability exactly 1 - p.
    p = np.random.default_rng(11).random()
    layer = nn.GRU(2, 3, num_layers=2, dropout=p)
    layer._rng = np.random.default_rng(11)  # the next draw is p itself
    y = layer._dropout(Tensor(np.full((1, 1, 3), 2.0)))
    assert y.data[0, 0, 0] == 2.0 / (1.0 - p)


def test_reprs_show_the_layers_dropout_and_the_leaky_cells_default_alpha():
    assert repr(nn.LSTM(2, 3, num_layers=2, dropout=0.25)) == "LSTM(2, 3, num_layers=2, dropout=0.25)"
    assert repr(nn.GRU(2, 3, num_layers=2, dropout=1.0)) == "GRU(2, 3, num_layers=2, dropout=1)"  # as given
    assert repr(nn.LeakyRNNCell(2, 3)) == "LeakyRNNCell(2, 3, alpha=0.9)"
    assert nn.LeakyRNNCell(2, 3).alpha == 0.9  # seed 004's leak by default


def test_train_log_mean_loss_rounds_the_count_and_takes_at_least_one():  # train.py: TrainLog.mean_loss
    from tinygrad_rnn.train import TrainLog

    log = TrainLog(losses=[float(k) for k in range(10)])  # 0, 1, ..., 9
    assert log.mean_loss(0.27) == 8.0  # round(2.7) = 3 steps: (7 + 8 + 9) / 3; int() would take 2
    assert log.mean_loss(0.01) == 9.0  # round(0.1) = 0, but at least the last step counts
    assert log.mean_loss() == 4.5


def test_a_finite_loss_with_an_infinite_gradient_does_not_step():  # train.py: the non-finite guard
    from tinygrad_rnn.tensor import Function
    from tinygrad_rnn.train import optimizer_step

    class FiniteValueInfiniteGradient(Function):  # value 1 (finite), gradient inf: the exact case
        def forward(self, x):
            return np.ones_like(x)

        def backward(self, g):
            return g * np.inf

    x = nn.Parameter(np.array([3.0]))
    loss = FiniteValueInfiniteGradient.apply(x).sum()
    norm = optimizer_step(loss, optim.SGD([x], lr=0.1))
    assert loss.item() == 1.0 and norm == np.inf
    assert x.data[0] == 3.0  # not stepped (with `or` in the guard it would have become -inf)


def test_keep_gate_init_takes_max_lag_one_and_floors_the_range_at_two():  # train.py: keep_gate_init
    from tinygrad_rnn.train import keep_gate_init

    for max_lag in (1, 2, 2.5):
        cell = nn.LSTMCell(2, 64, rng=0)
        keep_gate_init(cell, max_lag=max_lag, rng=np.random.default_rng(0))
        keep = cell.bias_hh.data[64:128]  # log u with u ~ U(1, max(2, max_lag - 1)) = U(1, 2)
        assert keep.min() >= 0.0 and keep.max() < np.log(2.0)
        assert keep.max() > np.log(1.8)  # 64 draws from U(1, 2) reach past 1.8
    with pytest.raises(ValueError, match="max_lag must be a number of steps >= 1"):
        keep_gate_init(nn.LSTMCell(2, 4), max_lag=0.5, rng=0)


def test_keep_gate_init_needs_a_hidden_size():  # train.py: the hidden_size check
    from tinygrad_rnn.train import keep_gate_init

    class NoSize(nn.Module):
        def __init__(self):
            self.weight_hh = nn.Parameter(np.zeros((8, 2)))

    with pytest.raises(TypeError, match="NoSize is not a recurrent cell or layer"):
        keep_gate_init(NoSize(), max_lag=10, rng=0)


def test_grad_refuses_an_input_that_needs_no_gradient_even_with_allow_unused():  # autograd.py
    # PyTorch: "One of the differentiated Tensors does not require grad", allow_unused or not.
    from tinygrad_rnn import grad

    x, c = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    y = (x * c).sum()
    with pytest.raises(RuntimeError, match="grad: input 1 is not a Tensor that requires grad"):
        grad(y, [x, c], allow_unused=True)


def test_save_syncs_the_file_before_renaming_it(tmp_path, monkeypatch):  # io.py: os.fsync
    synced, renamed = [], []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (renamed.append(len(synced)), real_replace(a, b)))
    save({"w": np.ones(2)}, tmp_path / "m.npz")
    assert len(synced) == 1 and renamed == [1]  # synced once, before the rename


def test_an_interrupted_save_leaves_the_old_file_and_no_temporary(tmp_path):  # io.py: BaseException
    path = tmp_path / "m.npz"
    save({"w": np.ones(2)}, path)

    def interrupted(file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt  # Ctrl-C while writing

    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(path), interrupted)
    assert os.listdir(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(load(path)["w"], np.ones(2))


def test_load_names_a_folder_an_object_array_and_save_an_empty_key(tmp_path):  # io.py
    from tinygrad_rnn import CheckpointError

    with pytest.raises(CheckpointError, match=r"load: '.*' is a directory, not an \.npz checkpoint"):
        load(tmp_path)
    np.savez(tmp_path / "o.npz", w=np.array([{"a": 1}], dtype=object))
    # our own words (numpy's message mentions pickle too, and advises allow_pickle=True)
    with pytest.raises(CheckpointError, match="entry 'w' is an object array stored with pickle; refusing"):
        load(tmp_path / "o.npz")
    with pytest.raises(CheckpointError, match="save: keys must be non-empty strings, got ''"):
        save({"": np.ones(1)}, tmp_path / "e.npz")
    assert sorted(os.listdir(tmp_path)) == ["o.npz"]


def test_load_state_dict_copies_so_a_later_step_leaves_the_dict_alone():  # module.py
    lin = nn.Linear(2, 2, rng=0)
    state = {k: np.full_like(v, 0.5) for k, v in lin.state_dict().items()}
    lin.load_state_dict(state)
    lin(np.ones((1, 2))).sum().backward()
    optim.SGD(lin.parameters(), lr=0.1).step()
    assert all((v == 0.5).all() for v in state.values())
    assert (lin.weight.data != 0.5).all()


def test_a_container_that_holds_itself_is_walked_once():  # module.py: the self-reference guard
    inner: list = [nn.Linear(1, 1, rng=0)]
    inner.append(inner)
    with pytest.raises(TypeError, match=r"a list holding \[0\] Linear would be invisible"):
        nn.Module().layers = inner
    harmless: list = [1]
    harmless.append(harmless)
    module = nn.Module()
    module.numbers = harmless  # no learnables inside: allowed, and no endless walk
    assert module.numbers is harmless


def test_module_dict_refuses_an_empty_key_and_module_list_insert_checks_its_item():  # module.py
    with pytest.raises(ValueError, match="ModuleDict: keys must be non-empty strings without '.', got ''"):
        nn.ModuleDict({"": nn.Linear(1, 1)})
    layers = nn.ModuleList([nn.Linear(1, 1)])
    with pytest.raises(TypeError, match=r"ModuleList: item 0 is a Parameter, not a Module"):
        layers.insert(0, nn.Parameter(np.ones(1)))
    assert len(layers) == 1


# ==== 4. found by the oracle (tests/parity/test_oracle.py) and fixed to PyTorch's values ============
def test_a_nan_gradient_makes_every_clipped_gradient_nan_as_in_pytorch():
    # total = nan, so the factor max_norm / (total + 1e-6) is nan; PyTorch multiplies by it anyway
    # (then optimizer_step skips the step). The gradients were left as they were.
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = np.array([np.nan, 1.0]), np.array([3.0])
    assert np.isnan(clip_grad_norm_([a, b], 1.0))
    assert np.isnan(a.grad).all() and np.isnan(b.grad).all()


def test_the_divisors_gradient_does_not_overflow_where_its_square_underflows():
    # d/dx (x / x) = 1/x - x/x^2 = 0. At the smallest normal float32, x^2 underflows to 0, and
    # -g x / y^2 was -inf; -g z / y (PyTorch's form) is -1/x, finite, and the two terms cancel.
    x = Tensor(np.array([1.1754944e-38], dtype=np.float32), requires_grad=True)
    (x / x).sum().backward()
    assert x.grad[0] == 0.0


def test_pow_gradients_at_a_zero_base_are_pytorchs():
    # d/dx x**y at y = 0 is 0 (x**0 = 1 is constant), also at x = 0, where y * x**(y-1) = 0 * inf.
    x = Tensor(np.array([0.0, 3.0]), requires_grad=True)
    y = Tensor(np.array([0.0, 0.0]), requires_grad=True)
    (x**y).sum().backward()
    assert list(x.grad) == [0.0, 0.0] and list(y.grad) == [0.0, np.log(3.0)]
    # d/dy 0**y for y < 0 is z log 0 = inf * -inf = -inf (PyTorch); 0 was used for log 0 everywhere.
    y = Tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(divide="ignore"):  # 0 ** -1 = inf: numpy's divide warning in the forward
        (Tensor(np.array([0.0])) ** y).sum().backward()
    assert y.grad[0] == -np.inf


def test_relu_and_where_send_exactly_zero_where_they_did_not_pass_the_value():
    # PyTorch masks: where(x > 0, g, 0), not g * (x > 0), so a nan or inf from above (here
    # d log(r)/dr at r = 0 times 0) stops there; it came out as nan = nan * 0.
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (x.relu().log() * 0.0).sum().backward()
    assert list(x.grad) == [0.0, 0.0]
    y = Tensor(np.array([5.0, 2.0]), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) * 0 = nan at the entry where() did not take
        (where(np.array([False, True]), y, 0.0).log() * 0.0).sum().backward()
    assert list(y.grad) == [0.0, 0.0]
