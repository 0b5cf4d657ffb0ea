"""Code generation (compiler/codegen.py) and the op table (compiler/table.py), piece by piece.

Mutation testing changed codegen.py and table.py one thing at a time; the tests here fail on
changes that every compiled value in tests/test_compiler.py survived: how each kind of value
is written as Python source, the names the program gives, the comments, the ``del`` lines, the
memory estimate and the line count. Every expected text is written by hand from the docstrings
(a 0-d constant keeps its dtype's exact value, a Python float is weak, ...) and Python's own
syntax; every expected number of bytes is counted by hand from the shapes.
"""

from __future__ import annotations

import linecache

import numpy as np
import pytest

from tinygrad_rnn import Function, Tensor, jit, ops, stack
from tinygrad_rnn.compiler import lower, passes
from tinygrad_rnn.compiler.codegen import Names, Render, Retrace, generate, literal, op_name
from tinygrad_rnn.compiler.program import Node


def code_lines(source):
    """The lines of forward's body (and backward's), without docstrings and comments, stripped."""
    body = source.split('    """\n', 1)[1] if '    """\n' in source else source
    return [line.split("  # ")[0].strip() for line in body.splitlines() if line.startswith("    ")]


def backward_lines(source):
    """The lines of backward's body after its docstring, without comments, stripped."""
    body = source.split("def backward", 1)[1].split("\n", 2)[2]
    return [line.split("  # ")[0].strip() for line in body.splitlines() if line.startswith("    ")]


def render():
    namespace = {}
    return Render(namespace, Names()), namespace


# ---- literal: a 0-d constant as Python source --------------------------------------------------------
def test_a_float_literal_keeps_its_dtype_unless_weak():
    assert literal(2.5, np.float64) == "np.float64(2.5)"
    assert literal(np.float64(2.5), np.float64, weak=True) == "2.5"
    assert literal(np.float32(2.5), np.float32) == "np.float32(2.5)"
    assert literal(np.float32(2.5), np.float32, weak=True) == "2.5"
    exact = repr(float(np.float32(0.1)))  # the float32 nearest 0.1, exactly
    assert literal(np.array(0.1, dtype=np.float32), np.float32, weak=True) == exact


def test_infinities_and_nan_are_written_as_numpys_names():
    assert literal(np.inf, np.float64) == "np.float64(np.inf)"
    assert literal(-np.inf, np.float64) == "np.float64(-np.inf)"
    assert literal(np.nan, np.float64) == "np.float64(np.nan)"
    assert literal(np.float32(-np.inf), np.float32) == "np.float32(-np.inf)"
    assert literal(np.float32(np.nan), np.float32, weak=True) == "np.nan"


def test_integers_and_booleans_are_written_as_python_literals():
    assert literal(np.int64(3), np.int64) == "3"
    assert literal(np.array(-7, dtype=np.int32), np.int32) == "-7"
    assert literal(np.True_, np.bool_) == "True"


# ---- Names: readable and never one the generated code uses -----------------------------------------
def test_fresh_names_are_numbered_and_never_taken_twice():
    names = Names()
    assert names.fresh("x", numbered=False) == "x"
    assert names.fresh("x", numbered=False) == "x_1"  # "x" is taken now
    assert names.fresh("x") == "x_2"
    assert names.fresh("x_2", numbered=False) == "x_2_1"  # a numbered name is taken too
    assert names.fresh("tanh") == "tanh_1"
    assert names.fresh("tanh") == "tanh_2"


def test_a_fresh_name_is_a_python_identifier_clear_of_helpers_builtins_and_keywords():
    names = Names()
    assert names.fresh("a.b-c", numbered=False) == "a_b_c"
    assert names.fresh("0th", numbered=False) == "v0th"
    assert names.fresh("", numbered=False) == "v"
    assert names.fresh("np", numbered=False) == "np_1"  # the helpers' names
    assert names.fresh("softmax", numbered=False) == "softmax_1"
    assert names.fresh("saved", numbered=False) == "saved_1"
    assert names.fresh("Retrace", numbered=False) == "Retrace_1"
    assert names.fresh("sum", numbered=False) == "sum_1"  # builtins
    assert names.fresh("lambda", numbered=False) == "lambda_1"  # keywords


def test_a_numbered_name_skips_numbers_already_taken():
    names = Names()
    assert names.fresh("x_1", numbered=False) == "x_1"
    assert names.fresh("x") == "x_2"


# ---- Render: each kind of value as Python source ----------------------------------------------------
def test_containers_are_written_with_their_items_rendered():
    r, _ = render()
    assert r((1,)) == "(1,)"
    assert r((1, 2)) == "(1, 2)"
    assert r(()) == "()"
    assert r([1, (2,)]) == "[1, (2,)]"
    assert r({"axis": 1, "keepdims": True}) == "{'axis': 1, 'keepdims': True}"
    assert r(slice(1, None, 2)) == "slice(1, None, 2)"
    assert r(slice(None, 5)) == "slice(None, 5, None)"
    assert r(Ellipsis) == "..."


def test_dtypes_types_and_ufuncs_are_written_as_numpys_names():
    r, _ = render()
    assert r(np.dtype("float32")) == "np.dtype('float32')"
    assert r(np.float32) == "np.float32"
    assert r(np.int64) == "np.int64"
    assert r(int) == "int"
    assert r(bool) == "bool"
    assert r(float) == "float"
    assert r(complex) == "complex"
    assert r(np.add) == "np.add"
    assert r(np._NoValue) == "np._NoValue"
    assert r(None) == "None"
    assert r("mean") == "'mean'"


def test_numbers_keep_their_dtype_as_the_function_wrote_them():
    r, _ = render()
    assert r(2.5) == "2.5"  # a Python float is weak for numpy: float32 * 2.5 is float32
    assert r(np.float64(2.5)) == "np.float64(2.5)"  # a numpy float64 is not
    assert r(np.float32(2.5)) == "np.float32(2.5)"
    assert r(np.int64(3)) == "3"
    assert r(3) == "3"
    assert r(True) == "True"


def test_a_0d_constant_node_is_a_literal_weak_only_where_name_nodes_says_so():
    r, _ = render()
    constant = Node("constant", value=np.array(0.5), dtype=np.dtype(np.float64))
    assert r(constant) == "np.float64(0.5)"  # not known to be weak: it keeps its dtype
    constant.options["weak"] = True
    assert r(constant) == "0.5"


def test_an_array_is_a_named_constant_of_the_program_once_per_array():
    r, namespace = render()
    a, b = np.arange(3.0), np.arange(3.0)
    name_a = r(a)
    assert name_a == "const_1" and namespace["const_1"] is a
    assert r(a) == name_a  # the same array, the same name
    assert r(b) == "const_2" and namespace["const_2"] is b
    assert r(np.array(1.5)) == "np.float64(1.5)"  # a 0-d float64 reads as a number
    zero_d = np.array(1.5, dtype=np.float32)  # any other 0-d array stays an array (its dtype wins)
    assert r(zero_d) == "const_3" and namespace["const_3"] is zero_d


def test_an_index_is_written_as_between_brackets():
    r, _ = render()
    assert r.index(0) == "0"
    assert r.index((0,)) == "0"  # x[(0,)] is x[0]
    assert r.index(()) == "()"
    assert r.index(slice(None)) == ":"
    assert r.index(slice(1, None, 2)) == "1::2"
    assert r.index((slice(None, 3), None, Ellipsis, 2)) == ":3, None, ..., 2"
    assert r.index(slice(2, 5, None)) == "2:5"
    assert r.index(slice(None, None, -1)) == "::-1"


# ---- op_name: what a node computes, for its name and its comment ------------------------------------
def test_op_name_is_an_ops_own_name_or_its_class_name_in_lower_case():
    assert op_name(Node("op", op=ops.Tanh)) == "tanh"
    assert op_name(Node("op", op=ops.MatMul)) == "matmul"
    assert op_name(Node("op", op=ops.PowConst)) == "pow"  # a class attribute `name`
    assert op_name(Node("op", op=ops.BroadcastTo)) == "broadcast_to"


def test_op_name_of_a_numpy_call_is_the_functions_or_the_methods_name():
    assert op_name(Node("numpy", op=np.greater)) == "greater"
    assert op_name(Node("numpy", op=(np.add, "reduce"))) == "add"  # a ufunc method: the ufunc
    assert op_name(Node("numpy", op="reshape")) == "reshape"  # an array method
    assert op_name(Node("numpy", op="__getitem__")) == "index"
    assert op_name(Node("numpy", op="item")) == "part"
    assert op_name(Node("numpy", op=object())) == "numpy"  # a callable without a __name__


def test_op_name_of_the_other_kinds_says_what_the_backward_pass_made():
    assert op_name(Node("sum")) == "grad_sum"
    assert op_name(Node("call_backward")) == "grads"
    assert op_name(Node("item")) == "grad"
    assert op_name(Node("buffer")) == "buffer"
    assert op_name(Node("write")) == "write"
    assert op_name(Node("guard")) == "guard"


# ---- table: MatMul as MatMul.forward computes it ----------------------------------------------------
def test_a_matmul_of_rows_by_a_matrix_is_the_eager_ones_bit_for_bit():
    """MatMul.forward folds (B, T, n) @ (n, m) into one (B*T, n) @ (n, m) product; numpy's batched
    x @ w computes each (1, n) @ (n, m) another way and rounds differently (9 of these 12 entries)."""
    rng = np.random.default_rng(0)
    x, w = Tensor(rng.standard_normal((4, 1, 16))), Tensor(rng.standard_normal((16, 3)))
    np.testing.assert_array_equal(jit(lambda x: x @ w)(x).data, (x @ w).data)


def test_a_batched_matmul_of_two_stacks_is_numpys():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    out = jit(lambda x, y: x @ y)(Tensor(x), Tensor(y))
    np.testing.assert_array_equal(out.data, x @ y)


# ---- a whole program, line by line -----------------------------------------------------------------
def test_the_program_of_a_small_step_reads_line_by_line_as_written_by_hand():
    """tanh(x @ w).sum(): forward keeps what backward reads (tanh_1 for tanh's backward, w and x for
    matmul's, in the order backward first reads them); each value is freed (del) after the line
    that reads it last, unless it is returned or saved; gradients are named d_<what they are the
    gradient of>; each line's comment is its op, its shape and whose backward made it."""
    w = Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True)

    def step(x):
        return (x @ w).tanh().sum()

    compiled = jit(step)
    compiled(Tensor(np.ones((4, 2)), requires_grad=True))
    expected = '''\
def forward(x, w):
    """step, forward: returns its outputs and what backward needs.

    Its own arrays, forward and backward, take at most 0.00 MiB at once
    (estimated; inputs and parameters not counted).
    """
    matmul_1 = x @ w                                              # matmul (4, 3)
    tanh_1 = np.tanh(matmul_1)                                    # tanh (4, 3)
    del matmul_1
    sum_1 = np.asarray(tanh_1.sum())                              # sum ()
    return (sum_1,), (tanh_1, w, x)


def backward(saved, d_sum_1):
    """step, backward: dL/d of each input and parameter."""
    tanh_1, w, x = saved
    reshape_1 = d_sum_1.reshape((1, 1))                           # reshape (1, 1)  <- sum_1's backward
    del d_sum_1
    d_tanh_1 = np.broadcast_to(reshape_1, (4, 3))                 # broadcast_to (4, 3)  <- sum_1's backward
    del reshape_1
    mul_1 = tanh_1 * tanh_1                                       # mul (4, 3)  <- tanh_1's backward
    sub_1 = 1.0 - mul_1                                           # sub (4, 3)  <- tanh_1's backward
    del mul_1
    d_matmul_1 = d_tanh_1 * sub_1                                 # mul (4, 3)  <- tanh_1's backward
    del d_tanh_1, sub_1
    transpose_1 = w.T                                             # transpose (3, 2)  <- matmul_1's backward
    d_x = d_matmul_1 @ transpose_1                                # matmul (4, 2)  <- matmul_1's backward
    del transpose_1
    transpose_2 = x.T                                             # transpose (2, 4)  <- matmul_1's backward
    d_w = transpose_2 @ d_matmul_1                                # matmul (2, 3)  <- matmul_1's backward
    del d_matmul_1, transpose_2
    return (d_x, d_w)
'''
    assert compiled.source == expected
    generated = compiled._latest.generated
    assert [n.name for n in generated.saved] == ["tanh_1", "w", "x"]
    # Lines that start inside a function, less docstring quotes and del lines: the docstring's two
    # lines of text, 3 + 1 return in forward; the unpacking of saved, 9 + 1 return in backward.
    assert generated.lines == 2 + 4 + 1 + 10
    # At most two (4, 3) float64 arrays at once: matmul_1 and tanh_1, then tanh_1 (saved) and mul_1,
    # mul_1 and sub_1, sub_1 and d_matmul_1; the views (reshape, broadcast_to, .T) take nothing.
    assert compiled.peak_bytes == generated.peak_bytes == 2 * (4 * 3 * 8)


def double(x):
    return x * 2.0


def test_a_program_without_gradients_has_no_backward_and_says_its_memory_in_mib():
    x = Tensor(np.ones((512, 256)))  # 2**17 float64 entries: 1 MiB, and so is x * 2.0
    program, generated = lower(double, x)
    expected = '''\
def forward(x):
    """double, forward: returns its outputs and what backward needs.

    Its own arrays, forward and backward, take at most 1.00 MiB at once
    (estimated; inputs and parameters not counted).
    """
    mul_1 = x * 2.0                                               # mul (512, 256)
    return (mul_1,), ()
'''
    assert generated.source == expected
    assert generated.backward is None and generated.saved == []
    assert generated.peak_bytes == 2**20
    assert generated.lines == 2 + 1 + 1  # the docstring's two lines of text, mul_1, return
    np.testing.assert_array_equal(generated.forward(x.data)[0][0], x.data * 2.0)


def test_generate_titles_a_program_step_and_files_its_lines_for_tracebacks():
    program, _ = lower(double, Tensor(np.ones(3)))
    generated = generate(program)  # the title by default
    assert generated.source.splitlines()[1].startswith('    """step, forward: returns its outputs')
    filename = generated.forward.__code__.co_filename
    assert filename == f"<jit step #{id(program):x}>"
    # A traceback through the program shows its lines: linecache holds them, each with its newline.
    assert linecache.getline(filename, 1) == "def forward(x):\n"
    assert linecache.getline(filename, 7).startswith("    mul_1 = x * 2.0 ")


def test_an_input_without_a_name_is_called_input():
    """jit names each input after its argument; in a program whose input has none (a Program edited
    or built by hand), generate calls it after `input`: input_1, since the builtin input is taken."""
    program, _ = lower(double, Tensor(np.ones(3)))
    program.inputs[0].name = ""
    generated = generate(program)
    assert generated.source.startswith("def forward(input_1):")
    assert code_lines(generated.source)[0] == "mul_1 = input_1 * 2.0"


# ---- a bug found here: a float32 constant written as a Python float -------------------------------
def test_a_float32_constant_next_to_float16_values_keeps_its_dtype_as_in_the_eager_engine():
    """numpy (NEP 50): float16 values times a float32 0-d array, or a np.float32, are float32; times a
    Python float they stay float16. The program wrote such a constant as a Python float, so its result
    was float16 where the eager engine's is float32. Now it is written np.float32(...)."""
    x = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float16))
    for fn in (lambda x: x * Tensor(np.float32(2.0)), lambda x: Tensor(x.data * np.float32(2.0))):
        eager, compiled = fn(x), jit(fn)(x)
        assert eager.dtype == np.float32
        assert compiled.dtype == np.float32
        np.testing.assert_array_equal(compiled.data, eager.data)


# ---- the memory estimate: views are free, copies are not --------------------------------------------
def test_views_of_an_op_take_no_memory_and_an_advanced_index_copies():
    """reshape and .T are views of x; x.T * 2.0 is new (4, 3) float64 memory, 96 bytes; rows picked
    by an index array are a copy, (3, 3), 72 bytes, made while the product is still alive: 168."""

    def views(x):
        picked = (x.reshape(3, 4).T * 2.0)[np.array([0, 0, 1]), :]
        return picked.sum()

    program, generated = lower(views, Tensor(np.arange(12.0).reshape(4, 3)))
    assert generated.peak_bytes == 96 + 72
    assert code_lines(generated.source) == [
        "reshape_1 = x.reshape((3, 4))",
        "transpose_1 = reshape_1.T",
        "del reshape_1",
        "mul_1 = transpose_1 * 2.0",
        "del transpose_1",
        "index_1 = mul_1[const_1, :]",
        "del mul_1",
        "sum_1 = np.asarray(index_1.sum())",
        "del index_1",
        "return (sum_1,), ()",
    ]
    np.testing.assert_array_equal(generated.namespace["const_1"], [0, 0, 1])


def test_views_in_numpy_calls_take_no_memory_and_a_list_index_copies():
    """The same with numpy on x.data: .reshape, .transpose() and a slice are views; the product (96
    bytes) and the rows picked by a list (72) are not. The value read (.item) is a guard, no memory."""

    def numpy_views(x):
        rows = (x.data.reshape(3, 4).transpose() * 2.0)[[0, 0, 1]]  # [[0, 8, 16], [0, 8, 16], [2, 10, 18]]
        return x * rows[1:].sum(axis=0).item(0)  # 0 + 2

    program, generated = lower(numpy_views, Tensor(np.arange(12.0).reshape(4, 3)))
    assert generated.peak_bytes == 96 + 72
    assert code_lines(generated.source) == [
        "reshape_1 = x.reshape(3, 4)",
        "transpose_1 = reshape_1.T",
        "del reshape_1",
        "multiply_1 = transpose_1 * 2.0",
        "del transpose_1",
        "index_1 = multiply_1[[0, 0, 1]]",
        "del multiply_1",
        "index_2 = index_1[1:]",
        "del index_1",
        "sum_1 = index_2.sum(axis=0)",
        "del index_2",
        "if sum_1.item(0) != 2.0:",
        "raise Retrace",
        "del sum_1",
        "mul_1 = x * 2.0",
        "return (mul_1,), ()",
    ]
    guard = [line for line in generated.source.splitlines() if "!= 2.0" in line][0]
    assert guard.endswith("  # guard: the function read this value; if it changes, trace again")


class RowSums(Function):
    """y = x.sum(axis=1);  dL/dx = g repeated along each row (a backward on arrays only: np.repeat)."""

    def forward(self, x):
        return x.sum(axis=1)

    def backward(self, g):
        (x,) = self.inputs
        return np.repeat(g[:, None], x.shape[1], axis=1)


def test_an_op_without_a_table_entry_is_called_and_its_gradients_picked_from_its_backward():
    """The op's output Tensor is kept (rowsums_1_op) for its backward; the gradients it returns come as
    one tuple (grads_1), and each is picked out of it. For the memory estimate that tuple holds the
    gradient it was given, d_rowsums_1 (4 floats), until d_x (16) is picked: 32 + 128 bytes, more than
    forward's rowsums_1, mul_1 and sum_1 (32 + 32 + 8)."""
    x = Tensor(np.arange(16.0).reshape(4, 4), requires_grad=True)
    program, generated = lower(lambda x: (RowSums.apply(x) * 3.0).sum(), x)
    assert generated.peak_bytes == 32 + 128
    lines = [" ".join(line.split()) for line in generated.source.splitlines()]  # spaces as one
    assert "rowsums_1, rowsums_1_op = call(RowSums, {}, (True,), x) # rowsums (4,)" in lines
    assert "return (sum_1,), (rowsums_1, rowsums_1_op)" in lines
    assert "rowsums_1, rowsums_1_op = saved" in lines
    assert "grads_1 = call_backward(rowsums_1_op, d_rowsums_1) # grads () <- rowsums_1's backward" in lines
    assert "d_x = grads_1[0] # grad (4, 4) <- rowsums_1's backward" in lines
    _, saved = generated.forward(x.data)
    np.testing.assert_array_equal(generated.backward(saved, np.array(1.0))[0], np.full((4, 4), 3.0))


# ---- gradients written slice by slice into one buffer ----------------------------------------------
def test_a_gradient_made_of_disjoint_slices_is_written_into_an_uninitialised_buffer():
    """x[0], x[1] and x[2] cover x once each: d_x is np.empty, filled by an assignment and by products
    computed straight into their slices (out=); those products are never read by name, so each is
    freed at once. The memory: d_x, 6 floats (48 bytes), more than forward's mul_1 + add_1 + sum_1."""
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    program, generated = lower(lambda x: (x[0] * x[1] + x[2]).sum(), x)
    assert generated.peak_bytes == 48
    backward = generated.source.split("def backward")[1]
    assert backward_lines(generated.source) == [
        "index_2, index_1 = saved",
        "d_x = np.empty((3, 2), np.float64)",
        "reshape_1 = d_sum_1.reshape((1,))",
        "del d_sum_1",
        "d_add_1 = np.broadcast_to(reshape_1, (2,))",
        "del reshape_1",
        "d_x[2] = d_add_1",
        "d_index_1 = np.multiply(d_add_1, index_2, out=d_x[0])",
        "d_index_2 = np.multiply(d_add_1, index_1, out=d_x[1])",
        "del d_add_1",
        "del d_index_1, d_index_2",
        "return (d_x,)",
    ]
    assert "# buffer (3, 2)" in backward
    written = [" ".join(line.split()) for line in backward.splitlines() if "d_x[2] =" in line]
    assert written == ["d_x[2] = d_add_1 # write into d_x <- index_3's backward"]


def test_a_gradient_made_of_overlapping_or_repeated_picks_adds_into_a_zeroed_buffer():
    """x[0:2] and x[1:3] overlap: each adds (+=) into a zeroed d_x; x[[0, 0]] picks one entry twice:
    np.add.at, which adds every repetition. Memory: d_x, 3 floats, or forward's two sums and their
    sum (index_1's picked copy, 2 floats, is freed before add_1)."""
    x = Tensor(np.ones(3), requires_grad=True)
    program, generated = lower(lambda x: x[np.array([0, 0])].sum() + x[0:2].sum() + x[1:3].sum(), x)
    assert generated.peak_bytes == 24
    lines = backward_lines(generated.source)
    assert lines[:1] + lines[5:] == [
        "d_x = np.zeros((3,), np.float64)",
        "d_x[1:3] += d_index_3",
        "d_x[0:2] += d_index_3",
        "np.add.at(d_x, np.s_[const_1], d_index_3)",
        "del d_index_3",
        "return (d_x,)",
    ]
    _, saved = generated.forward(x.data)
    np.testing.assert_array_equal(generated.backward(saved, np.array(1.0))[0], [3.0, 2.0, 1.0])


def test_a_buffer_inside_a_buffer_is_a_view_of_it():
    """Each step's gradient d_xs[t] is itself built from two columns: a buffer nested in d_xs (a view,
    no memory of its own). Memory: d_xs alone, 8 floats (64 bytes)."""

    def nested(xs):
        first, second = xs[0], xs[1]
        return (first[:, 0] * first[:, 1]).sum() + (second[:, 0] * second[:, 1]).sum()

    program, generated = lower(nested, Tensor(np.arange(8.0).reshape(2, 2, 2), requires_grad=True))
    assert generated.peak_bytes == 64
    backward = backward_lines(generated.source)
    assert backward[1:4] == [
        "d_xs = np.empty((2, 2, 2), np.float64)",
        "d_index_2 = d_xs[1]",
        "d_index_1 = d_xs[0]",
    ]
    assert "d_index_5 = np.multiply(d_mul_2, index_6, out=d_index_2[:, 0])" in backward
    assert backward[-2:] == ["del d_index_1, d_index_2", "return (d_xs,)"]


def test_a_buffer_nested_in_another_holds_the_outer_ones_memory_while_it_is_read():
    """inner (stack_2) is a view of row 0 of outer (stack_1, 8 floats, 64 bytes). inner is read after
    outer's last use (by inner * 5.0), so all of stack_1 stays held though its name is deleted first:
    at mul_4, stack_1 and mul_4 (4 floats, 32 bytes) are held at once. (The sums, 8 bytes each, come
    when only one of them is held.)"""

    def fn(x):
        inner = stack([x * 2.0, x * 3.0])
        outer = stack([inner, inner * 4.0])
        return outer.sum(), (inner * 5.0).sum()

    _, generated = lower(fn, Tensor(np.array([1.0, 2.0])))
    lines = code_lines(generated.source)
    assert lines[:2] == ["stack_1 = np.empty((2, 2, 2), np.float64)", "stack_2 = stack_1[0]"]
    assert lines.index("del stack_1") < lines.index("mul_4 = stack_2 * 5.0")
    assert generated.peak_bytes == 64 + 32


# ---- several outputs, an input no gradient reaches, one saved value ----------------------------------
def test_a_program_with_two_outputs_and_an_input_no_gradient_reaches():
    def two(x, y, z):
        return x.tanh() * 2.0, (y * 3.0).sum()

    x, y, z = (Tensor(np.ones(2), requires_grad=True) for _ in range(3))
    program, generated = lower(two, x, y, z)
    lines = code_lines(generated.source)
    assert "return (mul_1, sum_1), (tanh_1,)" in lines  # one saved value: a tuple of one
    assert "tanh_1, = saved" in lines
    assert lines[-1] == "return (d_x, d_y, None)"  # nothing reaches z
    assert "def backward(saved, d_mul_1, d_sum_1):" in generated.source
    # Memory: three arrays of 2 floats at once in backward (tanh_1, saved, with d_tanh_1 and mul_3 =
    # tanh_1 * tanh_1; then d_tanh_1, mul_3 and sub_1); forward holds at most tanh_1, mul_2 and sum_1.
    assert generated.peak_bytes == 3 * 16


def test_a_saved_value_is_held_until_backward_last_reads_it():
    """exp_1 is saved: it is alive in backward until exp's backward reads it (d_x = d_exp_1 * exp_1),
    next to d_exp_1 and d_x: 3 x 4 floats, more than forward's exp_1, mul_1 and sum_1 (32 + 32 + 8)."""
    _, generated = lower(lambda x: (x.exp() * 2.0).sum(), Tensor(np.ones(4), requires_grad=True))
    assert backward_lines(generated.source)[-3:] == ["d_x = d_exp_1 * exp_1", "del d_exp_1", "return (d_x,)"]
    assert generated.peak_bytes == 3 * 32


def test_a_program_of_views_only_takes_no_memory():
    _, generated = lower(lambda x: x.reshape(2, 2).T, Tensor(np.ones(4)))
    assert generated.peak_bytes == 0


def test_without_the_memory_pass_no_value_is_freed_early():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    x = Tensor(np.ones((4, 2)), requires_grad=True)
    _, generated = lower(lambda x: (x @ w).tanh().sum(), x, passes=[])
    assert "del " not in generated.source


def test_a_float32_gradient_buffer_is_float32():
    x = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    _, generated = lower(lambda x: (x[0] * x[1] + x[2]).sum(), x)
    assert backward_lines(generated.source)[1] == "d_x = np.empty((3, 2), np.float32)"


# ---- what is freed, and what never is ---------------------------------------------------------------
def test_a_value_a_pass_left_unread_is_freed_at_once():
    """simplify makes x.reshape(3) of a (3,) x read as x itself and leaves the reshape to dead_code;
    without dead_code the reshape is still computed, and nothing reads it: it is freed on the next line."""
    x = Tensor(np.ones(3))
    _, generated = lower(lambda x: x.reshape(3) * 2.0, x, passes=[passes.simplify, passes.plan_memory])
    assert code_lines(generated.source) == [
        "reshape_1 = x.reshape((3,))",
        "del reshape_1",
        "mul_1 = x * 2.0",
        "return (mul_1,), ()",
    ]


def test_parameters_and_constant_arrays_are_never_freed():
    """w (a Tensor from outside) is an argument of forward and const_1 (an array the function made)
    a name of the program: neither is the program's to free."""
    w = Tensor(np.array([1.0, 2.0]))
    x = Tensor(np.array([5.0, 7.0]))
    _, generated = lower(lambda x: x * w * Tensor(np.array([2.0, 3.0])), x)
    assert code_lines(generated.source) == [
        "mul_1 = x * w",
        "mul_2 = mul_1 * const_1",
        "del mul_1",
        "return (mul_2,), ()",
    ]
    np.testing.assert_array_equal(generated.namespace["const_1"], [2.0, 3.0])
    np.testing.assert_array_equal(generated.forward(x.data, w.data)[0][0], [10.0, 42.0])
    assert generated.peak_bytes == 2 * 16  # mul_1 and mul_2


# ---- the table: sums, transposes, one entry ----------------------------------------------------------
def test_sums_over_an_axis_transposes_and_one_entry_are_written_as_the_ops_compute_them():
    def fn(x):
        return x.sum(axis=1, keepdims=True) * x.sum(axis=0) + x.transpose(1, 0)[0, 1]

    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    _, generated = lower(fn, x)
    lines = code_lines(generated.source)
    assert lines[:2] == ["sum_1 = x.sum(axis=(1,), keepdims=True)", "sum_2 = x.sum(axis=(0,))"]
    assert "transpose_1 = x.T" in lines
    assert "index_1 = np.asarray(transpose_1[0, 1])" in lines  # one entry: an array, as the op's
    # [[3], [7]] * [4, 6] + x.T[0, 1] (3)
    np.testing.assert_array_equal(generated.forward(x.data)[0][0], [[15.0, 21.0], [31.0, 45.0]])
    _, generated = lower(lambda x: x.reshape(1, 2, 2).transpose(0, 2, 1), x)
    assert "transpose_1 = reshape_1.transpose((0, 2, 1))" in code_lines(generated.source)


class Product(Function):
    """z = x * y, with a backward on arrays (np.asarray): no table entry, so the program calls it."""

    def forward(self, x, y):
        return x * y

    def backward(self, g):
        x, y = self.inputs
        return g * np.asarray(y), g * np.asarray(x)


def test_an_op_without_a_table_entry_is_called_without_gradients_where_none_is_needed():
    _, generated = lower(lambda x, y: Product.apply(x, y), Tensor(np.ones(2)), Tensor(np.ones(2)))
    assert "product_1, product_1_op = call(Product, {}, (False, False), x, y)" in code_lines(generated.source)


def test_an_op_node_without_a_note_of_its_inputs_gradients_is_called_needing_none():
    """The trace notes in an op node which of its inputs need a gradient (node.value); one without that
    note (a Program built or edited by hand) is called as needing none."""
    program, _ = lower(lambda x, y: Product.apply(x, y), Tensor(np.ones(2)), Tensor(np.ones(2)))
    (product,) = [n for n in program.nodes if n.kind == "op"]
    product.value = None
    lines = code_lines(generate(program).source)
    assert "product_1, product_1_op = call(Product, {}, (False, False), x, y)" in lines


def test_a_view_of_a_view_holds_the_memory_it_reads():
    """reshape_1 is a view of index_1, itself a view of mul_1 (16 floats, 128 bytes): mul_1's memory
    stays held while reshape_1 is read (by mul_2 and, saved, by backward), though the name mul_1 is
    deleted at once. At sum_1: mul_1, exp_1 and mul_2 (4 floats each) and sum_1: 128 + 32 + 32 + 8."""
    fn = lambda x, y: ((x * 2.0)[0].reshape(2, 2) * y.exp()).sum()  # noqa: E731
    _, generated = lower(fn, Tensor(np.ones((4, 4))), Tensor(np.ones((2, 2)), requires_grad=True))
    assert code_lines(generated.source)[:3] == ["mul_1 = x * 2.0", "index_1 = mul_1[0]", "del mul_1"]
    assert generated.peak_bytes == 128 + 32 + 32 + 8


def test_a_gradient_from_two_uses_is_their_sum():
    """x is read twice (x * exp(x)): its gradient is the sum of what each use sends back."""
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    _, generated = lower(lambda x: (x * x.exp()).sum(), x)
    summed = [" ".join(line.split()) for line in generated.source.splitlines() if "d_x = " in line]
    assert summed == ["d_x = mul_2 + mul_3 # grad_sum (2,)"]
    _, saved = generated.forward(x.data)
    np.testing.assert_allclose(generated.backward(saved, np.array(1.0))[0], (1 + x.data) * np.exp(x.data))


def test_a_stack_is_one_buffer_each_value_computed_into_its_row():
    _, generated = lower(lambda x: stack([x * 2.0, x * 3.0]), Tensor(np.array([1.0, 2.0])))
    assert code_lines(generated.source) == [
        "stack_1 = np.empty((2, 2), np.float64)",
        "mul_1 = np.multiply(x, 2.0, out=stack_1[0])",
        "mul_2 = np.multiply(x, 3.0, out=stack_1[1])",
        "del mul_1, mul_2",
        "return (stack_1,), ()",
    ]
    assert generated.peak_bytes == 32  # the stack; the rows are its memory


def test_a_guard_whose_value_changed_raises_retrace():
    """The program checks the value it read (here x.data.max() > 0) and raises Retrace to trace again."""
    _, generated = lower(lambda x: x * (2.0 if x.data.max() > 0 else 3.0), Tensor(np.ones(2)))
    generated.forward(np.ones(2))
    with pytest.raises(Retrace):
        generated.forward(-np.ones(2))


def test_a_guard_is_a_statement_and_takes_no_name():
    """A guard computes no value that a line reads: the program's nodes name every value but leave it
    unnamed (its line is an `if`, and no name of the program is spent on it)."""
    step = jit(lambda x: x * (2.0 if x.data.max() > 0 else 3.0))
    step(Tensor(np.ones(2)))
    named = [(n.kind, n.name) for n in step.program.nodes if n.kind != "constant"]
    assert named == [
        ("input", "x"), ("numpy", "max_1"), ("numpy", "greater_1"), ("guard", ""), ("op", "mul_1")
    ]


def test_rows_picked_by_a_list_in_a_tuple_copy_and_a_slice_is_a_view_holding_its_array():
    """p[[0, 0, 1], :] copies 3 rows (72 bytes); p[1:] is a view, so p (96 bytes) is held until its
    column sums (24) are made: p, the picked rows and the sums are alive at that line, 192 bytes."""

    def fn(x):
        p = x.data.reshape(3, 4).transpose() * 2.0
        return Tensor(p[[0, 0, 1], :] * p[1:].sum(axis=0))

    _, generated = lower(fn, Tensor(np.arange(12.0).reshape(4, 3)))
    assert code_lines(generated.source)[5:] == [
        "index_1 = multiply_1[[0, 0, 1], :]",
        "index_2 = multiply_1[1:]",
        "del multiply_1",
        "sum_1 = index_2.sum(axis=0)",
        "del index_2",
        "multiply_2 = index_1 * sum_1",
        "del index_1, sum_1",
        "return (multiply_2,), ()",
    ]
    assert generated.peak_bytes == 96 + 72 + 24


class Ones(Function):
    """Two ones, from no input at all."""

    def forward(self):
        return np.ones(2)

    def backward(self, g):
        return ()


def test_an_op_without_inputs_is_called_with_none():
    _, generated = lower(lambda x: x * Ones.apply(), Tensor(np.array([2.0, 3.0])))
    assert code_lines(generated.source)[0] == "ones_1, ones_1_op = call(Ones, {}, (), )"
    np.testing.assert_array_equal(generated.forward(np.array([2.0, 3.0]))[0][0], [2.0, 3.0])


def test_a_0d_constant_returned_as_an_output_keeps_its_dtype():
    """A function may return a constant it made: the program returned a 0-d float32 one as a Python
    float, so the compiled output was float64 where the eager one is float32."""

    def fn(x):
        return (x * 2.0).sum(), Tensor(np.array(1.5, dtype=np.float32))

    x = Tensor(np.ones(2), requires_grad=True)
    eager, compiled = fn(x)[1], jit(fn)(x)[1]
    assert eager.dtype == compiled.dtype == np.float32 and compiled.item() == 1.5


def test_each_result_of_a_numpy_call_that_gives_several_is_memory_of_its_own():
    """np.divmod makes two arrays (4 floats each, 32 bytes), both alive with their sum (32): 96 bytes.
    The estimate counted the call as a value of no size and each result as a view of it: 32."""

    def fn(x):
        quotient, remainder = np.divmod(x.data, 2.0)
        return Tensor(quotient + remainder)

    _, generated = lower(fn, Tensor(np.arange(4.0)))
    assert code_lines(generated.source)[:3] == [
        "divmod_1 = np.divmod(x, 2.0)",
        "part_1 = divmod_1[0]",
        "part_2 = divmod_1[1]",
    ]
    assert generated.peak_bytes == 3 * 32


def test_a_summed_gradient_is_added_straight_into_its_slice_of_the_buffer():
    """v = xs[0] is read twice (v * exp(v)): its gradient, the sum of both uses' parts, is computed by
    np.add into d_xs[0]; d_xs[1] is assigned. dL/dv = (1 + v) exp(v), dL/dxs[1] = 1."""

    def fn(xs):
        v = xs[0]
        return (v * v.exp() + xs[1]).sum()

    xs = Tensor(np.array([[0.0, 1.0], [2.0, 3.0]]), requires_grad=True)
    _, generated = lower(fn, xs)
    assert "d_index_1 = np.add(mul_2, mul_3, out=d_xs[0])" in backward_lines(generated.source)
    _, saved = generated.forward(xs.data)
    expected = [(1 + xs.data[0]) * np.exp(xs.data[0]), [1.0, 1.0]]
    np.testing.assert_allclose(generated.backward(saved, np.array(1.0))[0], expected, rtol=1e-15)


def test_an_inputs_gradient_is_named_after_the_input():
    """In (x + y).sum() one array is the gradient of add_1, of x and of y: it takes an input's name,
    as every input's and parameter's gradient does, not the intermediate's (d_add_1)."""
    x, y = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    _, generated = lower(lambda x, y: (x + y).sum(), x, y)
    assert backward_lines(generated.source)[-1] in ("return (d_x, d_x)", "return (d_y, d_y)")


def test_each_outputs_gradient_seed_is_named_after_the_output():
    """y = tanh(x) is returned and also read by the second output: its gradient is a sum, and its seed
    (dL/dy given to backward) is named d_tanh_1 all the same."""

    def fn(x):
        y = x.tanh()
        return y, y * 2.0

    _, generated = lower(fn, Tensor(np.ones(2), requires_grad=True))
    assert "def backward(saved, d_tanh_1, d_mul_1):" in generated.source


class TwiceWithAConstantGradient(Function):
    """y = 2 x, with a backward that returns the constant 2 (right for the seed 1 this test gives)."""

    def forward(self, x):
        return 2.0 * x

    def backward(self, g):
        return Tensor(np.array(2.0))


def test_a_constant_part_of_a_gradient_sum_is_a_weak_literal():
    """x's gradient sums what its two uses send: the seed (x itself) and the constant 2 from the op's
    backward; the sum's dtype is float64 with or without it, so the 2 is written as a plain 2.0."""
    x = Tensor(np.array(1.0), requires_grad=True)
    _, generated = lower(lambda x: TwiceWithAConstantGradient.apply(x) + x, x)
    assert backward_lines(generated.source)[0] == "d_x = d_add_1 + 2.0"
    _, saved = generated.forward(x.data)
    assert generated.backward(saved, np.array(1.0))[0] == 3.0


class SwappedGradients(Function):
    """z = x * y, with a backward that returns y and x themselves (right for the seed 1 given here)."""

    def forward(self, x, y):
        return x * y

    def backward(self, g):
        x, y = self.inputs
        return y, x


def test_a_gradient_that_forward_already_has_is_saved_for_backward():
    """dL/dx is y and dL/dy is x, values forward already holds: forward saves them and backward
    returns them as they are. The seed dL/dz is read by nothing, yet it is backward's argument (it
    had no name, so backward took no argument for it and the compiled backward raised TypeError)."""
    x, y = Tensor(np.array([2.0]), requires_grad=True), Tensor(np.array([3.0]), requires_grad=True)
    _, generated = lower(lambda x, y: SwappedGradients.apply(x, y), x, y)
    assert "return (swappedgradients_1,), (y, x)" in code_lines(generated.source)
    assert "def backward(saved, d_swappedgradients_1):" in generated.source
    assert backward_lines(generated.source) == ["y, x = saved", "return (y, x)"]
    _, saved = generated.forward(x.data, y.data)
    assert generated.backward(saved, np.ones(1)) == (y.data, x.data)

    z = jit(lambda x, y: SwappedGradients.apply(x, y))(x, y)
    z.sum().backward()
    assert (x.grad, y.grad) == (3.0, 2.0)


def test_the_seed_of_an_output_without_a_name_is_named_d_output():
    """A 0-d constant returned as an output has no name; its gradient seed, read by nothing, is still
    an argument of backward: d_output."""
    x = Tensor(np.ones(2), requires_grad=True)
    _, generated = lower(lambda x: ((x * 2.0).sum(), Tensor(np.array(1.0))), x)
    assert "def backward(saved, d_sum_1, d_output):" in generated.source


def test_a_saved_view_holds_its_arrays_memory_into_backward():
    """index_1 is a view of mul_1 (8 floats, 64 bytes) that backward reads last (d_y = d_rowsums_1 *
    index_1): mul_1's memory is held until then, so it is alive when RowSums' backward makes d_w
    (32 floats, 256 bytes): 320 bytes, more than anything forward holds."""
    x, y = Tensor(np.ones((2, 4))), Tensor(np.ones(4), requires_grad=True)
    w = Tensor(np.ones((4, 8)), requires_grad=True)
    _, generated = lower(lambda x, y, w: ((x * 2.0)[0] * y).sum() + RowSums.apply(w).sum(), x, y, w)
    lines = backward_lines(generated.source)
    assert lines.index("d_w = grads_1[0]") < lines.index("d_y = d_rowsums_1 * index_1")
    assert generated.peak_bytes == 64 + 256


def test_a_value_computed_into_a_buffer_is_the_buffers_memory():
    """tanh_1 is computed into stack_1[0] (out=): reading it later (mul_2) holds the stack, not mul_1,
    the array it was computed from, which is freed at once. At most the stack (32 bytes) and one of
    mul_1, mul_2 (16)."""

    def fn(x):
        t1 = (x * 2.0).tanh()
        return stack([t1, (t1 * 3.0).tanh()])

    _, generated = lower(fn, Tensor(np.ones(2)))
    assert code_lines(generated.source)[:5] == [
        "stack_1 = np.empty((2, 2), np.float64)",
        "mul_1 = x * 2.0",
        "tanh_1 = np.tanh(mul_1, out=stack_1[0])",
        "del mul_1",
        "mul_2 = tanh_1 * 3.0",
    ]
    assert generated.peak_bytes == 32 + 16


def test_a_gradient_forward_already_has_holds_its_arrays_memory_to_the_end_of_forward():
    """dL/dx is y = (z * 2.0)[0], a view of mul_1 (4 floats, 32 bytes) that backward returns as it is:
    saved, it holds mul_1 to the end of forward, where mul_2 and the op's output (2 floats each) join
    it: 64 bytes."""
    x, z = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones((2, 2)))
    _, generated = lower(lambda x, z: (SwappedGradients.apply(x, (z * 2.0)[0]) * 3.0).sum(), x, z)
    assert code_lines(generated.source)[:2] == ["mul_1 = z * 2.0", "d_x = mul_1[0]"]
    assert backward_lines(generated.source) == ["d_x, = saved", "return (d_x, None)"]
    assert generated.peak_bytes == 32 + 16 + 16
