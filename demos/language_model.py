"""Seed 003: a character-level language model, its bits per character, and samples from it.

The corpus is text that exists wherever Python is installed: the docstrings of
a fixed list of standard-library modules (or ``--corpus FILE``). Every tenth
docstring is held out. The vocabulary is the training text's characters plus
<EOS> (end of line) and <UNK> (any character the training text lacks), as in
the seed. A GRU reads one character per step and predicts the next; it is
trained with truncated BPTT (state carried across windows). Held-out bits per
character are set beside the unigram baseline (training-set character
frequencies, no context). Samples are drawn from softmax(logits / T), each
drawn character fed back in, until <EOS> or a length limit.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

import numpy as np
from rich.console import Console

from demos import seed_list
from demos._ui import LineChart, compiled_note, escape, panel, progress, say, table
from tinygrad_rnn import Tensor, nn, no_grad, optim
from tinygrad_rnn.data import (
    STDLIB_MODULES,
    Vocabulary,
    batch_rows,
    read_corpus_file,
    sample_sequence,
    split_documents,
    stdlib_docstrings,
    unigram_bits_per_char,
)
from tinygrad_rnn.train import evaluate_stream, truncated_bptt

NAME = "language-model"
SUMMARY = "seed 003: a character-level GRU language model on Python's own docstrings; bpc and samples"


# size -> training characters (None: all), hidden units, batch rows, window, the most optimisation
# steps, the most passes over the training text, steps between held-out checks (at least one check
# per pass). Full mode: 600 steps are about 6 passes over the docstrings, and three seeds
# fit in about four minutes on two cores; a small --corpus gets at most 20 passes and early stopping.
SIZES = {
    "full": {
        "train_chars": None,
        "hidden": 128,
        "batch": 64,
        "window": 48,
        "steps": 600,
        "passes": 20,
        "check_every": 100,
    },
    "quick": {
        "train_chars": 150_000,
        "hidden": 96,
        "batch": 64,
        "window": 32,
        "steps": 250,
        "passes": 20,
        "check_every": 50,
    },
    "smoke": {
        "train_chars": 5_000,
        "hidden": 16,
        "batch": 4,
        "window": 8,
        "steps": 5,
        "passes": 10,
        "check_every": 2,
    },
}
SEEDS = {"full": 3, "quick": 3, "smoke": 2}  # how many, unless --seeds says
EMBEDDING = 32
LEARNING_RATE = 3e-3
MAX_NORM = 1.0
TEMPERATURES = (0.0, 0.5, 1.0)
SAMPLE_LENGTH = 120
HELD_OUT_ROWS = 16
# Training stops when the held-out check has not improved on its best for this many checks in a row,
# and the weights of the best check are kept.
PATIENCE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus", metavar="FILE", help="train on this UTF-8 text file instead of the docstrings"
    )
    parser.add_argument("--prime", metavar="TEXT", default="Return the ", help="the start of every sample")


class CorpusError(ValueError):
    """A --corpus file this demo cannot train on; the message is one line and states the need."""


class CharModel(nn.Module):
    """Embedding -> GRU -> Linear: logits for the next character at every step."""

    def __init__(self, vocab_size: int, hidden: int, rng: np.random.Generator) -> None:
        self.embed = nn.Embedding(vocab_size, EMBEDDING, rng=rng)
        self.rnn = nn.GRU(EMBEDDING, hidden, rng=rng)
        self.head = nn.Linear(hidden, vocab_size, rng=rng)

    def forward(self, ids: np.ndarray, state: object = None) -> tuple[Tensor, Tensor]:
        """ids (T, B) -> logits (T, B, V) and the final state."""
        output, state = self.rnn(self.embed(ids), state)
        return self.head(output), state


def load_texts(corpus: str | None) -> tuple[str, str, str]:
    """(train text, held-out text, a description of the source)."""
    if corpus:
        if not os.path.isfile(corpus):
            raise CorpusError(f"--corpus {corpus}: no such file; expected a UTF-8 text file")
        documents = read_corpus_documents(corpus)
        if not documents:
            raise CorpusError(f"--corpus {corpus}: the file has no text; expected UTF-8 text in paragraphs")
        if len(documents) < 2:
            raise CorpusError(
                f"--corpus {corpus}: one paragraph; expected at least 2 paragraphs separated by a blank "
                "line (every 10th paragraph is held out to measure the model on)"
            )
        source = f"{corpus} ({len(documents)} paragraphs)"
    else:
        documents = stdlib_docstrings()
        source = (
            f"the {len(documents)} docstrings of {len(STDLIB_MODULES)} standard-library modules "
            f"({', '.join(STDLIB_MODULES[:3])}, ...) of Python {sys.version.split()[0]}"
        )
    train, held = split_documents(documents)
    return train, held, source


def read_corpus_documents(path: str) -> list[str]:
    """The file's paragraphs, or [] if it holds no text; CorpusError if it is not UTF-8 text or
    cannot be read."""
    try:
        return read_corpus_file(path)
    except OSError as error:
        reason = f"cannot be read ({error.strerror}); expected a UTF-8 text file"
        raise CorpusError(f"--corpus {path}: {reason}") from None
    except ValueError as error:
        reason = str(error).removeprefix(f"read_corpus_file: {path} ")
        if reason.startswith("contains no text"):
            return []
        raise CorpusError(f"--corpus {path}: {reason}") from None


def prepare_texts(args: argparse.Namespace) -> tuple[str, str, str, str]:
    """(train, validation, test, source): the held-out text is halved, at a line break, into the
    part that decides when training stops and the part the reported score is measured on.
    Raises CorpusError when the corpus cannot fill the batches this size needs."""
    size = SIZES[args.size]
    train_text, held_text, source = load_texts(getattr(args, "corpus", None))
    if size["train_chars"]:
        train_text = train_text[: size["train_chars"]]
        held_text = held_text[: max(4_000, size["train_chars"] // 10)]
    cut = held_text.find("\n", len(held_text) // 2) + 1 or len(held_text) // 2
    validation, test = held_text[:cut], held_text[cut:]
    need_train = size["batch"] * size["window"] + 1
    need_held = HELD_OUT_ROWS + 1
    where = f"--corpus {args.corpus}" if getattr(args, "corpus", None) else "the corpus"
    if len(train_text) < need_train:
        raise CorpusError(
            f"{where}: {len(train_text):,} training characters; this mode needs at least {need_train:,} "
            f"(one window of {size['window']} for each of {size['batch']} streams)"
        )
    if min(len(validation), len(test)) < need_held:
        raise CorpusError(
            f"{where}: {len(held_text):,} held-out characters (every 10th paragraph); at least "
            f"{2 * need_held} are needed ({need_held} for each of two halves, {HELD_OUT_ROWS} streams)"
        )
    return train_text, validation, test, source


def check_args(args: argparse.Namespace) -> str | None:
    """A --corpus this demo cannot use, found before it runs."""
    if not getattr(args, "corpus", None):
        return None
    try:
        prepare_texts(args)
    except CorpusError as error:
        return str(error)
    return None


def streams(ids: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-character targets as time-major streams (T, rows)."""
    return batch_rows(ids[:-1], rows).T, batch_rows(ids[1:], rows).T


def bits_per_char(model: CharModel, ids: np.ndarray) -> float:
    """Held-out bits per character, state carried along HELD_OUT_ROWS streams."""
    return evaluate_stream(model, *streams(ids, HELD_OUT_ROWS), num_steps=100, compiled=True) / math.log(2)


def train_one(
    seed: int,
    vocab: Vocabulary,
    train_ids: np.ndarray,
    validation_ids: np.ndarray,
    size: dict,
    bar: Callable[[int, float], None],
) -> dict:
    """Train one model: at most ``size['steps']`` steps and ``size['passes']`` passes over the text,
    stopping early once the validation bits per character stop improving. Returns the model (the
    weights of its best check), its losses and the checks made."""
    rng = np.random.default_rng(seed)
    model = CharModel(len(vocab), size["hidden"], rng)
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    inputs, targets = streams(train_ids, size["batch"])
    windows_per_pass = inputs.shape[0] // size["window"]
    if windows_per_pass == 0:
        raise ValueError(
            f"language-model: {len(train_ids)} training characters give no window of {size['window']} "
            f"steps in each of {size['batch']} streams; at least {size['batch'] * size['window'] + 1} needed"
        )
    steps = min(size["steps"], size["passes"] * windows_per_pass)
    check_every = min(size["check_every"], windows_per_pass)
    losses: list[float] = []
    checks: list[tuple[int, float]] = []  # (step, validation bpc)
    best_weights, best_bpc = model.state_dict(), math.inf
    position, state = 0, None  # the next window of the current pass, and the state carried to it
    while len(losses) < steps:
        if position == windows_per_pass:  # a new pass: from the streams' start, with state zero
            position, state = 0, None
        until_check = check_every - len(losses) % check_every
        count = min(windows_per_pass - position, steps - len(losses), until_check)
        start, end = position * size["window"], (position + count) * size["window"]
        log, state = truncated_bptt(
            model,
            optimizer,
            inputs[start:end],
            targets[start:end],
            size["window"],
            state=state,
            max_norm=MAX_NORM,
            on_step=bar,
            compiled=True,  # each window's loss as one generated numpy program (jit)
        )
        if not log.losses:  # cannot happen once prepare_texts passed; never loop without progress
            raise RuntimeError(
                f"language-model: time steps {start} to {end} gave no window of {size['window']}"
            )
        position += len(log.losses)
        losses += log.losses
        if len(losses) % check_every == 0 or len(losses) == steps:
            checks.append((len(losses), bits_per_char(model, validation_ids)))
            if checks[-1][1] < best_bpc:
                best_weights, best_bpc = model.state_dict(), checks[-1][1]
            elif len(checks) - 1 - min(range(len(checks)), key=lambda i: checks[i][1]) >= PATIENCE:
                break
    best_step = min(checks, key=lambda check: check[1])[0]
    model.load_state_dict(best_weights)
    return {
        "model": model,
        "rng": rng,
        "losses": losses,
        "checks": checks,
        "best_step": best_step,
        "planned_steps": steps,
        "passes": len(losses) / windows_per_pass,
        "windows_per_pass": windows_per_pass,
    }


def run(args: argparse.Namespace, console: Console) -> dict:
    size = SIZES[args.size]
    compiled_note(console)
    train_text, validation_text, test_text, source = prepare_texts(args)
    vocab = Vocabulary.from_text(train_text)
    train_ids = vocab.encode(train_text)
    validation_ids, test_ids = vocab.encode(validation_text), vocab.encode(test_text)
    unk_share = float(np.mean(np.concatenate([validation_ids, test_ids]) == vocab.unk_id))
    say(
        console,
        f"Corpus: {escape(source)}; training on {len(train_ids):,} characters; held out "
        f"{len(validation_ids):,} to "
        f"decide when to stop and {len(test_ids):,} to score ({unk_share:.2%} of them <UNK>). Vocabulary: "
        f"{len(vocab.chars)} characters + <EOS> + <UNK> = {len(vocab)}.",
    )
    windows_per_pass = (len(train_ids) - 1) // size["batch"] // size["window"]
    planned = min(size["steps"], size["passes"] * windows_per_pass)
    seeds = seed_list(args, SEEDS[args.size])
    say(
        console,
        f"Model: Embedding({len(vocab)}, {EMBEDDING}) -> GRU({EMBEDDING}, {size['hidden']}) -> Linear; "
        f"up to {planned} Adam steps (lr {LEARNING_RATE}, clip {MAX_NORM}) on windows of {size['window']} "
        f"characters x {size['batch']} streams: {planned / windows_per_pass:.1f} passes over the text (at "
        f"most {size['steps']} steps and {size['passes']} passes). Every "
        f"{min(size['check_every'], windows_per_pass)} steps the "
        f"held-out bits per character are measured; training stops after {PATIENCE} checks without a new "
        f"best and keeps the best weights. Seeds {', '.join(map(str, seeds))}.",
    )
    runs = []
    with progress(console) as bars:
        for seed in seeds:
            task = bars.add_task(f"training seed {seed}", total=planned, loss="-")

            def bar(step: int, loss: float, task=task) -> None:
                bars.update(task, advance=1, loss=f"{loss / math.log(2):.3f} bpc")

            runs.append(train_one(seed, vocab, train_ids, validation_ids, size, bar))
    baseline_bpc = unigram_bits_per_char(train_ids, test_ids, len(vocab))
    test_bpc = [bits_per_char(r["model"], test_ids) for r in runs]
    train_bpc = [float(np.mean(r["losses"][-max(1, len(r["losses"]) // 10) :])) / math.log(2) for r in runs]
    rose = [r["checks"][-1][1] > min(c[1] for c in r["checks"]) for r in runs]
    for seed, r, it_rose in zip(seeds, runs, rose):
        if it_rose:
            best = min(r["checks"], key=lambda check: check[1])
            say(
                console,
                f"[yellow]warning[/yellow]: seed {seed}: the held-out bits per character rose from "
                f"{best[1]:.3f} (step {best[0]}) to {r['checks'][-1][1]:.3f} (step {r['checks'][-1][0]}): "
                f"the model began to learn the training text by heart (overfitting); the weights of step "
                f"{best[0]} are kept.",
            )
    console.print(
        table(
            "Bits per character (lower is better)",
            ["model", "bits / char", "what it knows"],
            [
                ["uniform over the vocabulary", f"{math.log2(len(vocab)):.3f}", "nothing"],
                ["unigram (training frequencies)", f"{baseline_bpc:.3f}", "how common each character is"],
                [
                    f"GRU, held-out text ({len(runs)} seeds)",
                    f"{np.mean(test_bpc):.3f} ± {np.std(test_bpc):.3f}",
                    "the characters before (state carried)",
                ],
                ["GRU, per seed", ", ".join(f"{b:.3f}" for b in test_bpc), ""],
                ["GRU, training text (last 10% of steps)", f"{np.mean(train_bpc):.3f}", ""],
            ],
            caption="Unigram: p(c) = (count in training text + 1) / (N + V), scored on the same held-out "
            "text. Steps used per seed: "
            + ", ".join(f"{len(r['losses'])} (best at {r['best_step']})" for r in runs)
            + ".",
            justify="left",
            wrap=["model", "what it knows"],
        )
    )
    console.print(learning_curve(seeds, runs, baseline_bpc))
    samples = draw_samples(runs[0]["model"], vocab, args.prime, runs[0]["rng"])
    console.print(
        table(
            f"Samples of seed {seeds[0]} (prime {args.prime!r}; until <EOS> or {SAMPLE_LENGTH} characters)",
            ["temperature", "text"],
            [[_temperature_name(t), s] for t, s in zip(TEMPERATURES, samples)],
            justify="left",
            wrap=["text"],
        )
    )
    console.print(panel(_reading(test_bpc, baseline_bpc, samples), "Reading the numbers"))
    return {
        "baseline_bpc": baseline_bpc,
        "val_bpc": float(np.mean(test_bpc)),
        "seeds": seeds,
        "val_bpc_per_seed": test_bpc,
        "steps_per_seed": [len(r["losses"]) for r in runs],
        "best_step_per_seed": [r["best_step"] for r in runs],
        "passes_per_seed": [r["passes"] for r in runs],
        "held_out_rose": rose,
        # the validation checks made while training: [step, bits per character] pairs, per seed
        "held_out_curve_per_seed": [[[step, bpc] for step, bpc in r["checks"]] for r in runs],
        "training_chars": len(train_ids),
        "samples": samples,
    }


def _reading(test_bpc: list[float], baseline_bpc: float, samples: list[str]) -> str:
    """The panel's text; every claim counts the seeds it holds for."""
    n = len(test_bpc)
    beat = sum(b < baseline_bpc for b in test_bpc)
    if beat == n:
        verdict = (
            f"In all {n} seeds the GRU predicts held-out text better than character frequencies alone "
            f"({_span(test_bpc, 'bits per character')} against {baseline_bpc:.2f}): "
            f"{baseline_bpc - max(test_bpc):.2f} or more bits per character come from the context carried in "
            "its state."
        )
    elif beat:
        verdict = (
            f"The GRU beats character frequencies ({baseline_bpc:.2f} bits per character) in {beat} of {n} "
            f"seeds (held-out {', '.join(f'{b:.2f}' for b in test_bpc)}): not a result that holds for every "
            "seed at this budget."
        )
    else:
        verdict = (
            f"After this little training the GRU ({', '.join(f'{b:.2f}' for b in test_bpc)} bits per "
            f"character over {n} seeds) does not yet beat character frequencies ({baseline_bpc:.2f}); run "
            "longer (without --quick)."
        )
    loop = looping_unit(samples[0]) if TEMPERATURES[0] == 0 else None
    argmax_text = (
        f"and here ends in a loop, {loop!r} over and over (the state has fallen into a cycle)"
        if loop
        else "and gives the same text every time"
    )
    return (
        verdict + f" Temperature 0 always takes the most likely character {argmax_text}; temperature 1 "
        "samples the model's own distribution; in between trades variety for plausibility."
    )


def draw_samples(model: CharModel, vocab: Vocabulary, prime: str, rng: np.random.Generator) -> list[str]:
    """One sample per temperature, each starting from <EOS> (a fresh line) followed by the prime."""

    def step(token: int, state: object) -> tuple[np.ndarray, object]:
        logits, state = model(np.array([[token]]), state)
        return logits.numpy()[0, 0], state

    samples = []
    prime_ids = [vocab.eos_id, *vocab.encode(prime)]
    with no_grad():
        for temperature in TEMPERATURES:
            ids = sample_sequence(step, prime_ids, vocab.eos_id, SAMPLE_LENGTH, temperature, rng)
            samples.append(prime + vocab.decode(ids).rstrip("\n"))
    return samples


def looping_unit(text: str, span: int = 40, max_period: int = 30) -> str | None:
    """If the last ``span`` characters repeat with a period p <= max_period, the repeated unit
    (p characters, taken where the loop starts); otherwise None."""
    for period in range(1, max_period + 1):
        if len(text) >= span + period and text[-span:] == text[-span - period : -period]:
            start = len(text) - span - period
            while start > 0 and text[start - 1] == text[start - 1 + period]:
                start -= 1
            return text[start : start + period]
    return None


def _span(values: list[float], unit: str) -> str:
    """'1.23 to 1.45 UNIT', or '1.23 UNIT in every seed' when they print alike."""
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    return f"{low} {unit} in every seed" if low == high else f"{low} to {high} {unit}"


def _temperature_name(t: float) -> str:
    return "0 (argmax)" if t == 0 else f"{t:g}"


def learning_curve(seeds: list[int], runs: list[dict], baseline_bpc: float) -> LineChart:
    """Held-out bits per character at each check made while training, one curve per seed."""
    return LineChart(
        {f"seed {seed}": r["checks"] for seed, r in zip(seeds, runs)},
        title=f"Held-out bits per character during training, at each check (the unigram baseline is "
        f"{baseline_bpc:.2f}; the validation half of the held-out text, which decides when to stop)",
        x_name="step",
    )
