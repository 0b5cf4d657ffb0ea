"""Long-lag tasks (seed 004): the answer depends on an input seen many steps before.

Both tasks come with the loss of the best predictor that has *no memory*
(it sees only the current input), derived from how the data are drawn. A
recurrent net that does no better than that baseline has not carried the
information across the lag.

Arrays are time-major, (steps, batch, features), as the sequence layers take them.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.checks import count

__all__ = ["recall_batch", "recall_baseline", "adding_batch", "adding_baseline"]


def recall_batch(
    batch_size: int, lag: int, num_symbols: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Recall the first symbol after ``lag`` more symbols.

    Each sequence is lag + 1 uniformly random symbols, one-hot encoded in the
    first ``num_symbols`` channels of x, shape (lag + 1, batch, num_symbols + 1);
    the last channel marks the symbol to remember (1 at step 0, else 0). The
    target (batch,) is the first symbol's class, to be predicted after the
    last step, by which time lag distractor symbols have gone by.
    """
    batch_size = count(batch_size, "batch_size", "recall_batch")
    if lag < 1 or num_symbols < 2:
        raise ValueError(f"recall_batch: need lag >= 1 and num_symbols >= 2, got {lag} and {num_symbols}")
    symbols = rng.integers(0, num_symbols, size=(lag + 1, batch_size))
    x = np.zeros((lag + 1, batch_size, num_symbols + 1))
    x[..., :num_symbols] = np.eye(num_symbols)[symbols]
    x[0, :, num_symbols] = 1.0
    return x, symbols[0].copy()


def recall_baseline(num_symbols: int) -> float:
    """Cross-entropy (nats) without memory: the last input says nothing about the first
    symbol, so the best prediction is its marginal, uniform: H = log(num_symbols)."""
    probs = np.full(num_symbols, 1.0 / num_symbols)
    return float(-(probs * np.log(probs)).sum())


def adding_batch(batch_size: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber): add the two marked numbers.

    x has shape (length, batch, 2): channel 0 holds U(0, 1) numbers, channel 1
    marks one step in the first half and one in the second half. The target
    (batch,) is the sum of the two marked numbers.
    """
    batch_size = count(batch_size, "batch_size", "adding_batch")
    if length < 2:
        raise ValueError(f"adding_batch: need length >= 2, got {length}")
    values = rng.random((length, batch_size))
    half = length // 2
    first = rng.integers(0, half, size=batch_size)
    second = rng.integers(half, length, size=batch_size)
    marks = np.zeros((length, batch_size))
    columns = np.arange(batch_size)
    marks[first, columns] = 1.0
    marks[second, columns] = 1.0
    target = values[first, columns] + values[second, columns]
    return np.stack([values, marks], axis=-1), target


def adding_baseline() -> float:
    """Mean squared error without memory: the best constant guess is E[sum] = 1, and its
    error is Var(U1 + U2) = 2 * Var(U(0, 1)) = 2 / 12."""
    return 2.0 * (1.0 / 12.0)
