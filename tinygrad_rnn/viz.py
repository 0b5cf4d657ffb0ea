"""See the graph, and watch the backward pass walk it.

Three tools, all built without recursion, so a graph from a 1000-step unroll
is as easy to walk as a three-op expression:

``graph_tree(tensor)``
    A ``rich.tree.Tree`` of the graph that produced ``tensor``. Each node shows
    a short id (``#0`` is ``tensor`` itself; the others are numbered in the
    order the tree is drawn), the op that made it (``matmul``, ``tanh``, ...)
    or, for a leaf, ``parameter`` (an ``nn.Parameter``), ``leaf`` (another
    tensor with requires_grad) or ``input`` (data and constants), then its
    shape, dtype, requires_grad and, once backward has run, the norm of its
    gradient. A tensor used several times is drawn once; its later uses show
    ``↑ see #3``. Leaves take their norm from ``.grad``; an intermediate
    tensor shows one when it kept ``.grad`` (``retain_grad()``) or when a
    backward trace is passed as ``trace=``. Names come from ``names={W: "W"}``
    and from ``module=`` (its ``named_parameters()``). After ``backward()``
    (without retain_graph) the graph no longer holds its values: a tensor that
    nothing else holds was freed and is drawn from its ``Outline`` (the op that
    made it, its shape and dtype), the same node as before (``graph_node``).

``to_dot(tensor)``
    Graphviz DOT text of the same graph: one node per tensor, one edge per use
    of a tensor as an op input (drawn input -> output and labelled with the
    input's position when the op has several). Render it with
    ``dot -Tsvg graph.dot -o graph.svg``; writing it needs no graphviz.

``trace_backward()``
    A context manager that records what ``backward()`` does::

        with viz.trace_backward() as trace:
            loss.backward()
        rich.print(trace.table())

    ``trace`` is a ``BackwardTrace``: a list of ``TraceRecord``, one per op
    visited, in execution order (reverse topological: an op's output gradient
    is complete before the op is visited). A record holds the op, its output
    and input tensors, and the shape and norm of the gradient flowing in from
    above, g = dL/d(output), and of the gradient it sends down to each input,
    dL/d(input) (None for inputs that need no gradient). For a tensor used by
    several ops, dL/d(tensor) is the sum of what those ops send it.
    ``trace_backward(keep_grads=True)`` also keeps dense copies of the arrays.
    The trace works by setting ``tensor._GradMode.backward_hook``; the previous
    hook (e.g. an outer trace, which keeps recording) is restored on exit, also
    when the block raises.

``op_math(op)`` splits an op class's docstring into its forward formula and
its local derivative, so what is printed stays in step with ops.py.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from tinygrad_rnn.bookkeeping import Outline, dense_grad
from tinygrad_rnn.nn.module import Module, Parameter
from tinygrad_rnn.tensor import Function, Tensor, _GradMode

__all__ = [
    "graph_tree",
    "to_dot",
    "collect_graph",
    "Graph",
    "trace_backward",
    "BackwardTrace",
    "TraceRecord",
    "op_math",
    "OpMath",
    "graph_node",
]


# ---- walking the graph --------------------------------------------------------------------
@dataclass(frozen=True)
class _Visit:
    """One step of the pre-order walk: ``tensor`` reached as input ``position`` of node ``user``."""

    tensor: Tensor | Outline
    number: int
    user: int | None  # the node whose input this is; None for the root
    position: int
    first: bool  # False when the tensor was already drawn (a reuse)


def _walk(root: Tensor) -> Iterator[_Visit]:
    """Depth-first, pre-order, inputs left to right, with an explicit stack (no recursion).

    Every (op output, input position) pair is visited exactly once; a tensor is
    numbered (and its inputs expanded) on its first visit only.
    """
    numbers: dict[int, int] = {}
    outlines: dict[int, Outline] = {}  # for graph_node: one Outline per freed tensor in this walk
    stack: list[tuple[Tensor, int | None, int]] = [(root, None, 0)]
    while stack:
        tensor, user, position = stack.pop()
        first = id(tensor) not in numbers
        if first:
            numbers[id(tensor)] = len(numbers)
        number = numbers[id(tensor)]
        yield _Visit(tensor, number, user, position, first)
        if first and tensor._ctx is not None:
            parents = tensor._ctx.parents
            for pos in reversed(range(len(parents))):  # reversed: the first input is popped first
                stack.append((graph_node(parents[pos], outlines), number, pos))


def graph_node(parent: Tensor | Function | Outline, outlines: dict[int, Outline]) -> Tensor | Outline:
    """An op's input as the graph shows it: the tensor while anything holds it, else its Outline.

    Before backward (or with retain_graph) every input is a Tensor. backward() lets go of the
    values (see bookkeeping.py, 5.): a released op holds the leaves that require grad, the ops
    that made its other inputs (each standing for its output) and Outlines of constants.
    ``outlines`` (id of op -> Outline) keeps one Outline per freed tensor during one walk of the
    graph, so that a tensor used several times is still one node.
    """
    if isinstance(parent, Tensor):
        return parent
    if isinstance(parent, Outline):
        tensor = parent.tensor()
        return parent if tensor is None else tensor
    tensor = parent._output()  # a released op, standing for its output
    if tensor is not None:
        return tensor
    if id(parent) not in outlines:
        shape, dtype = parent.outline
        outlines[id(parent)] = Outline(parent._output, parent, shape, dtype, True)
    return outlines[id(parent)]


@dataclass(eq=False)  # Tensor == Tensor gives an array, so compare graphs by identity
class Graph:
    """The graph behind a tensor: ``tensors[k]`` is node ``#k``; ``edges`` are
    (input node, output node, input position) triples, one per use."""

    tensors: list[Tensor | Outline]
    edges: list[tuple[int, int, int]]

    def number_of(self, tensor: Tensor) -> int | None:
        return self._numbers.get(id(tensor))

    def __post_init__(self) -> None:
        self._numbers = {id(t): k for k, t in enumerate(self.tensors)}


def collect_graph(tensor: Tensor) -> Graph:
    """Every tensor of the graph that produced ``tensor`` (once each) and every input use."""
    tensors: list[Tensor | Outline] = []
    edges: list[tuple[int, int, int]] = []
    for visit in _walk(tensor):
        if visit.first:
            tensors.append(visit.tensor)
        if visit.user is not None:
            edges.append((visit.number, visit.user, visit.position))
    return Graph(tensors, edges)


# ---- what a node says about itself ----------------------------------------------------------
def _kind(tensor: Tensor) -> str:
    if tensor._ctx is not None:
        return tensor._ctx.name
    if isinstance(tensor, Parameter):
        return "parameter"
    return "leaf" if tensor.requires_grad else "input"


def _norm(array: Any) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64)))


def _name_table(names: Mapping[Tensor, str] | None, module: Module | None) -> dict[int, str]:
    """id(tensor) -> display name; explicit ``names`` win over the module's parameter names."""
    table: dict[int, str] = {}
    if module is not None:
        table.update({id(p): name for name, p in module.named_parameters()})
    if names is not None:
        for tensor, name in names.items():
            if not isinstance(tensor, Tensor):
                raise TypeError(f"viz: names must map Tensors to strings, got a key of type {type(tensor)}")
            table[id(tensor)] = str(name)
    return table


def _grad_norm(tensor: Tensor, trace: BackwardTrace | None) -> float | None:
    if tensor.grad is not None:
        return _norm(tensor.grad)
    if trace is not None:
        return trace.grad_norm(tensor)
    return None


def _format_norm(norm: float) -> str:
    return f"{norm:.4g}"


_KIND_STYLE = {"parameter": "bold green", "leaf": "bold cyan", "input": "yellow"}


def _tree_label(number: int, tensor: Tensor, name: str | None, grad_norm: float | None) -> Text:
    kind = _kind(tensor)
    label = Text()
    label.append(f"#{number} ", style="dim")
    label.append(kind, style=_KIND_STYLE.get(kind, "bold magenta"))
    if name:
        label.append(f" {name}", style="bold")
    label.append(f"  {tensor.shape} {tensor.dtype}  requires_grad={tensor.requires_grad}")
    if grad_norm is not None:
        label.append(f"  ‖grad‖={_format_norm(grad_norm)}", style="red")
    return label


# ---- the two pictures ---------------------------------------------------------------------------
def graph_tree(
    tensor: Tensor,
    names: Mapping[Tensor, str] | None = None,
    module: Module | None = None,
    trace: BackwardTrace | None = None,
) -> Tree:
    """A rich Tree of the graph that produced ``tensor``: each node once, reuses referenced.

    ``names`` maps tensors to display names; ``module`` adds its parameters'
    dotted names; ``trace`` (from ``trace_backward``) supplies gradient norms of
    intermediate tensors that did not keep ``.grad``. The tree is built with a
    loop, so deep graphs are fine to build (rich draws them with a loop too,
    but a very deep one is too wide to read). Colours: ids dim; parameters bold
    green, other leaves bold cyan, inputs yellow, ops bold magenta; names bold;
    gradient norms red; references to a tensor drawn above dim italic.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph_tree: expected a Tensor, got {type(tensor).__name__}")
    display_names = _name_table(names, module)
    drawn: dict[int, Tree] = {}  # node number -> its branch in the tree
    kinds: dict[int, str] = {}
    root: Tree | None = None
    for visit in _walk(tensor):
        if not visit.first:
            reference = Text(f"↑ see #{visit.number} {kinds[visit.number]}", style="dim italic")
            drawn[visit.user].add(reference)
            continue
        t = visit.tensor
        label = _tree_label(visit.number, t, display_names.get(id(t)), _grad_norm(t, trace))
        kinds[visit.number] = _kind(t)
        branch = Tree(label) if visit.user is None else drawn[visit.user].add(label)
        drawn[visit.number] = branch
        if root is None:
            root = branch
    assert root is not None
    return root


def _dot_string(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + escaped.replace("\n", "\\n") + '"'


def to_dot(
    tensor: Tensor,
    names: Mapping[Tensor, str] | None = None,
    module: Module | None = None,
    trace: BackwardTrace | None = None,
    graph_name: str = "tinygrad_rnn",
) -> str:
    """Graphviz DOT text of the graph that produced ``tensor`` (same ids and labels as graph_tree).

    Nodes are ``n<k>`` for node ``#k``: ops are boxes, parameters green,
    tensors that need no gradient dashed. Edges point from input to output.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    display_names = _name_table(names, module)
    graph = collect_graph(tensor)
    lines = [
        f"digraph {_dot_string(graph_name)} {{",
        '  node [fontname="monospace", fontsize=10];',
    ]
    for number, t in enumerate(graph.tensors):
        kind = _kind(t)
        title = f"#{number} {kind}"
        if display_names.get(id(t)):
            title += f" {display_names[id(t)]}"
        rows = [title, f"{t.shape} {t.dtype}"]
        norm = _grad_norm(t, trace)
        if norm is not None:
            rows.append(f"grad norm {_format_norm(norm)}")
        attributes = [f"label={_dot_string(chr(10).join(rows))}"]
        attributes.append("shape=box" if t._ctx is not None else "shape=ellipse")
        style = []
        if kind == "parameter":
            style.append("filled")
            attributes.append('fillcolor="palegreen"')
        if not t.requires_grad:
            style.append("dashed")
        if style:
            attributes.append(f"style={_dot_string(','.join(style))}")
        lines.append(f"  n{number} [{', '.join(attributes)}];")
    for source, target, position in graph.edges:
        ctx = graph.tensors[target]._ctx
        several_inputs = ctx is not None and len(ctx.parents) > 1
        label = f" [label={_dot_string(str(position))}]" if several_inputs else ""
        lines.append(f"  n{source} -> n{target}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- the backward trace -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceRecord:
    """One op visited by backward: g = dL/d(output) came in, dL/d(input_i) went out.

    Entries of the per-input tuples are None for inputs that need no gradient.
    ``grad_output`` / ``grad_inputs`` hold dense copies only with keep_grads=True.
    """

    step: int
    op: str
    function: type[Function]
    output: Tensor
    inputs: tuple[Tensor, ...]
    grad_output_shape: tuple[int, ...]
    grad_output_norm: float
    grad_input_shapes: tuple[tuple[int, ...] | None, ...]
    grad_input_norms: tuple[float | None, ...]
    grad_output: np.ndarray | None = None
    grad_inputs: tuple[np.ndarray | None, ...] | None = None


class BackwardTrace:
    """The records of a ``trace_backward()`` block, in the order backward visited the ops."""

    def __init__(self, keep_grads: bool = False) -> None:
        self.keep_grads = keep_grads
        self.records: list[TraceRecord] = []
        self._latest: dict[int, TraceRecord] = {}  # id(output) -> its latest record

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self.records)

    def __getitem__(self, index: int) -> TraceRecord:
        return self.records[index]

    def record(self, output: Tensor, grad: np.ndarray, parent_grads: tuple) -> None:
        """The hook backward() calls for each op (see tensor._GradMode.backward_hook)."""
        ctx = output._ctx
        inputs = tuple(ctx.parents)
        dense: list[np.ndarray | None] = []
        for parent, g in zip(inputs, parent_grads):
            # The engine drops gradients for inputs that need none; so do we.
            dense.append(dense_grad(g) if g is not None and parent.requires_grad else None)
        grad = np.asarray(grad)
        entry = TraceRecord(
            step=len(self.records),
            op=ctx.name,
            function=type(ctx),
            output=output,
            inputs=inputs,
            grad_output_shape=grad.shape,
            grad_output_norm=_norm(grad),
            grad_input_shapes=tuple(None if g is None else g.shape for g in dense),
            grad_input_norms=tuple(None if g is None else _norm(g) for g in dense),
            grad_output=np.array(grad, copy=True) if self.keep_grads else None,
            grad_inputs=tuple(None if g is None else np.array(g, copy=True) for g in dense)
            if self.keep_grads
            else None,
        )
        self.records.append(entry)
        self._latest[id(output)] = entry

    def grad_norm(self, tensor: Tensor) -> float | None:
        """‖dL/d tensor‖ for a tensor that an op produced (from its latest record), else None."""
        entry = self._latest.get(id(tensor))
        return None if entry is None else entry.grad_output_norm

    def table(
        self,
        root: Tensor | None = None,
        names: Mapping[Tensor, str] | None = None,
        module: Module | None = None,
        title: str = "backward trace",
    ) -> Table:
        """A rich Table, one row per op in execution order, with graph_tree's ``#k`` ids.

        The ids are those of the tree of ``root`` (default: the output of the
        first op traced, i.e. the tensor backward() was called on).
        """
        display_names = _name_table(names, module)
        graph = None
        if root is not None or self.records:
            graph = collect_graph(root if root is not None else self.records[0].output)

        def describe(tensor: Tensor) -> str:
            number = graph.number_of(tensor) if graph is not None else None
            text = f"#{number} " if number is not None else ""
            text += _kind(tensor)
            name = display_names.get(id(tensor))
            return f"{text} {name}" if name else text

        table = Table(
            title=title,
            title_justify="left",
            caption="g: the gradient dL/d(output) that reached the op (shape, norm); "
            "dL/d inputs: what the op sent to input i (node, shape, norm)",
            caption_justify="left",
        )
        table.add_column("step", justify="right")
        table.add_column("op (node)", no_wrap=True)
        table.add_column("g", no_wrap=True)
        table.add_column("dL/d inputs")
        for entry in self.records:
            outgoing = []
            for i, (tensor, shape, norm) in enumerate(
                zip(entry.inputs, entry.grad_input_shapes, entry.grad_input_norms)
            ):
                if norm is None:
                    outgoing.append(f"{i}: {describe(tensor)} (no grad)")
                else:
                    outgoing.append(f"{i}: {describe(tensor)} {shape} {_format_norm(norm)}")
            table.add_row(
                str(entry.step),
                describe(entry.output),
                f"{entry.grad_output_shape} {_format_norm(entry.grad_output_norm)}",
                "\n".join(outgoing),
            )
        return table


class trace_backward:
    """``with trace_backward() as trace:`` records every op that backward() visits.

    The hook it installs also calls the hook that was there before, and the
    previous hook is put back on exit, whether or not the block raised.
    """

    def __init__(self, keep_grads: bool = False) -> None:
        self.trace = BackwardTrace(keep_grads=keep_grads)

    def __enter__(self) -> BackwardTrace:
        previous = self._previous = _GradMode.backward_hook
        record = self.trace.record

        def hook(output: Tensor, grad: np.ndarray, parent_grads: tuple) -> None:
            if previous is not None:
                previous(output, grad, parent_grads)
            record(output, grad, parent_grads)

        _GradMode.backward_hook = hook
        return self.trace

    def __exit__(self, *exc: object) -> None:
        _GradMode.backward_hook = self._previous


# ---- the calculus, read from ops.py -------------------------------------------------------------------
@dataclass(frozen=True)
class OpMath:
    """An op's forward formula and local derivative, as its docstring in ops.py states them."""

    forward: str
    derivative: str


_MATH_LINE = re.compile(r"(?P<forward>.*?);\s*(?P<derivative>dL/d.*)", re.DOTALL)


def op_math(op: type[Function] | Function) -> OpMath:
    """Split the first paragraph of an op's docstring, "forward;  dL/dx = ...", into its two halves.

    Raises ValueError for an op whose docstring does not state its derivative.
    """
    cls = op if isinstance(op, type) else type(op)
    # The class's own docstring: inspect.getdoc would inherit Function's and hide a missing one.
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    first_paragraph = " ".join(doc.split("\n\n")[0].split())
    match = _MATH_LINE.fullmatch(first_paragraph)
    if match is None:
        raise ValueError(
            f"op_math: the docstring of {cls.__name__} does not read 'forward formula;  dL/dx = ...' "
            f"in its first paragraph: {first_paragraph!r}"
        )
    return OpMath(match["forward"].strip(), match["derivative"].strip().rstrip("."))
