"""The benchmark's hand-derived numpy steps compute what the engine computes, and the harness runs.

Every benchmark model is shrunk to a few units and run in float64. Three
independent derivations must agree:
  * the hand-derived numpy gradients (benchmarks/numpy_reference.py) match
    central finite differences of the numpy loss itself;
  * the engine's autograd gradients match the numpy ones to ~1e-10;
  * one SGD step leaves both with the same parameters;
and, where PyTorch is installed, torch's gradients match the numpy ones too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import __main__ as harness
from benchmarks.models import SPECS, BenchSpec, engine_trainer, make_batch, numpy_trainer, torch_trainer

NAMES = [spec.name for spec in SPECS]


def tiny64(spec: BenchSpec) -> BenchSpec:
    return dataclasses.replace(spec.tiny(), dtype="float64")


def build(spec: BenchSpec, seed: int = 3):
    inputs, targets = make_batch(spec, seed=seed)
    engine = engine_trainer(spec, inputs, targets, seed=seed)
    reference = numpy_trainer(spec, engine.model.state_dict(), inputs, targets)
    return engine, reference, inputs, targets


@pytest.mark.parametrize("spec", [tiny64(s) for s in SPECS], ids=NAMES)
def test_numpy_reference_gradients_match_finite_differences(spec):
    """Checks the hand derivation on its own: eps 1e-6 central differences have error ~1e-10
    here, so atol 1e-7 / rtol 1e-6 leaves room for rounding and none for a wrong term."""
    _, reference, _, _ = build(spec)
    _, grads = reference.gradients()
    params = reference.params
    eps = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            saved = value[i]
            value[i] = saved + eps
            plus, _ = reference.gradients()
            value[i] = saved - eps
            minus, _ = reference.gradients()
            value[i] = saved
            numeric[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, atol=1e-7, rtol=1e-6, err_msg=f"{spec.name}: {name}")


@pytest.mark.parametrize("spec", [tiny64(s) for s in SPECS], ids=NAMES)
def test_engine_gradients_equal_hand_derived_numpy(spec):
    engine, reference, _, _ = build(spec)
    engine_loss, engine_grads = engine.gradients()
    numpy_loss, numpy_grads = reference.gradients()
    assert sorted(engine_grads) == sorted(numpy_grads)
    # Same float64 arithmetic in a different order: agreement to rounding error.
    assert engine_loss == pytest.approx(numpy_loss, rel=1e-12)
    for name, grad in numpy_grads.items():
        assert engine_grads[name].dtype == np.float64
        np.testing.assert_allclose(engine_grads[name], grad, atol=1e-10, rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("spec", [tiny64(s) for s in SPECS], ids=NAMES)
def test_one_sgd_step_leaves_the_same_parameters(spec):
    engine, reference, _, _ = build(spec)
    before = engine.model.state_dict()
    _, grads = reference.gradients()
    engine.step()
    reference.step()
    after = engine.model.state_dict()
    for name, value in reference.params.items():
        expected = before[name] - spec.lr * grads[name]  # plain SGD, derived here by hand
        np.testing.assert_allclose(value, expected, atol=1e-14, rtol=0, err_msg=name)
        np.testing.assert_allclose(after[name], expected, atol=1e-10, rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("name", ["lstm-lm", "char-rnn"])
def test_float32_models_stay_float32_and_agree(name):
    """The benchmark sizes' dtypes are kept by both steps (no silent float64 upcast)."""
    spec = dataclasses.replace(next(s for s in SPECS if s.name == name).tiny(), dtype="float32")
    engine, reference, _, _ = build(spec)
    engine_loss, engine_grads = engine.gradients()
    numpy_loss, numpy_grads = reference.gradients()
    assert engine_loss == pytest.approx(numpy_loss, rel=1e-5)
    for key, grad in numpy_grads.items():
        assert grad.dtype == np.float32, key
        assert engine_grads[key].dtype == np.float32, key
        np.testing.assert_allclose(engine_grads[key], grad, atol=1e-5, rtol=1e-4, err_msg=key)


@pytest.mark.parametrize("spec", [tiny64(s) for s in SPECS], ids=NAMES)
def test_torch_gradients_equal_hand_derived_numpy(spec):
    pytest.importorskip("torch")
    engine, reference, inputs, targets = build(spec)
    torch_step = torch_trainer(spec, engine.model.state_dict(), inputs, targets)
    torch_loss, torch_grads = torch_step.gradients()
    numpy_loss, numpy_grads = reference.gradients()
    assert sorted(torch_grads) == sorted(numpy_grads)
    assert torch_loss == pytest.approx(numpy_loss, rel=1e-12)
    for name, grad in numpy_grads.items():
        np.testing.assert_allclose(torch_grads[name], grad, atol=1e-10, rtol=1e-9, err_msg=name)


def test_harness_smoke_run_writes_the_json_schema(tmp_path, capsys):
    path = tmp_path / "bench.json"
    harness.main(["--tiny", "--rounds", "1", "--json", str(path)])
    printed = capsys.readouterr().out
    assert "cores" in printed and "per graph node" in printed and "peak memory" in printed
    report = json.loads(path.read_text())
    assert report["schema"] == "tinygrad_rnn-bench/1"
    assert report["rounds"] == 1 and report["tiny"] is True
    machine = report["machine"]
    assert isinstance(machine["cpu_count"], int) and machine["numpy"] == np.__version__
    for when in ("start", "end"):
        load = machine[f"load_average_1min_at_{when}"]
        assert load is None or load >= 0
    has_torch = machine["torch"] is not None
    assert [row["name"] for row in report["benchmarks"]] == NAMES
    for row, spec in zip(report["benchmarks"], SPECS):
        assert row["setting"] == spec.tiny().setting
        assert row["target"] == {
            "baseline": spec.baseline, "max_ratio": spec.max_ratio, "strict": spec.strict, "text": spec.target
        }  # fmt: skip
        engine, numpy_ = row["samples_ms"]["tinygrad_rnn"], row["samples_ms"]["numpy"]
        assert len(engine) == len(numpy_) == 1 and engine[0] > 0 and numpy_[0] > 0
        assert row["median_ms"]["tinygrad_rnn"] == engine[0]
        # With one round the median of per-round ratios is that round's ratio.
        assert row["ratio_vs_numpy"] == pytest.approx(engine[0] / numpy_[0])
        losses = list(row["first_loss"].values())
        assert max(losses) - min(losses) < 1e-4 * max(losses)  # all start from the same parameters
        if has_torch:
            torch_ms = row["samples_ms"]["torch"][0]
            assert row["ratio_vs_torch"] == pytest.approx(engine[0] / torch_ms)
        else:
            assert row["median_ms"]["torch"] is None and row["ratio_vs_torch"] is None
        baseline_ratio = row["ratio_vs_numpy"] if spec.baseline == "numpy" else row["ratio_vs_torch"]
        expected_met = None if baseline_ratio is None else spec.meets_target(baseline_ratio)
        assert row["met"] == expected_met
    overhead = report["node_overhead_us"]
    assert overhead["nodes"] == 20 and overhead["tinygrad_rnn"] > 0
    assert (overhead["torch"] is not None) == has_torch
    memory = report["peak_memory_mib"]
    assert memory["benchmark"] == "lstm-lm" and memory["tinygrad_rnn"] > 0 and memory["numpy"] > 0


def test_targets_are_the_issues():
    targets = {spec.name: (spec.baseline, spec.max_ratio, spec.strict) for spec in SPECS}
    assert targets == {
        "char-rnn": ("numpy", 1.5, False),
        "rnn-lm": ("torch", 1.3, False),
        "gru-lm": ("torch", 1.3, False),
        "lstm-lm": ("torch", 1.3, False),
        "r2rt": ("torch", 1.0, True),
    }
    r2rt = next(spec for spec in SPECS if spec.name == "r2rt")
    assert r2rt.meets_target(0.99) and not r2rt.meets_target(1.0)


def test_only_selects_and_rejects_unknown_names(capsys):
    assert harness.parse_args(["--only", "r2rt", "--only", "gru-lm"]).only == ["r2rt", "gru-lm"]
    assert harness.parse_args(["--quick"]).rounds == 3
    with pytest.raises(SystemExit):
        harness.parse_args(["--only", "transformer"])
    assert "unknown benchmark 'transformer'" in capsys.readouterr().err


def test_compare_trees_runs_two_source_trees_side_by_side(tmp_path):
    """Run in a subprocess: it swaps the tinygrad_rnn modules, which this test process keeps using."""
    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "copy"
    no_cache = shutil.ignore_patterns("__pycache__")
    shutil.copytree(root / "tinygrad_rnn", copy / "tinygrad_rnn", ignore=no_cache)
    command = [sys.executable, "-m", "benchmarks.compare_trees", str(root), str(copy), "--rounds", "2"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{os.cpu_count()} CPU cores, 2 alternating rounds")
    assert lines[1].startswith(f"  {root}: forward ") and lines[2].startswith(f"  {copy}: forward ")
    assert re.fullmatch(r"second / first \(minima\): \d+\.\d\d", lines[3])

    empty = tmp_path / "empty"
    empty.mkdir()
    command = [sys.executable, "-m", "benchmarks.compare_trees", str(root), str(empty), "--rounds", "1"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    assert result.returncode != 0 and f"{empty} has no tinygrad_rnn package" in result.stderr
