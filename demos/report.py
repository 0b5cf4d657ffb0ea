"""``python -m demos report``: the README's results, from runs over seeds and BLAS kernels.

python -m demos report                     # full mode: the training demos over 10 seeds under two
                                           # BLAS kernels -> docs/results/*.json -> the README
python -m demos report --seeds 20 --kernels Haswell,SkylakeX --jobs 2
python -m demos report --from-json         # the README's results from the committed JSON only

Training is chaotic: a last-bit difference in one matmul can decide whether a seed learns, and
OpenBLAS picks its matmul kernels by CPU (demos/_blas.py). A count over seeds measured under one
kernel need not hold on another CPU, so each training demo (a module with ``SEEDS``) runs under
every kernel given, each run a subprocess (OpenBLAS reads ``OPENBLAS_CORETYPE`` when numpy loads)
that records the kernel that ran. The README states every claim as "k of n runs" over all seeds
and kernels, with each kernel's count where they differ.

The README's results section lies between two marker comments and is replaced whole; ``render``
makes it from the JSON alone (a pure function), so a test can check that the committed README says
what the committed JSON says. Nothing is written until every run has finished: an interrupted or
failed report leaves the old files as they were.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np
from rich.console import Console

from demos import _blas
from demos._files import output_path_problem, write_text_atomically

BEGIN = "<!-- results: begin (written by `python -m demos report`; edit demos/report.py, not this) -->"
END = "<!-- results: end -->"
RESULTS_DIR = os.path.join("docs", "results")
RUN_FILE = "run.json"  # when, where, how; beside one NAME.json per demo
# The fewest seeds a training demo runs in a full report (a demo whose own default is larger keeps it).
REPORT_SEEDS = 10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the folder that holds demos/


# --- one run: a subprocess ------------------------------------------------------------------------
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


def worker(out: str, demo_argv: Sequence[str]) -> int:
    """Run one demo in this process (``python -m demos report --worker OUT -- NAME ...``) and write
    its record to OUT: the result, its timing, and what numpy's BLAS reports."""
    from demos.__main__ import build_parser, demo_by_name, finite_or_null, run_demo

    args = build_parser().parse_args(list(demo_argv))
    module = demo_by_name()[args.name]
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run_demo(module, args, Console())
    record = {
        "blas": _blas.blas_info(),
        "seconds": round(time.perf_counter() - start, 1),
        # CPU time of this process: close to the wall time on an idle machine (one BLAS thread)
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "result": finite_or_null(result),
    }
    write_text_atomically(out, _json(record))
    return 0


class RunFailed(RuntimeError):
    """A demo's subprocess failed; the message names it and ends with its output's last lines."""


def _plan(size: str, seeds: int | None, kernels: list[str], scratch: str) -> list[dict]:
    """One entry per subprocess: the demo, the kernel, its argv."""
    from demos.__main__ import DEMOS, seeded

    plan = []
    for module in DEMOS:
        argv = [module.NAME] + ([f"--{size}"] if size != "full" else [])
        if module.NAME == "graph":
            argv += ["--dot", os.path.join(scratch, "graph.dot")]
        if seeded(module):
            argv += ["--seeds", str(seed_count(module, size, seeds))]
        for kernel in kernels if seeded(module) else [_blas.DEFAULT]:
            name = f"{module.NAME}-{kernel}"
            plan.append({"demo": module.NAME, "kernel": kernel, "argv": argv, "name": name})
    return plan


def seed_count(module: ModuleType, size: str, seeds: int | None) -> int:
    """How many seeds a training demo runs in the report: --seeds, else its own default, and in
    full mode at least REPORT_SEEDS."""
    if seeds is not None:
        return seeds
    return max(module.SEEDS[size], REPORT_SEEDS) if size == "full" else module.SEEDS[size]


def run_plan(
    plan: list[dict], scratch: str, jobs: int, console: Console, show_output: bool
) -> dict[str, dict]:
    """Run every entry of the plan, ``jobs`` at a time; name -> the worker's record."""
    pending, running, records = list(plan), [], {}
    env_path = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                entry = pending.pop(0)
                out, log = (os.path.join(scratch, f"{entry['name']}.{ext}") for ext in ("json", "log"))
                command = [sys.executable, "-m", "demos", "report", "--worker", out, "--", *entry["argv"]]
                env = _blas.environment(entry["kernel"]) | {"PYTHONPATH": env_path}
                stream = None if show_output else open(log, "w", encoding="utf-8")  # noqa: SIM115
                process = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT
                )
                running.append((entry, process, out, log, stream, time.perf_counter()))
                console.print(f"[dim]started {entry['demo']} under BLAS kernel {entry['kernel']}[/dim]")
            time.sleep(0.05)
            for item in [item for item in running if item[1].poll() is not None]:
                running.remove(item)
                entry, process, out, log, stream, started = item
                if stream is not None:
                    stream.close()
                if process.returncode != 0 or not os.path.exists(out):
                    raise RunFailed(
                        f"report: {entry['demo']} under BLAS kernel {entry['kernel']} failed (exit "
                        f"{process.returncode}): {' '.join(entry['argv'])}\n{_tail(log)}"
                    )
                with open(out, encoding="utf-8") as f:
                    records[entry["name"]] = json.load(f)
                ran = records[entry["name"]]["blas"]["corename"]
                console.print(
                    f"[dim]finished {entry['demo']} under BLAS kernel {entry['kernel']} (OpenBLAS reports "
                    f"{ran}) in {time.perf_counter() - started:.0f} s[/dim]"
                )
    finally:
        for _, process, *_ in running:  # interrupted or failed: stop the others
            process.kill()
            process.wait()
    return records


def _tail(path: str, lines: int = 15) -> str:
    if not os.path.exists(path):
        return "(its output went to the terminal)"
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def run_all(
    console: Console,
    size: str = "full",
    seeds: int | None = None,
    kernels: Sequence[str] | None = None,
    jobs: int = 1,
    show_output: bool = False,
) -> tuple[dict, dict[str, dict]]:
    """Every demo, each training demo under every kernel: (run info, name -> record)."""
    from demos.__main__ import DEMOS

    kernels = list(kernels or _blas.default_kernels())
    started = datetime.datetime.now(datetime.timezone.utc)
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        plan = _plan(size, seeds, kernels, scratch)
        outputs = run_plan(plan, scratch, jobs, console, show_output)
    records = {}
    for module in DEMOS:
        entries = [entry for entry in plan if entry["demo"] == module.NAME]
        records[module.NAME] = {
            "demo": module.NAME,
            "mode": size,
            "seed": 0,
            "runs": [{"kernel": entry["kernel"], **outputs[entry["name"]]} for entry in entries],
        }
    for run in records.get("graph", {}).get("runs", []):
        run["result"]["dot_path"] = "graph.dot (a temporary folder)"
    info = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": "python -m demos report",
        "mode": size,
        "kernels": kernels,
        "jobs": jobs,
        # other processes' demand for the cores: the 1-minute load average as the run began and ended
        "load_average": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
    }
    return info, records


# --- the JSON --------------------------------------------------------------------------------------
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


def runs_of(record: dict) -> list[dict]:
    """A record's runs, each {kernel, blas, seconds, cpu_seconds, result}. A record written before
    the report ran several kernels holds one result: one run, its kernel not recorded (None)."""
    if "runs" in record:
        return record["runs"]
    return [
        {
            "kernel": None,
            "blas": None,
            "seconds": record["seconds"],
            "cpu_seconds": record.get("cpu_seconds"),
            "result": record["result"],
        }
    ]


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


def _span(values: Sequence[float | None], spec: str = ".3f") -> str:
    """'low to high' of the finite values, and how many were not finite."""
    finite = [v for v in values if v is not None]
    text = f"{format(min(finite), spec)} to {format(max(finite), spec)}" if finite else "none finite"
    missing = len(values) - len(finite)
    return text + (f" ({missing} not finite)" if missing and finite else "")


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _factor(value: float) -> str:
    """A per-step factor with its word (as the vanishing demo prints it)."""
    shown = float(f"{value:.2f}")
    word = "growth" if shown > 1 else "decay" if shown < 1 else "no change"
    return f"x{value:.2f} ({word})"


Outcome = Callable[[dict], Sequence[bool]]


def count(runs: Sequence[dict], outcome: Outcome) -> str:
    """How many runs (seeds x kernels) an outcome holds for: 'k of n runs', with each kernel's
    count when several ran, and a note when those differ."""
    per_kernel = [
        (run["kernel"], sum(map(bool, outcome(run["result"]))), len(outcome(run["result"]))) for run in runs
    ]
    k, n = sum(p[1] for p in per_kernel), sum(p[2] for p in per_kernel)
    text = f"{k} of {n} runs"
    if len(per_kernel) > 1:
        each = ", ".join(f"{kernel} {k_i} of {n_i}" for kernel, k_i, n_i in per_kernel)
        differ = len({k_i / n_i for _, k_i, n_i in per_kernel if n_i}) > 1
        text += f" ({each}{'; the kernels differ' if differ else ''})"
    return text


def _pooled(runs: Sequence[dict], values: Callable[[dict], Sequence]) -> list:
    """One list of a per-seed quantity over every run (every kernel's seeds, one after the other)."""
    return [value for run in runs for value in values(run["result"])]


def _kernels_text(runs: Sequence[dict]) -> str:
    kernels = [run["kernel"] for run in runs]
    if kernels == [None]:
        return "one BLAS kernel, not recorded"
    return f"{len(kernels)} BLAS kernel{'s' if len(kernels) > 1 else ''} ({', '.join(map(str, kernels))})"


def render_dependencies(record: dict) -> str:
    runs = runs_of(record)
    first = runs[0]["result"]
    theory = first["theory"]
    rows = []
    for num_steps in sorted({r["truncation"] for r in first["runs"]}):

        def mine(result: dict, num_steps: int = num_steps) -> list[dict]:
            return [r for r in result["runs"] if r["truncation"] == num_steps]

        values = _pooled(runs, lambda result, mine=mine: [r["cross_entropy"] for r in mine(result)])
        seen = sorted({r["learned"] for r in _pooled(runs, mine)}, key=list(theory).index)

        def nearest(result: dict, name: str, mine=mine) -> list[bool]:
            return [r["learned"] == name for r in mine(result)]

        regimes = "; ".join(
            f"{name}: {count(runs, lambda result, name=name: nearest(result, name))}" for name in seen
        )
        rows.append([num_steps, _mean_sd(values, 4), _span(values, ".4f"), regimes])
    return (
        "**dependencies** (article 000): held-out cross-entropy (nats) per truncation length; theory: "
        + ", ".join(f"{name} {value:.4f}" for name, value in theory.items())
        + ".\n\n"
        + _table(["num_steps", "mean ± sd", "range", "nearest regime"], rows)
    )


def render_rtrl(record: dict) -> str:
    runs = runs_of(record)
    first = runs[0]["result"]
    config = first["config"]
    rows = []
    for method in dict.fromkeys(r["method"] for r in first["runs"]):

        def mine(result: dict, method: str = method) -> list[dict]:
            return [r for r in result["runs"] if r["method"] == method]

        def each(key: str, mine=mine) -> list:
            return _pooled(runs, lambda result: [r[key] for r in mine(result)])

        rows.append(
            [
                method,
                _span(each("cross_entropy"), ".4f"),
                _span(each("lag8_effect"), "+.2f"),
                count(runs, lambda result, mine=mine: [r["lag8_effect"] <= -0.125 for r in mine(result)]),
                f"{1000 * np.mean(each('seconds_per_step')):.2f} ms",
            ]
        )
    scaling = []
    for axis in ("T", "H"):
        values = first["scaling"][axis]["values"]
        for method, m in first["scaling"][axis]["methods"].items():
            scaling.append(
                [
                    f"{method}, {axis} = {' / '.join(map(str, values))}",
                    " / ".join(f"{1000 * s:.2f}" for s in m["seconds_per_step"]),
                    f"{axis}^{m['time_exponent']:.2f}",
                    " / ".join(f"{b / 1024:,.0f}" for b in m["peak_bytes"]),
                    f"{axis}^{m['memory_exponent']:.2f}",
                ]
            )
    difference = max(_pooled(runs, lambda result: result["rtrl_vs_bptt_max_parameter_difference"]))
    return (
        f"**rtrl** (article 000, forward mode), {len(_pooled(runs, lambda r: r['seeds']))} runs "
        f"({_kernels_text(runs)}): {config['episodes']} episodes of {config['batch']} x {config['length']} "
        f"steps, state {config['state_size']}, one Adagrad step per episode; held-out cross-entropy and the "
        "lag-8 effect on P(Y_t = 1) (task: -0.25; learned = beyond half of it). RTRL and full BPTT trained "
        f"the same model (largest parameter difference {difference:.1e}).\n\n"
        + _table(["method", "held-out CE", "lag-8 effect", "learned lag 8", "time / step"], rows)
        + f"\nCost of one episode's gradient, batch {config['scaling_batch']}, at H = {config['state_size']} "
        f"for the T rows and T = 20 for the H rows (slope: between the two largest sizes; theory per step: "
        "BPTT O(B H^2), RTRL O(B H^4); memory: BPTT O(T B H), RTRL O(B H^3 + H^4); "
        f"{first['cpus']} CPUs):\n\n"
        + _table(["method, sizes", "ms / step", "slope", "memory (KiB)", "slope"], scaling)
    )


def render_vanishing(record: dict) -> str:
    runs = runs_of(record)
    first = runs[0]["result"]
    lag = first["lag"]
    trained_names = list(first["factor_per_step"]["trained"])

    def factors(when: str, name: str) -> list[float]:
        return _pooled(runs, lambda result: result["factor_per_step"][when][name])

    rows = [
        [
            name,
            f"x{_mean_sd(factors('at_init', name), 2)}",
            f"x{_mean_sd(factors('trained', name), 2)} ({_span(factors('trained', name), '.2f')})",
            _span(_pooled(runs, lambda result, name=name: result["trained_loss"][name])),
            count(runs, lambda result, name=name: result["learned"][name]),
        ]
        for name in trained_names
    ]
    scaled = next(name for name in first["factor_per_step"]["at_init"] if name not in trained_names)
    clip_rows = [
        [
            name,
            _span(_pooled(runs, lambda result, name=name: result["clipping"][name]["final_loss"]), ".3g"),
            count(runs, lambda result, name=name: result["clipping"][name]["diverged"]),
            count(runs, lambda result, name=name: result["clipping"][name]["beat_baseline"]),
        ]
        for name in first["clipping"]
    ]
    return (
        f"**vanishing** (article 003): recall a symbol after {lag} distractors. Per-step factor of "
        "||dL_T/dh_t||, mean ± sd over the runs, at initialisation and after training; learned = task "
        f"loss below half of the no-memory log 4. At initialisation the scaled-up RNN ({scaled}) has "
        f"x{_mean_sd(factors('at_init', scaled), 2)}.\n\n"
        + _table(["model", "per step at init", "per step trained (range)", "task loss", "learned"], rows)
        + "\nExploding gradients (adding problem, tanh RNN with W_hh = 1.5 x orthogonal, SGD): final loss "
        "per run; diverged = not finite or over 10 x the 0.167 of always answering 1.\n\n"
        + _table(["SGD", "final loss", "diverged", "below 0.9 x baseline"], clip_rows)
    )


def render_language_model(record: dict) -> str:
    runs = runs_of(record)
    first = runs[0]["result"]
    bpc = _pooled(runs, lambda result: result["val_bpc_per_seed"])
    rows = [
        ["unigram baseline", f"{first['baseline_bpc']:.3f}"],
        ["GRU, held-out, mean ± sd", _mean_sd(bpc)],
        ["GRU, held-out, range", _span(bpc)],
        [
            "beat the unigram baseline",
            count(runs, lambda result: [v < result["baseline_bpc"] for v in result["val_bpc_per_seed"]]),
        ],
        ["steps used", _span(_pooled(runs, lambda result: result["steps_per_seed"]), "d")],
        ["passes over the text", _span(_pooled(runs, lambda result: result["passes_per_seed"]), ".1f")],
        ["held-out rose before the stop", count(runs, lambda result: result["held_out_rose"])],
    ]
    samples = "\n".join(f"    {sample}" for sample in first["samples"])
    kernel = f" under {runs[0]['kernel']}" if runs[0]["kernel"] else ""
    return (
        f"**language-model** (article 003): bits per character on held-out docstrings, "
        f"{first['training_chars']:,} training characters.\n\n"
        + _table(["", "bits / char"], rows)
        + _curve_text(runs)
        + f"\nSamples of seed {first['seeds'][0]}{kernel} at temperatures 0, 0.5, 1:\n\n{samples}\n"
    )


def _curve_text(runs: Sequence[dict]) -> str:
    """The held-out learning curve, mean over the runs at each check (where every run checked)."""
    curves = _pooled(runs, lambda result: result.get("held_out_curve_per_seed", []))
    if not curves:
        return ""
    steps = sorted(set.intersection(*({step for step, _ in curve} for curve in curves)))
    means = [np.mean([bpc for curve in curves for s, bpc in curve if s == step]) for step in steps]
    points = ", ".join(f"step {step}: {mean:.3f}" for step, mean in zip(steps, means))
    return f"\nHeld-out bits per character while training, mean over the {len(curves)} runs: {points}.\n"


CARRIED_ACCURACY = (
    0.9  # as demos/memory.py: carried = named the symbol in 90% or more of the held-out sequences
)


def render_memory(record: dict) -> str:
    runs = runs_of(record)
    first = runs[0]["result"]
    rows = [
        [
            kind,
            _mean_sd(_pooled(runs, lambda result, kind=kind: result["results"][kind])),
            _span(_pooled(runs, lambda result, kind=kind: result["accuracy"][kind]), ".1%"),
            count(runs, lambda result, kind=kind: [a >= CARRIED_ACCURACY for a in result["accuracy"][kind]]),
        ]
        for kind in first["results"]
    ]
    return (
        f"**memory** (article 004): held-out cross-entropy against the no-memory {first['baseline']:.3f}; "
        f"carried = named the symbol in {CARRIED_ACCURACY:.0%} or more of the held-out sequences (chance is "
        "25%).\n\n" + _table(["model", "held-out loss (mean ± sd)", "accuracy", "carried"], rows)
    )


def _spread(values: Sequence[float], spec: str) -> str:
    """mean ± sd and the range, for a list too long to print whole."""
    return f"{_mean_sd(values, 1)} (from {format(min(values), spec)} to {format(max(values), spec)})"


def _newton_fewer(result: dict) -> list[bool]:
    return [r["newton_steps"] < r["gd_steps"] for r in result["newton_vs_gd"]["runs"]]


def render_curvature(record: dict) -> str:
    runs = runs_of(record)
    first = runs[0]["result"]
    newton = first["newton_vs_gd"]
    newton_runs = _pooled(runs, lambda result: result["newton_vs_gd"]["runs"])
    lines = [
        f"**curvature** (article 003, double backpropagation), {len(newton_runs)} runs: on "
        f"{newton['function']} (minimiser {newton['minimiser']:.10f}) Newton's method with the engine's "
        f"second derivative reached it within {newton['tolerance']:g} in "
        f"{_spread([r['newton_steps'] for r in newton_runs], 'd')} steps, gradient descent (lr "
        f"{newton['gd_lr']}) in {_spread([r['gd_steps'] for r in newton_runs], 'd')}; Newton needed fewer "
        f"steps in {count(runs, _newton_fewer)}.\n",
    ]
    for k, setting in enumerate(first["cliffs"]):
        rows = []
        for j, row in enumerate(setting["rows"]):

            def values(result: dict, key: str, k: int = k, j: int = j) -> list:
                return result["cliffs"][k]["rows"][j][key]["values"]

            kappa = _pooled(runs, lambda result, values=values: values(result, "curvature"))
            rows.append(
                [
                    row["scale"],
                    _mean_sd(_pooled(runs, lambda result, values=values: values(result, "grad_norm")), 2),
                    _mean_sd(kappa, 1),
                    f"{min(kappa):.3g} to {max(kappa):.3g}",
                    count(runs, lambda result, values=values: [v <= 0 for v in values(result, "curvature")]),
                ]
            )
        lines.append(
            f"Curvature along the gradient, v^T H v with v = g/norm(g), of a tanh RNN (T = "
            f"{setting['length']}, {setting['hidden']} units) whose W_hh is scale x orthogonal (each run's "
            "value: docs/results/curvature.json):\n\n"
            + _table(
                [
                    "scale",
                    "gradient norm (mean ± sd)",
                    "v^T H v (mean ± sd)",
                    "v^T H v range",
                    "v^T H v <= 0",
                ],
                rows,
            )
        )
    return "\n".join(lines)


def render_exact(records: dict[str, dict]) -> str:
    """The three demos without training: one line each."""
    lines = []
    if "forward" in records:
        r = runs_of(records["forward"])[0]["result"]
        lines.append(
            f"**forward** (article 002): the article's printout is reproduced "
            f"({'yes' if r['reproduced'] else 'no'}) from the state left by {r['earlier_runs']} earlier "
            f"run(s), max error {r['max_error_vs_printed']:.1e} (the printout's 8 decimals)."
        )
    if "bptt" in records:
        r = runs_of(records["bptt"])[0]["result"]
        lines.append(
            f"**bptt** (article 001): hand BPTT and the engine differ by at most {r['max_abs_diff']:.1e}."
        )
    if "graph" in records:
        r = runs_of(records["graph"])[0]["result"]
        lines.append(f"**graph**: one RNN step's graph has {r['nodes']} nodes and {r['edges']} edges.")
    return "".join(f"- {line}\n" for line in lines)


def closing_note(records: dict[str, dict]) -> str:
    """What holds across runs and what does not, each as a count over every seed and kernel."""
    notes = []
    if "dependencies" in records:
        runs = runs_of(records["dependencies"])
        first = runs[0]["result"]
        for num_steps in sorted({r["truncation"] for r in first["runs"]}):
            for regime in first["theory"]:

                def nearest(result: dict, num_steps: int = num_steps, regime: str = regime) -> list[bool]:
                    return [r["learned"] == regime for r in result["runs"] if r["truncation"] == num_steps]

                if any(_pooled(runs, nearest)):
                    notes.append(
                        f"dependencies, num_steps {num_steps}: nearest regime {regime} in "
                        + count(runs, nearest)
                        + "."
                    )
    if "rtrl" in records:
        runs = runs_of(records["rtrl"])
        for method in dict.fromkeys(run["method"] for run in runs[0]["result"]["runs"]):

            def learned(result: dict, method: str = method) -> list[bool]:
                return [r["lag8_effect"] <= -0.125 for r in result["runs"] if r["method"] == method]

            notes.append(f"rtrl, {method}: learned the lag-8 dependency in {count(runs, learned)}.")
    if "vanishing" in records:
        runs = runs_of(records["vanishing"])
        first = runs[0]["result"]
        for name in first["factor_per_step"]["trained"]:
            losses = _pooled(runs, lambda result, name=name: result["trained_loss"][name])
            learned = count(runs, lambda result, name=name: result["learned"][name])
            notes.append(
                f"vanishing, {name}: learned the lag-{first['lag']} task in {learned} "
                f"(task loss {_span(losses)})."
            )

        def rnn_learned(result: dict) -> list[float]:
            trained = result["factor_per_step"]["trained"]["RNN"]
            return [f for f, ok in zip(trained, result["learned"]["RNN"]) if ok]

        learned_factors = _pooled(runs, rnn_learned)
        if learned_factors:
            decaying = sum(float(f"{f:.2f}") < 0.9 for f in learned_factors)
            notes.append(
                f"vanishing: where the tanh RNN learned ({len(learned_factors)} "
                f"run{'s' if len(learned_factors) != 1 else ''}), its trained gradient "
                f"still decays (factor below x0.90) in {decaying} of them (Bengio, Simard & Frasconi 1994: "
                "robust storage implies a vanishing gradient)."
            )
        notes.append(
            "vanishing, exploding part: unclipped SGD diverged in "
            f"{count(runs, lambda result: result['clipping']['plain']['diverged'])}; clipped, it beat the "
            f"baseline in {count(runs, lambda result: result['clipping']['clipped']['beat_baseline'])}."
        )
    if "memory" in records:
        runs = runs_of(records["memory"])
        for kind in runs[0]["result"]["results"]:
            accuracy = _pooled(runs, lambda result, kind=kind: result["accuracy"][kind])
            carried = count(
                runs, lambda result, kind=kind: [a >= CARRIED_ACCURACY for a in result["accuracy"][kind]]
            )
            notes.append(
                f"memory, {kind}: carried the symbol in {carried} (accuracy {_span(accuracy, '.1%')})."
            )
    if "language-model" in records:
        runs = runs_of(records["language-model"])
        bpc = _pooled(runs, lambda result: result["val_bpc_per_seed"])
        notes.append(
            f"language-model: beat the unigram baseline ({runs[0]['result']['baseline_bpc']:.3f} bpc) in "
            f"{count(runs, lambda result: [v < result['baseline_bpc'] for v in result['val_bpc_per_seed']])} "
            f"({_span(bpc)} bpc)."
        )
    return (
        "What holds across runs, and what does not (each count is over every seed and every BLAS kernel):\n\n"
        + "\n".join(f"- {note}" for note in notes)
        + "\n"
    )


def _load(info: dict) -> str:
    if "load_average" not in info:
        return ""
    start, end = info["load_average"]
    return f"; load average {start:.1f} as it began, {end:.1f} as it ended"


def _seeds(result: dict) -> list[int]:
    """The seeds one run went through (dependencies lists them per configuration)."""
    if "seeds" in result:
        return result["seeds"]
    return sorted({run["seed"] for run in result["runs"]})


def _how(records: dict[str, dict]) -> str:
    """Which seeds and kernels the training demos ran, and what OpenBLAS reported."""
    from demos.__main__ import DEMOS, seeded

    trained = [module.NAME for module in DEMOS if seeded(module) and module.NAME in records]
    if not trained:
        return ""
    runs = runs_of(records[trained[0]])
    kernels = [run["kernel"] for run in runs]
    if kernels == [None]:
        where = (
            "under one BLAS kernel, not recorded (this JSON was written before the report ran several "
            "kernels; counts over one kernel may not hold on another CPU)"
        )
    else:
        reported = "; ".join(
            f"{run['kernel']}: {(run['blas'] or {}).get('library')} {(run['blas'] or {}).get('version')}, "
            f"kernel {(run['blas'] or {}).get('corename')}"
            for run in runs
        )
        where = (
            f"under each of {len(kernels)} BLAS kernels, {', '.join(map(str, kernels))} (what numpy's BLAS "
            f"reported: {reported})"
        )
    seeds = ", ".join(f"{name} {len(_seeds(runs_of(records[name])[0]['result']))}" for name in trained)
    return (
        f" The training demos ({', '.join(trained)}) ran seeds from "
        f"{records[trained[0]].get('seed', 0)} on (how many: {seeds}) {where}. A run is one seed under one "
        "kernel; every claim below is a count over all the runs, with each kernel's count beside it where "
        "there are several, and a note where those differ."
    )


def render(info: dict, records: dict[str, dict]) -> str:
    """The README's results section (markdown) from the run info and the demos' records."""
    m = info["machine"]
    with_cpu = all(
        run.get("cpu_seconds") is not None for record in records.values() for run in runs_of(record)
    )
    columns = [f"demo ({info['mode']} mode)", "processes", "wall time"] + (["CPU time"] if with_cpu else [])

    def total(record: dict, key: str) -> float:
        return sum(run[key] for run in runs_of(record))

    times = [
        [f"`{name}`", len(runs_of(record)), f"{total(record, 'seconds'):.1f} s"]
        + ([f"{total(record, 'cpu_seconds'):.1f} s"] if with_cpu else [])
        for name, record in records.items()
    ]
    times.append(
        [
            "all",
            sum(len(runs_of(r)) for r in records.values()),
            f"{sum(total(r, 'seconds') for r in records.values()):.1f} s",
        ]
        + ([f"{sum(total(r, 'cpu_seconds') for r in records.values()):.1f} s"] if with_cpu else [])
    )
    parts = [
        f"Written by `{info['command']}` on {info['date']}: every demo in {info['mode']} mode, on "
        f"{m['platform']} ({m['processor']}, {m['cpus']} CPUs, Python {m['python']}, numpy {m['numpy']}"
        f"{_load(info)}).{_how(records)} The numbers are read from the JSON the same command wrote to "
        f"`{RESULTS_DIR}/`; `python -m demos report --from-json` rewrites this section from it.\n",
        _table(columns, times)
        + (
            "\nA process runs one demo over its seeds under one BLAS kernel. Wall time depends on what else "
            "the machine was doing; CPU time (the processes' own) is what they cost on an idle machine.\n"
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
def build_parser() -> argparse.ArgumentParser:
    from demos.__main__ import positive_int

    parser = argparse.ArgumentParser(
        prog="python -m demos report",
        description="Run every demo, the training demos over many seeds under several BLAS kernels, and "
        "write the README's results from their JSON.",
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
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", dest="size", action="store_const", const="quick", help="quick mode (not for the README)"
    )
    size.add_argument("--smoke", dest="size", action="store_const", const="smoke", help=argparse.SUPPRESS)
    parser.set_defaults(size="full")
    parser.add_argument(
        "--seeds",
        type=positive_int,
        metavar="N",
        help=f"seeds per training demo (default in full mode: {REPORT_SEEDS}, or the demo's own if more)",
    )
    parser.add_argument(
        "--kernels",
        metavar="K1,K2",
        help="OpenBLAS core types to run each training demo under (OPENBLAS_CORETYPE; default: Haswell, "
        "and SkylakeX where the CPU has AVX-512, else Sandybridge); 'default' lets OpenBLAS choose",
    )
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N", help="runs at once (default 1)")
    parser.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)  # one run, in a subprocess
    parser.add_argument("demo_argv", nargs="*", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.demo_argv)
    if args.demo_argv:
        parser.error(f"unexpected arguments: {' '.join(args.demo_argv)}")
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
        if args.size != "full" and os.path.normpath(args.results) == RESULTS_DIR:
            parser.error(
                f"--{args.size}: the README's results come from full mode; give --results DIR and --readme "
                "PATH to write a quick report elsewhere"
            )
        if not os.path.isdir(args.results):
            parser.error(f"--results {args.results}: the folder does not exist; create it first")
        problem = output_path_problem(os.path.join(args.results, RUN_FILE), "--results")
        if problem:
            parser.error(problem)
        kernels = [k.strip() for k in args.kernels.split(",") if k.strip()] if args.kernels else None
        if kernels is not None and not kernels:
            parser.error("--kernels: expected OpenBLAS core types separated by commas, e.g. Haswell,SkylakeX")
        try:
            show = args.jobs == 1 and console.is_terminal
            info, records = run_all(console, args.size, args.seeds, kernels, args.jobs, show_output=show)
        except KeyboardInterrupt:
            print("interrupted (Ctrl-C): stopped, no results written", file=sys.stderr)
            return 130
        except RunFailed as error:
            print(f"{error}\nno results written", file=sys.stderr)
            return 1
        for name, record in records.items():
            write_text_atomically(os.path.join(args.results, f"{name}.json"), _json(record))
        write_text_atomically(os.path.join(args.results, RUN_FILE), _json(info))
        info, records = read_results(args.results)  # render what was written, exactly as a test will
        _warn_about_kernels(console, info, records)
    write_text_atomically(args.readme, replace_section(readme, render(info, records)))
    console.print(f"wrote the results section of {args.readme} from {args.results}/")
    return 0


def _warn_about_kernels(console: Console, info: dict, records: dict[str, dict]) -> None:
    """Say so when a kernel asked for is not the one that ran (OpenBLAS fell back, or no OpenBLAS)."""
    for name, record in records.items():
        for run in runs_of(record):
            ran = (run.get("blas") or {}).get("corename")
            if run["kernel"] not in (None, _blas.DEFAULT) and ran != run["kernel"]:
                console.print(
                    f"[yellow]warning[/yellow]: {name}: asked for the BLAS kernel {run['kernel']}, "
                    f"numpy's BLAS reports {ran}"
                )


def _json(data: object) -> str:
    return json.dumps(data, indent=2, allow_nan=False) + "\n"
