"""jit: the details that the comparisons with the eager engine in tests/test_compiler.py do not reach.

Mutation testing (make mutants) changed the compiler one thing at a time; each test here fails
on changes that every compiled value still survived: the ways a function can read a Python value
from an array (each a guard), the errors and what they name, the generated program's text, the
number of traces, the memory the program's estimate and its ``del`` lines describe. Expected
values are worked out by hand from the function's definition (or are the eager engine's).
"""

from __future__ import annotations

import operator
import pickle

import numpy as np
import pytest
from test_compiler import compiled_equals_eager

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Function, JitError, Tensor, jit, nn
from tinygrad_rnn.compiler import lower
from tinygrad_rnn.compiler.trace import Traced


def code_lines(source):
    """The generated lines without their comments, stripped."""
    return {line.split("  # ")[0].strip() for line in source.splitlines()}


# ---- Python values read from arrays: each a guard, checked at every call -----------------------------
READS = {
    "float": lambda x: x * float(x.data.max()),
    "int": lambda x: x * int(x.data.argmax()),
    "index": lambda x: x * [1.0, 2.0, 3.0][x.data.argmax()],  # a list indexed by an array: __index__
    "tolist": lambda x: x * sum(x.data.tolist()),
    "item of one entry": lambda x: x * x.data.item(1),
    "numpy call with keywords": lambda x: x * (2.0 if np.allclose(x.data, 0, atol=0.5) else 1.0),
}


@pytest.mark.parametrize("how", READS)
def test_a_python_value_read_from_an_input_is_checked_at_every_call(how):
    fn = READS[how]
    step = jit(fn)
    small, large = np.array([0.1, 0.3, 0.2]), np.array([3.0, 1.0, 2.0])  # read differently in each way
    for values in (small, large, small, large):
        x = Tensor(values)
        np.testing.assert_array_equal(step(x).data, fn(x).data)
    assert step.traces == 2  # one program per value read; the third and fourth calls run them


def test_a_branch_on_an_input_value_compiles_each_branch_taken():
    """The probe run (inputs reordered) takes the other branch here: a different number of ops,
    explained by the value read."""

    def fn(x):
        return (x * 2.0).sum() if x.data[0] > 0 else x.sum()

    step = jit(fn)
    for values in ([1.0, -1.0], [-1.0, 1.0], [2.0, 5.0]):
        x = Tensor(np.array(values))
        assert step(x).item() == fn(x).item()
    assert step.traces == 2


@pytest.mark.parametrize("extra_on", ["probe run", "first run"])
def test_a_function_whose_runs_differ_without_a_value_read_is_refused(extra_on):
    """One run reads a Python value and runs an op more, the other does neither, and all the values
    both read agree: what made them differ is state jit cannot see (here a counter). Compiling either
    run would be silently wrong on later calls, so jit refuses."""
    calls = [0]

    def fn(x):
        calls[0] += 1
        y = x * 2.0
        if (calls[0] > 1) == (extra_on == "probe run") and x.data.sum() > 0:
            y = y * 3.0
        return y.sum()

    with pytest.raises(JitError, match="ran differently on a second run .* without a Python value"):
        jit(fn)(Tensor(np.array([1.0, 2.0])))


class ReadsItsGradient(Function):
    """y = 2 x;  dL/dx = 2 g, with a backward that branches on g's values (as no backward should)."""

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        return g * (2.0 if float(g.data.sum()) > -1e300 else 2.0)


def test_a_backward_that_reads_a_gradients_value_is_refused():
    with pytest.raises(JitError, match="backward of ReadsItsGradient reads a gradient's value"):
        jit(lambda x: ReadsItsGradient.apply(x).sum())(Tensor(np.ones(2), requires_grad=True))


# ---- Traced arrays, directly ---------------------------------------------------------------------------
def test_a_traced_array_outside_a_trace_behaves_as_numpy():
    """A traced array can outlive its trace (a function may keep x.data); then it is plain numpy."""
    t = np.array([[1.5, 2.0], [3.0, 4.0]]).view(Traced)
    assert float(t[0, 0]) == 1.5 and int(t[1, 1]) == 4 and bool(t[0, 0] > 1)
    assert operator.index(np.array(3).view(Traced)) == 3
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]] and t.item(3) == 4.0
    assert [row.tolist() for row in t] == [[1.5, 2.0], [3.0, 4.0]]  # iterates over rows
    assert repr(t) == repr(np.array([[1.5, 2.0], [3.0, 4.0]]))
    copy = pickle.loads(pickle.dumps(t))
    assert type(copy) is np.ndarray and copy.tolist() == t.tolist()


def test_a_traced_array_pickled_inside_a_trace_is_a_plain_copy():
    """A function may pickle what it computes (a snapshot for a log): inside the trace its arrays are
    Traced, and the pickle holds the plain array they show, with their values."""
    snapshots = []

    def fn(x):
        h = x * 2.0
        snapshots.append(pickle.loads(pickle.dumps(h.data)))
        return h.sum()

    jit(fn)(Tensor(np.array([1.0, 2.0])))
    assert len(snapshots) == 2  # fn ran twice while tracing: the first run and the probe
    assert type(snapshots[0]) is np.ndarray and snapshots[0].tolist() == [2.0, 4.0]


def test_writing_into_a_traced_array_writes_and_marks_it():
    from tinygrad_rnn.compiler.trace import _WRITTEN

    t = np.zeros((2, 2)).view(Traced)
    t[1, 0] = 5.0
    assert t.view(np.ndarray).tolist() == [[0.0, 0.0], [5.0, 0.0]]
    assert t.node is _WRITTEN  # its node no longer computes what it holds


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_writing_into_a_traced_array_keeps_its_dtype(dtype):
    t = np.zeros(3, dtype).view(Traced)
    t[1:] = np.array([1, 0])
    assert t.dtype == dtype and t.view(np.ndarray).tolist() == [0, 1, 0]


def test_a_value_written_in_place_then_used_is_refused_naming_the_op():
    def fn(x):
        d = x.data * 2.0
        d[0] = 7.0
        return x * Tensor(d)

    with pytest.raises(JitError, match=r"a value that op Mul of shape \(3,\) reads was changed in place"):
        jit(fn)(Tensor(np.ones(3)))


def test_rows_of_a_traced_array_are_followed():
    def fn(x):
        return x * Tensor(sum(x.data))  # sum() iterates over the rows: each is x.data[i]

    step = jit(fn)
    for values in ([[1.0, 2.0], [3.0, 4.0]], [[0.5, -1.0], [2.0, 0.0]]):
        x = Tensor(np.array(values))
        np.testing.assert_array_equal(step(x).data, fn(x).data)
    assert step.traces == 1


# ---- errors that name what changed between the two runs ---------------------------------------------
SECOND_RUNS = {
    # (the first difference: the numpy call inside each op's forward, a ufunc)
    "ufunc": (lambda x: x.tanh(), lambda x: x.exp(), r"numpy tanh of shape \(2,\) vs numpy exp of shape"),
    "method": (
        lambda x: x * Tensor(x.data.copy()),
        lambda x: x * Tensor(x.data.ravel()),
        r"numpy copy of shape \(2,\) vs numpy ravel of shape \(2,\)",
    ),
}


@pytest.mark.parametrize("kind", SECOND_RUNS)
def test_a_different_op_on_the_probe_run_names_both(kind):
    first, second, names = SECOND_RUNS[kind]
    calls = [0]

    def fn(x):
        calls[0] += 1
        return first(x) if calls[0] == 1 else second(x)

    with pytest.raises(JitError, match=rf"jit: fn ran a different op on a second run \({names}"):
        jit(fn)(Tensor(np.ones(2)))


def test_a_leaf_in_place_of_an_op_is_named_without_an_op_name():
    calls = [0]

    def fn(x):
        calls[0] += 1
        other = Tensor(np.ones(2)) if calls[0] == 1 else Tensor(x.data * 1.0)
        return x * other

    with pytest.raises(JitError, match=r"\(leaf of shape \(2,\) vs numpy multiply of shape \(2,\)\)"):
        jit(fn)(Tensor(np.ones(2)))


def test_an_op_given_different_options_names_the_op():
    calls = [0]

    def fn(x):
        calls[0] += 1
        return x.sum(axis=calls[0] % 2)

    with pytest.raises(JitError, match=r"op Sum of shape \(2,\) was given different constants"):
        jit(fn)(Tensor(np.ones((2, 2))))


# ---- the generated program as text ----------------------------------------------------------------------
def test_numpy_calls_on_traced_values_read_as_numpy_in_the_program():
    def fn(x, m):
        d = x.data
        above = d[:, 1:] > 0
        b = np.add.reduce(d.T, axis=0)
        c = -d.sum(axis=0, keepdims=True)
        rows, _ = np.nonzero(m > 0)
        w = m.astype(np.float32).reshape(-1)[rows]
        out = x * Tensor(b)[:, None] + Tensor(c) * Tensor(np.linalg.norm(m))
        return out + Tensor(above * 1.0).sum() + Tensor(w.astype(np.float64)).sum()

    x = Tensor(np.arange(6.0).reshape(2, 3) - 2, requires_grad=True)
    step = compiled_equals_eager(fn, [x, np.array([[1.0, -1.0], [2.0, 3.0]])], [x])
    # another m with as many positive entries (the shapes traced), at other places: recomputed
    m = np.array([[-1.0, 4.0], [2.0, 3.0]])
    np.testing.assert_array_equal(step(x, m).data, fn(x, m).data)
    assert step.traces == 1
    assert {
        "index_1 = x[:, 1:]",
        "greater_1 = index_1 > 0",
        "transpose_1 = x.T",
        "add_1 = np.add.reduce(transpose_1, axis=0)",
        "sum_1 = x.sum(axis=0, keepdims=True)",
        "negative_1 = -sum_1",
        "nonzero_1 = np.nonzero(greater_2)",
        "part_1 = nonzero_1[0]",
        "astype_1 = m.astype(np.float32)",
        "index_3 = add_1[:, None]",
    } <= code_lines(step.source)
    assert "np.linalg.norm(m)" in step.source


def test_a_parameter_reshaped_to_its_own_shape_is_no_line_of_the_program():
    """The leaf of a parameter has the parameter's shape, so simplify sees that reshaping it to that
    shape is the parameter itself."""
    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    step = compiled_equals_eager(lambda x: (x * w.reshape(2, 3)).sum(), [x], [x, w])
    assert "mul_1 = x * w" in code_lines(step.source) and "w.reshape(" not in step.source


def test_a_ufunc_without_a_module_is_written_as_numpys():
    """numpy's own clip ufunc (behind np.clip) has no __module__: the program calls it as np.clip,
    which computes the same."""
    clip = np._core.umath.clip
    if hasattr(clip, "__module__"):
        pytest.skip("this numpy gives its clip ufunc a module")
    x = Tensor(np.array([-1.0, 0.25, 3.0]), requires_grad=True)
    step = compiled_equals_eager(lambda x: x * Tensor(clip(x.data, 0.0, 1.0)), [x], [x])
    assert "clip_1 = np.clip(x, 0.0, 1.0)" in code_lines(step.source)


@pytest.mark.parametrize(
    "reduce",
    [
        lambda x: x.max(),
        lambda x: x.max(axis=1),
        lambda x: x.max(axis=0, keepdims=True),
        lambda x: x.max(keepdims=True),
    ],
)
def test_every_form_of_max_compiles(reduce):
    x = Tensor(np.array([[1.0, 5.0, 2.0], [4.0, 3.0, 0.5]]), requires_grad=True)
    compiled_equals_eager(lambda x: reduce(x * 2.0), [x], [x])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_rows_far_apart_stays_finite(op):
    """Each row is shifted by its own max: rows 1000 apart neither overflow nor underflow to 0/0."""
    x = Tensor(np.array([[0.0, 1.0], [1000.0, 1001.0]]), requires_grad=True)
    compiled_equals_eager(lambda x: getattr(x, op)(axis=1), [x], [x])


def test_the_table_writes_each_operator_and_function_with_its_operands_in_order():
    from tinygrad_rnn.compiler.table import _binary, _unary

    assert _binary("-")(None, ["a", "b"], None) == "a - b"
    assert _unary("np.exp")(None, ["a"], None) == "np.exp(a)"


def test_a_float32_cross_entropy_step_compiles_in_float32():
    """Cross-entropy picks each row's target once: scatter_unique, in the gradient's dtype."""
    rng = np.random.default_rng(0)
    logits = Tensor(rng.standard_normal((4, 3)), dtype=np.float32, requires_grad=True)
    targets = np.array([0, 2, 1, 2])
    step = compiled_equals_eager(lambda z, t: F.cross_entropy(z, t), [logits, targets], [logits], np.float32)
    assert "scatter_unique(" in step.source


def test_scatter_unique_keeps_the_gradients_dtype():
    from tinygrad_rnn.compiler.table import scatter_unique

    out = scatter_unique(np.array([1.0, 2.0], np.float32), (np.arange(2), np.array([1, 0])), (2, 2))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.0, 1.0], [2.0, 0.0]])


def test_a_node_reads_as_its_kind_op_name_and_shape():
    from tinygrad_rnn import ops
    from tinygrad_rnn.compiler.program import Node

    assert repr(Node("op", shape=(2, 3), op=ops.Tanh, name="tanh_1")) == "Node(op Tanh tanh_1 (2, 3))"
    assert repr(Node("numpy", op="reshape", name="r")) == "Node(numpy reshape r ())"
    unnamed = Node("input", shape=(3,))
    assert repr(unnamed) == f"Node(input  {hex(id(unnamed))} (3,))"


# ---- the compiled function itself ---------------------------------------------------------------------
def test_str_of_a_function_not_called_yet_is_its_repr():
    def loss(x):
        return x.sum()

    step = jit(loss)
    assert str(step) == repr(step) == "<jit loss: 0 trace(s)>"


def test_lower_passes_keyword_arguments():
    def scaled(x, k=1.0):
        return x * k

    _, generated = lower(scaled, Tensor(np.ones(2)), k=3.0)
    assert "mul_1 = x * 3.0" in code_lines(generated.source)


def test_an_array_computed_from_an_input_times_a_tensor_is_followed():
    """mask * w with mask = x.data > 2: the Tensor's reflected operator records the op, reading the
    mask's node, so a new x gives a new mask (the Max op's backward multiplies the same way)."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def fn(x):
        return ((x.data > 2) * w).sum()

    step = jit(fn)
    for values in ([[1.0, 5.0], [4.0, 3.0]], [[3.0, 0.0], [0.0, 0.0]]):
        x = Tensor(np.array(values))
        w.grad = None
        loss = step(x)
        loss.backward()
        assert loss.item() == fn(x).item()
        np.testing.assert_array_equal(w.grad, (np.array(values) > 2).sum(axis=0))  # d/dw sum(mask * w)
    assert step.traces == 1


def test_a_program_runs_again_until_a_module_it_reads_is_replaced():
    """jit reads again, at every call, each link that led it to a parameter: an attribute of a module
    (model.scale, model.layers, a Linear's weight) or an item of a container (model.layers[0]). Python
    runs only while tracing, so a counter in fn says when jit traced (twice each time: the first run
    and the probe). Nothing replaced: the program runs; an item replaced: it traces again, and the
    result is the new item's."""

    class Model(nn.Module):
        def __init__(self):
            self.layers = nn.ModuleList([nn.Linear(3, 3, rng=0), nn.Linear(3, 1, rng=1)])
            self.scale = nn.Parameter(np.array([2.0]))

        def forward(self, x):
            return self.layers[1](self.layers[0](x).tanh()) * self.scale

    model, runs = Model(), [0]

    def fn(x):
        runs[0] += 1
        return model(x).sum()

    step, x = jit(fn), Tensor(np.ones((4, 3)))
    step(x)
    assert runs[0] == 2
    for _ in range(2):
        assert step(x).item() == pytest.approx(model(x).sum().item(), rel=1e-15)
    assert runs[0] == 2  # the program ran
    model.layers[1] = nn.Linear(3, 1, rng=5)
    assert step(x).item() == pytest.approx(model(x).sum().item(), rel=1e-15)
    assert runs[0] == 4 and step.traces == 1  # traced again; the stale program was dropped


def test_a_batched_matmul_folds_its_batch_axes_into_rows_as_the_op_does():
    """MatMul.forward computes (B, T, n) @ (n, m) as one (B*T, n) @ (n, m) product: the compiled
    forward writes the same, so its values are the eager ones bit for bit (numpy's batched x @ w
    rounds differently for some shapes, e.g. this one)."""
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((5, 7, 33)), dtype=np.float32)
    w = Tensor(rng.standard_normal((33, 9)), dtype=np.float32)
    step = jit(lambda x: x @ w)
    np.testing.assert_array_equal(step(x).data, (x @ w).data)


@pytest.mark.parametrize(
    "reduce",
    [lambda x: x.sum(), lambda x: x.sum(keepdims=True), lambda x: x[0, 1], lambda x: x.max()],
    ids=["sum", "sum-keepdims", "index", "max"],
)
def test_a_reduction_to_one_entry_is_an_array_as_in_the_eager_engine(reduce):
    x = Tensor(np.array([[1.0, 5.0], [4.0, 3.0]]), requires_grad=True)
    out, eager = jit(reduce)(x), reduce(x)
    assert isinstance(out.data, np.ndarray) and out.shape == eager.shape and out.item() == eager.item()


def test_which_scatters_pick_each_entry_once():
    from tinygrad_rnn.compiler.table import picks_each_entry_once

    rows, columns = np.arange(3), np.array([1, 0, 1])
    assert picks_each_entry_once((Ellipsis, rows, columns))  # ... and None pick nothing themselves
    assert not picks_each_entry_once((np.array([True, False, True]),))  # a mask is left to scatter


@pytest.mark.parametrize("pick", [lambda y: y[-1], lambda y: y.reshape(3, 1)[2, 0]], ids=["1-D", "2-D"])
def test_the_gradient_of_one_picked_entry_compiles(pick):
    """The backward of x[i] scatters a one-entry gradient with buffer[i] += g, where numpy reads g
    as a float: a read inside that op's forward, which decides nothing the program does."""
    x = Tensor(np.array([1.0, 5.0, 4.0]), requires_grad=True)
    step = compiled_equals_eager(lambda x: pick(x * 2.0), [x], [x])
    step(Tensor(np.array([7.0, 8.0, 9.0]), requires_grad=True)).backward()
    assert step.traces == 1  # the gradient's value read there is no guard


def test_a_scatter_with_a_list_index_compiles():
    """numpy reads a list index as an integer array; the general scatter takes it."""
    from tinygrad_rnn import ops

    x = Tensor(np.array([1.0, 5.0]), requires_grad=True)
    compiled_equals_eager(lambda x: ops.Scatter.apply(x * 2, index=[0, 2], shape=(3,)), [x], [x])


# ---- the program: its nodes, what they read, replacing one ----------------------------------------------
def test_a_node_reads_each_node_once_in_order_wherever_it_is():
    from tinygrad_rnn.compiler.program import Node

    a, b, c, buffer = Node("input"), Node("input"), Node("input"), Node("buffer")
    assert Node("op", [a, a]).inputs() == [a]
    assert Node("op", [a, b, a, 3]).inputs() == [a, b]
    assert Node("numpy", [[b, a], slice(c, None)]).inputs() == [b, a, c]
    assert Node("op", [a], options={"index": (b, slice(None))}).inputs() == [a, b]
    assert Node("op", [a, b], into=(buffer, 0)).inputs() == [a, b, buffer]  # the buffer it writes into


def test_a_numpy_call_on_a_list_of_traced_values_reads_each():
    def fn(x):
        doubled = x.data * 2.0  # read only inside the list below
        return x * Tensor(np.concatenate([x.data, doubled]).sum())

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    step = compiled_equals_eager(fn, [x], [x])
    assert "np.concatenate([x, multiply_1])" in step.source


def test_a_slice_bounded_by_a_traced_value_follows_it_through_common_subexpressions():
    """``second`` is the same numpy call as ``first``: merged into it, also inside the slice."""

    def fn(x):
        first = x.data.argmin()
        second = x.data.argmin()
        return x * Tensor(x.data[second:].sum() + first)

    step = jit(fn)
    for values in ([3.0, 1.0, 2.0], [5.0, 1.0, 7.0]):  # argmin 1 both times: [1:] summed, plus 1
        x = Tensor(np.array(values))
        np.testing.assert_array_equal(step(x).data, np.array(values) * (np.array(values)[1:].sum() + 1))
    assert step.traces == 1
    assert "index_1 = x[argmin_1:]" in code_lines(step.source)


def test_the_gradient_of_a_value_simplify_folded_is_named_after_what_replaced_it():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    _, generated = lower(lambda x: (x * 2.0).reshape(3).tanh().sum(), x)  # a reshape to its own shape
    assert "d_mul_1 = d_tanh_1 * sub_1" in code_lines(generated.source)


def _mul_by_one_program():
    from tinygrad_rnn.compiler.passes import dead_code

    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    program, _ = lower(lambda x: (x * 1.0).tanh(), x, passes=[dead_code])
    forward = [n for n in program.nodes if n.phase == "forward"]
    (product,) = [n for n in forward if n.kind == "op" and n.op.__name__ == "Mul"]
    return program, product, product.args[0]


def test_replace_as_the_tour_writes_it_makes_every_reader_read_the_new_node():
    """docs/TOUR.md, exercise 3: ``program.replace(node, x)`` (no users map)."""
    program, product, x = _mul_by_one_program()
    readers = [n for n in program.nodes if product in n.inputs()]
    program.replace(product, x)
    assert readers and all(x in n.inputs() and product not in n.inputs() for n in readers)


def test_replace_with_a_users_map_keeps_the_map_up_to_date_and_may_be_repeated():
    program, product, x = _mul_by_one_program()
    users = program.users()
    readers = list(users[product])
    program.replace(product, x, users)
    assert product not in users and all(r in users[x] for r in readers)
    assert all(x in n.inputs() for n in readers)
    program.replace(product, x, users)  # its readers are gone already: nothing to do
    assert product not in users and all(x in n.inputs() for n in readers)


# ---- values from outside the function --------------------------------------------------------------------
def test_a_view_of_an_outside_array_is_read_at_every_call():
    """Each run makes a new view of ``scale``: the same memory, so it is read at every call."""
    scale = np.array([1.0, 2.0, 3.0])
    step = jit(lambda x: (x * scale[:2]).sum())
    x = Tensor(np.ones(2))
    assert step(x).item() == 3.0
    scale[1] = 5.0
    assert step(x).item() == 6.0
    assert step.traces == 1


def test_a_float32_parameter_times_a_python_float_stays_float32():
    """The parameter is a leaf jit found: its dtype makes the literal 0.5 weak (float32 * 0.5 is float32)."""
    from tinygrad_rnn import nn

    lin = nn.Linear(3, 2, dtype=np.float32, rng=0)
    x = Tensor(np.ones((4, 3)), dtype=np.float32)
    step = compiled_equals_eager(lambda x: (lin.weight * 0.5).sum() * x, [x], [*lin.parameters()], np.float32)
    assert step(x).dtype == np.float32
    lin64 = nn.Linear(3, 2, rng=0)  # float64: 0.5 is weak too, and is written as the user wrote it
    _, generated = lower(lambda x: (lin64.weight * 0.5).sum() * x, Tensor(np.ones((4, 3))))
    assert "mul_1 = weight * 0.5" in code_lines(generated.source)


class CallsAJittedStep(Function):
    """An op whose forward runs a compiled function (as a learner's op might)."""

    step = None

    def forward(self, x):
        return np.asarray(CallsAJittedStep.step(Tensor(x, requires_grad=True)).data)

    def backward(self, g):
        return g


def test_a_backward_read_is_refused_also_in_a_trace_inside_an_ops_forward():
    """The frames searched for an op's forward end at the trace's own: the op around the whole
    trace does not excuse a read in the traced backward."""
    CallsAJittedStep.step = jit(lambda t: ReadsItsGradient.apply(t).sum())
    with pytest.raises(JitError, match="backward of ReadsItsGradient reads a gradient's value"):
        CallsAJittedStep.apply(Tensor(np.ones(2)))


def test_a_constant_with_nan_is_the_same_constant_on_both_runs():
    step = jit(lambda x: x * Tensor(np.array([np.nan, 2.0])))
    np.testing.assert_array_equal(step(Tensor(np.array([1.0, 3.0]))).data, [np.nan, 6.0])
    assert step.traces == 1


def test_a_constant_the_function_made_is_the_programs_own_copy():
    """Changing the array of the first run's constant afterwards does not change the program."""
    made = []

    def fn(x):
        c = Tensor(np.array([1.0, 2.0]))
        made.append(c)
        return (x * c).sum()

    step = jit(fn)
    x = Tensor(np.ones(2))
    assert step(x).item() == 3.0
    made[0].data[:] = 100.0
    assert step(x).item() == 3.0


# ---- dtypes in the program -------------------------------------------------------------------------------
def test_a_float32_program_allocates_float32_buffers():
    import re

    from tinygrad_rnn import nn

    rnn = nn.RNN(2, 3, dtype=np.float32, rng=0)
    xs = Tensor(np.ones((4, 1, 2)), dtype=np.float32, requires_grad=True)
    _, generated = lower(lambda xs: rnn(xs)[0].sum(), xs)
    allocations = re.findall(r"np\.(?:empty|zeros)\(\([\d, ]*\), np\.(\w+)\)", generated.source)
    assert len(allocations) >= 2 and set(allocations) == {"float32"}  # the stack of outputs, gx's gradient


def test_a_gradient_summed_in_float64_for_a_float32_input_is_cast_in_the_program():
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    c = Tensor(2.0)  # float64: x * c is float64, and so is the gradient it sends back to x
    _, generated = lower(lambda x: (x * c).sum(), x)
    assert "d_x = mul_2.astype(np.float32)" in code_lines(generated.source)


def test_zero_d_arrays_in_a_numpy_call_keep_their_dtype():
    """numpy lets a 0-d array's dtype count (NEP 50), unlike a Python number's: int8 times a 0-d int64
    array is int64 (300, not int8's wrapped 44), int8 times a 0-d float32 array is float32 (3 * 0.1f
    rounds to 0.3f, not float64's 0.30000000447). So the program keeps each 0-d array an array; only a
    float64 one reads as a literal, np.float64(...), which numpy treats the same way."""

    def fn(x):
        positive = (x.data > 0).astype(np.int8) * np.array(3, np.int8)
        steps = positive * np.array(100)
        tenths = positive * np.array(0.1, np.float32)
        halves = positive * np.array(0.5)
        as_float = Tensor(steps.astype(np.float64)) + Tensor(tenths.astype(np.float64)) + Tensor(halves)
        return x * as_float

    x = Tensor(np.array([2.0, -1.0, 0.5]), requires_grad=True)
    by_hand = 300 + float(np.float32(0.3)) + 1.5  # where x > 0
    np.testing.assert_allclose(fn(x).data, [2.0 * by_hand, 0.0, 0.5 * by_hand], rtol=1e-15)
    step = compiled_equals_eager(fn, [x], [x])
    lines = code_lines(step.source)
    assert "multiply_4 = multiply_1 * np.float64(0.5)" in lines
    assert {  # the 0-d int8, int64 and float32 arrays
        "multiply_1 = astype_1 * const_1",
        "multiply_2 = multiply_1 * const_2",
        "multiply_3 = multiply_1 * const_3",
    } <= lines


def test_a_python_float_in_a_numpy_call_on_float32_values_keeps_them_float32():
    """A Python float is weak for numpy (NEP 50): float32 * 2.5 is float32. The program writes it as the
    function did, 2.5; np.float64(2.5) would make the result float64."""

    def fn(x):
        return x * Tensor(np.maximum(x.data * 2.5, 0.1))

    x = Tensor(np.array([1.0, -2.0, 0.5]), dtype=np.float32, requires_grad=True)
    assert fn(x).dtype == np.float32
    step = compiled_equals_eager(fn, [x], [x], np.float32)
    assert {"multiply_1 = x * 2.5", "maximum_1 = np.maximum(multiply_1, 0.1)"} <= code_lines(step.source)


def test_an_outside_array_read_twice_is_one_constant_of_the_program():
    scale = np.array([1.0, 2.0, 3.0])

    def fn(x):
        return x * Tensor(x.data * scale + scale)

    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    lines = code_lines(compiled_equals_eager(fn, [x], [x]).source)
    assert {"multiply_1 = x * const_1", "add_1 = multiply_1 + const_1"} <= lines


# ---- numpy writing in place -------------------------------------------------------------------------------
def test_numpy_writing_a_traced_value_into_an_outside_array_is_refused():
    """The program would read ``buffer`` at every call, but never write it: it would hold the values
    of the trace's last run. A named error instead of that silently wrong result."""
    buffer = np.zeros(2)

    def fn(x):
        np.multiply(x.data, 2.0, out=buffer)
        return x * buffer

    with pytest.raises(JitError, match=r"op Mul of shape \(2,\) reads was changed in place"):
        jit(fn)(Tensor(np.array([1.0, 2.0])))


WRITES_IN_PLACE = {
    "out=": lambda d: np.add(d, 1.0, out=d),
    "+=": lambda d: d.__iadd__(1.0),
    "add.at": lambda d: np.add.at(d, np.array([0, 0]), 1.0),
}


@pytest.mark.parametrize("write", WRITES_IN_PLACE)
def test_a_traced_value_changed_in_place_then_used_is_refused(write):
    def fn(x):
        d = x.data * 1.0
        WRITES_IN_PLACE[write](d)
        return x * Tensor(d)

    with pytest.raises(JitError, match="changed in place"):
        jit(fn)(Tensor(np.array([1.0, 2.0])))


def test_a_tensor_made_from_a_tensor_changed_in_place_is_refused():
    # Tensor(t) takes t's own (traced) array, which knows it was written: eagerly this gives
    # 5 + 2 = 7, a value the program could not compute again from x, so jit must refuse it
    # rather than compile the values before the write (1 + 2 = 3).
    def fn(x):
        t = x * 1.0
        t.data[0] = 5.0
        return Tensor(t).sum()

    assert fn(Tensor(np.array([1.0, 2.0]))).item() == 7.0
    with pytest.raises(JitError, match="changed in place"):
        jit(fn)(Tensor(np.array([1.0, 2.0])))


def test_a_tensor_of_traced_integers_is_cast_to_float64_in_the_program():
    # Tensor(integer indices) holds float64: the program computes the cast again at every call,
    # and its text names the dtype (x * onehot-like rows picked by argmax, values by hand).
    def fn(x):
        return x * Tensor(np.argmax(x.data, axis=-1)).reshape(-1, 1)

    compiled = jit(fn)
    assert compiled(Tensor(np.array([[1.0, 2.0], [5.0, 3.0]]))).data.tolist() == [[1.0, 2.0], [0.0, 0.0]]
    assert compiled(Tensor(np.array([[4.0, 2.0], [5.0, 7.0]]))).data.tolist() == [[0.0, 0.0], [5.0, 7.0]]
    assert ".astype(np.float64)" in compiled.source


def test_traced_arrays_write_in_place_as_numpy_outside_a_trace():
    t = np.array([1.0, 7.0]).view(Traced)
    buffer = np.zeros(2)
    assert np.multiply(t, 2.0, out=buffer) is buffer and buffer.tolist() == [2.0, 14.0]
    whole, rest = np.zeros(2), np.zeros(2)
    assert np.divmod(t, 4.0, out=(whole, rest)) == (whole, rest)
    assert whole.tolist() == [0.0, 1.0] and rest.tolist() == [1.0, 3.0]
    np.add.at(t, np.array([1, 1]), 1.0)
    assert t.view(np.ndarray).tolist() == [1.0, 9.0]


def test_numpy_keywords_on_traced_values_are_kept():
    def fn(x):
        return Tensor(np.multiply(x.data, 2.0, dtype=np.float32)) * 3.0

    x = Tensor(np.array([1.5, 2.5]))
    step = jit(fn)
    out = step(x)
    assert out.dtype == np.float32 == fn(x).dtype
    np.testing.assert_array_equal(out.data, [9.0, 15.0])


def _op_output_written_then_read(x, w):
    h = x * 2.0
    h.data[0] = 7.0  # eagerly the sum is (7 + 2 + 2) * 3 = 33
    return (h * 3.0).sum()


def _parameter_written_then_read(x, w):
    w.data[...] *= 2.0  # eagerly w doubles at every call, and so does the sum
    return (x * w).sum()


def _parameter_read_written_and_read_again(x, w):
    y = x * w
    w.data[...] *= 2.0
    return (y * w).sum()


@pytest.mark.parametrize(
    "fn", [_op_output_written_then_read, _parameter_written_then_read, _parameter_read_written_and_read_again]
)
def test_a_tensor_written_through_its_data_then_read_by_an_op_is_refused(fn):
    """The program computes each op from the nodes it read: it cannot repeat a write into a Tensor's
    array, so it would compute the values from before the write (and a parameter's write would
    happen only while tracing). A named error, as for a numpy value written in place."""
    w = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(JitError, match=r"a value that op Mul of shape \(3,\) reads was changed in place"):
        jit(lambda x: fn(x, w))(Tensor(np.ones(3)))


@pytest.mark.parametrize("made_by", ["an op", "numpy"])
def test_a_returned_value_changed_in_place_is_refused(made_by):
    """Returned after a write, the value is not what any node of the program computes."""

    def fn(x):
        h = x * 2.0 if made_by == "an op" else Tensor(x.data * 2.0)
        h.data[0] = 7.0
        return h

    assert fn(Tensor(np.ones(3))).data.tolist() == [7.0, 2.0, 2.0]
    with pytest.raises(JitError, match="a value that fn returns was changed in place"):
        jit(fn)(Tensor(np.ones(3)))


def test_a_returned_view_jit_cannot_follow_is_refused():
    """ndarray.view is no call jit follows: the returned Tensor holds values no node computes."""
    with pytest.raises(JitError, match="a value that fn returns was made by numpy in a way jit cannot"):
        jit(lambda x: Tensor(x.data.view()))(Tensor(np.ones(3)))
