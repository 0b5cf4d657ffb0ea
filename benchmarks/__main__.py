"""`make bench`: milliseconds per training step of tinygrad_rnn (three forms), numpy and PyTorch.

    python -m benchmarks [--rounds N] [--quick] [--only NAME ...] [--json PATH] [--no-torch] [--tiny]

Every benchmark times one SGD training step (forward, mean cross-entropy,
full BPTT, SGD update) of the same model, from the same parameters, five
ways: tinygrad_rnn composed (the default: every recurrent step built from
primitive ops), tinygrad_rnn fused (``fused=True`` on the recurrent layer),
tinygrad_rnn compiled (the composed loss through ``jit``; its trace and compile
time is reported apart), the hand-derived numpy step
(benchmarks/numpy_reference.py) and PyTorch on the CPU when it is installed
(`make parity` installs it).

The implementations run interleaved: every round times each of them once,
in an order that rotates from round to round, so a machine that is busier
in one moment slows all of them alike. Reported are the median time per
step over the rounds and, for the ratios, the median of the per-round
ratios (a ratio taken within one round cancels most of the machine's noise).
Each benchmark's targets (models.SPECS) are checked against those ratios.

Also measured: the engine's cost per graph node (a chain of adds and
multiplies on shape-(2,) tensors, forward + backward, divided by the chain's
length: pure bookkeeping, no arithmetic to speak of), and the peak memory
allocated during one lstm-lm step of each form (tracemalloc, which numpy reports to),
against the compiler's target: compiled <= 1.3x the numpy reference.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.models import (
    COMPILED,
    COMPOSED,
    FUSED,
    SPECS,
    BenchSpec,
    engine_trainer,
    make_batch,
    numpy_trainer,
    torch_available,
    torch_trainer,
)
from tinygrad_rnn import Tensor

SCHEMA = "tinygrad_rnn-bench/3"
ENGINE, NUMPY, TORCH = "tinygrad_rnn", "numpy", "torch"
IMPLEMENTATIONS = (COMPOSED, FUSED, COMPILED, NUMPY, TORCH)
# The ratios printed and stored for every benchmark: numerator / denominator.
RATIOS = (
    (COMPOSED, FUSED), (COMPOSED, NUMPY), (FUSED, NUMPY), (COMPILED, NUMPY),
    (COMPOSED, TORCH), (FUSED, TORCH), (COMPILED, TORCH),
)  # fmt: skip
MEMORY_TARGET = 1.3  # compiled lstm-lm step's peak memory <= 1.3x the numpy reference's
MIN_SAMPLE_MS = 50.0  # each timed sample repeats the step until it lasts about this long
MAX_REPEATS = 200
WARM_UP_STEPS = 5


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, for a first look")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this benchmark (repeatable): " + ", ".join(spec.name for spec in SPECS),
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH as JSON")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if installed")
    parser.add_argument(
        "--tiny", action="store_true", help="shrink every model to a few units (tests the harness only)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 3
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    names = [spec.name for spec in SPECS]
    for name in args.only or []:
        if name not in names:
            parser.error(f"--only: unknown benchmark {name!r}; choose from {', '.join(names)}")
    return args


# ---- timing ----------------------------------------------------------------------------------------
def time_per_step_ms(step: Callable[[], Any], repeats: int) -> float:
    gc.collect()  # start every sample with no garbage left by the previous one
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) * 1000 / repeats


def warm_up(step: Callable[[], Any], steps: int) -> None:
    """Run a few steps untimed: torch's first steps are many times slower than later ones."""
    for _ in range(steps):
        step()


def repeats_for(step: Callable[[], Any], min_sample_ms: float) -> int:
    """How many steps make one sample last about min_sample_ms."""
    once = time_per_step_ms(step, 1)
    return max(1, min(MAX_REPEATS, math.ceil(min_sample_ms / max(once, 1e-3))))


def ratio_name(numerator: str, denominator: str) -> str:
    return f"{numerator}/{denominator}"


def median_ratio(samples: dict[str, list[float]], numerator: str, denominator: str) -> float | None:
    """The median over rounds of numerator's time / denominator's time in the same round."""
    if numerator not in samples or denominator not in samples:
        return None
    return statistics.median(a / b for a, b in zip(samples[numerator], samples[denominator]))


def run_benchmark(
    spec: BenchSpec,
    rounds: int,
    use_torch: bool,
    min_sample_ms: float = MIN_SAMPLE_MS,
    warm_up_steps: int = WARM_UP_STEPS,
) -> dict[str, Any]:
    inputs, targets = make_batch(spec, seed=0)
    composed = engine_trainer(spec, inputs, targets, seed=0)
    params = composed.model.state_dict()  # the others start from the composed model's exact numbers
    trainers = {
        COMPOSED: composed,
        FUSED: engine_trainer(spec, inputs, targets, seed=0, fused=True),
        COMPILED: engine_trainer(spec, inputs, targets, seed=0, compiled=True),
        NUMPY: numpy_trainer(spec, params, inputs, targets),
    }
    if use_torch:
        trainers[TORCH] = torch_trainer(spec, params, inputs, targets)
    # Everything alive now (torch's large module graph above all) is moved out of the
    # collector's sight, so a full collection during a sample scans only the step's own garbage.
    gc.collect()
    gc.freeze()
    try:
        # The first step of each starts from the same parameters: their losses must agree.
        # The compiled trainer's first step traces and compiles: timed apart.
        first_loss = {}
        for name, trainer in trainers.items():
            start = time.perf_counter()
            first_loss[name] = trainer.step()
            if name == COMPILED:
                compile_seconds = time.perf_counter() - start
        for trainer in trainers.values():
            warm_up(trainer.step, warm_up_steps)
        repeats = {name: repeats_for(trainer.step, min_sample_ms) for name, trainer in trainers.items()}
        names = list(trainers)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for r in range(rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(time_per_step_ms(trainers[name].step, repeats[name]))
    finally:
        gc.unfreeze()

    ratios = {ratio_name(a, b): median_ratio(samples, a, b) for a, b in RATIOS}
    checked = []
    for target in spec.targets:
        value = median_ratio(samples, target.form, target.baseline)
        met = None if value is None else target.met_by(value)
        checked.append({**dataclasses.asdict(target), "text": target.text, "ratio": value, "met": met})
    return {
        "name": spec.name,
        "setting": spec.setting,
        "dtype": spec.dtype,
        "first_loss": first_loss,
        "steps_per_sample": repeats,
        "samples_ms": samples,
        "median_ms": {name: statistics.median(samples[name]) if name in samples else None
                      for name in IMPLEMENTATIONS},
        "ratios": ratios,
        "targets": checked,
        "compile_s": compile_seconds,  # the compiled trainer's first step: trace, passes, codegen
    }  # fmt: skip


# ---- engine overhead and memory ------------------------------------------------------------------
def engine_chain(nodes: int) -> Callable[[], None]:
    """Forward + backward through ``nodes`` ops (alternating * and +) on shape-(2,) tensors.

    y <- y * w + w with w = 0.5 stays near 1, so nothing overflows however long the chain.
    """
    x = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    w = Tensor(np.array([0.5, 0.5]), requires_grad=True)
    seed_grad = np.ones(2)

    def run() -> None:
        y = x
        for _ in range(nodes // 2):
            y = y * w
            y = y + w
        y.backward(seed_grad)

    return run


def torch_chain(nodes: int) -> Callable[[], None]:
    import torch

    x = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.5, 0.5], dtype=torch.float64, requires_grad=True)
    seed_grad = torch.ones(2, dtype=torch.float64)

    def run() -> None:
        y = x
        for _ in range(nodes // 2):
            y = y * w
            y = y + w
        y.backward(seed_grad)

    return run


def node_overhead_us(nodes: int, rounds: int, use_torch: bool) -> dict[str, Any]:
    """Median µs per graph node (forward + backward), interleaved like the step benchmarks."""
    chains = {ENGINE: engine_chain(nodes)}
    if use_torch:
        chains[TORCH] = torch_chain(nodes)
    for run in chains.values():
        run()  # warm up
    gc.collect()
    gc.freeze()  # as in run_benchmark
    samples: dict[str, list[float]] = {name: [] for name in chains}
    for _ in range(max(rounds, 5)):
        for name, run in chains.items():
            samples[name].append(time_per_step_ms(run, 1) * 1000 / nodes)
    gc.unfreeze()
    result: dict[str, Any] = {"nodes": nodes, TORCH: None}
    result.update({name: statistics.median(values) for name, values in samples.items()})
    return result


def peak_memory_mib(trainer: Any) -> float:
    """Peak memory allocated (beyond what was already held) during one training step."""
    trainer.step()
    gc.collect()
    tracemalloc.start()
    try:
        trainer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def lstm_peak_memory(spec: BenchSpec) -> dict[str, Any]:
    inputs, targets = make_batch(spec, seed=0)
    composed = engine_trainer(spec, inputs, targets, seed=0)
    fused = engine_trainer(spec, inputs, targets, seed=0, fused=True)
    compiled = engine_trainer(spec, inputs, targets, seed=0, compiled=True)
    numpy_step = numpy_trainer(spec, composed.model.state_dict(), inputs, targets)
    memory = {
        "benchmark": spec.name,
        COMPOSED: peak_memory_mib(composed),
        FUSED: peak_memory_mib(fused),
        COMPILED: peak_memory_mib(compiled),
        NUMPY: peak_memory_mib(numpy_step),
    }
    program = compiled.loss_of.program
    memory["compiled_program_estimate"] = compiled.loss_of._latest.generated.peak_bytes / 2**20
    memory["compiled_lines"] = program.count()
    return memory


# ---- report --------------------------------------------------------------------------------------
def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _load(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f} (1 min)"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _met(value: bool | None) -> str:
    return {True: "[green]yes[/green]", False: "[red]no[/red]", None: "— (no torch)"}[value]


def times_table(results: list[dict[str, Any]]) -> Table:
    """Median ms per step of the four implementations, side by side."""
    title = "ms per training step (forward, cross-entropy, BPTT, SGD): medians of interleaved rounds"
    table = Table(title=title)
    table.add_column("benchmark", no_wrap=True)
    table.add_column("setting")  # the only column that may wrap on a narrow terminal
    for name in IMPLEMENTATIONS:
        table.add_column(f"{name} ms", justify="right", no_wrap=True)
    for row in results:
        table.add_row(row["name"], row["setting"], *[_ms(row["median_ms"][name]) for name in IMPLEMENTATIONS])
    return table


def ratios_table(results: list[dict[str, Any]]) -> Table:
    """The medians of per-round ratios, and each benchmark's targets with whether they are met."""
    table = Table(title="time ratios (medians of per-round ratios) and targets")
    table.add_column("benchmark", no_wrap=True)
    for numerator, denominator in RATIOS:
        table.add_column(ratio_name(numerator, denominator), justify="right", no_wrap=True)
    table.add_column("targets: met?")
    for row in results:
        verdicts = "\n".join(f"{target['text']}: {_met(target['met'])}" for target in row["targets"])
        table.add_row(row["name"], *[_ratio(row["ratios"][ratio_name(a, b)]) for a, b in RATIOS], verdicts)
    return table


def machine_info(use_torch: bool) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": None,
        "torch_threads": None,
        # Other processes competing for the cores slow BLAS-heavy steps most; say how busy it was.
        "load_average_1min_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    if use_torch:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:  # a file or pipe: do not squeeze the table into 80 columns
        console = Console(width=140)
    use_torch = torch_available() and not args.no_torch
    specs = [spec for spec in SPECS if not args.only or spec.name in args.only]
    if args.tiny:
        specs = [spec.tiny() for spec in specs]
    machine = machine_info(use_torch)
    torch_text = (
        f"torch {machine['torch']} with {machine['torch_threads']} threads (its default)"
        if use_torch
        else "torch not installed (`make parity` installs it): no torch column"
    )
    console.print(
        f"[bold]tinygrad_rnn benchmarks[/bold]: {machine['cpu_count']} CPU cores (os.cpu_count()), "
        f"Python {machine['python']}, numpy {machine['numpy']}, {torch_text}; {args.rounds} rounds; "
        f"load average {_load(machine['load_average_1min_at_start'])}"
    )
    results = []
    for spec in specs:
        console.print(f"  running {spec.name} ({spec.setting}) ...")
        if args.tiny:  # tiny models only test the harness: one step per sample, one warm-up step
            results.append(run_benchmark(spec, args.rounds, use_torch, min_sample_ms=0.0, warm_up_steps=1))
        else:
            results.append(run_benchmark(spec, args.rounds, use_torch))
    console.print(times_table(results))
    console.print(ratios_table(results))
    for row in results:
        losses = list(row["first_loss"].values())
        if max(losses) - min(losses) > 1e-3 * max(1.0, abs(losses[0])):
            console.print(f"[red]warning[/red]: {row['name']}: first-step losses differ: {row['first_loss']}")

    overhead = node_overhead_us(20 if args.tiny else 1000, args.rounds, use_torch)
    torch_overhead = f", torch {overhead[TORCH]:.2f} µs" if overhead[TORCH] is not None else ""
    console.print(
        f"engine overhead per graph node (forward + backward, chain of {overhead['nodes']} ops on "
        f"shape-(2,) tensors): tinygrad_rnn {overhead[ENGINE]:.2f} µs{torch_overhead}"
    )
    lstm = next(spec for spec in SPECS if spec.name == "lstm-lm")
    memory = lstm_peak_memory(lstm.tiny() if args.tiny else lstm)
    memory_ratio = memory[COMPILED] / memory[NUMPY]
    console.print(
        f"peak memory allocated during one {memory['benchmark']} step (tracemalloc): "
        f"composed {memory[COMPOSED]:.1f} MiB, fused {memory[FUSED]:.1f} MiB, "
        f"compiled {memory[COMPILED]:.1f} MiB (the program's own estimate "
        f"{memory['compiled_program_estimate']:.1f}), numpy reference {memory[NUMPY]:.1f} MiB; "
        f"compiled/numpy {memory_ratio:.2f}x (target <= {MEMORY_TARGET}x: "
        f"{_met(memory_ratio <= MEMORY_TARGET)})"
    )
    console.print(
        "trace + compile time of the compiled step (its first call): "
        + ", ".join(f"{row['name']} {row['compile_s']:.2f} s" for row in results)
    )
    machine["load_average_1min_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    console.print(f"load average at the end: {_load(machine['load_average_1min_at_end'])}")
    report = {
        "schema": SCHEMA,
        "machine": machine,
        "rounds": args.rounds,
        "tiny": args.tiny,
        "benchmarks": results,
        "node_overhead_us": overhead,
        "peak_memory_mib": memory,
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
        console.print(f"results written to {args.json}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
