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
import sys

import numpy as np
from rich.console import Console

from demos._ui import panel, progress, table
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


# size -> training characters (None: all), hidden units, batch rows, window, optimisation steps
SIZES = {
    "full": {"train_chars": None, "hidden": 128, "batch": 64, "window": 48, "steps": 2000},
    "quick": {"train_chars": 150_000, "hidden": 96, "batch": 64, "window": 32, "steps": 250},
    "smoke": {"train_chars": 5_000, "hidden": 16, "batch": 4, "window": 8, "steps": 5},
}
EMBEDDING = 32
LEARNING_RATE = 3e-3
MAX_NORM = 1.0
TEMPERATURES = (0.0, 0.5, 1.0)
SAMPLE_LENGTH = 120
HELD_OUT_ROWS = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus", metavar="FILE", help="train on this UTF-8 text file instead of the docstrings"
    )
    parser.add_argument("--prime", metavar="TEXT", default="Return the ", help="the start of every sample")


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
        documents = read_corpus_file(corpus)
        source = f"{corpus} ({len(documents)} paragraphs)"
    else:
        documents = stdlib_docstrings()
        source = (
            f"the {len(documents)} docstrings of {len(STDLIB_MODULES)} standard-library modules "
            f"({', '.join(STDLIB_MODULES[:3])}, ...) of Python {sys.version.split()[0]}"
        )
    train, held = split_documents(documents)
    return train, held, source


def streams(ids: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-character targets as time-major streams (T, rows)."""
    return batch_rows(ids[:-1], rows).T, batch_rows(ids[1:], rows).T


def run(args: argparse.Namespace, console: Console) -> dict:
    size = SIZES[args.size]
    rng = np.random.default_rng(args.seed)
    train_text, held_text, source = load_texts(args.corpus)
    if size["train_chars"]:
        train_text = train_text[: size["train_chars"]]
        held_text = held_text[: max(2_000, size["train_chars"] // 10)]
    vocab = Vocabulary.from_text(train_text)
    train_ids, held_ids = vocab.encode(train_text), vocab.encode(held_text)
    unk_share = float(np.mean(held_ids == vocab.unk_id))
    console.print(
        f"Corpus: {source}; training on {len(train_ids):,} characters, {len(held_ids):,} held out "
        f"({unk_share:.2%} of them <UNK>). Vocabulary: {len(vocab.chars)} characters + <EOS> + <UNK> = "
        f"{len(vocab)}."
    )
    model = CharModel(len(vocab), size["hidden"], rng)
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    inputs, targets = streams(train_ids, size["batch"])
    windows_per_pass = inputs.shape[0] // size["window"]
    console.print(
        f"Model: Embedding({len(vocab)}, {EMBEDDING}) -> GRU({EMBEDDING}, {size['hidden']}) -> Linear; "
        f"{size['steps']} Adam steps (lr {LEARNING_RATE}, clip {MAX_NORM}) on windows of {size['window']} "
        f"characters x {size['batch']} streams ({size['steps'] / windows_per_pass:.1f} passes over the text)."
    )
    losses: list[float] = []
    with progress(console) as bars:
        task = bars.add_task("training", total=size["steps"], loss="-")

        def bar(step: int, loss: float) -> None:
            bars.update(task, advance=1, loss=f"{loss / math.log(2):.3f} bpc")

        while len(losses) < size["steps"]:
            # one pass over the streams from their start (state zero), or the part of a pass that is left
            end = min(windows_per_pass, size["steps"] - len(losses)) * size["window"]
            log, _ = truncated_bptt(
                model, optimizer, inputs[:end], targets[:end], size["window"], max_norm=MAX_NORM, on_step=bar
            )
            losses += log.losses
    held_inputs, held_targets = streams(held_ids, HELD_OUT_ROWS)
    val_bpc = evaluate_stream(model, held_inputs, held_targets, num_steps=100) / math.log(2)
    baseline_bpc = unigram_bits_per_char(train_ids, held_ids, len(vocab))
    train_bpc = float(np.mean(losses[-max(1, len(losses) // 10) :])) / math.log(2)
    console.print(
        table(
            "Bits per character (lower is better)",
            ["model", "bits / char", "what it knows"],
            [
                ["uniform over the vocabulary", f"{math.log2(len(vocab)):.3f}", "nothing"],
                ["unigram (training frequencies)", f"{baseline_bpc:.3f}", "how common each character is"],
                ["GRU, held-out text", f"{val_bpc:.3f}", "the characters before (state carried)"],
                ["GRU, training text (last 10% of steps)", f"{train_bpc:.3f}", ""],
            ],
            caption="Unigram: p(c) = (count in training text + 1) / (N + V), scored on the held-out text.",
            justify="left",
        )
    )
    samples = draw_samples(model, vocab, args.prime, rng)
    console.print(
        table(
            f"Samples (prime {args.prime!r}; until <EOS> or {SAMPLE_LENGTH} characters)",
            ["temperature", "text"],
            [[_temperature_name(t), _show(s)] for t, s in zip(TEMPERATURES, samples)],
            justify="left",
        )
    )
    if val_bpc < baseline_bpc:
        verdict = (
            f"The GRU predicts held-out text at {val_bpc:.2f} bits per character against {baseline_bpc:.2f} "
            f"for character frequencies alone: {baseline_bpc - val_bpc:.2f} bits per character come from the "
            "context carried in its state."
        )
    else:
        verdict = (
            f"After this little training the GRU ({val_bpc:.2f} bits per character) does not yet beat "
            f"character frequencies ({baseline_bpc:.2f}); run longer (without --quick)."
        )
    loop = looping_unit(samples[0]) if TEMPERATURES[0] == 0 else None
    argmax_text = (
        f"and here ends in a loop, {loop!r} over and over (the state has fallen into a cycle)"
        if loop
        else "and gives the same text every time"
    )
    console.print(
        panel(
            verdict + f" Temperature 0 always takes the most likely character {argmax_text}; temperature 1 "
            "samples the model's own distribution; in between trades variety for plausibility.",
            "Reading the numbers",
        )
    )
    return {"baseline_bpc": baseline_bpc, "val_bpc": val_bpc, "samples": samples}


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


def _temperature_name(t: float) -> str:
    return "0 (argmax)" if t == 0 else f"{t:g}"


def _show(text: str) -> str:
    return text.replace("[", "\\[")
