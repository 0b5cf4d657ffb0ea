"""The curvature demo, in smoke mode: its JSON against quantities derived here independently."""

import io
import json
import math

import numpy as np
import pytest
from numpy.polynomial import Polynomial
from rich.console import Console

from demos import curvature
from demos.__main__ import main
from tinygrad_rnn import grad

SEED = 3


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    path = tmp_path_factory.mktemp("curvature") / "curvature.json"
    console = Console(file=io.StringIO(), width=100)
    assert main(["curvature", "--smoke", "--seed", str(SEED), "--json", str(path)], console=console) == 0
    return json.loads(path.read_text()), console.file.getvalue()


def minimiser_of_the_quartic() -> float:
    """f(x) = x^4 - 3x^2 + x: numpy differentiates the polynomial and finds the critical points;
    the minimiser is the one with the lowest f."""
    f = Polynomial([0.0, 1.0, -3.0, 0.0, 1.0])
    critical = [r.real for r in f.deriv().roots() if abs(r.imag) < 1e-12]
    return min(critical, key=f)


def test_newton_converges_in_fewer_steps_than_gradient_descent(result):
    data, output = result
    part = data["newton_vs_gd"]
    x_star = minimiser_of_the_quartic()
    assert part["minimiser"] == pytest.approx(x_star, abs=1e-12)
    assert len(part["runs"]) >= 3 and [r["seed"] for r in part["runs"]] == data["seeds"]
    assert data["seeds"][0] == SEED
    for run in part["runs"]:
        assert run["newton_steps"] < run["gd_steps"], run
        # |f'(x)| <= 1e-10 and f''(x*) ~ 14.3 put both within ~1e-11 of x*
        assert abs(run["newton_x"] - x_star) < 1e-10 and abs(run["gd_x"] - x_star) < 1e-10
    assert "Newton needed fewer steps than gradient descent from every starting point" in output


def test_trajectory_holds_the_engines_derivatives(result):
    """Each row's f, f', f'' equal the polynomial's, differentiated by numpy."""
    f = Polynomial([0.0, 1.0, -3.0, 0.0, 1.0])
    trajectory = result[0]["newton_vs_gd"]["trajectory"]
    for step in trajectory["newton"] + trajectory["gd"]:
        x = step["x"]
        assert step["f"] == pytest.approx(f(x), rel=1e-13, abs=1e-13)
        assert step["df"] == pytest.approx(f.deriv()(x), rel=1e-12, abs=1e-12)
        assert step["d2f"] == pytest.approx(f.deriv(2)(x), rel=1e-12, abs=1e-12)
    newton = trajectory["newton"]
    for before, after in zip(newton, newton[1:]):  # each step is a Newton step
        assert after["x"] == pytest.approx(before["x"] - before["df"] / before["d2f"], rel=1e-15)


def test_curvature_matches_second_differences_of_the_loss(result):
    """kappa = v^T H v for seed 3 at scale 1, against (L(t + e v) - 2 L(t) + L(t - e v)) / e^2: no
    gradient of second order involved. e = 1e-4: rounding ~1e-16 |L| / e^2 ~ 1e-8, truncation
    e^2 / 12 |d^4 L / ds^4| ~ 1e-9 x O(100) (measured: 2e-8 relative); rtol 1e-6."""
    setting = result[0]["cliffs"][0]
    row = next(r for r in setting["rows"] if r["scale"] == 1.0)
    params, loss_fn = curvature.build_problem(
        SEED, 1.0, setting["hidden"], setting["batch"], setting["length"]
    )
    gradients = grad(loss_fn(), params)
    norm = math.sqrt(sum(float((g**2).sum()) for g in gradients))
    assert row["grad_norm"]["values"][0] == pytest.approx(norm, rel=1e-12)
    v = [g / norm for g in gradients]
    saved = [np.array(p.data) for p in params]

    def loss_at(step):
        for p, value, d in zip(params, saved, v):
            p.data = value + step * d
        return loss_fn().item()

    eps = 1e-4
    second_difference = (loss_at(eps) - 2 * loss_at(0.0) + loss_at(-eps)) / eps**2
    kappa = row["curvature"]["values"][0]
    assert kappa == pytest.approx(second_difference, rel=1e-6)
    assert row["lr_bound"]["values"][0] == pytest.approx(2 / kappa, rel=1e-15)


def test_every_scale_and_seed_is_reported(result):
    data, _ = result
    for setting in data["cliffs"]:
        assert [r["scale"] for r in setting["rows"]] == list(curvature.SCALES)
        for row in setting["rows"]:
            values = row["curvature"]["values"]
            assert len(values) == len(data["seeds"])
            assert row["curvature"]["mean"] == pytest.approx(np.mean(values), rel=1e-12)
            assert row["curvature"]["sd"] == pytest.approx(np.std(values), rel=1e-12, abs=1e-15)
