"""``python -m demos``: list the demos, run one, or run them all (``make demo``).

python -m demos                          # the list
python -m demos NAME [--quick] [--seed N] [--json PATH] [demo options]
python -m demos --all --quick            # every demo, in order
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from types import ModuleType

from rich.console import Console
from rich.table import Table

from demos import bptt, curvature, dependencies, forward, graph, language_model, memory, vanishing

# The registry: one line per demo, in the order `--all` runs them.
DEMOS: list[ModuleType] = [
    forward,
    graph,
    bptt,
    dependencies,
    vanishing,
    language_model,
    memory,
    curvature,
]


def demo_by_name() -> dict[str, ModuleType]:
    return {module.NAME: module for module in DEMOS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demos",
        description="The seed articles' experiments, reproduced with tinygrad_rnn.",
    )
    parser.add_argument("name", nargs="?", help="the demo to run (omit to list them)")
    parser.add_argument("--all", action="store_true", help="run every demo, in order")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="size",
        action="store_const",
        const="quick",
        help="small sizes: seconds to a minute per demo",
    )
    size.add_argument("--smoke", dest="size", action="store_const", const="smoke", help=argparse.SUPPRESS)
    parser.set_defaults(size="full")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="write the key numbers to PATH as JSON")
    for module in DEMOS:
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser.add_argument_group(f"{module.NAME} options"))
    return parser


def finite_or_null(data: object) -> object:
    """``data`` with every non-finite float (a diverged run's loss) replaced by None, since
    standard JSON has no inf or nan."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite_or_null(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_null(value) for value in data]
    return data


def write_json(path: str, data: object) -> None:
    """Write ``data`` as JSON atomically: a temporary file in the same folder, then a rename.
    Non-finite numbers are written as null."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(finite_or_null(data), f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def list_demos(console: Console) -> None:
    console.print("[bold]Demos[/bold] (python -m demos NAME [--quick] [--seed N] [--json PATH]):")
    listing = Table.grid(padding=(0, 2))  # a summary that wraps stays in its column
    listing.add_column(style="cyan", no_wrap=True)
    listing.add_column()
    for module in DEMOS:
        listing.add_row(f"  {module.NAME}", module.SUMMARY)
    console.print(listing)


def run_demo(module: ModuleType, args: argparse.Namespace, console: Console) -> dict:
    console.rule(f"[bold]{module.NAME}[/bold]: {module.SUMMARY}")
    start = time.perf_counter()
    result = module.run(args, console)
    console.print(f"[dim]{module.NAME} ({args.size} mode) took {time.perf_counter() - start:.1f} s[/dim]\n")
    return result


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console() if console is None else console
    demos = demo_by_name()
    if args.all:
        if args.name:
            parser.error("give a demo name or --all, not both")
        start = time.perf_counter()
        results = {module.NAME: run_demo(module, args, console) for module in DEMOS}
        console.print(
            f"[bold]All {len(DEMOS)} demos ({args.size} mode) took {time.perf_counter() - start:.1f} s[/bold]"
        )
    elif args.name is None:
        list_demos(console)
        return 0
    elif args.name not in demos:
        parser.error(f"unknown demo {args.name!r}; choose from {', '.join(demos)}")
    else:
        results = run_demo(demos[args.name], args, console)
    if args.json:
        write_json(args.json, results)
        console.print(f"[dim]wrote {args.json}[/dim]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
