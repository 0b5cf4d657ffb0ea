"""``python -m demos report``: the README's results, written from the demos' own output.

python -m demos report               # full runs -> docs/results/*.json -> the README's results
python -m demos report --from-json   # the README's results from the committed JSON only

The README's results section lies between two marker comments and is replaced
whole; ``render`` makes it from the JSON alone (a pure function), so a test can
check that the committed README says what the committed JSON says. Nothing is
written until every demo has finished: an interrupted report leaves the old
files as they were.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np
from rich.console import Console

from demos._files import output_path_problem, write_text_atomically

BEGIN = "<!-- results: begin (written by `python -m demos report`; edit demos/report.py, not this) -->"
END = "<!-- results: end -->"
RESULTS_DIR = os.path.join("docs", "results")
RUN_FILE = "run.json"  # when, where and how long; beside one NAME.json per demo


# --- running -------------------------------------------------------------------------------------


def machine() -> dict:
    """What the timings depend on (no host name)."""
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    }


def run_all(console: Console, size: str = "full") -> tuple[dict, dict[str, dict]]:
    """Every demo in full mode (the tests: smoke), seed 0, timed: (run info, name -> record)."""
    from demos.__main__ import DEMOS, build_parser, finite_or_null, run_demo

    records = {}
    started = datetime.datetime.now(datetime.timezone.utc)
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        for module in DEMOS:
            argv = [module.NAME] + (["--smoke"] if size == "smoke" else [])
            if module.NAME == "graph":
                argv += ["--dot", os.path.join(scratch, "graph.dot")]
            args = build_parser().parse_args(argv)
            start, cpu_start = time.perf_counter(), time.process_time()
            result = run_demo(module, args, console)
            records[module.NAME] = {
                "demo": module.NAME,
                "mode": args.size,
                "seed": args.seed,
                "seconds": round(time.perf_counter() - start, 1),
                # CPU time of this process: close to the wall time on an idle machine (one BLAS thread)
                "cpu_seconds": round(time.process_time() - cpu_start, 1),
                "result": finite_or_null(result),
            }
    if "graph" in records:
        records["graph"]["result"]["dot_path"] = "graph.dot (a temporary folder)"
    info = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": "python -m demos report",
        "mode": size,
        # other processes' demand for the cores: the 1-minute load average as the run began and ended
        "load_average": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
    }
    return info, records


def read_results(folder: str) -> tuple[dict, dict[str, dict]]:
    """(run info, name -> record) from ``folder``, in the demos' order."""
    from demos.__main__ import DEMOS

    with open(os.path.join(folder, RUN_FILE), encoding="utf-8") as f:
        info = json.load(f)
    records = {}
    for module in DEMOS:
        path = os.path.join(folder, f"{module.NAME}.json")
        if not os.path.exists(path):
            raise FileNotFoundError(f"report: {path} is missing; run `python -m demos report` to make it")
        with open(path, encoding="utf-8") as f:
            records[module.NAME] = json.load(f)
    return info, records


def replace_section(readme: str, section: str) -> str:
    """``readme`` with the text between the markers replaced by ``section``."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise ValueError(f"report: the README needs one {BEGIN!r} line and, after it, one {END!r} line")
    head, rest = readme.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{section}{END}{tail}"


def section_of(readme: str) -> str:
    """The text between the markers (what ``replace_section`` put there)."""
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].removeprefix("\n")


# --- rendering: a pure function of the JSON ------------------------------------------------------


def _mean_sd(values: Sequence[float], digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def _each(values: Sequence[float | None], spec: str = ".3f") -> str:
    return " / ".join("not finite" if v is None else format(v, spec) for v in values)


def _of(k: int, n: int) -> str:
    return f"{k} of {n}"


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _factor(value: float) -> str:
    """A per-step factor with its word (as the vanishing demo prints it)."""
    shown = round(value, 2)
    word = "growth" if shown > 1 else "decay" if shown < 1 else "no change"
    return f"x{value:.2f} ({word})"


def render_dependencies(record: dict) -> str:
    result = record["result"]
    theory = result["theory"]
    rows = []
    for num_steps in sorted({r["truncation"] for r in result["runs"]}):
        runs = [r for r in result["runs"] if r["truncation"] == num_steps]
        seen = sorted({r["learned"] for r in runs})
        rows.append(
            [
                num_steps,
                _each([r["cross_entropy"] for r in runs], ".4f"),
                _mean_sd([r["cross_entropy"] for r in runs], 4),
                ", ".join(
                    f"{name} ({sum(r['learned'] == name for r in runs)} of {len(runs)})" for name in seen
                ),
            ]
        )
    return (
        "**dependencies** (article 000): held-out cross-entropy (nats) per truncation length; theory: "
        + ", ".join(f"{name} {value:.4f}" for name, value in theory.items())
        + ".\n\n"
        + _table(["num_steps", "per seed", "mean ± sd", "nearest regime"], rows)
    )


def render_rtrl(record: dict) -> str:
    result = record["result"]
    config, n = result["config"], len(result["seeds"])
    rows = []
    for method in dict.fromkeys(r["method"] for r in result["runs"]):
        runs = [r for r in result["runs"] if r["method"] == method]
        rows.append(
            [
                method,
                _each([r["cross_entropy"] for r in runs], ".4f"),
                _each([r["lag8_effect"] for r in runs], "+.2f"),
                _of(sum(r["lag8_effect"] <= -0.125 for r in runs), n),
                f"{1000 * np.mean([r['seconds_per_step'] for r in runs]):.2f} ms",
            ]
        )
    scaling = []
    for axis in ("T", "H"):
        values = result["scaling"][axis]["values"]
        for method, m in result["scaling"][axis]["methods"].items():
            scaling.append(
                [
                    f"{method}, {axis} = {' / '.join(map(str, values))}",
                    " / ".join(f"{1000 * s:.2f}" for s in m["seconds_per_step"]),
                    f"{axis}^{m['time_exponent']:.2f}",
                    " / ".join(f"{b / 1024:,.0f}" for b in m["peak_bytes"]),
                    f"{axis}^{m['memory_exponent']:.2f}",
                ]
            )
    return (
        f"**rtrl** (article 000, forward mode): {config['episodes']} episodes of {config['batch']} x "
        f"{config['length']} steps, state {config['state_size']}, one Adagrad step per episode, seeds "
        f"{', '.join(map(str, result['seeds']))}; held-out cross-entropy and the lag-8 effect on P(Y_t = 1) "
        "(task: -0.25; learned = beyond half of it). RTRL and full BPTT trained the same model (largest "
        f"parameter difference {max(result['rtrl_vs_bptt_max_parameter_difference']):.1e}).\n\n"
        + _table(["method", "held-out CE", "lag-8 effect", "learned lag 8", "time / step"], rows)
        + f"\nCost of one episode's gradient, batch {config['scaling_batch']}, at H = {config['state_size']} "
        f"for the T rows and T = 20 for the H rows (slope: between the two largest sizes; theory per step: "
        "BPTT O(B H^2), RTRL O(B H^4); memory: BPTT O(T B H), RTRL O(B H^3 + H^4); "
        f"{result['cpus']} CPUs):\n\n"
        + _table(["method, sizes", "ms / step", "slope", "memory (KiB)", "slope"], scaling)
    )


def render_vanishing(record: dict) -> str:
    result = record["result"]
    seeds, lag = result["seeds"], result["lag"]
    n = len(seeds)
    init, trained = result["factor_per_step"]["at_init"], result["factor_per_step"]["trained"]
    rows = [
        [
            name,
            _each(init[name], ".2f"),
            _each(trained[name], ".2f"),
            _factor(float(np.mean(trained[name]))),
            _each(result["trained_loss"][name]),
            _of(sum(result["learned"][name]), n),
        ]
        for name in trained
    ]
    scaled = next(name for name in init if name not in trained)
    clipping = result["clipping"]
    clip_rows = [
        [
            name,
            _each(runs["final_loss"], ".3g"),
            _of(sum(runs["diverged"]), n),
            _of(sum(runs["beat_baseline"]), n),
        ]
        for name, runs in clipping.items()
    ]
    return (
        f"**vanishing** (article 003): recall a symbol after {lag} distractors, seeds "
        f"{', '.join(map(str, seeds))}. Per-step factor of ||dL_T/dh_t|| per seed, at initialisation and "
        "after training; learned = task loss below half of the no-memory log 4. At initialisation the "
        f"scaled-up RNN ({scaled}) has {_each(init[scaled], '.2f')}.\n\n"
        + _table(["model", "per step at init", "per step trained", "mean", "task loss", "learned"], rows)
        + "\nExploding gradients (adding problem, tanh RNN with W_hh = 1.5 x orthogonal, SGD): final loss "
        "per seed; diverged = not finite or over 10 x the 0.167 of always answering 1.\n\n"
        + _table(["SGD", "final loss", "diverged", "below 0.9 x baseline"], clip_rows)
    )


def render_language_model(record: dict) -> str:
    result = record["result"]
    n = len(result["seeds"])
    rows = [
        ["unigram baseline", f"{result['baseline_bpc']:.3f}"],
        ["GRU, held-out, per seed", _each(result["val_bpc_per_seed"])],
        ["GRU, mean ± sd", _mean_sd(result["val_bpc_per_seed"])],
        [
            "steps used (best at)",
            " / ".join(f"{s} ({b})" for s, b in zip(result["steps_per_seed"], result["best_step_per_seed"])),
        ],
        ["passes over the text", _each(result["passes_per_seed"], ".1f")],
        ["held-out rose before the stop", _of(sum(result["held_out_rose"]), n)],
    ]
    samples = "\n".join(f"    {sample}" for sample in result["samples"])
    return (
        f"**language-model** (article 003): bits per character on held-out docstrings, "
        f"{result['training_chars']:,} training characters, seeds {', '.join(map(str, result['seeds']))}.\n\n"
        + _table(["", "bits / char"], rows)
        + f"\nSamples of seed {result['seeds'][0]} at temperatures 0, 0.5, 1:\n\n{samples}\n"
    )


def render_memory(record: dict) -> str:
    result = record["result"]
    baseline, seeds = result["baseline"], result["seeds"]
    rows = [
        [
            kind,
            _each(losses),
            _mean_sd(losses),
            f"{np.mean(losses) / baseline:.0%}",
            _each(result["accuracy"][kind], ".0%"),
            _of(sum(loss < 0.9 * baseline for loss in losses), len(seeds)),
        ]
        for kind, losses in result["results"].items()
    ]
    return (
        f"**memory** (article 004): held-out cross-entropy, seeds {', '.join(map(str, seeds))}, "
        f"against the no-memory {baseline:.3f}; carried = below 90% of it.\n\n"
        + _table(["model", "per seed", "mean ± sd", "of baseline", "accuracy", "carried"], rows)
    )


def _spread(values: Sequence[float], spec: str) -> str:
    """mean ± sd and the range, for a list too long to print whole."""
    return f"{_mean_sd(values, 1)} (from {format(min(values), spec)} to {format(max(values), spec)})"


def render_curvature(record: dict) -> str:
    result = record["result"]
    newton = result["newton_vs_gd"]
    runs = newton["runs"]
    lines = [
        f"**curvature** (article 003, double backpropagation), {len(result['seeds'])} seeds: on "
        f"{newton['function']} (minimiser {newton['minimiser']:.10f}) Newton's method with the engine's "
        f"second derivative reached it within {newton['tolerance']:g} in "
        f"{_spread([r['newton_steps'] for r in runs], 'd')} steps, gradient descent (lr {newton['gd_lr']}) "
        f"in {_spread([r['gd_steps'] for r in runs], 'd')}.\n",
    ]
    for setting in result["cliffs"]:
        rows = [
            [
                row["scale"],
                _mean_sd(row["grad_norm"]["values"], 2),
                _mean_sd(row["curvature"]["values"], 1),
                f"{min(row['curvature']['values']):.3g} to {max(row['curvature']['values']):.3g}",
                f"{sum(v <= 0 for v in row['curvature']['values'])} of {len(row['curvature']['values'])}",
            ]
            for row in setting["rows"]
        ]
        lines.append(
            f"Curvature along the gradient, v^T H v with v = g/norm(g), of a tanh RNN (T = "
            f"{setting['length']}, {setting['hidden']} units) whose W_hh is scale x orthogonal (each seed's "
            "value: docs/results/curvature.json):\n\n"
            + _table(
                [
                    "scale",
                    "gradient norm (mean ± sd)",
                    "v^T H v (mean ± sd)",
                    "v^T H v range",
                    "seeds with v^T H v <= 0",
                ],
                rows,
            )
        )
    return "\n".join(lines)


def render_exact(records: dict[str, dict]) -> str:
    """The three demos without training: one line each."""
    lines = []
    if "forward" in records:
        r = records["forward"]["result"]
        lines.append(
            f"**forward** (article 002): the article's printout is reproduced "
            f"({'yes' if r['reproduced'] else 'no'}) from the state left by {r['earlier_runs']} earlier "
            f"run(s), max error {r['max_error_vs_printed']:.1e} (the printout's 8 decimals)."
        )
    if "bptt" in records:
        r = records["bptt"]["result"]
        lines.append(
            f"**bptt** (article 001): hand BPTT and the engine differ by at most {r['max_abs_diff']:.1e}."
        )
    if "graph" in records:
        r = records["graph"]["result"]
        lines.append(f"**graph**: one RNN step's graph has {r['nodes']} nodes and {r['edges']} edges.")
    return "".join(f"- {line}\n" for line in lines)


def closing_note(records: dict[str, dict]) -> str:
    """What holds across seeds, and what does not, with the per-seed numbers behind it."""
    notes = []
    if "dependencies" in records:
        runs = records["dependencies"]["result"]["runs"]
        for num_steps in sorted({r["truncation"] for r in runs}):
            mine = [r for r in runs if r["truncation"] == num_steps]
            regimes = sorted({r["learned"] for r in mine})
            held = "every seed" if len(regimes) == 1 else "seeds differ"
            notes.append(
                f"dependencies, num_steps {num_steps}: nearest regime "
                f"{' / '.join(r['learned'] for r in mine)} ({held})."
            )
    if "rtrl" in records:
        r = records["rtrl"]["result"]
        for method in dict.fromkeys(run["method"] for run in r["runs"]):
            mine = [run for run in r["runs"] if run["method"] == method]
            notes.append(
                f"rtrl, {method}: learned the lag-8 dependency in "
                f"{_of(sum(run['lag8_effect'] <= -0.125 for run in mine), len(mine))} seeds "
                f"(nearest regime {' / '.join(run['learned'] for run in mine)})."
            )
    if "vanishing" in records:
        r = records["vanishing"]["result"]
        n = len(r["seeds"])
        trained, losses = r["factor_per_step"]["trained"], r["trained_loss"]
        for name in trained:
            learned = r["learned"][name]
            per_seed = "; ".join(
                f"seed {seed}: {_factor(f)}, loss {loss:.3f}"
                for seed, f, loss in zip(r["seeds"], trained[name], losses[name])
            )
            notes.append(
                f"vanishing, {name}: learned the lag-{r['lag']} task in {_of(sum(learned), n)} seeds "
                f"({per_seed})."
            )
        rnn = [f for f, ok in zip(trained["RNN"], r["learned"]["RNN"]) if ok]
        if rnn:
            vanishing = sum(f < 0.9 for f in rnn)
            notes.append(
                f"vanishing: where the tanh RNN learned, its trained gradient still decays "
                f"(factor below x0.9) in {_of(vanishing, len(rnn))} of those runs "
                "(Bengio, Simard & Frasconi 1994: robust storage implies a vanishing gradient)."
            )
        else:
            notes.append(
                f"vanishing: the tanh RNN learned the lag-{r['lag']} task in none of {n} seeds (task loss "
                f"{_each(losses['RNN'])} against the no-memory 1.386; learned means below half of it)."
            )
        clip = r["clipping"]
        notes.append(
            f"vanishing, exploding part: unclipped SGD diverged in {_of(sum(clip['plain']['diverged']), n)} "
            f"seeds; clipped, it beat the baseline in {_of(sum(clip['clipped']['beat_baseline']), n)}."
        )
    if "memory" in records:
        r = records["memory"]["result"]
        n = len(r["seeds"])
        for kind, values in r["results"].items():
            carried = sum(v < 0.9 * r["baseline"] for v in values)
            per_seed = ", ".join(f"seed {seed}: {v:.3f}" for seed, v in zip(r["seeds"], values))
            notes.append(f"memory, {kind}: carried the symbol in {_of(carried, n)} seeds ({per_seed}).")
    if "language-model" in records:
        r = records["language-model"]["result"]
        beat = sum(v < r["baseline_bpc"] for v in r["val_bpc_per_seed"])
        notes.append(
            f"language-model: beat the unigram baseline ({r['baseline_bpc']:.3f} bpc) in "
            f"{_of(beat, len(r['seeds']))} seeds ({_each(r['val_bpc_per_seed'])})."
        )
    return "What holds across seeds, and what does not:\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"


def _load(info: dict) -> str:
    if "load_average" not in info:
        return ""
    start, end = info["load_average"]
    return f"; load average {start:.1f} as it began, {end:.1f} as it ended"


def render(info: dict, records: dict[str, dict]) -> str:
    """The README's results section (markdown) from the run info and the demos' records."""
    m = info["machine"]
    with_cpu = all("cpu_seconds" in record for record in records.values())
    columns = [f"demo ({info['mode']} mode)", "wall time"] + (["CPU time"] if with_cpu else [])
    times = [
        [f"`{name}`", f"{record['seconds']:.1f} s"] + ([f"{record['cpu_seconds']:.1f} s"] if with_cpu else [])
        for name, record in records.items()
    ]
    times.append(
        ["all", f"{sum(r['seconds'] for r in records.values()):.1f} s"]
        + ([f"{sum(r['cpu_seconds'] for r in records.values()):.1f} s"] if with_cpu else [])
    )
    parts = [
        f"Written by `{info['command']}` on {info['date']}: every demo in {info['mode']} mode, first seed "
        f"{next(iter(records.values()))['seed']}, on {m['platform']} ({m['processor']}, {m['cpus']} CPUs, "
        f"Python {m['python']}, numpy {m['numpy']}{_load(info)}). The numbers are read from the JSON the "
        f"same command wrote to `{RESULTS_DIR}/`; `python -m demos report --from-json` rewrites this "
        "section from it.\n",
        _table(columns, times)
        + (
            "\nWall time depends on what else the machine was doing; CPU time (this process alone) is "
            "what the run costs on an idle machine.\n"
            if with_cpu
            else ""
        ),
        render_exact(records),
    ]
    renderers = {
        "dependencies": render_dependencies,
        "rtrl": render_rtrl,
        "vanishing": render_vanishing,
        "language-model": render_language_model,
        "memory": render_memory,
        "curvature": render_curvature,
    }
    parts += [renderers[name](record) for name, record in records.items() if name in renderers]
    parts.append(closing_note(records))
    return "\n".join(parts)


# --- command line --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demos report",
        description="Run every demo in full mode and write the README's results from their JSON.",
    )
    parser.add_argument(
        "--from-json",
        action="store_true",
        help=f"do not run the demos; rewrite the README from {RESULTS_DIR}/",
    )
    parser.add_argument(
        "--results", metavar="DIR", default=RESULTS_DIR, help=f"the JSON folder ({RESULTS_DIR})"
    )
    parser.add_argument("--readme", metavar="PATH", default="README.md", help="the README to rewrite")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # the tests' tiny runs
    args = parser.parse_args(argv)
    console = Console() if console is None else console
    if not os.path.isfile(args.readme):
        parser.error(f"--readme {args.readme}: no such file (run from the repository root)")
    with open(args.readme, encoding="utf-8") as f:
        readme = f.read()
    try:
        replace_section(readme, "")
    except ValueError as error:
        parser.error(str(error))
    if args.from_json:
        try:
            info, records = read_results(args.results)
        except (OSError, ValueError) as error:
            parser.error(str(error))
    else:
        if not os.path.isdir(args.results):
            parser.error(f"--results {args.results}: the folder does not exist; create it first")
        problem = output_path_problem(os.path.join(args.results, RUN_FILE), "--results")
        if problem:
            parser.error(problem)
        try:
            info, records = run_all(console, "smoke" if args.smoke else "full")
        except KeyboardInterrupt:
            print("interrupted (Ctrl-C): stopped, no results written", file=sys.stderr)
            return 130
        for name, record in records.items():
            write_text_atomically(os.path.join(args.results, f"{name}.json"), _json(record))
        write_text_atomically(os.path.join(args.results, RUN_FILE), _json(info))
        info, records = read_results(args.results)  # render what was written, exactly as a test will
    write_text_atomically(args.readme, replace_section(readme, render(info, records)))
    console.print(f"wrote the results section of {args.readme} from {args.results}/")
    return 0


def _json(data: object) -> str:
    return json.dumps(data, indent=2, allow_nan=False) + "\n"
