"""Engine overhead per graph node, two source trees side by side in one process.

    python -m benchmarks.compare_trees OLD_TREE NEW_TREE [--rounds N]

Each TREE is a directory holding a ``tinygrad_rnn`` package, e.g. an older commit
checked out with ``git worktree add /tmp/first 79dda40``. Both engines are
imported (one after the other, under the same package name) and run the
benchmark's chain of 1000 tiny ops in alternation, so both see the same machine
load; the minimum over rounds is the steadiest figure on a shared machine.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

NODES = 1000


def load_engine(tree: str) -> type:
    """The Tensor class of the tinygrad_rnn package in ``tree`` (a fresh import)."""
    for name in [m for m in sys.modules if m == "tinygrad_rnn" or m.startswith("tinygrad_rnn.")]:
        del sys.modules[name]  # the other tree's modules keep working: their functions hold them
    sys.path.insert(0, os.path.abspath(tree))
    try:
        package = importlib.import_module("tinygrad_rnn")
    finally:
        sys.path.pop(0)
    if not os.path.abspath(package.__file__).startswith(os.path.abspath(tree) + os.sep):
        raise SystemExit(f"compare_trees: {tree} has no tinygrad_rnn package (found {package.__file__})")
    return package.Tensor


def chain(tensor_class: type) -> Callable[[], tuple[float, float]]:
    """The chain of benchmarks.__main__.engine_chain; returns (forward, backward) µs per node."""
    x = tensor_class(np.array([0.3, -0.2]), requires_grad=True)
    w = tensor_class(np.array([0.5, 0.5]), requires_grad=True)
    seed_grad = np.ones(2)

    def run() -> tuple[float, float]:
        start = time.perf_counter()
        y = x
        for _ in range(NODES // 2):
            y = y * w
            y = y + w
        middle = time.perf_counter()
        y.backward(seed_grad)
        end = time.perf_counter()
        return (middle - start) * 1e6 / NODES, (end - middle) * 1e6 / NODES

    return run


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs=2, metavar="TREE")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    runs = [chain(load_engine(tree)) for tree in args.trees]
    for run in runs:
        for _ in range(3):
            run()  # warm up
    gc.collect()
    gc.freeze()  # as the benchmarks do
    samples: list[list[tuple[float, float]]] = [[] for _ in runs]
    for _ in range(args.rounds):
        for run, values in zip(runs, samples):
            values.append(run())
    gc.unfreeze()
    print(f"{os.cpu_count()} CPU cores, {args.rounds} alternating rounds, µs per node (chain of {NODES} ops)")
    summary = []
    for tree, values in zip(args.trees, samples):
        totals = [f + b for f, b in values]
        figures = {
            "forward_min": min(f for f, _ in values),
            "backward_min": min(b for _, b in values),
            "total_min": min(totals),
            "total_median": statistics.median(totals),
        }
        summary.append(figures)
        print(
            f"  {tree}: forward {figures['forward_min']:.2f} + backward {figures['backward_min']:.2f} "
            f"(minima); total min {figures['total_min']:.2f}, median {figures['total_median']:.2f}"
        )
    print(f"second / first (minima): {summary[1]['total_min'] / summary[0]['total_min']:.2f}")
    return summary


if __name__ == "__main__":
    main()
