"""Engine overhead per graph node, two source trees side by side in one process.

    python -m benchmarks.compare_trees OLD_TREE NEW_TREE [--rounds N] [--max-ratio R]

Each TREE is a directory holding a ``tinygrad_rnn`` package, e.g. an older commit
checked out with ``git worktree add /tmp/first 6c8a7b8``. Both engines are
imported (one after the other, under the same package name), checked to give
the same gradients, and run the benchmark's chain of 1000 tiny ops in
alternation, so both see the same machine load; the minimum over rounds is the
steadiest figure on a shared machine. The Python function calls per node
(counted, so independent of the load) are printed too. ``--max-ratio 1.2`` also says whether the
second tree's cost per node is at most 1.2x the first's.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

NODES = 1000
PACKAGE = "tinygrad_rnn"


def _package_modules() -> dict[str, object]:
    return {name: m for name, m in sys.modules.items() if name == PACKAGE or name.startswith(PACKAGE + ".")}


class Engine:
    """One tree's tinygrad_rnn package, imported under the package's own name.

    Both trees cannot be in sys.modules at once, and an engine may import its own
    modules lazily, inside a function (the current one does, e.g. in bookkeeping);
    such an import must find that engine's module, not the other tree's. So each
    engine keeps its set of modules, and ``activate()`` puts them back in
    sys.modules before the engine runs (outside the timed region).
    """

    def __init__(self, tree: str) -> None:
        for name in _package_modules():
            del sys.modules[name]
        sys.path.insert(0, os.path.abspath(tree))
        try:
            package = importlib.import_module(PACKAGE)
        finally:
            sys.path.pop(0)
        if not os.path.abspath(package.__file__).startswith(os.path.abspath(tree) + os.sep):
            raise SystemExit(f"compare_trees: {tree} has no tinygrad_rnn package (found {package.__file__})")
        self.tree, self.modules, self.tensor_class = tree, _package_modules(), package.Tensor

    def activate(self) -> None:
        for name in _package_modules():
            del sys.modules[name]
        sys.modules.update(self.modules)


def chain(engine: Engine) -> Callable[[], tuple[float, float]]:
    """The chain of benchmarks.__main__.engine_chain; returns (forward, backward) µs per node."""
    x = engine.tensor_class(np.array([0.3, -0.2]), requires_grad=True)
    w = engine.tensor_class(np.array([0.5, 0.5]), requires_grad=True)
    seed_grad = np.ones(2)

    def run() -> tuple[float, float]:
        engine.activate()
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


def calls_per_node(engine: Engine) -> float:
    """Python function calls (builtins included) per node of one chain, counted by cProfile.

    A count, not a time: the same on a busy machine as on a quiet one, so two engines'
    bookkeeping can be compared where the timings swing.
    """
    run = chain(engine)
    run()  # warm up: first-call imports and caches are not per-node costs
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    return pstats.Stats(profiler).total_calls / NODES


def chain_gradients(engine: Engine) -> tuple[np.ndarray, np.ndarray]:
    """d(sum y)/dx and d(sum y)/dw of one fresh chain: both engines must give the same numbers,
    or the comparison would time different work."""
    engine.activate()
    x = engine.tensor_class(np.array([0.3, -0.2]), requires_grad=True)
    w = engine.tensor_class(np.array([0.5, 0.5]), requires_grad=True)
    y = x
    for _ in range(NODES // 2):
        y = y * w + w
    y.backward(np.ones(2))
    return np.asarray(x.grad), np.asarray(w.grad)


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs=2, metavar="TREE")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--max-ratio", type=float, metavar="R", help="also say whether second / first (minima) is at most R"
    )
    args = parser.parse_args(argv)
    engines = [Engine(tree) for tree in args.trees]
    gradients = [chain_gradients(engine) for engine in engines]
    for first, second in zip(gradients[0], gradients[1]):
        if not np.allclose(first, second, rtol=1e-12, atol=0):
            raise SystemExit(f"compare_trees: the two engines' chain gradients differ: {gradients}")
    calls = [calls_per_node(engine) for engine in engines]
    runs = [chain(engine) for engine in engines]
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
        figures["calls_per_node"] = calls[len(summary)]
        summary.append(figures)
        print(
            f"  {tree}: forward {figures['forward_min']:.2f} + backward {figures['backward_min']:.2f} "
            f"(minima); total min {figures['total_min']:.2f}, median {figures['total_median']:.2f}"
        )
    ratio = summary[1]["total_min"] / summary[0]["total_min"]
    print(f"second / first (minima): {ratio:.2f}")
    if args.max_ratio is not None:
        verdict = "met" if ratio <= args.max_ratio else "not met"
        print(f"target second / first <= {args.max_ratio:g}: {verdict}")
    print(
        f"Python function calls per node (cProfile, independent of the load): "
        f"first {calls[0]:.1f}, second {calls[1]:.1f}, second / first {calls[1] / calls[0]:.2f}"
    )
    return summary


if __name__ == "__main__":
    main()
