"""See the graph and the backward pass: a small expression, then one RNN step.

For each, the demo prints the graph that the forward pass recorded (a tree:
every tensor once, reuses referred back), runs backward() under a trace, and
walks the trace op by op: which gradient g = dL/d(output) arrived, which local
derivative the op applies (read from the op's docstring in ops.py) and what it
sent to each input. The RNN step's graph is written as Graphviz DOT
(``dot -Tsvg graph.dot -o graph.svg`` draws it).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
from rich.console import Console

from demos._files import output_path_problem, write_text_atomically
from demos._ui import panel
from tinygrad_rnn import Tensor, nn, viz
from tinygrad_rnn.gradcheck import numerical_grad

NAME = "graph"
SUMMARY = "the autograd graph as a tree and DOT, and a step-by-step backward trace (expression, RNN step)"


def add_arguments(parser: argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--dot",
        metavar="PATH",
        default=None,
        help="where to write the RNN step's graph as DOT (default ./graph.dot; with --quick, the temp dir)",
    )


def check_args(args: argparse.Namespace) -> str | None:
    """A --dot path that cannot be written, found before the demo runs."""
    return output_path_problem(args.dot, "--dot") if getattr(args, "dot", None) is not None else None


def dot_path(args: argparse.Namespace) -> str:
    """--dot if given; else ./graph.dot in full mode and the system temp dir otherwise (no litter)."""
    if getattr(args, "dot", None):
        return args.dot
    if args.size == "full":
        return os.path.abspath("graph.dot")
    return os.path.join(tempfile.gettempdir(), "tinygrad_rnn_graph.dot")


def _variables(record: viz.TraceRecord) -> list[str]:
    """The names the op's docstring gives its inputs: x (and y), or x_1 ... x_k."""
    n = len(record.inputs)
    if n == 1:
        return ["x"]
    if n == 2 and record.op not in ("concat", "stack"):
        return ["x", "y"]
    return [f"x_{i + 1}" for i in range(n)]


def walk_trace(
    console: Console, trace: viz.BackwardTrace, names: dict, module: nn.Module | None, show_values: bool
) -> None:
    """One paragraph per op, in the order backward() visited them."""
    graph = viz.collect_graph(trace[0].output)
    display = {id(t): n for t, n in names.items()}
    if module is not None:
        display.update({id(p): n for n, p in module.named_parameters()})

    def node(tensor: Tensor) -> str:
        kind = tensor._ctx.name if tensor._ctx is not None else "leaf"
        label = f"#{graph.number_of(tensor)} {display.get(id(tensor), kind)}"
        return label

    for record in trace:
        math = viz.op_math(record.function)
        console.print(
            f"[bold]step {record.step}[/bold]  [magenta]{node(record.output)}[/magenta]   "
            f"forward: {math.forward}",
            highlight=False,
        )
        console.print(f"    local derivative: [green]{math.derivative}[/green]", highlight=False)
        roles = ", ".join(f"{v} = {node(t)}" for v, t in zip(_variables(record), record.inputs))
        console.print(
            f"    g = dL/d{node(record.output)} arrives: shape {record.grad_output_shape}, "
            f"norm {record.grad_output_norm:.4g}   ({roles})",
            highlight=False,
        )
        if show_values and record.grad_output is not None and record.grad_output.size <= 8:
            values = " ".join(np.array2string(record.grad_output, precision=4).split())
            console.print(f"      g = {values}", highlight=False)
        for variable, tensor, shape, norm in zip(
            _variables(record), record.inputs, record.grad_input_shapes, record.grad_input_norms
        ):
            if norm is None:
                sent = f": none ({node(tensor)} needs no gradient)"
            else:
                sent = f" to {node(tensor)}: shape {shape}, norm {norm:.4g}"
            console.print(f"    -> dL/d{variable}{sent}", highlight=False)


def _leaf_check(trace: viz.BackwardTrace, leaves: dict[str, Tensor]) -> float:
    """Largest relative difference between a leaf's ‖.grad‖ and the norm the trace saw flow into it."""
    worst = 0.0
    for leaf in leaves.values():
        flowing = [
            norm
            for record in trace
            for tensor, norm in zip(record.inputs, record.grad_input_norms)
            if tensor is leaf and norm is not None
        ]
        if len(flowing) == 1:  # a leaf used once: what flowed in is all of .grad
            norm = float(np.linalg.norm(leaf.grad))
            worst = max(worst, abs(flowing[0] - norm) / max(norm, 1e-300))
    return worst


def small_expression(console: Console, rng: np.random.Generator, verbose: bool) -> dict:
    """L = sum(tanh(x @ W + b) * y): x and y are data, W and b are learned."""
    x = Tensor(rng.standard_normal((2, 3)))
    y = Tensor(rng.standard_normal((2, 2)))
    W = nn.Parameter(rng.standard_normal((3, 2)))
    b = nn.Parameter(rng.standard_normal(2))
    names = {x: "x", y: "y", W: "W", b: "b"}
    L = ((x @ W + b).tanh() * y).sum()

    console.print("\n[bold]1. A small expression[/bold]: L = sum(tanh(x @ W + b) * y)")
    console.print(viz.graph_tree(L, names=names))
    with viz.trace_backward(keep_grads=True) as trace:
        L.backward()
    console.print("After L.backward() the leaves hold .grad:")
    console.print(viz.graph_tree(L, names=names, trace=trace))
    console.print(trace.table(names=names, title="backward trace of L"))
    console.print("Walking the trace, op by op:")
    walk_trace(console, trace, names, None, show_values=verbose)

    # Independent check: central differences of the same function (float64, eps 1e-6).
    def loss(W_: Tensor, b_: Tensor) -> Tensor:
        return ((x @ W_ + b_).tanh() * y).sum()

    fd_error = max(
        float(np.max(np.abs(numerical_grad(loss, [W, b], i) - p.grad))) for i, p in enumerate((W, b))
    )
    graph = viz.collect_graph(L)
    return {
        "nodes": len(graph.tensors),
        "edges": len(graph.edges),
        "trace_steps": len(trace),
        "max_abs_error_vs_finite_differences": fd_error,
        "leaf_norm_mismatch": _leaf_check(trace, {"W": W, "b": b}),
    }


def rnn_step(console: Console, rng: np.random.Generator, seed: int, verbose: bool, path: str) -> dict:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), and L = sum(h' * v) for a fixed v."""
    cell = nn.RNNCell(3, 4, rng=seed)
    x = Tensor(rng.standard_normal((2, 3)))
    h = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    v = Tensor(rng.standard_normal((2, 4)))
    h_next = cell(x, h)
    L = (h_next * v).sum()
    names = {x: "x_t", h: "h_prev", v: "v", h_next: "h_next"}

    console.print(
        "\n[bold]2. One RNN step[/bold]: h_next = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh) "
        "(nn.RNNCell), L = sum(h_next * v)"
    )
    console.print(
        "v stands for dL/dh_next, the gradient later time steps would send back; h_prev requires grad "
        "so we can watch dL/dh_prev, what backpropagation through time carries to the step before.",
        highlight=False,
    )
    with viz.trace_backward(keep_grads=True) as trace:
        L.backward()
    console.print(viz.graph_tree(L, names=names, module=cell, trace=trace))
    console.print(trace.table(names=names, module=cell, title="backward trace of one RNN step"))
    if verbose:
        walk_trace(console, trace, names, cell, show_values=False)

    # dL/dh_prev by hand: with a = pre-activation, dL/da = v * (1 - h_next^2), dL/dh_prev = dL/da W_hh.
    da = v.data * (1 - h_next.data**2)
    by_hand = da @ cell.weight_hh.data
    carried = float(np.max(np.abs(h.grad - by_hand)))
    console.print(
        panel(
            "dL/dh_prev = (v * (1 - h_next**2)) @ W_hh, computed by hand with numpy, differs from "
            f"h_prev.grad by at most {carried:.1e}.\nUnrolled over T steps this product repeats T times: "
            "the vanishing / exploding gradient of seed 003.",
            "the message passed back in time",
        )
    )
    write_text_atomically(path, viz.to_dot(L, names=names, module=cell, trace=trace))
    console.print(f"Wrote the RNN step's graph to {path} (draw it with: dot -Tsvg {path} -o graph.svg)")
    graph = viz.collect_graph(L)
    return {
        "nodes": len(graph.tensors),
        "edges": len(graph.edges),
        "trace_steps": len(trace),
        "h_prev_grad_error_vs_hand": carried,
        "leaf_norm_mismatch": _leaf_check(trace, dict(cell.named_parameters())),
    }


def run(args: argparse.Namespace, console: Console) -> dict:
    rng = np.random.default_rng(args.seed)
    verbose = args.size == "full"
    expression = small_expression(console, rng, verbose)
    path = dot_path(args)
    step = rnn_step(console, rng, args.seed, verbose, path)
    return {
        "nodes": step["nodes"],
        "edges": step["edges"],
        "dot_path": path,
        "expression": expression,
        "rnn_step": step,
    }
