"""Curvature from double backpropagation: Newton's method, and the cliffs of exploding gradients.

The gradient is itself computed by a graph of ops, so with ``create_graph=True``
the engine records it and can differentiate it again:

    g = grad(L, x, create_graph=True)          # dL/dx, a Tensor with a graph
    Hv = grad((g * v).sum(), x)                # d<g, v>/dx = H v, the Hessian times v

Part 1. Newton's method on f(x) = x^4 - 3x^2 + x. Newton steps by
x <- x - f'(x) / f''(x), with f'' from differentiating f' (the engine's grad,
twice); gradient descent steps by x <- x - lr f'(x). Near the minimiser x*,
Newton's error squares each step (e_{k+1} ~ f'''/(2 f'') e_k^2), gradient
descent's shrinks by a constant factor (e_{k+1} ~ (1 - lr f''(x*)) e_k).

Part 2. Seed 003's exploding gradients (Pascanu, Mikolov & Bengio 2013): a tanh
RNN on the adding problem whose recurrent matrix is W_hh = scale x orthogonal.
With v = g / |g|, the curvature along the gradient is kappa = v^T H v, one
double backward pass. Along v the loss is L(theta - s v) ~ L - s |g| + s^2 kappa / 2,
so a gradient step of length s = lr |g| lowers it only while lr < 2 / kappa.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from rich.console import Console

from demos import seed_list
from demos._ui import panel, say, table
from tinygrad_rnn import Tensor, grad, nn
from tinygrad_rnn.data import adding_batch
from tinygrad_rnn.nn import functional as F

NAME = "curvature"
SUMMARY = (
    "double backprop: Newton's method with the engine's f'', and the curvature of exploding-gradient cliffs"
)

# ---- part 1: Newton against gradient descent on one variable ------------------------------------
FUNCTION_TEXT = "f(x) = x^4 - 3 x^2 + x"
GD_LEARNING_RATE = 0.02
START_RANGE = (-2.5, -1.0)  # f'' = 12 x^2 - 6 > 0 there: both methods head for the left minimum
TOLERANCE = 1e-10  # converged when |f'(x)| <= TOLERANCE
MAX_STEPS = 1000
TRAJECTORY_ROWS = 8  # gradient descent steps shown before its last one


def f(x: Tensor) -> Tensor:
    return x**4 - 3 * x**2 + x


def derivatives(x: float) -> tuple[float, float, float]:
    """f(x), f'(x), f''(x) from the engine: f' by a recorded backward, f'' by differentiating f'."""
    t = Tensor(np.float64(x), requires_grad=True)
    value = f(t)
    (slope,) = grad(value, t, create_graph=True)
    (curvature,) = grad(slope, t)
    return value.item(), slope.item(), float(curvature)


def minimise(x0: float, method: str) -> list[dict]:
    """Steps of Newton or gradient descent from x0 until |f'(x)| <= TOLERANCE; one dict per iterate."""
    x, steps = x0, []
    for _ in range(MAX_STEPS + 1):
        value, slope, curvature = derivatives(x)
        steps.append({"x": x, "f": value, "df": slope, "d2f": curvature})
        if abs(slope) <= TOLERANCE:
            break
        x = x - slope / curvature if method == "newton" else x - GD_LEARNING_RATE * slope
    return steps


def true_minimiser() -> float:
    """The lowest critical point of f: a root of f'(x) = 4x^3 - 6x + 1 (numpy's polynomial roots)."""
    roots = np.roots([4.0, 0.0, -6.0, 1.0]).real
    return float(min(roots, key=lambda r: r**4 - 3 * r**2 + r))


# ---- part 2: curvature along the gradient of a scaled-up tanh RNN -------------------------------
SCALES = (0.5, 1.0, 1.5, 2.0, 3.0)
LEARNING_RATE, MAX_NORM = 0.1, 1.0  # the SGD step and clip_grad_norm_ threshold of vanishing.py's part 2
# Central differences of g along v step by at most FD_EPS, and by at most FD_SHARE of |g|/|kappa|, the
# distance over which the slope changes by its own size. Their error grows with the step squared: a
# fixed 1e-5 was off by 3e-2 (relative) on the steepest cliffs (T = 20, scale 3: |g|/|kappa| ~ 3e-4);
# these bounds keep it below 1e-5 there, and rounding (1e-16 |g| / step) far below that.
FD_EPS, FD_SHARE = 1e-6, 1e-4
# Double backprop and central differences "agree" when their relative difference is at most this.
AGREE = 1e-5
# size -> (hidden units, batch, sequence lengths)
SIZES = {"full": (32, 32, (10, 20)), "quick": (32, 32, (10,)), "smoke": (8, 8, (5,))}
SEEDS = {"full": 20, "quick": 5, "smoke": 3}  # how many, unless --seeds says


def build_problem(seed: int, scale: float, hidden: int, batch: int, length: int) -> tuple[list, object]:
    """The adding problem's tanh RNN (PyTorch's initialisation, then W_hh = scale x a random
    orthogonal matrix) with a linear read-out; returns its parameters and loss_fn() -> MSE."""
    rng = np.random.default_rng(seed)
    rnn = nn.RNN(2, hidden, rng=rng)
    orthogonal, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    rnn.weight_hh_l0.data[:] = scale * orthogonal
    head = nn.Linear(hidden, 1, rng=rng)
    x, y = adding_batch(batch, length, np.random.default_rng(seed + 2000))

    def loss_fn() -> Tensor:
        output, _ = rnn(x)
        return F.mse_loss(head(output[-1]).reshape(-1), y)

    return rnn.parameters() + head.parameters(), loss_fn


def curvature_along_gradient(params: list, loss_fn) -> dict:
    """|g|, kappa = v^T H v with v = g/|g| by double backprop, the same kappa by central differences
    of g along v, and the loss change after one SGD step, unclipped and clipped."""
    loss = loss_fn()
    gradients = grad(loss, params, create_graph=True)
    norm = math.sqrt(sum(float((g.data**2).sum()) for g in gradients))
    v = [g.data / norm for g in gradients]
    hv = grad(sum((g * d).sum() for g, d in zip(gradients, v)), params)
    kappa = sum(float((h * d).sum()) for h, d in zip(hv, v))

    saved = [np.array(p.data) for p in params]

    def at(step: float, first_order: bool = False):
        """The loss (or its gradient) at theta + step * v."""
        for p, value, d in zip(params, saved, v):
            p.data = value + step * d
        result = grad(loss_fn(), params) if first_order else loss_fn().item()
        for p, value in zip(params, saved):
            p.data = value
        return result

    eps = min(FD_EPS, FD_SHARE * norm / abs(kappa)) if kappa else FD_EPS
    plus, minus = at(eps, True), at(-eps, True)
    kappa_fd = sum(float(((a - b) * d).sum()) for a, b, d in zip(plus, minus, v)) / (2 * eps)
    with np.errstate(all="ignore"):
        plain = at(-LEARNING_RATE * norm) - loss.item()
        clipped = at(-LEARNING_RATE * min(norm, MAX_NORM)) - loss.item()
    return {
        "loss": loss.item(),
        "grad_norm": norm,
        "curvature": kappa,
        "curvature_fd": kappa_fd,
        "lr_bound": 2 / kappa if kappa > 0 else None,
        "loss_change_plain": plain,
        "loss_change_clipped": clipped,
    }


def summary(values: list[float]) -> dict:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return {
        "mean": float(np.mean(finite)) if finite else math.nan,
        "sd": float(np.std(finite)) if finite else math.nan,
        "values": values,
    }


def cliffs(seeds: list[int], length: int, hidden: int, batch: int) -> dict:
    """Every scale x seed: curvature_along_gradient, summarised over the seeds."""
    rows = []
    for scale in SCALES:
        runs = [curvature_along_gradient(*build_problem(s, scale, hidden, batch, length)) for s in seeds]
        row = {"scale": scale} | {key: summary([r[key] for r in runs]) for key in runs[0]}
        row["abs_curvature"] = summary([abs(r["curvature"]) for r in runs])
        rows.append(row)
    return {"length": length, "hidden": hidden, "batch": batch, "rows": rows}


# ---- the run ----------------------------------------------------------------------------------------
def run(args: argparse.Namespace, console: Console) -> dict:
    hidden, batch, lengths = SIZES[args.size]
    seeds = seed_list(args, SEEDS[args.size])
    newton = newton_part(seeds, console)
    settings = [cliffs(seeds, length, hidden, batch) for length in lengths]
    for setting in settings:
        print_cliffs(setting, seeds, console)
        console.print(
            panel(
                cliff_reading(setting, len(seeds)),
                f"What the curvature means for a step (T = {setting['length']})",
            )
        )
    return {"newton_vs_gd": newton, "cliffs": settings, "seeds": seeds}


def newton_part(seeds: list[int], console: Console) -> dict:
    x_star = true_minimiser()
    curvature_star, third_star = 12 * x_star**2 - 6, 24 * x_star  # f'' and f''' by hand
    newton_constant = abs(third_star / (2 * curvature_star))
    gd_factor = abs(1 - GD_LEARNING_RATE * curvature_star)
    runs, trajectories = [], {}
    for seed in seeds:
        x0 = float(np.random.default_rng(seed).uniform(*START_RANGE))
        paths = {method: minimise(x0, method) for method in ("newton", "gd")}
        trajectories.setdefault("newton", paths["newton"])
        trajectories.setdefault("gd", paths["gd"])
        runs.append(
            {
                "seed": seed,
                "x0": x0,
                "newton_steps": len(paths["newton"]) - 1,
                "gd_steps": len(paths["gd"]) - 1,
                "newton_x": paths["newton"][-1]["x"],
                "gd_x": paths["gd"][-1]["x"],
            }
        )
    say(
        console,
        f"Part 1: {FUNCTION_TEXT} has its minimum at x* = {x_star:.12f} (the lowest root of "
        f"f'(x) = 4x^3 - 6x + 1). f' and f'' come from the engine: grad(f, x, create_graph=True), then "
        f"grad of that. Newton: x <- x - f'/f''. Gradient descent: x <- x - {GD_LEARNING_RATE} f'. "
        f"Both stop when |f'(x)| <= {TOLERANCE:g}.",
    )
    for method, title in (("newton", "Newton's method"), ("gd", f"Gradient descent, lr {GD_LEARNING_RATE}")):
        path = trajectories[method]
        shown = list(enumerate(path))
        if len(shown) > TRAJECTORY_ROWS + 1:
            shown = shown[:TRAJECTORY_ROWS] + [(None, None)] + shown[-1:]
        rows = []
        for k, step in shown:
            if step is None:
                rows.append(["...", "", "", "", "", "", ""])
                continue
            error = abs(step["x"] - x_star)
            previous = abs(path[k - 1]["x"] - x_star) if k else math.nan
            ratio = error / previous**2 if method == "newton" else error / previous
            rows.append(
                [
                    k,
                    f"{step['x']:+.9f}",
                    f"{step['f']:+.6f}",
                    f"{step['df']:+.1e}",
                    f"{step['d2f']:.3f}",
                    f"{error:.1e}",
                    f"{ratio:.3f}" if k and error > 1e-13 and previous > 1e-13 else "",
                ]
            )
        rate = "e_k/e_(k-1)^2" if method == "newton" else "e_k/e_(k-1)"
        predicted = (
            f"|f'''(x*) / (2 f''(x*))| = {newton_constant:.3f}"
            if method == "newton"
            else f"|1 - lr f''(x*)| = {gd_factor:.3f}"
        )
        console.print(
            table(
                f"{title} from x0 = {path[0]['x']:.4f} (seed {seeds[0]})",
                ["k", "x", "f(x)", "f'(x)", "f''(x)", "e = |x - x*|", "ratio"],
                rows,
                caption=f"ratio = {rate}; near x* it tends to {predicted}.",
            )
        )
    newton_steps = [r["newton_steps"] for r in runs]
    gd_steps = [r["gd_steps"] for r in runs]
    console.print(
        table(
            f"Steps to |f'(x)| <= {TOLERANCE:g}, over {len(seeds)} starting points x0 ~ U{START_RANGE}",
            ["method", "steps (mean ± sd)", "range", "largest |x - x*| at the end"],
            [
                [
                    name,
                    f"{np.mean(steps):.1f} ± {np.std(steps):.1f}",
                    f"{min(steps)} to {max(steps)}",
                    f"{max(abs(r[key] - x_star) for r in runs):.1e}",
                ]
                for name, steps, key in (("Newton", newton_steps, "newton_x"), ("GD", gd_steps, "gd_x"))
            ],
        )
    )
    fewer = all(n < g for n, g in zip(newton_steps, gd_steps))
    say(
        console,
        f"Newton needed fewer steps than gradient descent from {'every' if fewer else 'not every'} "
        f"starting point ({min(newton_steps)}-{max(newton_steps)} against {min(gd_steps)}-{max(gd_steps)}): "
        "each Newton step roughly doubles the number of correct digits, each gradient step adds a fixed "
        f"{-math.log10(gd_factor):.2f} of a digit. Newton pays with a second derivative per step, which a "
        "network with millions of weights cannot afford as a matrix, but can afford as H v (part 2).\n",
    )
    return {
        "function": FUNCTION_TEXT,
        "minimiser": x_star,
        "gd_lr": GD_LEARNING_RATE,
        "tolerance": TOLERANCE,
        "newton_constant": newton_constant,
        "gd_factor": gd_factor,
        "runs": runs,
        "newton_steps": summary(newton_steps),
        "gd_steps": summary(gd_steps),
        "trajectory": {"seed": seeds[0], **trajectories},
    }


def _mean_sd(values: list[float]) -> str:
    return f"{_short(np.mean(values))} ± {_short(np.std(values))}"


def _short(x: float) -> str:
    """Two significant digits, without the exponent's padding: 0.52, 17, 3.7e2."""
    text = f"{x:.2g}"
    return text.replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def _count(values: list, predicate) -> int:
    return sum(bool(predicate(v)) for v in values)


def _went_up(change: float) -> bool:
    return not math.isfinite(change) or change > 0


def print_cliffs(setting: dict, seeds: list[int], console: Console) -> None:
    rows, n = [], len(seeds)
    for row in setting["rows"]:
        bounds = [b for b in row["lr_bound"]["values"] if b is not None]
        reach = [g / abs(k) for g, k in zip(row["grad_norm"]["values"], row["curvature"]["values"])]
        rows.append(
            [
                f"{row['scale']:g}",
                _mean_sd(row["grad_norm"]["values"]),
                _mean_sd(np.abs(row["curvature"]["values"])),
                f"{n - len(bounds)}/{n}",
                _short(min(bounds)) if bounds else "none",
                _short(min(reach)),
                f"{_count(row['loss_change_plain']['values'], _went_up)}/{n}"
                f" | {_count(row['loss_change_clipped']['values'], _went_up)}/{n}",
            ]
        )
    fd_errors = [
        (abs(a - b) / max(abs(b), 1e-12), row["scale"])
        for row in setting["rows"]
        for a, b in zip(row["curvature"]["values"], row["curvature_fd"]["values"])
    ]
    worst, worst_scale = max(fd_errors)
    agreeing = sum(error <= AGREE for error, _ in fd_errors)
    if agreeing == len(fd_errors):
        check = f"it agrees with central differences of g along v to {worst:.0e} (relative) in every setting"
    else:
        check = (
            f"it agrees with central differences of g along v to {AGREE:.0e} (relative) in {agreeing} of "
            f"{len(fd_errors)} (scale, seed) settings; the largest difference is {worst:.0e}, at scale "
            f"{worst_scale:g}"
        )
    console.print(
        table(
            f"Part 2: tanh RNN, adding problem, T = {setting['length']}, {setting['hidden']} units, "
            f"batch {setting['batch']}, W_hh = scale x orthogonal; {n} seeds",
            ["scale", "|g|", "|kappa|", "k<=0", "2/kappa", "|g|/|k|", "loss up"],
            rows,
            caption="Mean ± sd over seeds. kappa = v^T H v, v = g/|g|, by double backprop (grad of <g, v>, "
            f"create_graph); {check}. "
            "k<=0: seeds with kappa <= 0. 2/kappa: the largest stable lr, smallest over the seeds with "
            f"kappa > 0. |g|/|k|: the distance over which the slope along v changes by its own size "
            f"(smallest over seeds), to compare with an SGD step's length lr|g| at lr {LEARNING_RATE}. "
            "loss up: seeds whose "
            f"loss rose after one step at lr {LEARNING_RATE}, plain | with clip_grad_norm_ at {MAX_NORM:g}.",
        )
    )


def _scales(rows: list[dict]) -> str:
    """'at scale 1, 1.5', or 'at no scale'."""
    return "at scale " + ", ".join(f"{r['scale']:g}" for r in rows) if rows else "at no scale"


def cliff_reading(setting: dict, seed_count: int) -> str:
    """The explanation; each claim about the numbers says for how many seeds it holds."""
    rows = setting["rows"]
    first, last = rows[0], rows[-1]
    lines = [
        "Along v = g/|g| the loss is L(theta - s v) ~ L - s |g| + s^2 kappa / 2, so an SGD step (length "
        "s = lr |g|) lowers it only while lr < 2 / kappa. Where kappa < 0 this sets no limit, but the "
        "picture itself only holds while s is small against |g| / |kappa|, the distance over which the "
        "slope along v changes by its own size."
    ]
    norms = list(zip(first["grad_norm"]["values"], last["grad_norm"]["values"]))
    kappas = list(zip(first["curvature"]["values"], last["curvature"]["values"]))
    if all(b > a for a, b in norms):
        text = (
            f"From scale {first['scale']:g} to {last['scale']:g} the gradient norm grew for every seed "
            f"(at least x{min(b / a for a, b in norms):.1f})"
        )
        g_growth = [b / a for a, b in norms]
        kappa_growth = [abs(b) / abs(a) for a, b in kappas]
        more = [k > g for g, k in zip(g_growth, kappa_growth)]
        cliffs = (
            "the cliffs of Pascanu, Mikolov & Bengio (2013), walls where the slope changes within a short "
            "distance"
        )
        if all(more):
            text += f", and |kappa| grew more than |g| for every seed (at least x{min(kappa_growth):.0f}): "
            text += cliffs
        elif any(more):
            others = "; ".join(
                f"|kappa| x{k:.2f} against |g| x{g:.2f}"
                for g, k, m in zip(g_growth, kappa_growth, more)
                if not m
            )
            text += (
                f"; |kappa| grew more than |g| for {sum(more)} of {len(more)} seeds ({cliffs}), not for the "
                f"others ({others})"
            )
        else:
            text += "; |kappa| grew less than |g| for every seed"
        lines.append(text + ".")
    stable = [r for r in rows if all(b is not None and LEARNING_RATE < b for b in r["lr_bound"]["values"])]
    unstable = [r for r in rows if all(b is not None and LEARNING_RATE > b for b in r["lr_bound"]["values"])]
    lines.append(
        f"lr {LEARNING_RATE} is below 2/kappa for every seed {_scales(stable)}, above it for every "
        f"seed {_scales(unstable)}."
    )

    def beyond(row: dict, length) -> bool:  # is the step longer than |g|/|kappa| for every seed?
        return all(
            length(g) > g / abs(k) for g, k in zip(row["grad_norm"]["values"], row["curvature"]["values"])
        )

    def within(row: dict, length) -> bool:
        return all(
            length(g) < g / abs(k) for g, k in zip(row["grad_norm"]["values"], row["curvature"]["values"])
        )

    plain_far = [r for r in rows if beyond(r, lambda g: LEARNING_RATE * g)]
    clipped_near = [r for r in rows if within(r, lambda g: LEARNING_RATE * min(g, MAX_NORM))]
    lines.append(
        f"The unclipped step is longer than |g|/|kappa| for every seed {_scales(plain_far)}: there "
        "the local slope says little about where the step lands. Clipping to norm "
        f"{MAX_NORM:g} caps the step at lr x {MAX_NORM:g} = {LEARNING_RATE * MAX_NORM:g} however large |g| "
        f"is; it stays shorter than |g|/|kappa| for every seed {_scales(clipped_near)}."
    )
    plain_up = sum(_count(r["loss_change_plain"]["values"], _went_up) for r in rows)
    clipped_up = sum(_count(r["loss_change_clipped"]["values"], _went_up) for r in rows)
    total = seed_count * len(rows)
    lines.append(
        f"Measured: one step raised the loss in {plain_up} of {total} (scale, seed) settings unclipped, "
        f"{clipped_up} of {total} clipped."
    )
    return "\n".join(lines)
