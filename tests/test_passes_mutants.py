"""jit's passes (tinygrad_rnn/compiler/passes.py): the graphs each pass rewrites, and what it makes of them.

Mutation testing changed the passes one thing at a time; each test here fails on changes that the
comparisons of tests/test_compiler.py did not notice. Two kinds of check: the compiled step
against the eager engine on a graph that reaches the pass (values and every gradient, float64 to
1e-12, through ``compiled_equals_eager``), and the generated program itself, where a pass that
declines to rewrite leaves a correct but longer program (T sums where one was due, an
``np.add.at`` where slices were written once each, a concatenation of slices of a buffer).
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from test_codegen_mutants import SwappedGradients
from test_compiler import compiled_equals_eager

from tinygrad_rnn import Function, Tensor, jit, nn, stack
from tinygrad_rnn.ops import scatter

T, B, I, H = 3, 2, 2, 4


def backward_lines(source):
    """The generated backward function's lines, without their comments, stripped."""
    return [line.split("  # ")[0].strip() for line in source.split("def backward")[1].splitlines()]


def defined(lines, name):
    """The right-hand side of the line that assigns ``name``."""
    (value,) = [line.split(" = ", 1)[1] for line in lines if line.startswith(f"{name} = ")]
    return value


# ---- every value is what its node says ------------------------------------------------------------
def values_and_nodes(step, *args):
    """Run step forward and backward, and pair every array the generated code holds under a node's
    name with that node (sys.settrace reads the generated functions' locals line by line)."""
    nodes = {n.name: n for n in step.program.nodes if n.name}
    seen = {}

    def local(frame, event, arg):
        for name, value in frame.f_locals.items():
            if name in nodes and isinstance(value, np.ndarray):
                seen[name] = value
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith("<jit") else None

    sys.settrace(tracer)
    try:
        step(*args).backward()
    finally:
        sys.settrace(None)
    return [(nodes[name], value) for name, value in seen.items()]


def _lstm_sum():
    lstm = nn.LSTM(I, H, rng=0)
    x = Tensor(np.random.default_rng(0).standard_normal((T, B, I)), requires_grad=True)
    return (lambda x: lstm(x)[0].sum()), [x]


def _float32_first_state():
    """h_0 in float32, everything else float64: W's stacked rows are [h_0; h_1; h_2], mixed."""
    xs = Tensor(np.random.default_rng(0).standard_normal((T, B, H)), requires_grad=True)
    h0 = Tensor(np.random.default_rng(1).standard_normal((B, H)).astype(np.float32), requires_grad=True)
    w = Tensor(np.random.default_rng(2).standard_normal((H, H)) / 2, requires_grad=True)

    def fn(xs, h0):
        h, total = h0, 0.0
        for t in range(T):
            h = (xs[t] + h @ w).tanh()
            total = total + h.sum()
        return total

    return fn, [xs, h0]


def _float32_rows_float64_weight():
    """float32 states, computed into the float32 stack of outputs, each times a float64 weight."""
    xs = Tensor(np.random.default_rng(0).standard_normal((T, B, H)).astype(np.float32), requires_grad=True)
    w = Tensor(np.random.default_rng(2).standard_normal((H, H)), requires_grad=True)

    def fn(xs):
        hs = [(xs[t] * 2.0).tanh() for t in range(T)]
        return stack(hs).sum() + sum((h @ w).sum() for h in hs[:2])

    return fn, [xs]


@pytest.mark.parametrize(
    "graph",
    [_lstm_sum, _float32_first_state, _float32_rows_float64_weight],
    ids=["lstm", "float32 first state", "float32 rows, float64 weight"],
)
def test_every_array_the_program_computes_has_its_nodes_shape_and_dtype(graph):
    """The shape in each line's comment and the memory estimate (step.peak_bytes) are read off the
    nodes; the rows stacked_weight_gradients makes (a run of a buffer's slices, a concatenation) must
    state the shape and dtype numpy gives them (np.concatenate promotes mixed dtypes)."""
    fn, args = graph()
    step = jit(fn)
    step(*args)
    pairs = values_and_nodes(step, *args)
    assert len(pairs) > 20
    assert any(node.kind == "op" and node.op.__name__ == "Concat" for node, _ in pairs)
    for node, value in pairs:
        assert node.shape == value.shape, (node, value.shape)
        assert node.dtype is not None and np.dtype(node.dtype) == value.dtype, (node, value.dtype)


# ---- buffer_writes: which pieces are written once each ------------------------------------------------
def test_pieces_picked_with_an_ellipsis_are_written_once_each_into_an_unzeroed_buffer():
    """x[..., 0] and x[..., 1] are views that pick disjoint entries and cover x: its gradient is
    one np.empty buffer, each piece computed straight into its slice (no np.add.at, no zeros)."""
    x = Tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    step = compiled_equals_eager(lambda x: x[..., 0].tanh() * x[..., 1].exp(), [x], [x])
    lines = backward_lines(step.source)
    assert defined(lines, "d_x") == "np.empty((3, 2), np.float64)"
    assert not [line for line in lines if "np.add.at" in line or "np.zeros" in line]
    assert [line for line in lines if "out=d_x[..., 0]" in line]
    assert [line for line in lines if "out=d_x[..., 1]" in line]


def test_overlapping_slices_add_their_gradients():
    """Rows 1 and 2 are in both slices: their gradient is the sum of both pieces."""
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    compiled_equals_eager(lambda x: x[0:3].tanh() + 2.0 * x[1:4], [x], [x])


def test_integer_array_indices_that_repeat_an_entry_add_every_repetition():
    """x[[0, 0, 1]] picks row 0 twice: both gradients reach it (numpy's buf[idx] = g would keep one)."""
    x = Tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    picks = np.array([0, 0, 1])
    compiled_equals_eager(lambda x: x[picks].tanh() * 3.0 + x[[2, 2]].sum(), [x], [x])


def test_a_piece_read_twice_by_one_product_gives_both_its_gradients():
    """x[0] * x[0]: the product's two gradient scatters are one node after common_subexpressions,
    summed with itself. d/dx[0] of sum(x[0]**2 + x[1]) is 2 x[0], d/dx[1] is 1 (it came out as x[0]
    when buffer_writes wrote the repeated scatter once)."""
    x = Tensor(np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 4.0]]), requires_grad=True)
    step = jit(lambda x: (x[0] * x[0] + x[1]).sum())
    for _ in range(2):  # the trace, then the compiled program
        x.grad = None
        step(x).backward()
        np.testing.assert_array_equal(x.grad, [[2.0, 4.0, 6.0], [1.0, 1.0, 1.0]])
    compiled_equals_eager(lambda x: (x[0] * x[0] + x[1]).sum(), [x], [x])


def test_slices_bounded_by_a_value_the_program_computes_compile():
    """The bound is a program value (argmax of the input at every call), so which entries the two
    slices pick is not known while compiling: their gradients are added, not assigned."""

    def fn(x):
        k = x.data.argmax()  # followed, not read: the slices hold its node
        return x[:k].exp().sum() + (x[k:] * 3.0).sum()

    x = Tensor(np.array([0.5, -1.0, 2.0, 0.25, 1.5]), requires_grad=True)
    step = compiled_equals_eager(fn, [x], [x])
    assert "x[:argmax_1]" in step.source and "x[argmax_1:]" in step.source
    assert step.traces == 1


def test_the_gradient_of_an_empty_array_read_in_pieces_compiles():
    x = Tensor(np.zeros((2, 0)), requires_grad=True)
    compiled_equals_eager(lambda x: x[0].sum() + 2.0 * x[1].sum() + 1.0, [x], [x])


def test_a_piece_picked_with_true_is_added_not_computed_into_a_copy():
    """numpy reads a bool index as a mask: v[True] is (1, n) and a copy, not a view, so a gradient
    computed into it (out=) would be lost. v[True] and v[False] are written with np.add.at."""
    v = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    h0 = Tensor(np.array([[0.3, -0.7]]), requires_grad=True)
    w = Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True)

    def fn(v, h0):
        a = v * 1.5
        return (a[True] + h0 @ w).tanh().sum() + (a[False] + h0[0:0] @ w).sum()

    step = compiled_equals_eager(fn, [v, h0], [v, h0, w])
    assert "[True]" not in "".join(line for line in backward_lines(step.source) if "out=" in line)


# ---- stacked_weight_gradients: biases ------------------------------------------------------------------
def test_a_bias_added_at_every_step_gets_one_sum_of_the_stacked_rows():
    lin = nn.Linear(I, H, rng=0)
    xs = Tensor(np.random.default_rng(1).standard_normal((T, B, I)), requires_grad=True)
    step = compiled_equals_eager(
        lambda xs: sum(lin(xs[t]).tanh().sum() for t in range(T)), [xs], [xs, *lin.parameters()]
    )
    lines = backward_lines(step.source)
    row_sums = [line for line in lines if line.endswith(".sum(axis=(0,), keepdims=True)")]
    assert len(row_sums) == 1  # not one per step
    total = defined(lines, "d_bias").removesuffix(f".reshape(({H},))")
    stacked = defined(lines, total).removesuffix(".sum(axis=(0,), keepdims=True)")
    assert defined(lines, stacked).startswith("np.concatenate([")  # the T steps' (B, H) rows
    assert "+" not in defined(lines, "d_bias")


def test_a_vector_added_along_columns_at_every_step_is_not_a_bias():
    """c (n,) as a column (n, 1) added to an (n, m) value: its gradient sums each step's columns
    (axis 1), not its rows; the pass must leave that sum over steps as it is."""
    c = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    xs = Tensor(np.random.default_rng(1).standard_normal((T, 3, 2)), requires_grad=True)
    compiled_equals_eager(
        lambda xs: sum((xs[t] + c.reshape(3, 1)).tanh().sum() for t in range(T)), [xs], [xs, c]
    )


def test_a_vector_added_to_three_dimensional_values_at_every_step_is_not_a_bias():
    """p (6,) as (2, 3) added to (B, 2, 3) values: each step sums axis 0 of a 3-D gradient."""
    p = Tensor(np.arange(6.0) / 4 - 0.5, requires_grad=True)
    xs = Tensor(np.random.default_rng(1).standard_normal((T, B, 2, 3)), requires_grad=True)
    compiled_equals_eager(
        lambda xs: sum((xs[t] + p.reshape(2, 3)).tanh().sum() for t in range(T)), [xs], [xs, p]
    )


class BroadcastRowsLargestGradient(Function):
    """y = b repeated as the rows of an (m, n) array; its backward sends b each column's largest
    upstream gradient (a made-up rule, as a learner may write one): g.max over rows, not a sum."""

    def forward(self, b, like):
        return np.broadcast_to(b, like.shape).copy()

    def backward(self, g):
        return g.max(axis=0, keepdims=True).reshape((g.shape[1],)), None


def test_a_bias_whose_rule_takes_the_largest_row_is_not_summed_over_steps_as_rows():
    b = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    xs = Tensor(np.random.default_rng(1).standard_normal((T, B, 3)), requires_grad=True)

    def fn(xs):
        return sum((xs[t] * BroadcastRowsLargestGradient.apply(b, xs[t])).sum() for t in range(T))

    step = compiled_equals_eager(fn, [xs], [xs, b])
    maxima = [line for line in backward_lines(step.source) if ".max(axis=(0,), keepdims=True)" in line]
    assert len(maxima) == T  # its backward ran on Tensors: ops of the program, one max per step


class FirstColumns(Function):
    """y = an (m, n) array of zeros with b (k,) as the first k entries of every row; dL/db is g's
    first k columns summed over rows, written as a row sum then an index (not a reshape)."""

    def forward(self, b, like):
        out = np.zeros(like.shape)
        out[:, : b.shape[0]] = b
        self.k = b.shape[0]
        return out

    def backward(self, g):
        return g.sum(axis=0, keepdims=True)[0, : self.k], None


def test_a_row_sum_read_through_an_index_is_not_taken_for_a_bias():
    """Each step's term is g_t's row sum, then its first k entries: not a reshape of the row sum,
    so the pass leaves the sum over steps alone (a bias rewrite would reshape (1, n) to (k,))."""
    b = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    xs = Tensor(np.random.default_rng(1).standard_normal((T, B, 3)), requires_grad=True)

    def fn(xs):
        return sum((xs[t] + FirstColumns.apply(b, xs[t])).tanh().sum() for t in range(T))

    step = compiled_equals_eager(fn, [xs], [xs, b])
    row_sums = [line for line in backward_lines(step.source) if ".sum(axis=(0,), keepdims=True)" in line]
    assert len(row_sums) == T  # its backward ran on Tensors: one row sum per step


# ---- stacked_weight_gradients: rows read from a buffer ------------------------------------------------
def test_an_lstms_weight_gradient_reads_the_gate_gradients_buffer_whole():
    """Each step's gate gradient (4 blocks) is a buffer nested in gx's gradient buffer at [t]; the
    recurrent weight's gradient reads the T steps' rows as that buffer reshaped (a view), and its
    h_0, h_1 as a run of the stack of outputs, not a concatenation of T arrays."""
    lstm = nn.LSTM(I, H, rng=0)
    x = Tensor(np.random.default_rng(0).standard_normal((T, B, I)), requires_grad=True)
    step = compiled_equals_eager(lambda x: lstm(x)[0].sum(), [x], [x, *lstm.parameters()])
    lines = backward_lines(step.source)
    product = defined(lines, "d_weight_hh_l0").removesuffix(".T")
    left, right = defined(lines, product).split(" @ ")
    (buffer,) = re.findall(rf"(\w+) = np\.empty\(\({T}, {B}, {4 * H}\), np\.float64\)", "\n".join(lines))
    assert defined(lines, right) == f"{buffer}.reshape(({T * B}, {4 * H}))"
    rows = defined(lines, left).removesuffix(".T")
    assert re.fullmatch(r"np\.concatenate\(\[const_1, \w+\], axis=0\)", defined(lines, rows))
    assert len([line for line in lines if "np.concatenate" in line]) == 1


def test_states_stacked_along_axis_one_and_read_by_a_weight_compile():
    """hs[:, t] is a slice of the stack, not a row block: the weight's rows are concatenated."""
    w = Tensor(np.random.default_rng(2).standard_normal((H, H)) / 2, requires_grad=True)
    xs = Tensor(np.random.default_rng(0).standard_normal((T, B, H)), requires_grad=True)

    def fn(xs):
        hs = [(xs[t] * 2.0).tanh() for t in range(T)]
        return stack(hs, axis=1).sum() + sum((h @ w).tanh().sum() for h in hs)

    compiled_equals_eager(fn, [xs], [xs, w])


# ---- what each pass did, as program.log tells the reader ----------------------------------------------
def comment(source, name):
    """The comment of the generated line that assigns ``name`` (its shape, the op whose backward made it)."""
    (line,) = [line for line in source.splitlines() if line.strip().startswith(f"{name} = ")]
    return line.split("  # ", 1)[1].strip()


def test_buffer_writes_counts_the_lstms_buffers_their_nested_pieces_and_the_pieces_computed_into_them():
    """An LSTM over T = 3 steps: 5 arrays are assembled in buffers (the forward stack of the 3 outputs,
    the gradient of the 3 steps' pre-activations x_t W^T + b, and each step's gate gradient, 4 blocks);
    the 3 gate gradients are views of their step's slice; 3 outputs and 4 * 3 gate blocks (each one
    ufunc) are computed straight into their slice: 15."""
    lstm = nn.LSTM(I, H, rng=0)
    x = Tensor(np.random.default_rng(0).standard_normal((T, B, I)), requires_grad=True)
    step = compiled_equals_eager(lambda x: lstm(x)[0].sum(), [x], [x, *lstm.parameters()])
    (line,) = [line for line in step.program.log if line.startswith("buffer_writes:")]
    assert line == (
        "buffer_writes: 5 arrays assembled in buffers, 3 of their pieces made views of their slice, "
        "15 computed straight into it"
    )


def _elman_with_output_layer():
    """h_t = tanh(lx(x_t) + h_{t-1} @ wh) (no h_0), and a loss on lo(h_t) at every step."""
    lx, lo = nn.Linear(I, H, rng=0), nn.Linear(H, 1, rng=1)
    wh = Tensor(np.random.default_rng(2).standard_normal((H, H)) / 2, requires_grad=True)
    xs = Tensor(np.random.default_rng(0).standard_normal((T, B, I)), requires_grad=True)

    def fn(xs):
        h, total = None, 0.0
        for t in range(T):
            a = lx(xs[t])
            h = (a if h is None else a + h @ wh).tanh()
            total = total + lo(h).tanh().sum()
        return total

    return fn, [xs], [xs, wh, *lx.parameters(), *lo.parameters()]


def test_every_weight_and_bias_used_at_every_step_is_summed_at_once():
    """lx.weight, lx.bias, lo.weight, lo.bias and wh each get one term per step: 5 sums rewritten.
    A bias's stacked rows (T * B, n) are summed to (1, n), then reshaped to (n,): the comments
    (and the memory estimate) read these shapes off the nodes."""
    fn, args, tensors = _elman_with_output_layer()
    step = compiled_equals_eager(fn, args, tensors)
    assert "stacked_weight_gradients: 5 weight and bias gradients summed at once" in step.program.log
    # dL/dxs: each step's g_t @ lx.weight, a plain 2-D matmul, is computed straight into d_xs[t]
    assert (
        "buffer_writes: 1 arrays assembled in buffers, 0 of their pieces made views of their slice, "
        "3 computed straight into it"
    ) in step.program.log
    lines = backward_lines(step.source)
    for bias, n in (("d_lx_bias", H), ("d_lo_bias", 1)):
        total = defined(lines, bias).removesuffix(f".reshape(({n},))")
        assert comment(step.source, bias) == f"reshape ({n},)"
        assert comment(step.source, total) == f"sum (1, {n})"
        rows = defined(lines, total).removesuffix(".sum(axis=(0,), keepdims=True)")
        assert defined(lines, rows).startswith("np.concatenate([")  # the T steps' (B, n) rows


def test_two_biases_whose_terms_are_the_same_row_sums_are_left_as_sums():
    """lx(x_t) + lh(h) sends one gradient to both biases: each step's row sum is computed once
    (common_subexpressions) and read by both sums. A sum is rewritten only when it alone reads its
    terms (else they are computed anyway), so only the two weights are stacked."""
    lx, lh = nn.Linear(I, H, rng=0), nn.Linear(H, H, rng=1)
    xs = Tensor(np.random.default_rng(0).standard_normal((T, B, I)), requires_grad=True)
    h0 = Tensor(np.random.default_rng(1).standard_normal((B, H)), requires_grad=True)

    def fn(xs, h0):
        h = h0
        for t in range(T):
            h = (lx(xs[t]) + lh(h)).tanh()
        return h.sum()

    step = compiled_equals_eager(fn, [xs, h0], [xs, h0, *lx.parameters(), *lh.parameters()])
    assert "stacked_weight_gradients: 2 weight and bias gradients summed at once" in step.program.log
    lines = backward_lines(step.source)
    assert defined(lines, "d_lx_bias") == defined(lines, "d_lh_bias")
    assert defined(lines, "d_lx_bias").count(" + ") == T - 1


def test_a_weight_and_a_bias_used_once_and_through_a_sum_at_every_step_are_summed_twice():
    """v = w + w2 and c = b + b2 are used at every step, w and b once more. dL/dv (= dL/dw2) and
    dL/dc (= dL/db2) are rewritten, then dL/dw = dL/dv + x_0^T g_0, which reads the rewritten
    matmul as a term, is stacked too: 3. The rewritten nodes must take the sums' places among the
    readers the pass looks up later (dL/db = dL/dc + g_0's row sum reads one as well)."""
    rng = np.random.default_rng(2)
    w, w2 = (Tensor(rng.standard_normal((H, H)) / 2, requires_grad=True) for _ in range(2))
    b, b2 = (Tensor(rng.standard_normal(H), requires_grad=True) for _ in range(2))
    xs = Tensor(rng.standard_normal((T, B, H)), requires_grad=True)

    def fn(xs):
        v, c = w + w2, b + b2
        total = (xs[0] @ w + b).tanh().sum()
        for t in range(T):
            total = total + (xs[t] @ v + c).tanh().sum()
        return total

    step = compiled_equals_eager(fn, [xs], [xs, w, w2, b, b2])
    assert "stacked_weight_gradients: 3 weight and bias gradients summed at once" in step.program.log


# ---- buffer_writes: which buffers are views, which start as zeros, what is computed into them -----------
def test_a_stack_read_by_two_stacks_is_a_view_of_the_first_and_copied_into_the_second():
    """s = stack([2a, 3b]) is a piece of both u and v: its buffer can be a view of one slice only
    (u[0], the first), and v[0] gets a copy. The other stacks, [c; d] in u[1] and [d; e^e] in
    v[1], are views of their slices: 3 pieces made views. A stack's buffer is named stack_k."""
    rng = np.random.default_rng(0)
    a, b, c, d, e = (Tensor(rng.standard_normal(3), requires_grad=True) for _ in range(5))

    def fn(a, b, c, d, e):
        s = stack([a * 2.0, b * 3.0])
        return stack([s, stack([c, d])]), stack([s, stack([d * 1.0, e.exp()])])

    step = jit(fn)
    for _ in range(2):
        u, v = step(a, b, c, d, e)
        s = np.stack([a.data * 2.0, b.data * 3.0])
        np.testing.assert_array_equal(u.data, np.stack([s, np.stack([c.data, d.data])]))
        np.testing.assert_array_equal(v.data, np.stack([s, np.stack([d.data, np.exp(e.data)])]))
    (line,) = [line for line in step.program.log if line.startswith("buffer_writes:")]
    assert line == (  # 2a, 3b, d * 1 and e^e are computed into their slices; c, d and s are copied
        "buffer_writes: 5 arrays assembled in buffers, 3 of their pieces made views of their slice, "
        "4 computed straight into it"
    )
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    assert "stack_1 = np.empty((2, 2, 3), np.float64)" in forward  # u
    assert "stack_2 = np.empty((2, 2, 3), np.float64)" in forward  # v
    assert "stack_3 = stack_1[0]" in forward  # s, a view of u[0]
    assert "stack_2[0] = stack_3" in forward  # ... copied into v[0]


def test_a_gradient_whose_piece_leaves_entries_unwritten_starts_as_zeros():
    """dL/dx is assembled from dL/dx[0] and dL/dx[1], which cover x; but dL/dx[0], a view of its
    slice, is written only at r[0:1] and r[2:3]: entries 1 and 3 of row 0 must be zeros."""
    x = Tensor(np.random.default_rng(0).standard_normal((2, 4)), requires_grad=True)

    def fn(x):
        r = x[0]
        return r[0:1].tanh().sum() + (r[2:3] * 3.0).sum() + x[1].exp().sum()

    step = compiled_equals_eager(fn, [x], [x])
    lines = backward_lines(step.source)
    assert defined(lines, "d_x") == "np.zeros((2, 4), np.float64)"
    assert defined(lines, "d_index_1") == "d_x[0]"
    buffers = {n.name: n for n in step.program.nodes if n.kind == "buffer"}
    assert buffers["d_x"].options["covered"] is False  # as the program tells its reader
    assert buffers["d_index_1"].options["covered"] is False


def test_a_piece_that_is_the_sum_of_two_gradients_is_added_straight_into_its_slice():
    """a = x[0] is used twice, so dL/da is a sum of two terms: np.add(..., out=d_x[0])."""
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)

    def fn(x):
        a = x[0]
        return (a.tanh() * a.exp()).sum() + (x[1] * 2.0).sum()

    step = compiled_equals_eager(fn, [x], [x])
    lines = backward_lines(step.source)
    assert defined(lines, "d_x") == "np.empty((2, 3), np.float64)"
    assert re.fullmatch(r"np\.add\(\w+, \w+, out=d_x\[0\]\)", defined(lines, "d_index_1"))


def test_a_matmul_of_batched_rows_is_computed_as_the_engine_does_then_copied_into_the_stack():
    """xs @ w with xs 3-D is one 2-D matmul of the folded rows (as MatMul.forward), which cannot
    take out=: it is computed, then written into its slice of the stack."""
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    xs, ys = (Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True) for _ in range(2))
    step = compiled_equals_eager(lambda xs, ys: stack([xs @ w, ys @ w]), [xs, ys], [xs, ys, w])
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    assert "matmul_1 = (xs.reshape(-1, 3) @ w).reshape((2, 2, 4))" in forward
    assert "stack_1[0] = matmul_1" in forward
    assert "stack_1[1] = matmul_2" in forward


class SwapRows(Function):
    """y = x's two rows swapped; dL/dx = g's rows swapped back, a stack (its backward runs on Tensors)."""

    def forward(self, x):
        return x[::-1].copy()

    def backward(self, g):
        return stack([g[1], g[0]])


def test_a_stack_made_by_an_ops_backward_says_whose_backward_its_buffer_and_writes_are():
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    step = compiled_equals_eager(
        lambda x: (SwapRows.apply(x) * np.arange(6.0).reshape(2, 3)).tanh(), [x], [x]
    )
    assert comment(step.source, "d_x") == "buffer (2, 3)  <- swaprows_1's backward"
    writes = [line.split("  # ")[1] for line in step.source.splitlines() if line.strip().startswith("d_x[")]
    assert writes == ["write into d_x  <- swaprows_1's backward"] * 2
    # the alias (no line of its own: the buffer's name, once written) replaces the stack, and keeps its origin
    (swap,) = [n for n in step.program.nodes if n.kind == "op" and n.op is SwapRows]
    made = [n for n in step.program.nodes if n.kind in ("buffer", "write", "alias")]
    assert sorted(n.kind for n in made) == ["alias", "buffer", "write", "write"]
    assert all(n.origin is swap for n in made)


class RowAsFloat32(Function):
    """y = x[index] in float32; dL/dx = g scattered back (float32: the engine casts it to x's dtype)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape = x.shape
        return x[self.index].astype(np.float32)

    def backward(self, g):
        return scatter(g, self.index, self.shape)


def test_a_buffer_that_is_no_values_gradient_is_named_buffer():
    """dL/dx's two pieces are float32; their buffer is cast to float64 after: the cast is d_x, and
    the buffer, neither a stack nor the gradient of a value, is named buffer_k."""
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    step = compiled_equals_eager(
        lambda x: RowAsFloat32.apply(x, index=0) * RowAsFloat32.apply(x, index=1), [x], [x]
    )
    lines = backward_lines(step.source)
    assert defined(lines, "buffer_1") == "np.empty((2, 3), np.float32)"
    assert defined(lines, "d_x") == "buffer_1.astype(np.float64)"


def test_overlapping_slices_add_their_gradients_in_place_each_from_its_index():
    """Rows 1 and 2 are in both slices: both pieces are added (+=; np.add.at only for integer
    arrays, which may repeat an entry), each write from the backward of its own index."""
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    step = compiled_equals_eager(lambda x: x[0:3].tanh() + 2.0 * x[1:4], [x], [x])
    assert "np.add.at" not in step.source
    writes = [line.split("  # ") for line in step.source.splitlines() if line.strip().startswith("d_x[")]
    assert [code.strip().split(" += ")[0] for code, _ in writes] == ["d_x[1:4]", "d_x[0:3]"]
    assert [note for _, note in writes] == [
        "write into d_x  <- index_2's backward",
        "write into d_x  <- index_1's backward",
    ]


# ---- stacked_weight_gradients: what it leaves behind, and terms it must not take ------------------------
def test_a_rewritten_sum_leaves_its_terms_to_dead_code_and_its_two_equal_row_stacks_to_merging():
    """x_t @ w + b at 2 steps. w's sum is replaced by one matmul of stacked rows and b's by one
    row sum; the sums themselves leave with the rewrite, so dead_code removes what only they read:
    for w the 2 matmuls x_t^T @ g_t and the 2 transposes x_t^T, for b the 2 row sums and their 2
    reshapes: 8. Both rewrites stack g_1, g_2 alike: common_subexpressions merges the 2 into 1."""
    rng = np.random.default_rng(0)
    w, b = (
        Tensor(rng.standard_normal((2, 3)), requires_grad=True),
        Tensor(rng.standard_normal(3), requires_grad=True),
    )
    xs = Tensor(rng.standard_normal((2, 4, 2)), requires_grad=True)
    step = compiled_equals_eager(
        lambda xs: (xs[0] @ w + b).tanh().sum() + (xs[1] @ w + b).tanh().sum(), [xs], [xs, w, b]
    )
    log = step.program.log
    at = log.index("stacked_weight_gradients: 2 weight and bias gradients summed at once")
    assert log[at + 1 : at + 3] == ["dead_code: 8 nodes removed", "common_subexpressions: 1 nodes merged"]


def test_a_weight_whose_step_terms_another_weight_also_reads_keeps_its_sum():
    """x_t @ w.T + x_t @ v: both matmuls get the same gradient g_t, so dL/d(w.T)_t and dL/dv_t are
    the same x_t^T @ g_t, computed once and read by w's sum (through a transpose) and v's. Neither
    sum is rewritten (the terms are computed anyway); u, used on h_{t-1}, is: and after w's."""
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((H, I)), requires_grad=True)
    v = Tensor(rng.standard_normal((I, H)), requires_grad=True)
    u = Tensor(rng.standard_normal((H, H)) / 2, requires_grad=True)
    xs = Tensor(rng.standard_normal((T, B, I)), requires_grad=True)

    def fn(xs):
        h, total = None, 0.0
        for t in range(T):
            a = xs[t] @ w.T + xs[t] @ v
            h = (a if h is None else a + h @ u).tanh()
            total = total + h.sum()
        return total

    step = compiled_equals_eager(fn, [xs], [xs, w, v, u])
    assert "stacked_weight_gradients: 1 weight and bias gradients summed at once" in step.program.log
    lines = backward_lines(step.source)
    sum_of_steps = rf"\w+( \+ \w+){{{T - 1}}}"  # one term per step
    assert re.fullmatch(sum_of_steps, defined(lines, "d_w"))
    assert re.fullmatch(sum_of_steps, defined(lines, "d_v"))
    assert re.fullmatch(r"\w+ @ \w+", defined(lines, "d_u"))


def test_a_float32_piece_of_a_float64_stack_is_computed_then_cast_into_its_slice():
    """stack([a * 2, b * 3]) with a float32 and b float64 is float64: a * 2 keeps its float32
    values (it is also returned) and is cast when written; b * 3, float64, is computed into its slice."""
    a = Tensor(np.array([0.1, -0.7, 1.3], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([0.5, 2.0, -1.0]), requires_grad=True)
    step = compiled_equals_eager(lambda a, b: (stack([a * 2.0, b * 3.0]), a * 2.0), [a, b], [a, b])
    s, y = step(a, b)
    assert (s.dtype, y.dtype) == (np.float64, np.float32)
    np.testing.assert_array_equal(y.data, a.data * np.float32(2.0))
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    assert "stack_1[0] = mul_1" in forward
    assert "mul_2 = np.multiply(b, 3.0, out=stack_1[1])" in forward
    assert "0 of their pieces made views of their slice, 1 computed straight into it" in step.program.log[4]


def test_stacks_nested_three_deep_are_allocated_outermost_first():
    """s1 is a view of s2[0], itself a view of s3[0]: s3 is allocated first, then s2, then s1."""
    rng = np.random.default_rng(0)
    a, b, c, d = (Tensor(rng.standard_normal(2), requires_grad=True) for _ in range(4))

    def fn(a, b, c, d):
        s1 = stack([a * 2.0, b * 3.0])
        s2 = stack([s1, stack([c, d])])
        return stack([s2, s2 * 0.5])

    step = compiled_equals_eager(fn, [a, b, c, d], [a, b, c, d])
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    assert forward.index("stack_1 = np.empty((2, 2, 2, 2), np.float64)") < forward.index(
        "stack_2 = stack_1[0]"
    )
    assert forward.index("stack_2 = stack_1[0]") < forward.index("stack_3 = stack_2[0]")


def test_a_forward_stack_that_is_a_piece_of_a_gradient_stays_a_buffer_of_its_own():
    """dL/dx[0] is s, a stack forward computes (SwappedGradients' backward returns it as it is), so
    x's gradient buffer is assembled from s and 3 g. s's buffer cannot be a view of that buffer:
    backward allocates it, after forward has filled s (the compiled step raised UnboundLocalError)."""
    x = Tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    a = Tensor(np.array([1.0, 2.0]))

    def fn(x, a):
        s = stack([a[0] * 2.0, a[1] * 3.0])
        return (SwappedGradients.apply(x[0], s) + x[1] * 3.0).sum()

    step = compiled_equals_eager(fn, [x, a], [x])
    x.grad = None
    step(x, a).backward()
    np.testing.assert_array_equal(np.array(x.grad), [[2.0, 6.0], [3.0, 3.0]])  # s = (2 a0, 3 a1), then 3s
    assert "0 of their pieces made views of their slice" in step.program.log[4]


def test_a_gradient_piece_nested_after_a_forward_piece_is_still_a_view():
    """The forward piece s of x's gradient is skipped, and the passes go on to the writes after it:
    w[0]'s gradient (itself a buffer, filled from u[0] and u[1]) is still made a view of d_w[0]."""
    x = Tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    a = Tensor(np.array([1.0, 2.0]))
    w = Tensor(np.arange(8.0).reshape(2, 2, 2) / 8.0, requires_grad=True)

    def fn(x, a, w):
        u = w[0]
        first = (u[0].tanh() * u[1]).sum() + w[1].sum()
        s = stack([a[0] * 2.0, a[1] * 3.0])
        return first + (SwappedGradients.apply(x[0], s) + x[1] * 3.0).sum()

    step = compiled_equals_eager(fn, [x, a, w], [x, w])
    assert "1 of their pieces made views of their slice" in step.program.log[4]
    assert "d_index_2 = d_w[0]" in backward_lines(step.source)


def test_a_stack_of_single_numbers_is_written_into_its_buffer_not_computed_into_it():
    """stack_1[0] of a 1-D buffer is a number, not a view: numpy's out= cannot take it (the compiled
    step raised TypeError: return arrays must be of ArrayType), so each 0-d piece is computed, then
    written into its entry."""
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    step = compiled_equals_eager(lambda a: stack([a[0] * 2.0, a[1] * 3.0]), [a], [a])
    np.testing.assert_array_equal(step(a).data, [2.0, 6.0])
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    assert "stack_1[0] = mul_1" in forward and "stack_1[1] = mul_2" in forward
    # The pieces after them are still computed straight into their rows.
    both = compiled_equals_eager(
        lambda a: stack([a[0] * 2.0, a[1] * 3.0]) * stack([a * 4.0, a.exp()]), [a], [a]
    )
    forward = [line.split("  # ")[0].strip() for line in both.source.split("def backward")[0].splitlines()]
    assert "exp_1 = np.exp(a, out=stack_2[1])" in forward


def test_every_node_a_node_reads_is_in_the_program():
    """A piece computed into its slice replaces its write: the stack's value (an alias, no line of
    its own) reads the piece, not the write that left the program; codegen frees each array after
    the last line that reads it, so a*2's name lives until the stack is complete."""
    rng = np.random.default_rng(0)
    a, b = (Tensor(rng.standard_normal(3), requires_grad=True) for _ in range(2))
    step = compiled_equals_eager(lambda a, b: stack([a * 2.0, b.exp()]) * 3.0, [a, b], [a, b])
    nodes = set(step.program.nodes)
    assert all(read in nodes for node in step.program.nodes for read in node.inputs())
    (alias,) = [n for n in step.program.nodes if n.kind == "alias"]
    assert [n.name for n in alias.inputs()] == ["stack_1", "mul_1", "exp_1"]
    (exp,) = [n for n in step.program.nodes if n.name == "exp_1"]
    assert [n.name for n in exp.inputs()] == ["b", "stack_1"]  # it writes into the stack: it needs it


def test_plan_memory_frees_each_array_after_its_last_use_and_says_so():
    """exp(3 tanh(x)): 3 tanh(x) is read only by the exp (the backward reads tanh(x) and exp's
    value), so it is freed right after it."""
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    step = compiled_equals_eager(lambda x: (x.tanh() * 3.0).exp(), [x], [x])
    assert step.program.free_early is True
    assert step.program.log[-1] == "plan_memory: every array freed after its last use"
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    at = forward.index("exp_1 = np.exp(mul_1)")
    assert forward[at - 1 : at + 2] == ["mul_1 = tanh_1 * 3.0", "exp_1 = np.exp(mul_1)", "del mul_1"]


# ---- simplify and common_subexpressions: what they fold and merge, and what they must keep apart --------
def test_simplify_folds_each_kind_of_view_once_and_counts_them():
    """Five views folded: a reshape of a reshape (one reshape), two reshapes to the same shape (x,
    y), x.T.T (x), and two 3-D transposes, one transpose by the composed axes: y.transpose(1, 2, 0)
    .transpose(1, 0, 2) takes axis (1, 2, 0)[a] for each a of (1, 0, 2), (2, 1, 0)."""
    rng = np.random.default_rng(0)
    x, y = Tensor(rng.standard_normal((2, 3))), Tensor(rng.standard_normal((2, 3, 4)))

    def fn(x, y):
        return (  # (the reshape of a reshape after another fold: the count adds up)
            x.reshape(2, 3) * 2.0,
            x.reshape(6).reshape(3, 2),
            x.T.T * 3.0,
            y.transpose(1, 2, 0).transpose(1, 0, 2),
            y.reshape(2, 3, 4) * 4.0,
        )

    step = jit(fn)
    for _ in range(2):
        b, a, c, d, e = step(x, y)
        np.testing.assert_array_equal(e.data, y.data * 4.0)
        np.testing.assert_array_equal(a.data, x.data.reshape(3, 2))
        np.testing.assert_array_equal(b.data, x.data * 2.0)
        np.testing.assert_array_equal(c.data, x.data * 3.0)
        np.testing.assert_array_equal(d.data, np.transpose(y.data, (2, 1, 0)))
    assert step.program.log[0] == "simplify: 5 views folded (what they read is left to dead_code)"
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    assert "reshape_1 = x.reshape((3, 2))" in forward
    assert "mul_1 = x * 2.0" in forward and "mul_2 = x * 3.0" in forward
    assert "transpose_1 = y.transpose((2, 1, 0))" in forward
    assert (
        len([line for line in forward if ".reshape(" in line or ".transpose(" in line or ".T" in line]) == 2
    )


def test_equal_constants_are_one_and_unequal_ones_stay_apart():
    """Constants are compared by value up to 64 entries (two equal ones, distinct arrays, merge);
    larger ones by identity (not hashed): two different 65-entry constants must never be taken for
    one, and two equal ones stay two."""
    x = Tensor(np.random.default_rng(0).standard_normal(64), requires_grad=True)
    z = Tensor(np.random.default_rng(1).standard_normal(65), requires_grad=True)

    def fn(x, z):  # arrays fn makes itself: constants of the program
        c64, c64_again = np.arange(64.0), np.arange(64.0)
        c65, c65_again, d65 = np.arange(65.0), np.arange(65.0), np.arange(65.0)[::-1].copy()
        return (x * c64).tanh() + (x * c64_again).exp(), (z * c65).tanh() + (z * d65).exp() * (z * c65_again)

    step = compiled_equals_eager(fn, [x, z], [x, z])
    forward = [line.split("  # ")[0].strip() for line in step.source.split("def backward")[0].splitlines()]
    products = [line.split(" = ")[1] for line in forward if line.startswith("mul_") and "const" in line]
    assert products == ["x * const_1", "z * const_2", "z * const_3", "z * const_4"]  # x * c64 computed once


def test_indices_that_differ_only_in_a_slice_bound_or_an_int_for_a_bool_are_not_merged():
    """x[0:2], x[1:2], x[0:1], x[0:3:2]: same op, same array, different slices; x[1] and x[True]
    (a mask: numpy reads True as a new axis), equal as Python values (1 == True)."""
    x = Tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)

    def fn(x):
        rows = x[0:2].sum(0) + 2.0 * x[1:2].sum(0) + 3.0 * x[0:1].sum(0) + 4.0 * x[0:3:2].sum(0)
        rows = rows + 7.0 * x[0:3].sum(0)
        return rows + x[1] * 5.0 + x[True][0, 2] * 6.0

    compiled_equals_eager(fn, [x], [x])


class Noise(Function):
    """y = x + fresh standard normal noise at every call (a learner's own dropout-like op)."""

    rng = np.random.default_rng(0)

    def forward(self, x):
        return x + self.rng.standard_normal(x.shape)

    def backward(self, g):
        return g


def test_two_calls_of_an_op_the_table_does_not_know_are_not_merged():
    """An op jit calls as it is (not in the table) may draw random numbers or keep state: two calls
    on the same value are two calls."""
    x = Tensor(np.zeros(4), requires_grad=True)
    step = jit(lambda x: (Noise.apply(x), Noise.apply(x)))
    for _ in range(2):
        a, b = step(x)
        assert not np.array_equal(a.data, b.data)


def test_an_input_nothing_reads_keeps_its_place_among_the_gradients():
    """y is an argument that fn never reads: its gradient stays None, and x's is still x's."""
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = Tensor(np.array([2.0, 3.0, 4.0]), requires_grad=True)
    step = compiled_equals_eager(lambda x, y: (x * 2.0).tanh(), [x, y], [x, y])
    assert [x.name for x, _ in step.program.input_grads] == ["x", "y"]


def test_run_passes_runs_the_passes_it_is_given():
    from tinygrad_rnn.compiler.passes import plan_memory, run_passes
    from tinygrad_rnn.compiler.program import Program

    program = run_passes(Program([], [], [], []), [plan_memory])
    assert program.log == ["plan_memory: every array freed after its last use"]


def test_common_subexpressions_counts_the_nodes_it_merges():
    """exp(2x) + exp(2x): the second 2.0, x * 2.0 and its exp are the first ones: 3 merged."""
    x = Tensor(np.array([0.5, -1.0]))
    step = jit(lambda x: (x * 2.0).exp() + (x * 2.0).exp())
    np.testing.assert_allclose(step(x).data, 2 * np.exp(2 * x.data), rtol=1e-15)
    assert step.program.log[2] == "common_subexpressions: 3 nodes merged"


class Ones(Function):
    """y = ones(3), an op of no input."""

    def forward(self):
        return np.ones(3)

    def backward(self, g):
        return ()


def test_an_op_of_no_input_passes_through_simplify():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    step = compiled_equals_eager(lambda x: x[0] * Ones.apply(), [x], [x])
    assert "simplify: 0 views folded (what they read is left to dead_code)" in step.program.log


def test_a_numpy_call_on_a_list_of_program_values_reads_each_of_them():
    """np.stack([argmax, argmin]) of x's values: its node's argument is a list holding two nodes."""
    x = Tensor(np.array([0.5, -1.0, 2.0, 0.25]), requires_grad=True)

    def fn(x):
        picks = np.stack([x.data.argmax(), x.data.argmin()])
        return (x[picks] * 3.0).sum()

    step = compiled_equals_eager(fn, [x], [x])
    (node,) = [n for n in step.program.nodes if n.kind == "numpy" and n.op is np.stack]
    assert [n.name for n in node.inputs()] == ["argmax_1", "argmin_1"]


def test_a_sum_of_one_term_twice_reads_it_once_and_is_stacked():
    """(xs @ w) twice: both uses send w the same xs^T g (merged), so w's sum reads one node twice;
    that node has one reader, the sum, which is rewritten: [xs; xs]^T [g; g]."""
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    xs = Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    step = compiled_equals_eager(lambda xs: (xs @ w).tanh().sum() + (xs @ w).tanh().sum(), [xs], [xs, w])
    assert "stacked_weight_gradients: 1 weight and bias gradients summed at once" in step.program.log
    (total,) = [n for n in step.program.nodes if n.kind == "sum" and n.name == "d_xs"]
    assert len(total.args) == 2 and total.args[0] is total.args[1] and total.inputs() == [total.args[0]]


def test_a_numpy_index_by_a_list_and_by_a_tuple_of_the_same_ints_are_not_merged():
    """k[[0, 1]] picks rows 0 and 1 of k; k[(0, 1)] is the entry k[0, 1]: two numpy calls."""
    x = Tensor(np.array([[0.5, -1.0, 2.0], [0.25, 3.0, -2.0]]), requires_grad=True)

    def fn(x):
        k = x.data.argsort(axis=1)
        return x[0, k[[0, 1]]].sum() * 2.0 + x[1, k[(0, 1)]] * 3.0

    compiled_equals_eager(fn, [x], [x])


def test_numpy_calls_with_different_unhashable_arguments_are_not_merged():
    """A bytearray cannot be hashed: each call is kept by its argument's identity, never merged
    with a call on a different one."""
    x = Tensor(np.array([0.5, -1.0, 2.0, 0.25]), requires_grad=True)

    def fn(x):
        k = x.data.argsort()
        first, last = np.isin(k, bytearray(b"\x00\x01")), np.isin(k, bytearray(b"\x02\x03"))
        return x[first].sum() * 2.0 + x[last].sum() * 3.0

    compiled_equals_eager(fn, [x], [x])


class ScaleFirst(Function):
    """y = x * s (s a scalar Tensor); a backward on arrays only (np.repeat, as RowSums in
    test_codegen_mutants.py) that leaves s's gradient out: (g * s, None)."""

    def forward(self, x, s):
        return x * s

    def backward(self, g):
        _, s = self.inputs
        return np.repeat(g, 1) * s, None


def test_a_gradient_an_ops_backward_leaves_out_stays_none_in_the_tuple_the_program_holds():
    """call_backward hands the generated program the backward's gradients as they came, a missing
    one as None (not np.asarray(None), an object array); the program then picks d_x out of it."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    s = Tensor(np.array(3.0), requires_grad=True)
    step = jit(lambda x, s: ScaleFirst.apply(x, s).sum())
    step(x, s)  # traced; the second call runs the generated code
    held = {}

    def local(frame, event, arg):
        held.update({k: v for k, v in frame.f_locals.items() if k.startswith("grads")})
        return local

    sys.settrace(lambda frame, event, arg: local if frame.f_code.co_filename.startswith("<jit") else None)
    try:
        step(x, s).backward()
    finally:
        sys.settrace(None)
    ((name, grads),) = held.items()
    np.testing.assert_array_equal(grads[0], [3.0, 3.0])  # d(sum(x * s))/dx = s
    assert grads[1] is None, name
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_common_subexpressions_never_merges_a_value_computed_into_a_buffers_slice():
    """Run right after buffer_writes (without the first common_subexpressions), stack([x * 2, x * 2])
    has each product computed straight into its own row of the stack's buffer, allocated without
    zeros since the rows cover it. The two products are the same op on the same values, but merging
    them would leave row 1 as np.empty left it: each must stay and fill its row."""
    from tinygrad_rnn.compiler import lower
    from tinygrad_rnn.compiler.passes import buffer_writes, common_subexpressions

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    program, generated = lower(
        lambda x: stack([x * 2.0, x * 2.0]), x, passes=[buffer_writes, common_subexpressions]
    )
    assert re.findall(r"out=stack_1\[(\d)\]", generated.source) == ["0", "1"]
    (out,), _ = generated.forward(x.data)
    np.testing.assert_array_equal(out, [[2.0, 4.0], [2.0, 4.0]])
