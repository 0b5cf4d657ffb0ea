"""viz: the graph as a rich Tree and as DOT text, and the backward trace.

Graphs are built here with a known structure (how many tensors, how many
input uses), so counts are checked against the construction, not against
viz's own walk. Gradients in the trace are compared with hand-derived
formulas and with the tensors' .grad.
"""

import argparse
import gc
import io
import re
import tempfile
import weakref
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.tree import Tree

from demos import graph as graph_demo
from tinygrad_rnn import Tensor, fused, ops, viz
from tinygrad_rnn.bookkeeping import Outline
from tinygrad_rnn.nn import Module, Parameter
from tinygrad_rnn.tensor import Function, _GradMode

# ---- helpers: read a rich Tree and check DOT text, independently of viz ----------------------------


def tree_lines(tree: Tree) -> list[str]:
    """Plain text of every label, in drawing (pre-order) order; iterative like the code under test."""
    lines, stack = [], [tree]
    while stack:
        node = stack.pop()
        lines.append(node.label.plain)
        stack.extend(reversed(node.children))
    return lines


def tree_depth(tree: Tree) -> int:
    depth, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        depth = max(depth, d)
        stack.extend((child, d + 1) for child in node.children)
    return depth


DEFINITION = re.compile(r"^#(\d+) ")
REFERENCE = re.compile(r"^↑ see #(\d+)\b")

QUOTED = r'"(?:[^"\\]|\\.)*"'
DOT_ID = rf"(?:[A-Za-z_][A-Za-z_0-9]*|-?\d+(?:\.\d+)?|{QUOTED})"
ATTRIBUTES = rf"\[\s*{DOT_ID}\s*=\s*{DOT_ID}(?:\s*,\s*{DOT_ID}\s*=\s*{DOT_ID})*\s*\]"
DOT_HEADER = re.compile(rf"^\s*digraph\s+{DOT_ID}\s*\{{$")
DOT_DEFAULTS = re.compile(rf"^\s*(?:graph|node|edge)\s*{ATTRIBUTES}\s*;$")
DOT_NODE = re.compile(rf"^\s*(?P<node>{DOT_ID})\s*(?P<attributes>{ATTRIBUTES})?\s*;$")
DOT_EDGE = re.compile(rf"^\s*(?P<tail>{DOT_ID})\s*->\s*(?P<head>{DOT_ID})\s*(?:{ATTRIBUTES})?\s*;$")
DOT_LABEL = re.compile(rf"\blabel\s*=\s*(?P<label>{QUOTED})")


def unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], quoted[1:-1])


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A small DOT checker: every line is a header, defaults, node, edge or the closing brace.

    Returns {node id: unescaped label} and the edge list; asserts that braces and
    brackets balance outside quoted strings, that no node is declared twice and
    that every edge's ends are declared nodes.
    """
    depth = {"{": 0, "[": 0}
    closing = {"}": "{", "]": "["}
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in depth:
            depth[char] += 1
        elif char in closing:
            depth[closing[char]] -= 1
            assert depth[closing[char]] >= 0, "a closing bracket without its opening one"
    assert not in_string and depth == {"{": 0, "[": 0}, "unbalanced quotes, braces or brackets"

    lines = text.strip().split("\n")
    assert DOT_HEADER.match(lines[0]), lines[0]
    assert lines[-1] == "}"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in lines[1:-1]:
        if DOT_DEFAULTS.match(line):
            continue
        if edge := DOT_EDGE.match(line):
            edges.append((edge["tail"], edge["head"]))
        elif node := DOT_NODE.match(line):
            assert node["node"] not in nodes, f"node {node['node']} declared twice"
            label = DOT_LABEL.search(node["attributes"] or "")
            nodes[node["node"]] = unescape(label["label"]) if label else node["node"]
        else:
            raise AssertionError(f"not a DOT statement: {line!r}")
    for tail, head in edges:
        assert tail in nodes and head in nodes, f"edge {tail} -> {head} has an undeclared end"
    return nodes, edges


def rng():
    return np.random.default_rng(7)


def reuse_graph():
    """x @ W -> tanh = a; a used three times: s = a * a, t = s + a; L = sum(t).

    7 tensors (x, W, h, a, s, t, L) and 8 input uses (2 + 1 + 2 + 2 + 1).
    """
    r = rng()
    x = Tensor(r.standard_normal((2, 3)), requires_grad=True)
    W = Parameter(r.standard_normal((3, 3)))
    h = x @ W
    a = h.tanh()
    s = a * a
    t = s + a
    L = t.sum()
    return dict(x=x, W=W, h=h, a=a, s=s, t=t, L=L)


def diamond_graph():
    """x -> exp, x -> tanh, both -> mul -> sum: 5 tensors, 5 input uses."""
    x = Tensor(rng().standard_normal(4), requires_grad=True)
    e, th = x.exp(), x.tanh()
    m = e * th
    L = m.sum()
    return dict(x=x, e=e, th=th, m=m, L=L)


GRAPHS = [(reuse_graph, 7, 8), (diamond_graph, 5, 5)]


# ---- graph_tree ------------------------------------------------------------------------------------
@pytest.mark.parametrize("build, n_tensors, n_uses", GRAPHS)
def test_tree_draws_every_tensor_once_and_refers_back_to_reused_ones(build, n_tensors, n_uses):
    t = build()
    lines = tree_lines(viz.graph_tree(t["L"]))
    definitions = [int(DEFINITION.match(line)[1]) for line in lines if DEFINITION.match(line)]
    references = [int(REFERENCE.match(line)[1]) for line in lines if REFERENCE.match(line)]
    assert len(definitions) + len(references) == len(lines)
    # #0 is the root and the ids count up in drawing order, each tensor drawn once.
    assert definitions == list(range(n_tensors))
    # every use of a tensor is one child line: the first draws it, the others refer to it
    assert len(lines) - 1 == n_uses
    for position, line in enumerate(lines):
        if match := REFERENCE.match(line):
            defined_at = next(i for i, d in enumerate(lines) if d.startswith(f"#{match[1]} "))
            assert defined_at < position, "a reference must come after the node it refers to"


def test_tree_labels_show_op_shape_dtype_requires_grad_and_name():
    t = reuse_graph()
    names = {tensor: key for key, tensor in t.items()}
    lines = tree_lines(viz.graph_tree(t["L"], names=names))
    expected_kind = dict(L="sum", t="add", s="mul", a="tanh", h="matmul", x="leaf", W="parameter")
    labels = {}
    for line in lines:
        if DEFINITION.match(line):
            labels[line.split()[2]] = line
    assert set(labels) == set(expected_kind)
    for key, kind in expected_kind.items():
        assert labels[key].split()[1] == kind
        assert f"{t[key].shape} float64" in labels[key]
        assert "requires_grad=True" in labels[key]
    # the one reused tensor, a, is referred to twice
    assert sum(line.startswith("↑ see") and "tanh" in line for line in lines) == 2


def test_tree_kinds_for_inputs_and_float32():
    x = Tensor(np.ones((2, 2), dtype=np.float32))  # data: no gradient
    w = Tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    lines = tree_lines(viz.graph_tree((x * w).sum()))
    assert lines[0].startswith("#0 sum  () float32  requires_grad=True")
    assert lines[1].startswith("#1 mul  (2, 2) float32")
    assert lines[2].startswith("#2 input  (2, 2) float32  requires_grad=False")
    assert lines[3].startswith("#3 leaf  (2, 2) float32  requires_grad=True")


def test_tree_shows_gradient_norms_after_backward():
    # L = sum(tanh(x) * y), y constant: dL/dx = y * (1 - tanh(x)^2) by hand.
    r = rng()
    x = Tensor(r.standard_normal((2, 3)), requires_grad=True)
    y = r.standard_normal((2, 3))
    th = x.tanh()
    product = (th * y).retain_grad()
    L = product.sum()
    before = tree_lines(viz.graph_tree(L, names={x: "x", th: "th", product: "p"}))
    assert not any("grad‖" in line for line in before)

    L.backward()
    lines = tree_lines(viz.graph_tree(L, names={x: "x", th: "th", product: "p"}))
    by_name = {line.split()[2]: line for line in lines if len(line.split()) > 2}
    norm_x = np.linalg.norm(y * (1 - np.tanh(x.data) ** 2))
    assert by_name["x"].endswith(f"‖grad‖={norm_x:.4g}")
    assert by_name["p"].endswith(f"‖grad‖={np.sqrt(6):.4g}")  # retain_grad: dL/dp = ones(2, 3)
    assert "grad‖" not in by_name["th"]  # an intermediate without retain_grad has no .grad


def test_tree_takes_intermediate_norms_from_a_trace():
    r = rng()
    x = Tensor(r.standard_normal(3), requires_grad=True)
    y = r.standard_normal(3)
    th = x.tanh()
    L = (th * y).sum()
    with viz.trace_backward() as trace:
        L.backward()
    lines = tree_lines(viz.graph_tree(L, names={th: "th"}, trace=trace))
    th_line = next(line for line in lines if " th " in line)
    assert th_line.endswith(f"‖grad‖={np.linalg.norm(y):.4g}")  # dL/d tanh(x) = y


class TwoLayer(Module):
    def __init__(self):
        r = rng()
        self.first = Parameter(r.standard_normal((3, 3)))
        self.second = Parameter(r.standard_normal((3, 1)))

    def forward(self, x):
        return ((x @ self.first).tanh() @ self.second).sum()


def test_tree_and_dot_name_module_parameters_and_explicit_names_win():
    model = TwoLayer()
    x = Tensor(rng().standard_normal((2, 3)))
    L = model(x)
    lines = tree_lines(viz.graph_tree(L, module=model, names={x: "x"}))
    assert any(line.startswith("#") and " parameter first " in line for line in lines)
    assert any(" parameter second " in line for line in lines)
    assert any(" input x " in line for line in lines)
    renamed = tree_lines(viz.graph_tree(L, module=model, names={model.first: "W1"}))
    assert any(" parameter W1 " in line for line in renamed)
    assert not any(" first " in line for line in renamed)
    labels, _ = parse_dot(viz.to_dot(L, module=model))
    assert sum(label.startswith("#") and "parameter first\n" in label for label in labels.values()) == 1


def test_graph_tree_of_a_leaf_is_one_node_and_bad_input_is_named():
    lines = tree_lines(viz.graph_tree(Parameter(np.zeros(2))))
    assert lines == ["#0 parameter  (2,) float64  requires_grad=True"]
    with pytest.raises(TypeError, match="graph_tree: expected a Tensor, got ndarray"):
        viz.graph_tree(np.zeros(2))
    with pytest.raises(TypeError, match="to_dot: expected a Tensor"):
        viz.to_dot([1.0])
    with pytest.raises(TypeError, match="names must map Tensors"):
        viz.graph_tree(Tensor(1.0), names={"W": "W"})


def test_deep_chain_builds_without_recursion():
    # 2,000 ops nested 2,001 deep: a recursive builder would exceed Python's limit of 1,000.
    x = Tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(2000):
        y = y.tanh()
    tree = viz.graph_tree(y)
    assert tree_depth(tree) == 2001
    lines = tree_lines(tree)
    assert lines[0].startswith("#0 tanh") and lines[-1].startswith("#2000 leaf")
    nodes, edges = parse_dot(viz.to_dot(y))
    assert len(nodes) == 2001 and len(edges) == 2000
    graph = viz.collect_graph(y)
    assert graph.tensors[0] is y and graph.tensors[-1] is x


# ---- to_dot ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("build, n_tensors, n_uses", GRAPHS)
def test_dot_declares_each_tensor_once_and_draws_an_edge_per_use(build, n_tensors, n_uses):
    t = build()
    nodes, edges = parse_dot(viz.to_dot(t["L"]))
    assert len(nodes) == n_tensors
    assert len(edges) == n_uses


def test_dot_reused_tensor_is_one_node_with_an_out_edge_per_use():
    t = reuse_graph()
    names = {tensor: key for key, tensor in t.items()}
    nodes, edges = parse_dot(viz.to_dot(t["L"], names=names))
    node_of = {label.split("\n")[0].split()[2]: node for node, label in nodes.items()}
    assert set(node_of) == set(t)
    out_edges = {key: [head for tail, head in edges if tail == node_of[key]] for key in t}
    assert sorted(out_edges["a"]) == sorted([node_of["s"], node_of["s"], node_of["t"]])
    assert out_edges["x"] == [node_of["h"]] and out_edges["W"] == [node_of["h"]]
    assert out_edges["L"] == []
    # DOT and tree agree on ids and titles
    titles = {line.split("  ")[0] for line in tree_lines(viz.graph_tree(t["L"], names=names))}
    assert {label.split("\n")[0] for label in nodes.values()} <= titles


def test_dot_escapes_quotes_backslashes_newlines_and_braces_in_labels():
    x = Tensor(np.ones(2), requires_grad=True)
    tricky = 'a "quoted" \\ back}slash{\nnewline [x]'
    nodes, _ = parse_dot(viz.to_dot((x * 2.0).sum(), names={x: tricky}, graph_name='g "1"'))
    assert any(label.startswith("#1 mul") for label in nodes.values())
    assert sum(tricky in label for label in nodes.values()) == 1


def test_dot_shows_gradient_norms_once_backward_ran():
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    L = (x * x).sum()  # dL/dx = 2x = (6, 8), norm 10
    L.backward()
    nodes, _ = parse_dot(viz.to_dot(L))
    leaf = next(label for label in nodes.values() if " leaf" in label)
    assert leaf.endswith("grad norm 10")


def test_dot_checker_rejects_broken_dot():
    good = viz.to_dot(diamond_graph()["L"])
    with pytest.raises(AssertionError):
        parse_dot(good.replace("}\n", "\n"))
    with pytest.raises(AssertionError):
        parse_dot(good.replace("n1 -> n0", "n1 -> n99"))
    with pytest.raises(AssertionError):
        parse_dot(good.replace('label="#0', 'label="#0"x'))


def test_viz_draws_the_same_graph_after_backward_with_the_freed_tensors_as_outlines():
    # A graph with a reused intermediate (a), a reused constant (c) and a leaf (w).
    w = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True)
    c = Tensor(np.array([1.0, 3.0]))
    a = (w * c).tanh()
    loss = (a * a + a * c + c).sum()
    del a, c  # only the graph holds them now

    def strip_norms(dot: str) -> str:
        return re.sub(r"\\ngrad norm [^\"]*", "", dot)

    before = viz.to_dot(loss, names={w: "w"})
    loss.backward()
    after = viz.to_dot(loss, names={w: "w"})
    assert "grad norm" in after and "grad norm" not in before  # w's gradient shows now
    assert strip_norms(after) == strip_norms(before)  # same nodes (names, shapes, dtypes), same edges
    graph = viz.collect_graph(loss)
    kinds = [type(t).__name__ for t in graph.tensors]
    # freed: w * c, a = tanh, a * a, a * c, their sum, + c, and the constant c; loss and w are held
    assert kinds.count("Outline") == 7 and kinds.count("Tensor") == 2
    tree = viz.graph_tree(loss)
    assert tree.label.plain.startswith("#0 sum  () float64")


def test_a_released_graph_keeps_the_leaf_that_requires_grad_and_outlines_the_constant_as_it_was():
    """backward lets go of values, but a released op still holds each leaf that requires grad (its
    .grad is the result, drawn with its norm) and draws a constant nothing else holds as before:
    an input with requires_grad=False. Neither tensor is held by the test."""
    loss = (Tensor(np.array([3.0, 4.0]), requires_grad=True) * Tensor(np.array([2.0, -1.0]))).sum()
    before = tree_lines(viz.graph_tree(loss))
    leaf_line = "#2 leaf  (2,) float64  requires_grad=True"
    constant_line = "#3 input  (2,) float64  requires_grad=False"
    assert before[2:] == [leaf_line, constant_line]
    loss.backward()
    gc.collect()
    after = tree_lines(viz.graph_tree(loss))
    # d/dw sum(w * c) = c = (2, -1), norm sqrt(5)
    assert after[2:] == [f"{leaf_line}  ‖grad‖={np.sqrt(5.0):.4g}", constant_line]
    leaf, constant = viz.collect_graph(loss).tensors[2:]
    assert type(leaf) is Tensor and type(constant) is Outline and constant.tensor() is None
    np.testing.assert_array_equal(leaf.grad, [2.0, -1.0])


def test_drawing_a_freed_graph_keeps_nothing_alive_once_the_loss_goes():
    x = Tensor(np.ones(3), requires_grad=True)
    loss = ((x * 2.0).tanh() * 3.0).sum()
    loss.backward()
    ops = [weakref.ref(t._ctx) for t in viz.collect_graph(loss).tensors if t._ctx is not None]
    viz.graph_tree(loss)
    viz.to_dot(loss)
    assert len(ops) == 4 and all(op() is not None for op in ops)
    del loss
    gc.collect()
    assert all(op() is None for op in ops)  # no cache in viz holds a released op


# ---- the backward trace ----------------------------------------------------------------------------
def test_trace_records_hand_derived_gradients_of_a_small_expression():
    # L = sum(tanh(x @ W + b) * y): with a = x @ W + b, h = tanh(a),
    # dL/dh = y, dL/da = y * (1 - h^2), dL/dW = x^T dL/da, dL/db = sum over rows of dL/da.
    r = rng()
    x = r.standard_normal((2, 3))
    W = Parameter(r.standard_normal((3, 2)))
    b = Parameter(r.standard_normal(2))
    y = r.standard_normal((2, 2))
    L = ((Tensor(x) @ W + b).tanh() * y).sum()
    with viz.trace_backward(keep_grads=True) as trace:
        L.backward()
    assert [record.op for record in trace] == ["sum", "mul", "tanh", "add", "matmul"]
    h = np.tanh(x @ W.data + b.data)
    da = y * (1 - h**2)
    total, mul, tanh, add, matmul = trace.records
    np.testing.assert_allclose(total.grad_output, 1.0, rtol=1e-15)
    np.testing.assert_allclose(mul.grad_inputs[0], y, rtol=1e-15)
    assert mul.grad_inputs[1] is None and mul.grad_input_norms[1] is None  # y is a constant
    np.testing.assert_allclose(tanh.grad_output, y, rtol=1e-15)
    np.testing.assert_allclose(tanh.grad_inputs[0], da, rtol=1e-12)
    np.testing.assert_allclose(add.grad_inputs[1], da.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(matmul.grad_inputs[1], x.T @ da, rtol=1e-12)
    assert matmul.grad_inputs[0] is None  # x is data
    # shapes and norms, and the leaves' .grad (each used once) match what flowed into them
    assert tanh.grad_output_shape == (2, 2) and add.grad_input_shapes == ((2, 2), (2,))
    assert matmul.grad_input_norms[1] == pytest.approx(np.linalg.norm(W.grad), rel=1e-12)
    assert add.grad_input_norms[1] == pytest.approx(np.linalg.norm(b.grad), rel=1e-12)
    assert tanh.grad_output_norm == pytest.approx(np.linalg.norm(y), rel=1e-12)
    assert [record.step for record in trace] == list(range(5))
    assert trace[2].function is ops.Tanh


def test_trace_order_and_norms_match_retained_intermediates():
    t = reuse_graph()
    for key in ("h", "a", "s", "t"):
        t[key].retain_grad()
    with viz.trace_backward() as trace:
        t["L"].backward()
    position = {id(record.output): i for i, record in enumerate(trace)}
    assert len(position) == len(trace) == 5  # L, t, s, a, h: each op visited once
    for i, record in enumerate(trace):
        for parent in record.inputs:
            if parent._ctx is not None:
                assert position[id(parent)] > i, f"{record.op} ran before an op feeding it"
    for key in ("h", "a", "s", "t"):
        norm = trace.grad_norm(t[key])
        assert norm == pytest.approx(np.linalg.norm(t[key].grad), rel=1e-12)
    matmul = trace[position[id(t["h"])]]
    assert matmul.grad_input_norms[0] == pytest.approx(np.linalg.norm(t["x"].grad), rel=1e-12)
    assert matmul.grad_input_norms[1] == pytest.approx(np.linalg.norm(t["W"].grad), rel=1e-12)
    assert trace.grad_norm(t["x"]) is None  # leaves are not op outputs


def test_trace_reports_no_gradient_for_constant_inputs_even_when_the_op_computes_one():
    # Add.backward returns a gradient for both inputs; the engine drops the constant's, so must the trace.
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    with viz.trace_backward(keep_grads=True) as trace:
        (w + Tensor(np.array([5.0, 5.0]))).sum().backward()
    add = trace[1]
    assert add.op == "add"
    assert add.grad_input_norms == (pytest.approx(np.sqrt(2)), None)
    assert add.grad_input_shapes == ((2,), None) and add.grad_inputs[1] is None
    table = Console(width=200, record=True, color_system=None)
    table.print(trace.table())
    assert "1: #3 input (no grad)" in table.export_text()  # #0 sum, #1 add, #2 w, #3 constant


def test_trace_densifies_index_gradients():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    L = (x[0] * 2.0 + x[2]).sum()
    with viz.trace_backward(keep_grads=True) as trace:
        L.backward()
    index_records = [record for record in trace if record.op == "index"]
    assert len(index_records) == 2
    for record in index_records:
        assert record.grad_input_shapes == ((3, 2),)
        assert isinstance(record.grad_inputs[0], np.ndarray)
    total = sum(record.grad_inputs[0] for record in index_records)
    np.testing.assert_array_equal(total, [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(total, x.grad)


def test_trace_hook_is_removed_after_the_block_even_on_error():
    assert _GradMode.backward_hook is None
    with viz.trace_backward():
        assert _GradMode.backward_hook is not None
    assert _GradMode.backward_hook is None
    with pytest.raises(ZeroDivisionError):
        with viz.trace_backward():
            1 / 0  # noqa: B018
    assert _GradMode.backward_hook is None
    # after the block, backward is no longer traced
    x = Tensor(np.ones(2), requires_grad=True)
    with viz.trace_backward() as trace:
        pass
    x.tanh().sum().backward()
    assert len(trace) == 0


def test_nested_traces_both_record_and_the_outer_hook_comes_back():
    x = Tensor(np.ones(2), requires_grad=True)
    with viz.trace_backward() as outer:
        outer_hook = _GradMode.backward_hook
        with viz.trace_backward() as inner:
            x.tanh().sum().backward()
        assert _GradMode.backward_hook is outer_hook
        x.exp().sum().backward()
    assert _GradMode.backward_hook is None
    assert [r.op for r in inner] == ["sum", "tanh"]
    assert [r.op for r in outer] == ["sum", "tanh", "sum", "exp"]


def test_trace_table_lists_each_op_in_order_with_tree_ids():
    t = reuse_graph()
    names = {t["W"]: "W"}
    with viz.trace_backward() as trace:
        t["L"].backward()
    table = trace.table(names=names)
    assert isinstance(table, Table) and table.row_count == 5
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    text = console.export_text()
    rows = [re.search(r"#\d+ \w+", line)[0] for line in text.split("\n") if re.match(r"│\s+\d+ │", line)]
    # L = #0 sum, t = #1 add, s = #2 mul, a = #3 tanh, h = #4 matmul in the tree's numbering
    assert rows == ["#0 sum", "#1 add", "#2 mul", "#3 tanh", "#4 matmul"]
    assert "parameter W" in text and "(no grad)" not in text
    assert len(viz.BackwardTrace().table().columns) == 4  # an empty trace still makes a table


# ---- random graphs: the properties above on many shapes of DAG ---------------------------------------
UNARY = {"tanh": lambda a: a.tanh(), "sigmoid": lambda a: a.sigmoid()}
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}
steps = st.lists(
    st.tuples(st.sampled_from(sorted(UNARY) + sorted(BINARY)), st.integers(0, 30), st.integers(0, 30)),
    min_size=1,
    max_size=10,
)


@given(steps)
def test_random_graphs_each_tensor_once_and_trace_consistent(plan):
    r = rng()
    values = [Tensor(r.standard_normal(2), requires_grad=True) for _ in range(2)]
    values.append(Tensor(r.standard_normal(2)))  # a constant input
    operands: list[tuple[int, ...]] = [(), (), ()]
    tracked = [True, True, False]  # needs a gradient: the op records its inputs
    for name, i, j in plan:
        i, j = i % len(values), j % len(values)
        if name in UNARY:
            values.append(UNARY[name](values[i]))
            operands.append((i,))
        else:
            values.append(BINARY[name](values[i], values[j]))
            operands.append((i, j))
        tracked.append(any(tracked[k] for k in operands[-1]))
    root = values[-1].sum()
    if not root.requires_grad:
        return
    # the graph by bookkeeping: reachable indices, and one use per operand of a tracked op
    reachable, uses, stack = set(), 1, [len(values) - 1]  # the final sum uses values[-1]
    while stack:
        k = stack.pop()
        if k in reachable:
            continue
        reachable.add(k)
        if tracked[k]:
            uses += len(operands[k])
            stack.extend(operands[k])
    n_tensors = len(reachable) + 1  # and the root sum

    lines = tree_lines(viz.graph_tree(root))
    definitions = [line for line in lines if DEFINITION.match(line)]
    assert len(definitions) == n_tensors and len(lines) - 1 == uses
    nodes, edges = parse_dot(viz.to_dot(root))
    assert len(nodes) == n_tensors and len(edges) == uses

    with viz.trace_backward(keep_grads=True) as trace:
        root.backward()
    position = {id(record.output): i for i, record in enumerate(trace)}
    assert len(position) == len(trace) == 1 + sum(tracked[k] and operands[k] != () for k in reachable)
    incoming: dict[int, np.ndarray] = {}  # id(tensor) -> sum of the gradients sent to it
    for i, record in enumerate(trace):
        for parent, grad in zip(record.inputs, record.grad_inputs):
            if parent._ctx is not None:
                assert position[id(parent)] > i
            if grad is not None:
                incoming[id(parent)] = incoming.get(id(parent), 0) + grad
        if record.output is not root:
            # what an op receives is the sum of what its output's users sent (all visited before it)
            np.testing.assert_allclose(record.grad_output, incoming[id(record.output)], rtol=1e-12)
    for leaf in values[:2]:
        if leaf.grad is not None:
            np.testing.assert_allclose(incoming[id(leaf)], leaf.grad, rtol=1e-12, atol=1e-15)


# ---- the op docstrings state their derivatives -----------------------------------------------------
OP_CLASSES = [
    cls
    for cls in vars(ops).values()
    if isinstance(cls, type)
    and issubclass(cls, Function)
    and cls.__module__ == ops.__name__
    and not cls.__name__.startswith("_")
]


def test_every_op_is_audited():
    assert len(OP_CLASSES) >= 23  # Add ... Stack as of this writing; new ops join automatically


@pytest.mark.parametrize("op", OP_CLASSES, ids=lambda cls: cls.__name__)
def test_every_op_docstring_states_its_derivative(op):
    math = viz.op_math(op)
    assert math.forward and "=" in math.forward
    assert math.derivative.startswith("dL/dx")
    if op.elementwise or op is ops.MatMul:
        assert "dL/dy" in math.derivative, f"{op.__name__} names only one input's derivative"


def test_op_math_reads_the_docstring_and_rejects_a_missing_derivative():
    assert viz.op_math(ops.Tanh) == viz.OpMath("y = tanh(x)", "dL/dx = g * (1 - y**2)")

    class Undocumented(Function):
        pass

    class NoDerivative(Function):
        """y = f(x) only."""

    for op in (Undocumented, NoDerivative):
        with pytest.raises(ValueError, match=f"docstring of {op.__name__}"):
            viz.op_math(op)


# ---- the demo -------------------------------------------------------------------------------------------
def test_graph_demo_runs_and_writes_a_well_formed_dot_file(tmp_path):
    path = tmp_path / "step.dot"
    console = Console(file=io.StringIO(), width=150, color_system=None)
    result = graph_demo.run(argparse.Namespace(size="smoke", seed=3, dot=str(path)), console)
    nodes, edges = parse_dot(path.read_text(encoding="utf-8"))
    assert (result["nodes"], result["edges"], result["dot_path"]) == (len(nodes), len(edges), str(path))
    # L = sum(tanh(x @ W + b) * y): 9 tensors (L, *, tanh, +, @, x, W, b, y), 8 input uses
    assert (result["expression"]["nodes"], result["expression"]["edges"]) == (9, 8)
    assert result["expression"]["trace_steps"] == 5
    assert result["expression"]["max_abs_error_vs_finite_differences"] < 1e-8  # eps 1e-6 central differences
    assert result["rnn_step"]["h_prev_grad_error_vs_hand"] < 1e-12
    assert result["expression"]["leaf_norm_mismatch"] < 1e-12
    assert result["rnn_step"]["leaf_norm_mismatch"] < 1e-12
    text = console.file.getvalue()
    for op in (ops.Sum, ops.Mul, ops.Tanh, ops.Add, ops.MatMul):  # the walk quotes ops.py's derivatives
        assert viz.op_math(op).derivative in text
    assert viz.op_math(fused.TanhAffine).derivative in text  # and fused.py's, for the fused step


def test_graph_demo_shows_composed_and_fused_steps_that_agree(tmp_path):
    console = Console(file=io.StringIO(), width=150, color_system=None)
    result = graph_demo.run(argparse.Namespace(size="smoke", seed=5, dot=str(tmp_path / "g.dot")), console)
    rnn, lstm = result["rnn_step"], result["lstm_step"]
    # nn.RNNCell, composed: h' = tanh((x @ W_ih.T + b_ih) + (h @ W_hh.T + b_hh)), then L = sum(h' * v):
    # two transposes, two matmuls, three adds, one tanh, and the loss's mul and sum.
    assert rnn["ops"] == {"add": 3, "matmul": 2, "mul": 1, "sum": 1, "tanh": 1, "transpose": 2}
    # fused: the input drive is one affine node, + b_hh one add, the recurrent part one tanh_affine.
    assert rnn["fused"]["ops"] == {"add": 1, "affine": 1, "mul": 1, "sum": 1, "tanh_affine": 1}
    # nn.LSTMCell, composed: the same two affine maps (2 transposes, 2 matmuls, 2 adds) and their sum,
    # 4 slices, sigmoid x3 (i, f, o), tanh x2 (g, tanh(c')), c' = f*c + i*g, h' = o*tanh(c');
    # L = sum(h' v) + sum(c' w) adds two muls, two sums and an add.
    assert lstm["ops"] == {
        "add": 5,
        "index": 4,
        "matmul": 2,
        "mul": 5,
        "sigmoid": 3,
        "sum": 2,
        "tanh": 2,
        "transpose": 2,
    }
    assert lstm["fused"]["ops"]["affine_gates"] == 1 and "sigmoid" not in lstm["fused"]["ops"]
    assert lstm["fused"]["ops"]["tanh"] == 1  # only tanh(c') is left outside the fused gates
    for step in (rnn, lstm):
        assert step["fused"]["max_abs_diff_vs_composed"] < 1e-12
        assert step["fused"]["trace_steps"] < step["trace_steps"]
    assert lstm["c_prev_grad_error_vs_hand"] < 1e-12
    forms = result["timing"]["forms"]
    assert set(forms) == {"RNNCell", "RNNCell fused", "LSTMCell", "LSTMCell fused"}
    for numbers in forms.values():
        assert 0 < numbers["forward_us"] <= numbers["forward_backward_us"] < 1e6
    assert forms["RNNCell fused"]["nodes"] < forms["RNNCell"]["nodes"]
    assert forms["LSTMCell fused"]["nodes"] < forms["LSTMCell"]["nodes"]
    text = console.file.getvalue()
    assert "tanh_affine" in text and "affine_gates" in text and "Why frameworks fuse" in text
    # without --dot: quick and smoke runs write into the temp dir, a full run into the working directory
    quick = graph_demo.dot_path(argparse.Namespace(size="quick", seed=0, dot=None))
    assert quick.startswith(tempfile.gettempdir())
    assert graph_demo.dot_path(argparse.Namespace(size="full", seed=0)) == str(Path.cwd() / "graph.dot")


# ---- every detail a reader sees: the DOT text, the colours, the table, the kept copies -----------------
def small_network():
    """L = sum(tanh(W @ x + b) * s): W a parameter, s a frozen parameter, x data, b a leaf."""
    W = Parameter(np.array([[1.0, 2.0], [3.0, 4.0]]))
    s = Parameter(np.array(2.0), requires_grad=False)
    x = Tensor(np.array([1.0, -1.0]))
    b = Tensor(np.array([0.5, -0.5]), requires_grad=True)
    L = ((W @ x + b).tanh() * s).sum()
    return L, dict(W=W, s=s, x=x, b=b)


def test_dot_text_of_a_small_graph_as_written_out_by_hand():
    L, t = small_network()
    names = {t["W"]: "W", t["s"]: "s", t["x"]: "x", t["b"]: "b\r"}  # a carriage return is dropped
    # Pre-order, inputs left to right: sum, mul, tanh, add, matmul, W, x, b, s. Ops are boxes,
    # parameters filled green, tensors that need no gradient dashed; an op with several inputs
    # labels its in-edges with the input's position.
    expected = r"""digraph "tinygrad_rnn" {
  node [fontname="monospace", fontsize=10];
  n0 [label="#0 sum\n() float64", shape=box];
  n1 [label="#1 mul\n(2,) float64", shape=box];
  n2 [label="#2 tanh\n(2,) float64", shape=box];
  n3 [label="#3 add\n(2,) float64", shape=box];
  n4 [label="#4 matmul\n(2,) float64", shape=box];
  n5 [label="#5 parameter W\n(2, 2) float64", shape=ellipse, fillcolor="palegreen", style="filled"];
  n6 [label="#6 input x\n(2,) float64", shape=ellipse, style="dashed"];
  n7 [label="#7 leaf b\n(2,) float64", shape=ellipse];
  n8 [label="#8 parameter s\n() float64", shape=ellipse, fillcolor="palegreen", style="filled,dashed"];
  n1 -> n0;
  n2 -> n1 [label="0"];
  n3 -> n2;
  n4 -> n3 [label="0"];
  n5 -> n4 [label="0"];
  n6 -> n4 [label="1"];
  n7 -> n3 [label="1"];
  n8 -> n1 [label="1"];
}
"""
    assert viz.to_dot(L, names=names) == expected


def test_dot_takes_intermediate_norms_from_a_trace():
    x = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    L = (x.tanh() * np.array([3.0, 4.0])).sum()  # dL/d tanh(x) = (3, 4): norm 5
    with viz.trace_backward() as trace:
        L.backward()
    nodes, _ = parse_dot(viz.to_dot(L, trace=trace))
    assert [label for label in nodes.values() if label.startswith("#2 tanh")] == [
        "#2 tanh\n(2,) float64\ngrad norm 5"
    ]


def test_norms_are_taken_in_float64_so_float32_gradients_do_not_overflow():
    x = Tensor(np.full(4, 1e30, dtype=np.float32), requires_grad=True)
    L = (x * np.float32(1.0)).sum()
    L.backward()  # dL/dx = 1 each: norm 2; the mul's g is (1, 1, 1, 1) too
    x.grad = np.full(4, 1e30, dtype=np.float32)  # squares overflow float32 (max 3.4e38)
    [leaf] = [line for line in tree_lines(viz.graph_tree(L)) if " leaf " in line]
    assert leaf.endswith("‖grad‖=2e+30")


def spans(text):
    """{fragment: its Style} of a rich Text, styles parsed (rich reads style names in any case)."""
    return {text.plain[s.start : s.end]: Style.parse(str(s.style)) for s in text.spans}


def test_tree_colours_follow_the_legend_in_graph_trees_docstring():
    L, t = small_network()
    L.backward()
    tree = viz.graph_tree(L, names={t["W"]: "W", t["b"]: "b"})
    labels = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        labels[node.label.plain.split()[0]] = node.label
        stack.extend(node.children)
    parse = Style.parse
    assert spans(labels["#0"]) == {"#0 ": parse("dim"), "sum": parse("bold magenta")}
    w_norm = np.linalg.norm(t["W"].grad)
    assert spans(labels["#5"]) == {
        "#5 ": parse("dim"), "parameter": parse("bold green"), " W": parse("bold"),
        f"  ‖grad‖={w_norm:.4g}": parse("red"),
    }  # fmt: skip
    assert spans(labels["#6"]) == {"#6 ": parse("dim"), "input": parse("yellow")}
    assert spans(labels["#7"])["leaf"] == parse("bold cyan")
    x = Tensor(np.ones(2), requires_grad=True)
    reference = viz.graph_tree((x * x).sum()).children[0].children[1].label
    assert reference.plain == "↑ see #2 leaf" and parse(str(reference.style)) == parse("dim italic")


def test_trace_table_title_headers_and_caption():
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    with viz.trace_backward() as trace:
        (x * x).sum().backward()
    table = trace.table()
    assert [str(column.header) for column in table.columns] == ["step", "op (node)", "g", "dL/d inputs"]
    # dL/d(x * x) = (1, 1), norm 1.414; mul sends g * x = (3, 4), norm 5, to each of its inputs
    assert [list(map(str, column.cells)) for column in table.columns] == [
        ["0", "1"],
        ["#0 sum", "#1 mul"],
        ["() 1", "(2,) 1.414"],
        ["0: #1 mul (2,) 1.414", "0: #2 leaf (2,) 5\n1: #2 leaf (2,) 5"],
    ]
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    lines = console.export_text().rstrip("\n").split("\n")
    assert lines[0].rstrip() == "backward trace"  # on the left
    below = lines[next(i for i, line in enumerate(lines) if line.startswith("└")) + 1 :]
    assert below[0].startswith("g: the gradient") and not any(line.startswith(" ") for line in below)
    caption = (
        "g: the gradient dL/d(output) that reached the op (shape, norm); "
        "dL/d inputs: what the op sent to input i (node, shape, norm)"
    )
    assert " ".join(line.strip() for line in below) == caption
    narrow = Console(width=36, record=True, color_system=None)
    narrow.print(table)  # too narrow for every column: the dL/d inputs column wraps, not op and g
    text = narrow.export_text()
    assert "#1 mul" in text and "(2,) 1.414" in text


def test_trace_table_numbers_nodes_by_the_root_given_and_uses_module_names():
    model = TwoLayer()
    x = Tensor(rng().standard_normal((2, 3)))
    hidden = (x @ model.first).tanh()
    L = (hidden @ model.second).sum()
    with viz.trace_backward() as trace:
        L.backward()
    ops_column = [str(cell) for cell in trace.table(root=hidden, module=model).columns[1].cells]
    # hidden's own graph: #0 tanh, #1 matmul, #2 x, #3 first; the ops after it are not in it
    assert ops_column == ["sum", "matmul", "#0 tanh", "#1 matmul"]
    inputs_column = [str(cell) for cell in trace.table(root=hidden, module=model).columns[3].cells]
    assert inputs_column[-1].split("\n")[1].startswith("1: #3 parameter first (3, 3)")


def test_a_trace_keeps_arrays_only_when_asked_and_then_copies_of_them():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for trace_of in (viz.trace_backward(), viz.BackwardTrace()):
        trace = trace_of if isinstance(trace_of, viz.BackwardTrace) else trace_of.trace
        assert trace.keep_grads is False
    with viz.trace_backward() as plain:
        (x * 3.0).sum().backward()
    assert all(r.grad_output is None and r.grad_inputs is None for r in plain)
    x.grad = None
    with viz.trace_backward(keep_grads=True) as kept:
        (x * 3.0).sum().backward()
    x.grad[...] = 0.0  # the user edits the gradient in place: what the trace kept stays
    total, mul = kept
    np.testing.assert_array_equal(mul.grad_output, [1.0, 1.0])
    np.testing.assert_array_equal(mul.grad_inputs[0], [3.0, 3.0])
    # What sum sent down is the g that mul received: each record keeps its own copy of it.
    mul.grad_output[...] = 7.0
    np.testing.assert_array_equal(total.grad_inputs[0], [1.0, 1.0])
    # add sends its g unchanged to both inputs: the two kept gradients are still two arrays
    y = Tensor(np.array([2.0, 1.0]), requires_grad=True)
    with viz.trace_backward(keep_grads=True) as kept:
        (x + y).sum().backward()
    add = kept[1]
    add.grad_inputs[0][...] = 5.0
    np.testing.assert_array_equal(add.grad_inputs[1], [1.0, 1.0])


def test_an_outer_trace_records_the_same_gradients_as_an_inner_one():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    with viz.trace_backward() as outer, viz.trace_backward() as inner:
        (x.tanh() * 2.0).sum().backward()
    assert [r.grad_output_norm for r in outer] == [r.grad_output_norm for r in inner]
    assert outer[1].grad_output_norm == pytest.approx(np.sqrt(2), rel=1e-15)


def test_op_math_of_an_op_instance_and_a_derivative_ending_in_a_capital():
    x = Tensor(np.array([0.5]), requires_grad=True)
    assert viz.op_math(x.tanh()._ctx) == viz.op_math(ops.Tanh)

    class Scale(Function):
        """z = x * X;  dL/dx = g * X."""

    assert viz.op_math(Scale) == viz.OpMath("z = x * X", "dL/dx = g * X")

    class Blank(Function):
        pass

    with pytest.raises(ValueError, match=r"in its first paragraph: ''$"):
        viz.op_math(Blank)


def test_graph_node_of_a_freed_op_is_an_outline_whose_tensor_is_gone():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    L = (x.exp() * 2.0).sum()
    L.backward()
    op = L._ctx.parents[0]  # the released mul, standing for exp(x) * 2, which nothing holds
    node = viz.graph_node(op, {})
    assert node.tensor() is None and node.shape == (2,) and node.dtype == np.float64


# ---- the styles are part of what graph_tree and table return ------------------------------------
def style_names(text):
    """(piece of text, style name) for each styled span of a rich Text, as the Text holds them."""
    return [(text.plain[span.start : span.end], span.style) for span in text.spans]


def test_tree_labels_carry_the_documented_style_names():
    # graph_tree's docstring names the colours; the labels are rich Texts, whose spans (and so
    # equality and repr) hold the style names as written: "dim", not "DIM".
    w = Parameter(np.array([1.0, -2.0]))
    loss = (w * w).sum()
    loss.backward()
    tree = viz.graph_tree(loss, names={w: "w"})
    assert style_names(tree.label) == [("#0 ", "dim"), ("sum", "bold magenta")]
    product = tree.children[0]
    weight, reference = product.children
    grad_norm = "  ‖grad‖=4.472"  # w.grad = 2 w = (2, -4), norm sqrt(20)
    assert style_names(weight.label) == [
        ("#2 ", "dim"), ("parameter", "bold green"), (" w", "bold"), (grad_norm, "red")
    ]
    assert reference.label.plain == "↑ see #2 parameter" and reference.label.style == "dim italic"


def test_trace_table_title_and_caption_are_left_justified():
    with viz.trace_backward() as trace:
        Tensor(np.ones(2), requires_grad=True).tanh().sum().backward()
    table = trace.table()
    assert (table.title_justify, table.caption_justify) == ("left", "left")
