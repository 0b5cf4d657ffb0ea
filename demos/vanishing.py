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
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console

from demos._ui import panel, progress, sparkline, table
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.data import adding_baseline, adding_batch, recall_baseline, recall_batch
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.train import TrainLog, keep_gate_init, train_steps

NAME = "vanishing"
SUMMARY = "seed 003: ||dL_T/dh_t|| against T - t for RNN, GRU, LSTM; exploding gradients and clipping"

SYMBOLS, HIDDEN, BATCH = 4, 32, 32
LEARNING_RATE = 0.01
# size -> (sequence lag, training steps for part 1, training steps for part 2)
SIZES = {"full": (50, 400, 1000), "quick": (30, 100, 300), "smoke": (5, 2, 3)}
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


def profile_table(title: str, profiles: dict[str, np.ndarray], extra: dict[str, str] | None = None) -> object:
    """One row per model: the norm at both ends, the factor per step, and the whole profile
    as a log-scale chart (one shared scale, so slopes compare)."""
    logs = {name: np.log10(p) for name, p in profiles.items()}
    low = min(float(v.min()) for v in logs.values())
    high = max(float(v.max()) for v in logs.values())
    lag = len(next(iter(profiles.values()))) - 1
    starts = [float(p[0]) for p in profiles.values()]
    columns = ["model", f"at T-t = {lag}", "per step", f"log10 norm, T-t = 0..{lag}"]
    rows = []
    for name, p in profiles.items():
        row = [
            name,
            f"{p[-1]:.1e}",
            f"x{factor_per_step(p):.2f}",
            sparkline(logs[name], width=min(lag + 1, 20), low=low, high=high),
        ]
        rows.append(row + ([extra[name]] if extra else []))
    return table(
        title,
        columns + (["task loss"] if extra else []),
        rows,
        caption=f"||dL_T/dh_t||, mean over a batch of {BATCH}; at T-t = 0 it is {min(starts):.1e} to "
        f"{max(starts):.1e}. Chart: a shared log scale from 1e{low:.0f} (▁) to 1e{high:.0f} (█).",
    )


def run(args: argparse.Namespace, console: Console) -> dict:
    lag, steps, exploding_steps = SIZES[args.size]
    data_rng = np.random.default_rng(args.seed + 1000)
    probe_x, probe_y = recall_batch(BATCH, lag, SYMBOLS, data_rng)  # one fixed batch to measure on
    console.print(
        f"Task: a marked symbol ({SYMBOLS} kinds), then {lag} random distractors; L_T = cross-entropy of "
        f"naming the marked symbol after the last step (no memory: {recall_baseline(SYMBOLS):.3f}). "
        f"Cells of {HIDDEN} units, PyTorch's initialisation; '+keep': the gates are also biased to keep "
        "the state at the start (LSTM forget gate, GRU update gate: keep_gate_init)."
    )
    models = {}
    for name, (kind, keep) in MODELS.items():
        rng = np.random.default_rng(args.seed)
        models[name] = Unrolled(kind, rng)
        if keep:
            keep_gate_init(models[name].cell, lag, rng)
    at_init = {name: gradient_profile(model, probe_x, probe_y) for name, model in models.items()}
    scaled = Unrolled("RNN", np.random.default_rng(args.seed))
    scaled.cell.weight_hh.data[:] = scaled_orthogonal(np.random.default_rng(args.seed), SCALED)
    at_init[f"RNN, W_hh = {SCALED:g} Q"] = gradient_profile(scaled, probe_x, probe_y)
    console.print(profile_table("At initialisation", at_init))

    losses: dict[str, float] = {}
    with progress(console) as bars:
        for name, model in models.items():
            optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
            task = bars.add_task(f"training {name:<15}", total=steps, loss="-")
            batches = np.random.default_rng(args.seed + 1)  # the same batches for every model

            def loss_fn(step: int, model: Unrolled = model, batches=batches) -> Tensor:
                x, y = recall_batch(BATCH, lag, SYMBOLS, batches)
                return F.cross_entropy(model(x)[0], y)

            log = train_steps(
                loss_fn,
                optimizer,
                steps,
                max_norm=1.0,
                on_step=lambda s, loss, task=task: bars.update(task, advance=1, loss=f"{loss:.3f}"),
            )
            losses[name] = log.mean_loss(0.1)
    trained = {name: gradient_profile(model, probe_x, probe_y) for name, model in models.items()}
    loss_text = {name: f"{loss:.3f}" for name, loss in losses.items()}
    console.print(profile_table(f"After {steps} Adam steps on the task", trained, extra=loss_text))
    console.print(panel(_reading(at_init, trained, losses, lag), "Vanishing: reading the profiles"))

    clipping = exploding_run(args, console, exploding_steps)
    return {
        "lag": lag,
        "at_init": {k: v.tolist() for k, v in at_init.items()},
        "trained": {k: v.tolist() for k, v in trained.items()},
        "trained_loss": losses,
        "factor_per_step": {
            "at_init": {k: factor_per_step(v) for k, v in at_init.items()},
            "trained": {k: factor_per_step(v) for k, v in trained.items()},
        },
        "clipping": clipping,
    }


def _reading(
    at_init: dict[str, np.ndarray], trained: dict[str, np.ndarray], losses: dict[str, float], lag: int
) -> str:
    """The panel's text, every claim chosen by the measured numbers."""
    init_factor = {name: factor_per_step(p) for name, p in at_init.items()}
    factor = {name: factor_per_step(p) for name, p in trained.items()}
    scaled = next(k for k in at_init if k.startswith("RNN, W_hh"))

    def compounded(name: str) -> str:
        return f"{at_init[name][-1] / at_init[name][0]:.0e}"

    text = (
        f"At initialisation every step back multiplies the gradient by about x{init_factor['RNN']:.2f} "
        f"(RNN), x{init_factor['GRU']:.2f} (GRU) and x{init_factor['LSTM']:.2f} (LSTM): over {lag} steps "
        f"that compounds to {compounded('RNN')}, {compounded('GRU')} and {compounded('LSTM')}. "
    )
    if max(init_factor["GRU"], init_factor["LSTM"]) < 0.8:
        text += (
            "Gates alone do not help: with biases near 0 a sigmoid gate is about half open and passes "
            "about half the gradient per step. "
        )
    keep_kinds = [n for n in ("GRU+keep", "LSTM+keep") if init_factor[n] > init_factor[n.split("+")[0]]]
    if keep_kinds:
        text += (
            "Biased to keep, they pass more ("
            + ", ".join(f"{n} x{init_factor[n]:.2f}" for n in keep_kinds)
            + "). "
        )
    growth = "the product grows instead (part 2)" if init_factor[scaled] > 1 else "it still shrinks"
    text += f"With W_hh scaled up ({scaled}) the factor is x{init_factor[scaled]:.2f}: {growth}.\n"

    baseline = recall_baseline(SYMBOLS)
    rnn_factor = factor["RNN"]
    slower = [n for n in trained if n != "RNN" and factor[n] > rnn_factor]
    faster = [n for n in trained if n != "RNN" and factor[n] <= rnn_factor]

    def listing(names: list[str]) -> str:
        return ", ".join(f"{n} (x{factor[n]:.2f}, loss {losses[n]:.3f})" for n in names)

    text += f"\nAfter training the RNN's gradient shrinks by x{rnn_factor:.2f} per step back. "
    if slower:
        text += "Slower decay than the RNN: " + ", ".join(f"{n} x{factor[n]:.2f}" for n in slower) + ". "
    if faster:
        text += "As fast or faster: " + ", ".join(f"{n} x{factor[n]:.2f}" for n in faster) + ". "
    reaches = {n: factor[n] >= 0.9 for n in trained}
    learned = {n: losses[n] < 0.5 * baseline for n in trained}
    groups = {
        "open": [n for n in trained if learned[n] and reaches[n]],
        "latched": [n for n in trained if learned[n] and not reaches[n]],
        "coming": [n for n in trained if not learned[n] and reaches[n]],
        "stuck": [n for n in trained if not learned[n] and not reaches[n]],
    }
    if groups["open"]:
        text += (
            f"\nLearned (task loss below half of the no-memory {baseline:.3f}), and the gradient reaches "
            f"back across the lag: {listing(groups['open'])}. The gate holds the additive path open, so the "
            "error at step T still arrives at the marked step."
        )
    if groups["latched"]:
        text += (
            f"\nLearned, yet the gradient vanishes: {listing(groups['latched'])}. A memory that is stable "
            "against small changes of the state is one with dh_T/dh_t small (Bengio, Simard & Frasconi "
            "1994: robust storage in a tanh RNN implies vanishing gradients); the storing had to be "
            "learned while some gradient still got through."
        )
    if groups["coming"]:
        text += (
            f"\nNot yet learned, though the gradient reaches back: {listing(groups['coming'])}. The "
            "signal gets through; this budget ran out first."
        )
    if groups["stuck"]:
        text += (
            f"\nNot learned in this budget: {listing(groups['stuck'])}. Their gradient vanishes, and "
            "the signal that would teach them to remember is that vanished gradient itself."
        )
    return text


def exploding_run(args: argparse.Namespace, console: Console, steps: int) -> dict:
    """Train the same scaled-up RNN on the adding problem without and with clipping."""
    logs: dict[str, TrainLog] = {}
    with progress(console) as bars:
        for name, max_norm in (("plain", None), ("clipped", 1.0)):
            rng = np.random.default_rng(args.seed)
            batches = np.random.default_rng(args.seed + 2000)
            rnn = nn.RNN(2, HIDDEN, rng=rng)
            rnn.weight_hh_l0.data[:] = scaled_orthogonal(rng, SCALED)
            head = nn.Linear(HIDDEN, 1, rng=rng)
            optimizer = optim.SGD(rnn.parameters() + head.parameters(), lr=EXPLODING_LR)

            def loss_fn(step: int, rnn=rnn, head=head, batches=batches) -> Tensor:
                x, y = adding_batch(BATCH, EXPLODING_LENGTH, batches)
                output, _ = rnn(x)
                return F.mse_loss(head(output[-1]).reshape(-1), y)

            task = bars.add_task(f"{name:<7}", total=steps, loss="-")
            with np.errstate(all="ignore"):  # the unclipped run overflows on purpose
                logs[name] = train_steps(
                    loss_fn,
                    optimizer,
                    steps,
                    max_norm=max_norm,
                    on_step=lambda s, loss, task=task: bars.update(task, advance=1, loss=f"{loss:.3g}"),
                )
    baseline = adding_baseline()
    rows = []
    for name, log in logs.items():
        losses = np.asarray(log.losses)
        with np.errstate(all="ignore"):
            log_losses = np.log10(np.where(np.isfinite(losses), losses, np.nan))
        rows.append(
            [
                name,
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
            ["SGD", "first |grad|", "max |grad|", "final loss*", "log10 loss over training"],
            rows,
            caption=f"* mean MSE over the last 10% of steps; always answering 1 scores {baseline:.3f}. "
            "Gradient norms are measured before clipping; 'clipped' uses clip_grad_norm_(params, 1.0). "
            "Each chart has its own scale.",
        )
    )
    plain, clipped = logs["plain"].mean_loss(0.1), logs["clipped"].mean_loss(0.1)
    if not np.isfinite(plain) or plain > 10 * baseline:
        story = (
            f"Unclipped, the first gradient already has norm {logs['plain'].grad_norms[0]:.2g}: a step of "
            "lr x gradient throws the weights far out, the next gradients are larger still, and the loss "
            f"runs away ({_loss_text(plain)})."
        )
    else:
        story = f"Unclipped, this run ends at {_loss_text(plain)}."
    if clipped < 0.9 * baseline:
        outcome = (
            f"the same run then ends at {clipped:.3f}, below the {baseline:.3f} of always answering 1: it "
            "is learning to add the marked numbers."
        )
    elif np.isfinite(clipped):
        outcome = (
            f"the same run stays finite ({clipped:.3f}) but has not yet beaten the {baseline:.3f} of always "
            "answering 1."
        )
    else:
        outcome = f"yet the clipped run also ends at {_loss_text(clipped)}."
    return_text = (
        story + " clip_grad_norm_ rescales the whole gradient to norm 1 whenever it is larger, keeping its "
        f"direction: {outcome} Clipping cures explosion, not vanishing: a small gradient is left as it is."
    )
    console.print(panel(return_text, "Exploding: what clipping does"))
    return {
        name: {"final_loss": log.mean_loss(0.1), "max_grad_norm": float(np.max(log.grad_norms))}
        for name, log in logs.items()
    }


def _loss_text(value: float) -> str:
    return f"{value:.3g}" if np.isfinite(value) else "not finite"
