"""``python -m demos``: list the demos, run one, or run them all (``make demo``).

python -m demos                          # the list
python -m demos NAME [--quick] [--seed N] [--seeds N] [--json PATH] [demo options]
python -m demos --all --quick            # every demo, in order
python -m demos report [--from-json]     # runs over seeds and BLAS kernels -> docs/results -> README

Run it from the repository root (the folder that holds demos/).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from types import ModuleType

from rich.console import Console
from rich.table import Table

from demos import (
    bptt,
    compile,
    curvature,
    dependencies,
    forward,
    graph,
    language_model,
    memory,
    rtrl,
    vanishing,
)
from demos._files import output_path_problem, write_text_atomically
from demos._ui import rule

# The registry: one line per demo, in the order `--all` runs them.
DEMOS: list[ModuleType] = [
    forward,
    graph,
    bptt,
    dependencies,
    rtrl,
    vanishing,
    language_model,
    memory,
    curvature,
    compile,
]


def demo_by_name() -> dict[str, ModuleType]:
    return {module.NAME: module for module in DEMOS}


def non_negative_int(text: str, least: int = 0) -> int:
    """argparse type for --seed: numpy's generators take no negative seeds."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type for counts (--seeds, --jobs)."""
    return non_negative_int(text, least=1)


def seeded(module: ModuleType) -> bool:
    """A training demo: it runs several seeds (its SEEDS, or --seeds)."""
    return hasattr(module, "SEEDS")


def demo_options(module: ModuleType) -> dict[str, object]:
    """The options a demo adds (dest -> default); empty if it adds none."""
    if not hasattr(module, "add_arguments"):
        return {}
    probe = argparse.ArgumentParser(add_help=False)
    module.add_arguments(probe)
    return vars(probe.parse_args([]))


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
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="first random seed, >= 0 (default 0)"
    )
    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=None,
        metavar="N",
        help="how many seeds a training demo runs, from --seed on (default: 3 in full and quick mode)",
    )
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
    """Write ``data`` as JSON atomically (nothing half-written is ever left at ``path``).
    Non-finite numbers are written as null. The folder must exist."""
    text = json.dumps(finite_or_null(data), indent=2, allow_nan=False) + "\n"
    write_text_atomically(path, text)


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace, chosen: list[ModuleType]) -> None:
    """Reject, before anything runs, what would fail or be ignored later: an option that none of
    the chosen demos reads, an output path that cannot be written, a demo's own bad input."""
    for module in DEMOS:
        if module in chosen:
            continue
        for dest, default in demo_options(module).items():
            if getattr(args, dest) != default and not any(dest in demo_options(m) for m in chosen):
                option, names = "--" + dest.replace("_", "-"), ", ".join(m.NAME for m in chosen)
                parser.error(f"{option} is an option of {module.NAME}; {names} does not use it")
    if args.seeds is not None and not any(map(seeded, chosen)):
        names = ", ".join(m.NAME for m in chosen)
        parser.error(f"--seeds is an option of the training demos; {names} does not use it")
    if args.json is not None:  # --json '' is a mistake to report, not a request to skip the file
        problem = output_path_problem(args.json, "--json")
        if problem:
            parser.error(problem)
    for module in chosen:
        problem = module.check_args(args) if hasattr(module, "check_args") else None
        if problem:
            parser.error(problem)


def list_demos(console: Console) -> None:
    console.print("[bold]Demos[/bold] (python -m demos NAME [--quick] [--seed N] [--seeds N] [--json PATH]):")
    listing = Table.grid(padding=(0, 2))  # a summary that wraps stays in its column
    listing.add_column(style="cyan", no_wrap=True)
    listing.add_column()
    for module in DEMOS:
        listing.add_row(f"  {module.NAME}", module.SUMMARY)
    console.print(listing)
    console.print(
        "[dim]python -m demos report: every demo in full mode, the training demos over at least 10 seeds "
        "under two BLAS kernels, and the README's results written from their JSON (docs/results/).[/dim]"
    )


def run_demo(module: ModuleType, args: argparse.Namespace, console: Console) -> dict:
    rule(console, module.NAME, module.SUMMARY)
    start = time.perf_counter()
    result = module.run(args, console)
    console.print(f"[dim]{module.NAME} ({args.size} mode) took {time.perf_counter() - start:.1f} s[/dim]\n")
    return result


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["report"]:
        from demos import report

        return report.main(argv[1:], console)
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console() if console is None else console
    demos = demo_by_name()
    if args.all and args.name:
        parser.error("give a demo name or --all, not both")
    if not args.all and args.name is None:
        list_demos(console)
        return 0
    if args.name == "report":
        parser.error("report comes first and takes its own options: python -m demos report [--from-json]")
    if not args.all and args.name not in demos:
        parser.error(f"unknown demo {args.name!r}; choose from {', '.join(demos)}")
    chosen = DEMOS if args.all else [demos[args.name]]
    check_args(parser, args, chosen)
    try:
        start = time.perf_counter()
        results = {module.NAME: run_demo(module, args, console) for module in chosen}
        if args.all:
            took = time.perf_counter() - start
            console.print(f"[bold]All {len(DEMOS)} demos ({args.size} mode) took {took:.1f} s[/bold]")
        else:
            results = results[args.name]
        if args.json is not None:
            write_json(args.json, results)
            console.print(f"[dim]wrote {args.json}[/dim]")
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): stopped, no results written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
