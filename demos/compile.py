"""From graph to program: jit writes the forward and backward pass out as numpy code.

Seed 001 derives backpropagation through time by hand for s_t = tanh(U x_t + W s_(t-1)),
o_t = V s_t:

    dE/ds_t = V^T (p_t - y_t) + W^T dE/dz_(t+1),   dE/dz_t = dE/ds_t * (1 - s_t^2),
    dE/dW   = sum_t dE/dz_t s_(t-1)^T.

``tinygrad_rnn.jit`` gets the same program without anyone deriving it: it traces the
composed forward pass, asks each op for its backward (recorded as ops too), and
writes the lot as Python over numpy. This demo prints that program for a 3-step
RNN and for one LSTM step, beside the seed's equations and the hand-derived numpy
reference (benchmarks/numpy_reference.py), then measures what each compiler pass
saves on an LSTM language-model step: lines of code, time per step, peak memory.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import statistics
import time
import tracemalloc

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

import tinygrad_rnn.nn.functional as F
from benchmarks import numpy_reference
from demos._ui import panel, table
from tinygrad_rnn import Tensor, jit, nn, stack
from tinygrad_rnn.compiler import passes as compiler_passes

NAME = "compile"
SUMMARY = (
    "jit: a 3-step RNN and an LSTM step as generated numpy code, beside seed 001's BPTT; what each pass saves"
)

INPUT, HIDDEN, CLASSES, STEPS = 2, 3, 2, 3
# The LSTM language model whose step the passes are measured on (the full size is make bench's lstm-lm).
SIZES = {
    "full": dict(vocab=65, embedding=64, hidden=256, steps=64, batch=32, repeats=9),
    "quick": dict(vocab=20, embedding=16, hidden=64, steps=24, batch=16, repeats=9),
    "smoke": dict(vocab=5, embedding=3, hidden=4, steps=3, batch=2, repeats=1),
}


def seed001_rnn(seed: int) -> tuple[dict[str, Tensor], np.ndarray, np.ndarray]:
    """Seed 001's RNN (U, W, V) and one sequence of STEPS inputs and target classes."""
    rng = np.random.default_rng(seed)
    weights = {
        "U": Tensor(rng.normal(0, 0.8, (HIDDEN, INPUT)), requires_grad=True),
        "W": Tensor(rng.normal(0, 0.8, (HIDDEN, HIDDEN)), requires_grad=True),
        "V": Tensor(rng.normal(0, 0.8, (CLASSES, HIDDEN)), requires_grad=True),
    }
    return weights, rng.normal(0, 1, (STEPS, 1, INPUT)), rng.integers(0, CLASSES, STEPS)


def fit(source: str, width: int) -> str:
    """The program as printed: each comment two spaces after its code, or on the line above
    when the line would be wider than the terminal."""
    lines = []
    for line in source.splitlines():
        code, _, comment = line.partition("  # ")
        code = code.rstrip()
        if not comment:
            lines.append(line)
        elif len(code) + 4 + len(comment) <= width:
            lines.append(f"{code}  # {comment}")
        else:
            indent = code[: len(code) - len(code.lstrip())]
            lines += [f"{indent}# {comment}", code]
    return "\n".join(lines)


def show_program(console: Console, title: str, source: str) -> None:
    console.print(f"[bold]{escape(title)}[/bold]")
    console.print(Syntax(fit(source, console.width - 4), "python", word_wrap=True, theme="ansi_dark"))


def rnn_section(console: Console, seed: int) -> dict:
    weights, xs, ys = seed001_rnn(seed)
    U, W, V = weights["U"], weights["W"], weights["V"]

    def seed001_loss(x, y):
        s = Tensor(np.zeros((1, HIDDEN)))  # s_0 = 0, as in the seed
        outputs = []
        for t in range(STEPS):
            s = (x[t] @ U.T + s @ W.T).tanh()  # s_t = tanh(U x_t + W s_(t-1))
            outputs.append(s @ V.T)  # o_t = V s_t
        return F.cross_entropy(stack(outputs).reshape(STEPS, CLASSES), y, reduction="sum")

    step = jit(seed001_loss)
    x = Tensor(xs)
    compiled = step(x, ys)
    compiled.backward()
    grads = {name: w.grad.copy() for name, w in weights.items()}
    for w in weights.values():
        w.grad = None
    eager = seed001_loss(x, ys)
    eager.backward()
    worst = max(float(np.max(np.abs(grads[name] - w.grad))) for name, w in weights.items())
    worst = max(worst, abs(compiled.item() - eager.item()))
    show_program(
        console, f"The generated program of seed 001's RNN, {STEPS} steps (step.source)", step.source
    )
    pairs = [
        ("d_tanh_t = (d_add_(t+1) @ W) + (d_matmul_t @ V)", "dE/ds_t = W^T dE/dz_(t+1) + V^T (p_t - y_t)"),
        ("d_add_t = d_tanh_t * (1 - tanh_t * tanh_t)", "dE/dz_t = dE/ds_t * (1 - s_t^2)"),
        ("d_W: one matmul of the stacked rows", "dE/dW = sum_t dE/dz_t s_(t-1)^T"),
    ]
    lines = [f"{code}\n    seed 001: {equation}" for code, equation in pairs]
    lines.append(
        f"Compiled against the eager engine: largest difference {worst:.1e} (the loss, dE/dU, dE/dW, dE/dV)."
    )
    console.print(panel("\n".join(lines), "Seed 001's BPTT, found in the generated backward"))
    reference = inspect.getsource(numpy_reference.rnn_layer).split("def backward", 1)[1]
    show_program(console, "The hand-derived numpy reference (benchmarks/numpy_reference.py, rnn_layer)",
                 "def backward" + reference)  # fmt: skip
    return {"lines": step.program.count(), "max_abs_diff_vs_eager": worst}


def lstm_section(console: Console, seed: int) -> dict:
    cell = nn.LSTMCell(INPUT, HIDDEN, rng=seed)
    rng = np.random.default_rng(seed + 1)
    x, h, c = (Tensor(rng.normal(0, 1, (1, n)), requires_grad=True) for n in (INPUT, HIDDEN, HIDDEN))
    step = jit(lambda x, h, c: cell(x, (h, c)))
    step(x, h, c)
    show_program(console, "One LSTM step (nn.LSTMCell), forward and backward", step.source)
    return {"lines": step.program.count()}


def language_model(size: dict, seed: int):
    """The lstm-lm of make bench (smaller in quick mode): a loss function and one batch."""
    rng = np.random.default_rng(seed)
    embedding = nn.Embedding(size["vocab"], size["embedding"], rng=rng, dtype=np.float32)
    lstm = nn.LSTM(size["embedding"], size["hidden"], rng=rng, dtype=np.float32)
    head = nn.Linear(size["hidden"], size["vocab"], rng=rng, dtype=np.float32)
    tokens = rng.integers(0, size["vocab"], (size["steps"], size["batch"]))
    targets = rng.integers(0, size["vocab"], (size["steps"], size["batch"]))
    params = [*embedding.parameters(), *lstm.parameters(), *head.parameters()]

    def loss_fn(tokens, targets):
        logits = head(lstm(embedding(tokens))[0])
        return F.cross_entropy(logits.reshape(-1, size["vocab"]), targets.reshape(-1))

    return loss_fn, tokens, targets, params


def time_and_memory(run, repeats: int) -> tuple[float, float]:
    """Median ms of ``run`` over ``repeats`` samples, and the peak MiB one run allocates."""
    run()
    samples = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    gc.collect()
    tracemalloc.start()
    try:
        run()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return statistics.median(samples), peak


PIPELINE = [
    ("no passes", None),
    ("simplify", compiler_passes.simplify),
    ("dead_code", compiler_passes.dead_code),
    ("common_subexpressions", compiler_passes.common_subexpressions),
    ("buffer_writes", compiler_passes.buffer_writes),
    ("stacked_weight_gradients", compiler_passes.stacked_weight_gradients),
    ("plan_memory", compiler_passes.plan_memory),
]


def passes_section(console: Console, size_name: str, seed: int) -> dict:
    size = SIZES[size_name]
    loss_fn, tokens, targets, params = language_model(size, seed)
    rows, records = [], []

    def step_of(fn):
        def run():
            for p in params:
                p.grad = None
            fn(tokens, targets).backward()

        return run

    eager_ms, eager_mib = time_and_memory(step_of(loss_fn), size["repeats"])
    chosen = []
    for name, compiler_pass in PIPELINE:
        if compiler_pass is not None:
            chosen.append(compiler_pass)
        step = jit(loss_fn)
        saved = compiler_passes.PASSES[:]
        compiler_passes.PASSES[:] = chosen  # trace with exactly these passes
        try:
            step(tokens, targets)
        finally:
            compiler_passes.PASSES[:] = saved
        program = step.program
        ms, mib = time_and_memory(step_of(step), size["repeats"])
        records.append({"pass": name, "lines": program.count(), "ms": ms, "peak_mib": mib})
        rows.append([f"+ {name}" if compiler_pass else name, program.count(), f"{ms:.1f}", f"{mib:.1f}"])
    rows.append(["eager (composed, no jit)", "—", f"{eager_ms:.1f}", f"{eager_mib:.1f}"])
    setting = (
        f"V={size['vocab']} E={size['embedding']} H={size['hidden']} T={size['steps']} B={size['batch']} "
        "float32"
    )
    console.print(
        table(
            f"What each pass saves: one LSTM language-model step ({setting}), forward + backward",
            ["passes so far", "lines", "ms per step", "peak MiB"],
            rows,
            caption="Lines: statements of the generated program. ms: median of "
            f"{size['repeats']} steps on this machine. Peak MiB: tracemalloc during one step.",
        )
    )
    first, last = records[0], records[-1]
    console.print(
        panel(
            f"All passes: {first['lines']} -> {last['lines']} lines, {first['ms']:.1f} -> "
            f"{last['ms']:.1f} ms, {first['peak_mib']:.1f} -> {last['peak_mib']:.1f} MiB; the eager "
            f"engine takes {eager_ms:.1f} ms and {eager_mib:.1f} MiB for the same step.",
            "The passes, measured",
        )
    )
    return {"setting": setting, "passes": records, "eager_ms": eager_ms, "eager_peak_mib": eager_mib}


def run(args: argparse.Namespace, console: Console) -> dict:
    rnn = rnn_section(console, args.seed)
    lstm = lstm_section(console, args.seed)
    measured = passes_section(console, args.size, args.seed)
    return {"rnn3": rnn, "lstm_step": lstm, **measured}
