"""Seed 000's toy task: a binary series whose output depends on the input 3 and 8 steps back.

    X_t ~ Bernoulli(0.5)
    P(Y_t = 1) = 0.5 + 0.5 X_{t-3} - 0.25 X_{t-8}

A model that predicts Y_t can do three things: know neither lag, know only
X_{t-3}, or know both. The best cross-entropy in each case follows from the
generating probabilities alone (``theory_cross_entropies``), which is how the
seed tells, from a loss value, what a recurrent net has learned.
"""

from __future__ import annotations

import itertools

import numpy as np

from tinygrad_rnn.checks import count

__all__ = [
    "LAGS",
    "prob_y1",
    "generate_dependency_series",
    "cross_entropy_knowing",
    "theory_cross_entropies",
    "nearest_regime",
    "batch_rows",
]

# lag -> change in P(Y_t = 1) when X_{t-lag} = 1
LAGS: dict[int, float] = {3: 0.5, 8: -0.25}
BASE_PROB = 0.5


def prob_y1(x_lag3: np.ndarray | int, x_lag8: np.ndarray | int) -> np.ndarray:
    """P(Y_t = 1 | X_{t-3}, X_{t-8}) = 0.5 + 0.5 X_{t-3} - 0.25 X_{t-8}."""
    return BASE_PROB + LAGS[3] * np.asarray(x_lag3) + LAGS[8] * np.asarray(x_lag8)


def generate_dependency_series(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw (X, Y), two int arrays of length n, from the seed's process.

    Like the seed's generator (which indexes X[t-3] with negative t), the first
    steps look back around the end of the series, so every step of the
    series follows the same law.
    """
    if n < 9:
        raise ValueError(f"generate_dependency_series: need n >= 9 steps to look 8 back, got {n}")
    x = rng.integers(0, 2, size=n)
    p = prob_y1(np.roll(x, 3), np.roll(x, 8))
    y = (rng.random(n) < p).astype(np.int64)
    return x.astype(np.int64), y


def _binary_entropy(p: float) -> float:
    """H(p) = -p log p - (1-p) log(1-p) in nats, with 0 log 0 = 0."""
    return float(-sum(q * np.log(q) for q in (p, 1.0 - p) if q > 0))


def cross_entropy_knowing(known_lags: tuple[int, ...]) -> float:
    """Expected cross-entropy (nats) of the best predictor that sees only ``known_lags``.

    Given what it knows, the best prediction is P(Y=1 | known) = mean of
    prob_y1 over the unknown lags; Y is then Bernoulli with that mean, so the
    loss is the average binary entropy over the (equally likely) known values.
    """
    unknown = [lag for lag in LAGS if lag not in known_lags]
    if any(lag not in LAGS for lag in known_lags):
        raise ValueError(f"cross_entropy_knowing: lags must be among {sorted(LAGS)}, got {known_lags}")
    total = 0.0
    known_values = list(itertools.product((0, 1), repeat=len(known_lags)))
    for values in known_values:
        fixed = dict(zip(known_lags, values))
        probs = []
        for hidden in itertools.product((0, 1), repeat=len(unknown)):
            setting = {**fixed, **dict(zip(unknown, hidden))}
            probs.append(float(prob_y1(setting[3], setting[8])))
        total += _binary_entropy(float(np.mean(probs)))
    return total / len(known_values)


def theory_cross_entropies() -> dict[str, float]:
    """{'neither': ~0.6616, 'first': ~0.5192, 'both': ~0.4545}: the three regimes of the seed."""
    return {
        "neither": cross_entropy_knowing(()),
        "first": cross_entropy_knowing((3,)),
        "both": cross_entropy_knowing((3, 8)),
    }


def nearest_regime(cross_entropy: float, theory: dict[str, float] | None = None) -> str:
    """The regime whose theoretical cross-entropy is closest to a measured one."""
    theory = theory_cross_entropies() if theory is None else theory
    return min(theory, key=lambda name: abs(theory[name] - cross_entropy))


def batch_rows(series: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut one long series into ``batch_size`` contiguous rows, shape (batch_size, n // batch_size).

    Row b holds steps [b*L, (b+1)*L): each row is its own continuous stream,
    so a state carried along a row from window to window stays meaningful.
    """
    batch_size = count(batch_size, "batch_size", "batch_rows")
    length = len(series) // batch_size
    if length == 0:
        raise ValueError(f"batch_rows: a series of {len(series)} steps cannot fill {batch_size} rows")
    return np.asarray(series)[: batch_size * length].reshape(batch_size, length)
