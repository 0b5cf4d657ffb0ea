"""Seed 003: vanishing and exploding gradients, measured.

Part 1. A loss L_T at the last step of a sequence depends on the state h_t of
an earlier step t only through h_(t+1), ..., h_T, so by the chain rule

    dL_T/dh_t = dL_T/dh_T  dh_T/dh_(T-1) ... dh_(t+1)/dh_t,

a product of T - t Jacobians. For a tanh RNN each factor is diag(1 - h^2) W_hh:
if its size stays below 1 the product shrinks geometrically with T - t (the
gradient vanishes, and a long-range dependency cannot be learned); above 1 it
grows (it explodes). GRU and LSTM add a path h_t -> h_(t+1) (c_t -> c_(t+1))
scaled by a gate, which passes the gradient on only as far as the gate is open.
We measure ||dL_T/dh_t|| with retain_grad() on every state, at initialisation
and after training on a task that needs memory (recall the first symbol).

Part 2. Exploding gradients in practice: a tanh RNN whose recurrent matrix is
scaled up, trained on the adding problem with and without clip_grad_norm_.

Every part runs once per seed (initialisation and data both follow the seed), and
each sentence of the reading counts the seeds it holds for.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console

from demos import seed_list
from demos._ui import compiled_note, panel, progress, say, sparkline, table
from tinygrad_rnn import Tensor, jit, nn, optim
from tinygrad_rnn.data import adding_baseline, adding_batch, recall_baseline, recall_batch
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.train import TrainLog, keep_gate_init, train_steps

NAME = "vanishing"
SUMMARY = "seed 003: ||dL_T/dh_t|| against T - t for RNN, GRU, LSTM; exploding gradients and clipping"

SYMBOLS, HIDDEN, BATCH = 4, 32, 32
LEARNING_RATE = 0.01
# size -> (sequence lag, training steps for part 1, training steps for part 2)
SIZES = {"full": (50, 400, 1000), "quick": (30, 100, 300), "smoke": (5, 2, 3)}
SEEDS = {"full": 3, "quick": 3, "smoke": 2}  # how many, unless --seeds says
SCALED = 1.5  # part 2: recurrent matrix = SCALED x a random orthogonal matrix
# Part 2 uses short sequences (T = 10) so that the clipped run has time to learn, not just survive.
EXPLODING_LR, EXPLODING_LENGTH = 0.1, 10
# name -> (cell, bias the gates to keep?)
MODELS = {
    "RNN": ("RNN", False),
    "GRU": ("GRU", False),
    "LSTM": ("LSTM", False),
    "GRU+keep": ("GRU", True),
    "LSTM+keep": ("LSTM", True),
}


class Unrolled(nn.Module):
    """A cell run over the sequence in a visible time loop (every h_t is kept), then a
    linear read-out of the last state."""

    def __init__(self, kind: str, rng: np.random.Generator) -> None:
        cell = {"RNN": nn.RNNCell, "GRU": nn.GRUCell, "LSTM": nn.LSTMCell}[kind]
        self.kind = kind
        self.cell = cell(SYMBOLS + 1, HIDDEN, rng=rng)
        self.head = nn.Linear(HIDDEN, SYMBOLS, rng=rng)

    def forward(self, x: np.ndarray) -> tuple[Tensor, list[Tensor]]:
        """x (T, B, SYMBOLS + 1) -> logits for the last step, and [h_1, ..., h_T]."""
        state, hs = None, []
        for t in range(x.shape[0]):
            state = self.cell(x[t], state)
            hs.append(state[0] if self.kind == "LSTM" else state)
        return self.head(hs[-1]), hs


def gradient_profile(model: Unrolled, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """||dL_T/dh_t|| for t = T, T-1, ..., 1 (index = T - t), averaged over the batch."""
    logits, hs = model(x)
    for h in hs:
        h.retain_grad()
    F.cross_entropy(logits, y).backward()
    model.zero_grad()
    norms = [np.linalg.norm(h.grad, axis=-1).mean() for h in hs]
    return np.asarray(norms[::-1])


def scaled_orthogonal(rng: np.random.Generator, scale: float) -> np.ndarray:
    orthogonal, _ = np.linalg.qr(rng.standard_normal((HIDDEN, HIDDEN)))
    return scale * orthogonal


def factor_per_step(profile: np.ndarray) -> float:
    """Geometric-mean factor by which ||dL_T/dh_t|| changes per step back in time."""
    return float((profile[-1] / profile[0]) ** (1.0 / (len(profile) - 1)))


def change(factor: float) -> str:
    """'growth' or 'decay' as the factor prints (x1.00 is neither)."""
    printed = shown(factor)
    return "growth" if printed > 1 else "decay" if printed < 1 else "no change"


def mean_sd(values: list[float], digits: int = 2) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def count(k: int, n: int) -> str:
    return f"all {n}" if k == n else f"{k} of {n}"


def shown(factor: float) -> float:
    """The factor as the demo prints it (x0.90): every threshold is applied to this, so that a
    printed value never sits on both sides of one."""
    return float(f"{factor:.2f}")


def _scale(logs: list[np.ndarray]) -> tuple[float, float]:
    """The shared log10 scale of some profiles' charts: their lowest and highest values."""
    return min(float(v.min()) for v in logs), max(float(v.max()) for v in logs)


def _scale_text(low: float, high: float) -> str:
    return f"on one shared log scale, from {10**low:.1e} (▁) to {10**high:.1e} (█)"


def profile_table(title: str, profiles: dict[str, list[np.ndarray]]) -> object:
    """At initialisation: one row per model with the norm at the far end, the factor per step
    (mean ± sd over seeds, then each seed's) and the profile's log-scale chart (geometric mean over
    seeds, which agree closely here; one shared scale, so slopes compare)."""
    logs = {name: np.mean([np.log10(p) for p in runs], axis=0) for name, runs in profiles.items()}
    low, high = _scale(list(logs.values()))
    lag = len(next(iter(logs.values()))) - 1
    starts = [float(p[0]) for runs in profiles.values() for p in runs]
    rows = []
    for name, runs in profiles.items():
        factors = [factor_per_step(p) for p in runs]
        rows.append(
            [
                name,
                f"{10 ** logs[name][-1]:.1e}",
                f"x{mean_sd(factors)}",
                "\n".join(f"x{f:.2f}" for f in factors),
                sparkline(logs[name], width=min(lag + 1, 20), low=low, high=high),
            ]
        )
    return table(
        title,
        ["model", f"at T-t = {lag}", "per step", "per seed", f"log10 norm, T-t = 0..{lag}"],
        rows,
        caption=f"||dL_T/dh_t||, mean over a batch of {BATCH}; at T-t = 0 it is {min(starts):.1e} to "
        f"{max(starts):.1e}. 'at T-t' and the chart: geometric mean over seeds; charts "
        f"{_scale_text(low, high)}.",
        wrap=["model"],
    )


def trained_table(
    title: str, profiles: dict[str, list[np.ndarray]], losses: dict[str, list[float]], seeds: list[int]
) -> object:
    """After training the seeds can differ (one learns, one does not), so a mean would hide one:
    every seed gets its own line, with its factor per step, its profile's chart and its task loss."""
    logs = {name: [np.log10(p) for p in runs] for name, runs in profiles.items()}
    low, high = _scale([v for runs in logs.values() for v in runs])
    lag = len(logs["RNN"][0]) - 1
    rows = []
    for name, runs in profiles.items():
        rows.append(
            [
                name,
                "\n".join(map(str, seeds)),
                "\n".join(f"x{factor_per_step(p):.2f}" for p in runs),
                "\n".join(sparkline(v, width=min(lag + 1, 20), low=low, high=high) for v in logs[name]),
                "\n".join(f"{v:.3f}" for v in losses[name]),
                count(sum(learned(losses[name])), len(runs)),
            ]
        )
    return table(
        title,
        ["model", "seed", "per step", f"log10 norm, T-t = 0..{lag}", "task loss", "learned"],
        rows,
        caption=f"One line per seed. ||dL_T/dh_t||, mean over a batch of {BATCH}; charts "
        f"{_scale_text(low, high)}. Learned: task loss below half of the no-memory "
        f"{recall_baseline(SYMBOLS):.3f}.",
    )


def learned(losses: list[float]) -> list[bool]:
    """Per run: task loss below half of the no-memory baseline."""
    return [loss < 0.5 * recall_baseline(SYMBOLS) for loss in losses]


def train_recall(
    models: dict[str, Unrolled], lag: int, steps: int, seed: int, console: Console
) -> dict[str, float]:
    """Adam on the recall task, the same batches for every model; the mean loss of the last 10%."""
    losses: dict[str, float] = {}
    with progress(console) as bars:
        for name, model in models.items():
            optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
            task = bars.add_task(f"seed {seed}: {name:<10}", total=steps, loss="-")
            batches = np.random.default_rng(seed + 1)  # the same batches for every model

            loss_of = jit(lambda x, y, model=model: F.cross_entropy(model(x)[0], y))  # one numpy program

            def loss_fn(step: int, loss_of=loss_of, batches=batches) -> Tensor:
                return loss_of(*recall_batch(BATCH, lag, SYMBOLS, batches))

            log = train_steps(
                loss_fn,
                optimizer,
                steps,
                max_norm=1.0,
                on_step=lambda s, loss, task=task: bars.update(task, advance=1, loss=f"{loss:.3f}"),
            )
            losses[name] = log.mean_loss(0.1)
    return losses


def one_seed(seed: int, lag: int, steps: int, console: Console) -> tuple[dict, dict, dict]:
    """Profiles at initialisation (with the scaled-up RNN), trained profiles, task losses."""
    probe_x, probe_y = recall_batch(BATCH, lag, SYMBOLS, np.random.default_rng(seed + 1000))
    models = {}
    for name, (kind, keep) in MODELS.items():
        rng = np.random.default_rng(seed)
        models[name] = Unrolled(kind, rng)
        if keep:
            keep_gate_init(models[name].cell, lag, rng)
    at_init = {name: gradient_profile(model, probe_x, probe_y) for name, model in models.items()}
    scaled = Unrolled("RNN", np.random.default_rng(seed))
    scaled.cell.weight_hh.data[:] = scaled_orthogonal(np.random.default_rng(seed), SCALED)
    at_init[SCALED_NAME] = gradient_profile(scaled, probe_x, probe_y)
    losses = train_recall(models, lag, steps, seed, console)
    trained = {name: gradient_profile(model, probe_x, probe_y) for name, model in models.items()}
    return at_init, trained, losses


SCALED_NAME = f"RNN, W_hh = {SCALED:g} Q"


def run(args: argparse.Namespace, console: Console) -> dict:
    lag, steps, exploding_steps = SIZES[args.size]
    seeds = seed_list(args, SEEDS[args.size])
    compiled_note(console)
    say(
        console,
        f"Task: a marked symbol ({SYMBOLS} kinds), then {lag} random distractors; L_T = cross-entropy of "
        f"naming the marked symbol after the last step (no memory: {recall_baseline(SYMBOLS):.3f}). "
        f"Cells of {HIDDEN} units, PyTorch's initialisation; '+keep': the gates are also biased to keep "
        "the state at the start (LSTM forget gate, GRU update gate: keep_gate_init). "
        f"Seeds {', '.join(map(str, seeds))}: each draws its own weights, batches and probe batch.",
    )
    at_init: dict[str, list[np.ndarray]] = {}
    trained: dict[str, list[np.ndarray]] = {}
    losses: dict[str, list[float]] = {}
    for seed in seeds:
        init_one, trained_one, losses_one = one_seed(seed, lag, steps, console)
        for into, new in ((at_init, init_one), (trained, trained_one), (losses, losses_one)):
            for name, value in new.items():
                into.setdefault(name, []).append(value)
    console.print(profile_table(f"At initialisation ({len(seeds)} seeds)", at_init))
    console.print(trained_table(f"After {steps} Adam steps on the task", trained, losses, seeds))
    console.print(panel(_reading(at_init, trained, losses, lag), "Vanishing: reading the profiles"))

    clipping = exploding_run(seeds, console, exploding_steps)
    return {
        "lag": lag,
        "seeds": seeds,
        "at_init": {k: [p.tolist() for p in v] for k, v in at_init.items()},
        "trained": {k: [p.tolist() for p in v] for k, v in trained.items()},
        "trained_loss": losses,
        "learned": {k: learned(v) for k, v in losses.items()},
        "factor_per_step": {
            "at_init": {k: [factor_per_step(p) for p in v] for k, v in at_init.items()},
            "trained": {k: [factor_per_step(p) for p in v] for k, v in trained.items()},
        },
        "clipping": clipping,
    }


def _reading(
    at_init: dict[str, list[np.ndarray]],
    trained: dict[str, list[np.ndarray]],
    losses: dict[str, list[float]],
    lag: int,
) -> str:
    """The panel's text: every claim chosen by the measured numbers, with the number of seeds it
    holds for (profiles and losses hold one entry per seed)."""
    init_factor = {name: [factor_per_step(p) for p in runs] for name, runs in at_init.items()}
    factor = {name: [factor_per_step(p) for p in runs] for name, runs in trained.items()}
    n = len(init_factor["RNN"])

    def mean(name: str, factors: dict[str, list[float]]) -> str:
        return f"x{np.mean(factors[name]):.2f}"

    def compounded(name: str) -> str:
        return f"{np.exp(np.mean([np.log(p[-1] / p[0]) for p in at_init[name]])):.0e}"

    text = (
        f"At initialisation every step back multiplies the gradient by about {mean('RNN', init_factor)} "
        f"(RNN), {mean('GRU', init_factor)} (GRU) and {mean('LSTM', init_factor)} (LSTM), means over "
        f"{n} seeds: over {lag} steps that compounds to {compounded('RNN')}, {compounded('GRU')} and "
        f"{compounded('LSTM')}. "
    )
    if max(max(init_factor["GRU"]), max(init_factor["LSTM"])) < 0.8:
        text += (
            "Gates alone do not help (below x0.8 in every seed): with biases near 0 a sigmoid gate is "
            "about half open and passes about half the gradient per step. "
        )
    for keep in ("GRU+keep", "LSTM+keep"):
        plain = keep.split("+")[0]
        more = sum(k > p for k, p in zip(init_factor[keep], init_factor[plain]))
        if more:
            text += (
                f"Biased to keep, {keep} passes more than {plain} in {count(more, n)} seeds "
                f"({mean(keep, init_factor)} against {mean(plain, init_factor)}). "
            )
    grows = sum(f > 1 for f in init_factor[SCALED_NAME])
    outcome = (
        f"the product grows in {count(grows, n)} seeds instead (part 2)" if grows else "it still shrinks"
    )
    text += (
        f"With W_hh scaled up ({SCALED_NAME}) the factor is {mean(SCALED_NAME, init_factor)}: {outcome}.\n"
    )

    text += (
        "\nAfter training, per step back (mean over seeds): "
        + ", ".join(
            f"{name} {mean(name, factor)} ({change(float(np.mean(factor[name])))})" for name in factor
        )
        + ". "
    )
    # closer to x1 = the gradient keeps more of its size per step, whether the factor is above or below 1
    closer = {
        name: sum(abs(np.log(f)) < abs(np.log(r)) for f, r in zip(factor[name], factor["RNN"]))
        for name in factor
        if name != "RNN"
    }
    always = [name for name, k in closer.items() if k == n]
    sometimes = [f"{name} ({k} of {n})" for name, k in closer.items() if 0 < k < n]
    if always:
        text += f"Closer to x1 than the RNN's factor in every seed: {', '.join(always)}. "
    if sometimes:
        text += f"In some seeds only: {', '.join(sometimes)}. "

    baseline = recall_baseline(SYMBOLS)
    outcome_of = {
        name: [(lo < 0.5 * baseline, shown(f) >= 0.9) for lo, f in zip(losses[name], factor[name])]
        for name in trained
    }
    learned_counts = ", ".join(f"{name} {sum(ok for ok, _ in outcome_of[name])} of {n}" for name in trained)
    text += f"Runs that learned the task (loss below half of the no-memory {baseline:.3f}): {learned_counts}."

    def listing(learned_run: bool, reaches: bool) -> str:
        parts = []
        for name in trained:
            runs = [
                f"x{f:.2f}, loss {lo:.3f}"
                for (ok, far), f, lo in zip(outcome_of[name], factor[name], losses[name])
                if ok == learned_run and far == reaches
            ]
            if runs:
                parts.append(f"{name} in {count(len(runs), n)} seeds ({'; '.join(runs)})")
        return "; ".join(parts)

    paragraphs = {
        (True, True): (
            "\nLearned, and the gradient reaches back across the lag (factor x0.9 or more): {}. The gate "
            "holds the additive path open, so the error at step T still arrives at the marked step."
        ),
        (True, False): (
            "\nLearned, yet the gradient vanishes: {}. A memory that is stable against small changes of "
            "the state is one with dh_T/dh_t small (Bengio, Simard & Frasconi 1994: robust storage in a "
            "tanh RNN implies vanishing gradients); the storing had to be learned while some gradient "
            "still got through."
        ),
        (False, True): (
            "\nNot yet learned, though the gradient reaches back: {}. The signal gets through; this "
            "budget ran out first."
        ),
        (False, False): (
            "\nNot learned in this budget: {}. Their gradient vanishes, and the signal that would teach "
            "them to remember is that vanished gradient itself."
        ),
    }
    for key, template in paragraphs.items():
        runs = listing(*key)
        if runs:
            text += template.format(runs)
    return text


def exploding_run(seeds: list[int], console: Console, steps: int) -> dict:
    """Part 2: train without and with clipping, show the runs, and return their numbers."""
    logs = train_exploding(seeds, console, steps)
    return show_exploding(logs, seeds, console, steps)


def train_exploding(seeds: list[int], console: Console, steps: int) -> dict[str, list[TrainLog]]:
    """Train the same scaled-up RNN on the adding problem without and with clipping, per seed."""
    logs: dict[str, list[TrainLog]] = {"plain": [], "clipped": []}
    with progress(console) as bars:
        for seed in seeds:
            for name, max_norm in (("plain", None), ("clipped", 1.0)):
                rng = np.random.default_rng(seed)
                batches = np.random.default_rng(seed + 2000)
                rnn = nn.RNN(2, HIDDEN, rng=rng)
                rnn.weight_hh_l0.data[:] = scaled_orthogonal(rng, SCALED)
                head = nn.Linear(HIDDEN, 1, rng=rng)
                optimizer = optim.SGD(rnn.parameters() + head.parameters(), lr=EXPLODING_LR)

                @jit  # one numpy program for the step
                def loss_of(x, y, rnn=rnn, head=head):
                    output, _ = rnn(x)
                    return F.mse_loss(head(output[-1]).reshape(-1), y)

                def loss_fn(step: int, loss_of=loss_of, batches=batches) -> Tensor:
                    return loss_of(*adding_batch(BATCH, EXPLODING_LENGTH, batches))

                task = bars.add_task(f"seed {seed}: {name:<7}", total=steps, loss="-")
                with np.errstate(all="ignore"):  # the unclipped run overflows on purpose
                    logs[name].append(
                        train_steps(
                            loss_fn,
                            optimizer,
                            steps,
                            max_norm=max_norm,
                            on_step=lambda s, loss, task=task: bars.update(
                                task, advance=1, loss=f"{loss:.3g}"
                            ),
                        )
                    )
    return logs


def show_exploding(logs: dict[str, list[TrainLog]], seeds: list[int], console: Console, steps: int) -> dict:
    """The table and reading of part 2, and its numbers for the JSON."""
    baseline = adding_baseline()
    rows = []
    for name, runs in logs.items():
        for seed, log in zip(seeds, runs):
            losses = np.asarray(log.losses)
            with np.errstate(all="ignore"):
                log_losses = np.log10(np.where(np.isfinite(losses), losses, np.nan))
            rows.append(
                [
                    name,
                    str(seed),
                    f"{log.grad_norms[0]:.2g}",
                    f"{np.max(log.grad_norms):.2g}",
                    _loss_text(log.mean_loss(0.1)),
                    sparkline(log_losses, width=24),
                ]
            )
    console.print(
        table(
            f"Adding problem (T = {EXPLODING_LENGTH}): tanh RNN, W_hh = {SCALED:g} x orthogonal, SGD lr "
            f"{EXPLODING_LR}, {steps} steps",
            ["SGD", "seed", "first |grad|", "max |grad|", "final loss*", "log10 loss over training"],
            rows,
            caption=f"* mean MSE over the last 10% of steps; always answering 1 scores {baseline:.3f}. "
            "Gradient norms are measured before clipping; 'clipped' uses clip_grad_norm_(params, 1.0). "
            "Each chart has its own scale.",
        )
    )
    final = {name: [log.mean_loss(0.1) for log in runs] for name, runs in logs.items()}
    first = [log.grad_norms[0] for log in logs["plain"]]
    console.print(panel(_clipping_reading(final, first, baseline), "Exploding: what clipping does"))
    return {
        name: {
            "final_loss": final[name],
            "max_grad_norm": [float(np.max(log.grad_norms)) for log in runs],
            "diverged": diverged(final[name], baseline),
            "beat_baseline": [bool(loss < 0.9 * baseline) for loss in final[name]],
        }
        for name, runs in logs.items()
    }


def diverged(final_losses: list[float], baseline: float) -> list[bool]:
    """Per run: the loss ran away (not finite, or over 10 x the baseline of always answering 1)."""
    return [bool(not np.isfinite(loss) or loss > 10 * baseline) for loss in final_losses]


def _clipping_reading(final: dict[str, list[float]], first_norms: list[float], baseline: float) -> str:
    """The exploding panel's text; each claim counts the seeds it holds for."""
    n = len(first_norms)
    ran_away = sum(diverged(final["plain"], baseline))
    if ran_away:
        story = (
            f"Unclipped, the loss ran away in {count(ran_away, n)} seeds (first gradient norm "
            f"{min(first_norms):.2g} to {max(first_norms):.2g}): a step of lr x gradient throws the weights "
            "far out, the next gradients are larger still."
        )
    else:
        story = (
            f"Unclipped, no run diverged here (final losses {', '.join(map(_loss_text, final['plain']))})."
        )
    clipped = final["clipped"]
    beat = sum(loss < 0.9 * baseline for loss in clipped)
    finite = sum(bool(np.isfinite(loss)) for loss in clipped)
    if beat:
        outcome = (
            f"with it the run ends below the {baseline:.3f} of always answering 1 in {count(beat, n)} seeds "
            f"({', '.join(map(_loss_text, clipped))}): learning to add the marked numbers."
        )
    else:
        outcome = (
            f"with it {count(finite, n)} runs stay finite ({', '.join(map(_loss_text, clipped))}), none "
            f"below the {baseline:.3f} of always answering 1 yet."
        )
    return (
        story + " clip_grad_norm_ rescales the whole gradient to norm 1 whenever it is larger, keeping its "
        f"direction: {outcome} Clipping cures explosion, not vanishing: a small gradient is left as it is."
    )


def _loss_text(value: float) -> str:
    return f"{value:.3g}" if np.isfinite(value) else "not finite"
