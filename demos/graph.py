"""See the graph and the backward pass: a small expression, one RNN step, one LSTM step, composed and fused.

For each, the demo prints the graph that the forward pass recorded (a tree:
every tensor once, reuses referred back), runs backward() under a trace, and
lists the ops in the order backward visited them: which gradient
g = dL/d(output) arrived and what each op sent to its inputs. The walk through
a trace quotes each op's derivative from its docstring (viz.op_math).

The recurrent steps are built twice. The default, composed form (nn/steps.py)
records the seed equations op by op: transpose, matmul, add, tanh, and for the
LSTM the gate slices and activations. The fused form (``fused=True``,
tinygrad_rnn/fused.py) records one tanh_affine node for the RNN's recurrent
part and one affine_gates node for the LSTM's four gates. The demo checks that
both give the same numbers and times one step of each. The RNN step's graph is
written as Graphviz DOT (``dot -Tsvg graph.dot -o graph.svg`` draws it). Last,
it measures what an RNN's graph holds after forward and after backward.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
from rich.columns import Columns
from rich.console import Console
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from demos._files import output_path_problem, write_text_atomically
from demos._ui import FittedTable, Wrapped, escape, panel, say, table
from tinygrad_rnn import Tensor, nn, viz
from tinygrad_rnn.gradcheck import numerical_grad

NAME = "graph"
SUMMARY = (
    "the autograd graph as a tree and DOT, and step-by-step backward traces "
    "(expression, RNN and LSTM steps, composed and fused, timed)"
)

# Repetitions of one step for the timing table (medians are printed).
TIMING_REPEATS = {"smoke": 20, "quick": 200, "full": 300}
TIMING_SIZES = {"batch": 8, "input": 16, "hidden": 32}  # small: a step is mostly per-node cost


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
    if record.op in ("affine", "tanh_affine", "affine_gates"):  # fused.py's docstrings: x, W, b
        return ["x", "W", "b"][:n]
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
        return f"#{graph.number_of(tensor)} {display.get(id(tensor), kind)}"

    def line(*parts: str | tuple[str, str], indent: int = 6) -> None:
        """One line of the walk, wrapped outside brackets (formulas and names are not markup)."""
        console.print(Wrapped(Text.assemble(*parts), indent=indent))

    for record in trace:
        math = viz.op_math(record.function)
        line(
            (f"step {record.step}", "bold"),
            "  ",
            (node(record.output), "magenta"),
            f"   forward: {math.forward}",
        )
        line("    local derivative: ", (math.derivative, "green"))
        line(
            "    inputs: " + ", ".join(f"{v} = {node(t)}" for v, t in zip(_variables(record), record.inputs))
        )
        line(
            f"    g = dL/d{node(record.output)} arrives: shape {record.grad_output_shape}, "
            f"norm {record.grad_output_norm:.4g}"
        )
        if show_values and record.grad_output is not None and record.grad_output.size <= 8:
            values = " ".join(np.array2string(record.grad_output, precision=4).split())
            line(f"      g = {values}", indent=8)
        for variable, tensor, shape, norm in zip(
            _variables(record), record.inputs, record.grad_input_shapes, record.grad_input_norms
        ):
            if norm is None:
                sent = f": none ({node(tensor)} needs no gradient)"
            else:
                sent = f" to {node(tensor)}: shape {shape}, norm {norm:.4g}"
            line(f"    -> dL/d{variable}{sent}")


def _tree(root: Tensor, **options: object) -> Tree:
    """viz.graph_tree, with labels that wrap between their fields, never inside a shape."""
    tree = viz.graph_tree(root, **options)
    branches = [tree]
    while branches:
        branch = branches.pop()
        branch.label = Wrapped(branch.label, indent=2)
        branches.extend(branch.children)
    return tree


def _trace_table(trace: viz.BackwardTrace, **options: object) -> FittedTable:
    """trace.table, fitted to the terminal: what each op sent back wraps between the inputs' fields."""
    return FittedTable.from_rich(trace.table(**options), wrap=["dL/d inputs"])


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


def _op_counts(root: Tensor) -> dict[str, int]:
    """How many nodes of each op the graph behind root holds (leaves not counted)."""
    counts: dict[str, int] = {}
    for tensor in viz.collect_graph(root).tensors:
        if tensor._ctx is not None:
            counts[tensor._ctx.name] = counts.get(tensor._ctx.name, 0) + 1
    return dict(sorted(counts.items()))


def _side_by_side(title: str, left: object, right: object) -> Columns:
    """The composed and the fused tree next to each other (one below the other on a narrow terminal)."""
    return Columns(
        [
            Panel(left, title="composed (fused=False): nn/steps.py", title_align="left", expand=False),
            Panel(right, title="fused (fused=True): fused.py", title_align="left", expand=False),
        ],
        title=title,
    )


def small_expression(console: Console, rng: np.random.Generator, verbose: bool) -> dict:
    """L = sum(tanh(x @ W + b) * y): x and y are data, W and b are learned."""
    x = Tensor(rng.standard_normal((2, 3)))
    y = Tensor(rng.standard_normal((2, 2)))
    W = nn.Parameter(rng.standard_normal((3, 2)))
    b = nn.Parameter(rng.standard_normal(2))
    names = {x: "x", y: "y", W: "W", b: "b"}
    L = ((x @ W + b).tanh() * y).sum()

    say(console, "\n[bold]1. A small expression[/bold]: L = sum(tanh(x @ W + b) * y)")
    console.print(_tree(L, names=names))
    with viz.trace_backward(keep_grads=True) as trace:
        L.backward()
    say(console, "After L.backward() the leaves hold .grad:")
    console.print(_tree(L, names=names, trace=trace))
    console.print(_trace_table(trace, names=names, title="backward trace of L"))
    say(console, "Walking the trace, op by op:")
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


def _twin(cell: nn.Module, make: Callable[..., nn.Module]) -> nn.Module:
    """The same cell built with fused=True, holding the same parameter values."""
    fused = make(fused=True)
    fused.load_state_dict(cell.state_dict())
    return fused


def _fused_against_composed(
    console: Console, what: str, values: dict, cell: nn.Module, fused_values: dict, fused_cell: nn.Module
) -> float:
    """Largest difference between the two forms' values and every parameter's gradient, printed."""
    for found, module in ((values, cell), (fused_values, fused_cell)):
        found.update({f"{n}.grad": p.grad for n, p in module.named_parameters()})
    error = max(float(np.max(np.abs(values[k] - fused_values[k]))) for k in values)
    say(
        console,
        f"Fused against composed: {escape(what)} and every parameter's gradient differ by at most "
        f"{error:.1e} (float64 rounding).",
        highlight=False,
    )
    return error


def _fused_summary(L_fused: Tensor, fused_trace: viz.BackwardTrace, error: float) -> dict:
    return {
        "nodes": len(viz.collect_graph(L_fused).tensors),
        "trace_steps": len(fused_trace),
        "ops": _op_counts(L_fused),
        "max_abs_diff_vs_composed": error,
    }


def rnn_step(console: Console, rng: np.random.Generator, seed: int, verbose: bool, path: str) -> dict:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), L = sum(h' * v) for a fixed v; composed, then fused."""
    cell = nn.RNNCell(3, 4, rng=seed)
    x = Tensor(rng.standard_normal((2, 3)))
    h = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    v = Tensor(rng.standard_normal((2, 4)))
    h_next = cell(x, h)
    L = (h_next * v).sum()
    names = {x: "x_t", h: "h_prev", v: "v", h_next: "h_next"}

    say(
        console,
        "\n[bold]2. One RNN step[/bold]: h_next = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh) "
        "(nn.RNNCell), L = sum(h_next * v)",
    )
    say(
        console,
        "v stands for dL/dh_next, the gradient later time steps would send back; h_prev requires grad "
        "so we can watch dL/dh_prev, what backpropagation through time carries to the step before. "
        "The composed step records each operator of the equation: W.T is a transpose node, x @ W.T a "
        "matmul, each + an add, then tanh.",
        highlight=False,
    )
    with viz.trace_backward(keep_grads=True) as trace:
        L.backward()
    console.print(_tree(L, names=names, module=cell, trace=trace))
    console.print(
        _trace_table(trace, names=names, module=cell, title="backward trace of one composed RNN step")
    )
    if verbose:
        walk_trace(console, trace, names, cell, show_values=False)

    # dL/dh_prev by hand: with a = pre-activation, dL/da = v * (1 - h_next^2), dL/dh_prev = dL/da W_hh.
    da = v.data * (1 - h_next.data**2)
    by_hand = da @ cell.weight_hh.data
    carried = float(np.max(np.abs(h.grad - by_hand)))
    console.print(
        panel(
            "dL/dh_prev = (v * (1 - h_next**2)) @ W_hh, computed by hand with numpy, differs from "
            f"h_prev.grad by at most {carried:.1e}.\nIn the trace: tanh multiplies by (1 - h_next**2), add "
            "passes g on, matmul sends g @ W_hh to h_prev. Unrolled over T steps this product repeats T "
            "times: the vanishing / exploding gradient of seed article 003.",
            "the message passed back in time",
        )
    )
    write_text_atomically(path, viz.to_dot(L, names=names, module=cell, trace=trace))
    say(
        console,
        f"Wrote the RNN step's graph to {escape(path)} (draw it with: dot -Tsvg {escape(path)} -o graph.svg)",
    )

    # The fused twin: the same parameters, the same inputs.
    fused_cell = _twin(cell, lambda **kw: nn.RNNCell(3, 4, **kw))
    h_fused = Tensor(h.data.copy(), requires_grad=True)
    h_next_fused = fused_cell(x, h_fused)
    L_fused = (h_next_fused * v).sum()
    fused_names = {x: "x_t", h_fused: "h_prev", v: "v", h_next_fused: "h_next"}
    with viz.trace_backward(keep_grads=True) as fused_trace:
        L_fused.backward()
    say(
        console,
        "\nThe same step with [bold]fused=True[/bold]: the recurrent part, tanh(h_prev W_hh^T + b), is one "
        "tanh_affine node whose bias b = x_t W_ih^T + b_ih + b_hh (the input drive gx_t plus b_hh).",
        highlight=False,
    )
    console.print(
        _side_by_side(
            "one RNN step, composed and fused",
            _tree(L, names=names, module=cell),
            _tree(L_fused, names=fused_names, module=fused_cell),
        )
    )
    console.print(
        _trace_table(fused_trace, names=fused_names, module=fused_cell, title="backward trace, fused")
    )
    say(console, "Walking the fused trace, op by op (tanh_affine's derivative is written out by hand):")
    walk_trace(console, fused_trace, fused_names, fused_cell, show_values=False)
    fused_error = _fused_against_composed(
        console,
        "h_next, dL/dh_prev",
        {"h_next": h_next.data, "h_prev.grad": h.grad},
        cell,
        {"h_next": h_next_fused.data, "h_prev.grad": h_fused.grad},
        fused_cell,
    )
    graph = viz.collect_graph(L)
    return {
        "nodes": len(graph.tensors),
        "edges": len(graph.edges),
        "trace_steps": len(trace),
        "ops": _op_counts(L),
        "h_prev_grad_error_vs_hand": carried,
        "leaf_norm_mismatch": _leaf_check(trace, dict(cell.named_parameters())),
        "fused": _fused_summary(L_fused, fused_trace, fused_error),
    }


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def lstm_step(console: Console, rng: np.random.Generator, seed: int, verbose: bool) -> dict:
    """(h', c') = LSTMCell(x, (h, c)), L = sum(h' * v) + sum(c' * w); composed, then fused."""
    cell = nn.LSTMCell(3, 4, rng=seed)
    x = Tensor(rng.standard_normal((2, 3)))
    h = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    c = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    v, w = Tensor(rng.standard_normal((2, 4))), Tensor(rng.standard_normal((2, 4)))

    def step(module: nn.Module, h_prev: Tensor, c_prev: Tensor) -> tuple[Tensor, dict, viz.BackwardTrace]:
        h_next, c_next = module(x, (h_prev, c_prev))
        L = (h_next * v).sum() + (c_next * w).sum()
        names = {
            x: "x_t",
            h_prev: "h_prev",
            c_prev: "c_prev",
            v: "v",
            w: "w",
            h_next: "h_next",
            c_next: "c_next",
        }
        with viz.trace_backward() as trace:
            L.backward()
        return L, names, trace

    say(
        console,
        "\n[bold]3. One LSTM step[/bold] (nn.LSTMCell): gates i, f, g, o from one (B, 4H) pre-activation, "
        "c_next = f * c_prev + i * g, h_next = o * tanh(c_next); L = sum(h_next * v) + sum(c_next * w)",
    )
    L, names, trace = step(cell, h, c)
    say(
        console,
        "Composed: the four gates are four index nodes (slices of one add) and four activations; the "
        "cell update is mul, mul, add; the output mul and tanh.",
        highlight=False,
    )
    console.print(_tree(L, names=names, module=cell, trace=trace))
    console.print(
        _trace_table(trace, names=names, module=cell, title="backward trace of one composed LSTM step")
    )
    if verbose:
        walk_trace(console, trace, names, cell, show_values=False)

    # dL/dc_prev by hand: c_prev reaches L only through c_next = f * c_prev + i * g, so it gets
    # dL/dc_next * f, where dL/dc_next = w + v * o * (1 - tanh(c_next)^2).
    H = 4
    pre = (
        x.data @ cell.weight_ih.data.T
        + cell.bias_ih.data
        + h.data @ cell.weight_hh.data.T
        + cell.bias_hh.data
    )
    i, f, g, o = (
        _sigmoid(pre[:, :H]),
        _sigmoid(pre[:, H : 2 * H]),
        np.tanh(pre[:, 2 * H : 3 * H]),
        _sigmoid(pre[:, 3 * H :]),
    )
    c_next = f * c.data + i * g
    by_hand = (w.data + v.data * o * (1 - np.tanh(c_next) ** 2)) * f
    carried = float(np.max(np.abs(c.grad - by_hand)))
    console.print(
        panel(
            "dL/dc_prev = (w + v * o * (1 - tanh(c_next)**2)) * f, computed by hand with numpy, differs "
            f"from c_prev.grad by at most {carried:.1e}.\nThe cell state's path back in time multiplies by "
            "the forget gate f, with no W_hh and no tanh slope in it: where f is near 1 the gradient "
            "passes many steps almost unchanged (seed article 004: gated units).",
            "the cell state's message passed back in time",
        )
    )

    fused_cell = _twin(cell, lambda **kw: nn.LSTMCell(3, 4, **kw))
    h_fused = Tensor(h.data.copy(), requires_grad=True)
    c_fused = Tensor(c.data.copy(), requires_grad=True)
    L_fused, fused_names, fused_trace = step(fused_cell, h_fused, c_fused)
    say(
        console,
        "\nThe same step with [bold]fused=True[/bold]: the matmul, the bias and the four activations are "
        "one affine_gates node; the gates are slices of its output.",
        highlight=False,
    )
    console.print(
        _side_by_side(
            "one LSTM step, composed and fused",
            _tree(L, names=names, module=cell),
            _tree(L_fused, names=fused_names, module=fused_cell),
        )
    )
    console.print(
        _trace_table(fused_trace, names=fused_names, module=fused_cell, title="backward trace, fused")
    )
    fused_error = _fused_against_composed(
        console,
        "L, dL/dh_prev, dL/dc_prev",
        {"L": L.data, "h_prev.grad": h.grad, "c_prev.grad": c.grad},
        cell,
        {"L": L_fused.data, "h_prev.grad": h_fused.grad, "c_prev.grad": c_fused.grad},
        fused_cell,
    )
    return {
        "nodes": len(viz.collect_graph(L).tensors),
        "trace_steps": len(trace),
        "ops": _op_counts(L),
        "c_prev_grad_error_vs_hand": carried,
        "fused": _fused_summary(L_fused, fused_trace, fused_error),
    }


def time_steps(console: Console, size: str, seed: int) -> dict:
    """Median time of one step, forward alone and forward + backward, for each cell in each form."""
    repeats = TIMING_REPEATS.get(size, TIMING_REPEATS["quick"])
    B, I, H = TIMING_SIZES["batch"], TIMING_SIZES["input"], TIMING_SIZES["hidden"]
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((B, I)))
    h0, c0 = Tensor(rng.standard_normal((B, H))), Tensor(rng.standard_normal((B, H)))
    v = Tensor(rng.standard_normal((B, H)))
    forms = {}
    for cell_name, make, state in (
        ("RNNCell", lambda **kw: nn.RNNCell(I, H, rng=seed, **kw), h0),
        ("LSTMCell", lambda **kw: nn.LSTMCell(I, H, rng=seed, **kw), (h0, c0)),
    ):
        for fused in (False, True):
            cell = make(fused=fused)
            forward_times, total_times = [], []
            for _ in range(repeats):
                cell.zero_grad()
                start = time.perf_counter()
                out = cell(x, state)
                L = ((out[0] if isinstance(out, tuple) else out) * v).sum()
                middle = time.perf_counter()
                L.backward()
                end = time.perf_counter()
                forward_times.append(middle - start)
                total_times.append(end - start)
            forms[f"{cell_name}{' fused' if fused else ''}"] = {
                "nodes": sum(_op_counts(L).values()),
                "forward_us": 1e6 * float(np.median(forward_times)),
                "forward_backward_us": 1e6 * float(np.median(total_times)),
            }
    rows = []
    for name, numbers in forms.items():
        composed = forms[name.removesuffix(" fused")]
        speedup = composed["forward_backward_us"] / numbers["forward_backward_us"]
        rows.append(
            [
                name,
                numbers["nodes"],
                f"{numbers['forward_us']:.0f}",
                f"{numbers['forward_backward_us']:.0f}",
                "" if name == name.removesuffix(" fused") else f"{speedup:.2f}x",
            ]
        )
    console.print(
        table(
            f"\n4. Time per step (batch {B}, input {I}, hidden {H}, float64; median of {repeats} runs)",
            ["cell", "op nodes", "forward µs", "forward + backward µs", "fused speed-up"],
            rows,
            caption="measured now, on this machine; other processes make them swing (make bench measures "
            "with care). op nodes: ops recorded by one step with its loss sum(h * v).",
        )
    )
    console.print(panel(_fusion_reading(forms), "composed or fused"))
    return {"repeats": repeats, "sizes": dict(TIMING_SIZES), "forms": forms}


def memory_after_backward(console: Console, seed: int) -> dict:
    """What an RNN's graph holds (tracemalloc, MiB) after forward, after backward, and without the loss."""
    rnn = nn.RNN(64, 64, rng=seed)
    x = np.random.default_rng(seed).standard_normal((50, 32, 64))
    tracemalloc.start()
    try:
        held = []
        for stage in ("start", "forward", "backward", "del loss"):
            if stage == "forward":
                loss = rnn(x)[0].sum()
            elif stage == "backward":
                loss.backward()
            elif stage == "del loss":
                del loss
            gc.collect()
            held.append(tracemalloc.get_traced_memory()[0] / 2**20)
    finally:
        tracemalloc.stop()
    mib = {stage: held[k] - held[0] for k, stage in enumerate(("forward", "backward", "del loss"), 1)}
    console.print(
        table(
            "\n5. Memory held by nn.RNN(64, 64) on (50, 32, 64), float64 (tracemalloc, MiB)",
            ["after", "MiB"],
            [["loss = rnn(x)[0].sum()", f"{mib['forward']:.2f}"],
             ["loss.backward()", f"{mib['backward']:.2f}"], ["del loss", f"{mib['del loss']:.2f}"]],
            caption="backward() lets go of every activation that only the graph held (as PyTorch): what "
            "stays is the gradients, plus the graph's outline (viz can still draw it) until the loss goes.",
        )
    )  # fmt: skip
    return mib


def _fusion_reading(forms: dict[str, dict]) -> str:
    """The timing panel: why frameworks fuse, and what the measured speed-ups say here (not more)."""
    measured = []
    for name in ("RNNCell", "LSTMCell"):
        composed, fused = forms[name], forms[f"{name} fused"]
        speedup = composed["forward_backward_us"] / fused["forward_backward_us"]
        nodes = f"{fused['nodes']} op nodes against {composed['nodes']}"
        if speedup >= 1.1:
            measured.append(f"the fused {name} step took less time ({speedup:.2f}x; {nodes})")
        elif speedup > 1 / 1.1:
            measured.append(f"the fused {name} step took about as long ({speedup:.2f}x, {nodes})")
        else:
            measured.append(f"the fused {name} step took longer ({speedup:.2f}x, though {nodes})")
    return (
        "Why frameworks fuse: a fused op makes fewer graph nodes and keeps fewer arrays, and its backward "
        "is one formula written by hand instead of a chain of small ones: less bookkeeping per step. "
        f"Whether that shows as time depends on the sizes and on the machine. Measured here, now: "
        f"{'; '.join(measured)}. Fewer nodes need not mean less time: the fused op does the same numpy "
        "work, and a timing on a busy machine swings by more than 10% (make bench measures with care). "
        "The price of fusing is a second copy of the calculus, which can be wrong where the composed form "
        "cannot: the composed form is the reference, and the tests check the fused forms against it, as "
        "this demo did above."
    )


def run(args: argparse.Namespace, console: Console) -> dict:
    rng = np.random.default_rng(args.seed)
    verbose = args.size == "full"
    expression = small_expression(console, rng, verbose)
    path = dot_path(args)
    step = rnn_step(console, rng, args.seed, verbose, path)
    lstm = lstm_step(console, rng, args.seed, verbose)
    timing = time_steps(console, args.size, args.seed)
    memory = memory_after_backward(console, args.seed)
    return {
        "nodes": step["nodes"],
        "edges": step["edges"],
        "dot_path": path,
        "expression": expression,
        "rnn_step": step,
        "lstm_step": lstm,
        "timing": timing,
        "memory_mib": memory,
    }
