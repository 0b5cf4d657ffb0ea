"""Seed 000's dependency task and the long-lag tasks: generators against their laws, theory
numbers against the seed's own closed-form expressions."""

import math

import numpy as np
import pytest

from tinygrad_rnn.data import (
    adding_baseline,
    adding_batch,
    batch_rows,
    cross_entropy_knowing,
    generate_dependency_series,
    nearest_regime,
    recall_baseline,
    recall_batch,
    theory_cross_entropies,
)


def _h(p):
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


# ---- theory ------------------------------------------------------------------------------------
def test_theory_matches_the_seeds_closed_forms():
    # The seed's formulas, typed out independently of cross_entropy_knowing.
    neither = -(0.625 * np.log(0.625) + 0.375 * np.log(0.375))
    first = -0.5 * (0.875 * np.log(0.875) + 0.125 * np.log(0.125)) - 0.5 * (
        0.625 * np.log(0.625) + 0.375 * np.log(0.375)
    )
    both = -0.50 * (0.75 * np.log(0.75) + 0.25 * np.log(0.25)) - 0.25 * (2 * 0.50 * np.log(0.50)) - 0.25 * 0
    theory = theory_cross_entropies()
    assert theory["neither"] == pytest.approx(neither, abs=1e-14)
    assert theory["first"] == pytest.approx(first, abs=1e-14)
    assert theory["both"] == pytest.approx(both, abs=1e-14)
    # and the numbers the seed printed (12 digits)
    assert theory["neither"] == pytest.approx(0.661563238158, abs=1e-12)
    assert theory["first"] == pytest.approx(0.519166699707, abs=1e-12)
    assert theory["both"] == pytest.approx(0.454454367449, abs=1e-12)


def test_knowing_only_the_t8_lag():
    # P(Y=1 | X_{t-8}=0) = mean(0.5, 1.0) = 0.75; P(Y=1 | X_{t-8}=1) = mean(0.25, 0.75) = 0.5
    assert cross_entropy_knowing((8,)) == pytest.approx(0.5 * _h(0.75) + 0.5 * _h(0.5), abs=1e-14)


def test_unknown_lag_is_an_error():
    with pytest.raises(ValueError, match="lags must be among"):
        cross_entropy_knowing((4,))


@pytest.mark.parametrize(
    "value, regime", [(0.70, "neither"), (0.62, "neither"), (0.53, "first"), (0.49, "first"), (0.46, "both")]
)
def test_nearest_regime(value, regime):
    assert nearest_regime(value) == regime


# ---- the generator ------------------------------------------------------------------------------
def test_dependency_series_follows_the_seeds_law():
    n = 400_000
    x, y = generate_dependency_series(n, np.random.default_rng(0))
    assert x.shape == y.shape == (n,)
    assert set(np.unique(x)) <= {0, 1} and set(np.unique(y)) <= {0, 1}
    assert abs(x.mean() - 0.5) < 5 * math.sqrt(0.25 / n)
    t = np.arange(8, n)
    for x3 in (0, 1):
        for x8 in (0, 1):
            rows = t[(x[t - 3] == x3) & (x[t - 8] == x8)]
            p = 0.5 + 0.5 * x3 - 0.25 * x8
            se = math.sqrt(max(p * (1 - p), 1e-12) / len(rows))
            assert abs(y[rows].mean() - p) <= 5 * se + 1e-12, (x3, x8)
    # Y does not depend on X_{t-1} (a lag the law does not use)
    assert abs(y[t][x[t - 1] == 1].mean() - y[t][x[t - 1] == 0].mean()) < 0.01


def test_simulated_cross_entropies_match_theory():
    # Score the optimal predictors on sampled data: an independent Monte Carlo check.
    x, y = generate_dependency_series(400_000, np.random.default_rng(1))
    t = np.arange(8, len(x))
    x3, x8, yt = x[t - 3], x[t - 8], y[t]

    def ce(p):
        return -np.mean(np.where(yt == 1, np.log(p), np.log(1 - p)))

    theory = theory_cross_entropies()
    assert ce(np.full(len(t), 0.625)) == pytest.approx(theory["neither"], abs=0.004)
    assert ce(np.where(x3 == 1, 0.875, 0.375)) == pytest.approx(theory["first"], abs=0.004)
    both = np.clip(0.5 + 0.5 * x3 - 0.25 * x8, 1e-12, 1 - 1e-12)  # p = 1 happens (and then y = 1 always)
    assert ce(both) == pytest.approx(theory["both"], abs=0.004)


def test_series_is_reproducible_and_too_short_is_an_error():
    a = generate_dependency_series(100, np.random.default_rng(5))
    b = generate_dependency_series(100, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="n >= 9"):
        generate_dependency_series(5, np.random.default_rng(0))


def test_batch_rows_cuts_contiguous_rows():
    rows = batch_rows(np.arange(23), 4)
    assert rows.shape == (4, 5)
    np.testing.assert_array_equal(rows[1], [5, 6, 7, 8, 9])  # the seed's reshape: row b is steps b*L..
    with pytest.raises(ValueError, match="cannot fill 4 rows"):
        batch_rows(np.arange(3), 4)


# ---- long-lag tasks -----------------------------------------------------------------------------
def test_recall_batch_layout():
    x, y = recall_batch(64, 7, 5, np.random.default_rng(0))
    assert x.shape == (8, 64, 6) and y.shape == (64,)
    np.testing.assert_array_equal(x[..., :5].sum(axis=-1), 1.0)  # one symbol per step
    np.testing.assert_array_equal(x[0, :, 5], 1.0)  # the marker on the first step only
    np.testing.assert_array_equal(x[1:, :, 5], 0.0)
    np.testing.assert_array_equal(np.argmax(x[0, :, :5], axis=-1), y)


def test_recall_baseline_is_what_no_memory_can_score():
    for num_symbols in (2, 3, 4):
        assert recall_baseline(num_symbols) == pytest.approx(math.log(num_symbols), abs=1e-15)
    # Without memory a predictor sees only the last symbol, which is independent of the target:
    # the best it can do is the target's marginal frequencies.
    x, y = recall_batch(200_000, 3, 4, np.random.default_rng(2))
    last = np.argmax(x[-1, :, :4], axis=-1)
    for symbol in range(4):
        freq = np.bincount(y[last == symbol], minlength=4) / np.sum(last == symbol)
        np.testing.assert_allclose(freq, 0.25, atol=0.01)


def test_adding_batch_marks_and_target():
    x, y = adding_batch(500, 20, np.random.default_rng(3))
    assert x.shape == (20, 500, 2) and y.shape == (500,)
    marks = x[..., 1]
    np.testing.assert_array_equal(marks.sum(axis=0), 2.0)
    np.testing.assert_array_equal(marks[:10].sum(axis=0), 1.0)  # one in each half
    np.testing.assert_allclose(y, (x[..., 0] * marks).sum(axis=0), rtol=0, atol=1e-15)


def test_each_sequence_draws_its_own_marks_over_the_whole_of_each_half():
    x, _ = adding_batch(2000, 8, np.random.default_rng(5))
    first, second = np.argmax(x[:4, :, 1], axis=0), 4 + np.argmax(x[4:, :, 1], axis=0)
    # Uniform over 4 steps: each step is marked in about 500 of 2000 sequences (all of them in
    # at least 400 of them, far beyond chance: P(< 400) is about 1e-7 per step).
    np.testing.assert_array_less(400, np.bincount(first, minlength=4))
    np.testing.assert_array_less(400, np.bincount(second, minlength=8)[4:])


def test_long_lag_tasks_at_their_smallest_sizes():
    x, y = recall_batch(3, 1, 2, np.random.default_rng(0))  # lag 1, two symbols: the least allowed
    assert x.shape == (2, 3, 3) and y.shape == (3,)
    np.testing.assert_array_equal(np.argmax(x[0, :, :2], axis=-1), y)
    x, y = adding_batch(3, 2, np.random.default_rng(0))  # two steps: one in each half
    np.testing.assert_array_equal(x[..., 1], 1.0)
    np.testing.assert_allclose(y, x[0, :, 0] + x[1, :, 0], rtol=0, atol=1e-15)


def test_adding_baseline_is_the_variance_of_the_sum():
    assert adding_baseline() == pytest.approx(1 / 6, abs=1e-15)
    _, y = adding_batch(200_000, 10, np.random.default_rng(4))
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.003)  # SE ~ 0.0005


def test_long_lag_bad_arguments():
    with pytest.raises(ValueError, match="recall_batch"):
        recall_batch(2, 0, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="adding_batch"):
        adding_batch(2, 1, np.random.default_rng(0))


def test_dependency_series_of_the_least_length_and_int_targets():
    x, y = generate_dependency_series(9, np.random.default_rng(0))  # 8 steps back needs 9 steps
    assert x.shape == y.shape == (9,) and x.dtype == y.dtype == np.int64
    with pytest.raises(ValueError, match="need n >= 9"):
        generate_dependency_series(8, np.random.default_rng(0))


def test_nearest_regime_uses_the_theory_given():
    theory = {"low": 0.1, "high": 0.9}
    assert nearest_regime(0.8, theory) == "high" and nearest_regime(0.2, theory) == "low"
