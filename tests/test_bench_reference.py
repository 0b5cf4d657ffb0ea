"""The benchmark's hand-derived numpy steps compute what the engine computes, and the harness runs.

Every benchmark model is shrunk to a few units and run in float64. Three
independent derivations must agree:
  * the hand-derived numpy gradients (benchmarks/numpy_reference.py) match
    central finite differences of the numpy loss itself;
  * the engine's autograd gradients, composed and fused, match the numpy ones to ~1e-10;
  * one SGD step leaves all of them with the same parameters;
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
from benchmarks.models import (
    SPECS,
    BenchSpec,
    Target,
    engine_trainer,
    make_batch,
    numpy_trainer,
    torch_trainer,
)

NAMES = [spec.name for spec in SPECS]
FORMS = pytest.mark.parametrize(
    "fused, compiled", [(False, False), (True, False), (False, True)], ids=["composed", "fused", "compiled"]
)


def tiny64(spec: BenchSpec) -> BenchSpec:
    return dataclasses.replace(spec.tiny(), dtype="float64")


def build(spec: BenchSpec, seed: int = 3, fused: bool = False, compiled: bool = False):
    inputs, targets = make_batch(spec, seed=seed)
    engine = engine_trainer(spec, inputs, targets, seed=seed, fused=fused, compiled=compiled)
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


@FORMS
@pytest.mark.parametrize("spec", [tiny64(s) for s in SPECS], ids=NAMES)
def test_engine_gradients_equal_hand_derived_numpy(spec, fused, compiled):
    engine, reference, _, _ = build(spec, fused=fused, compiled=compiled)
    engine_loss, engine_grads = engine.gradients()
    numpy_loss, numpy_grads = reference.gradients()
    assert sorted(engine_grads) == sorted(numpy_grads)
    # Same float64 arithmetic in a different order: agreement to rounding error.
    assert engine_loss == pytest.approx(numpy_loss, rel=1e-12)
    for name, grad in numpy_grads.items():
        assert engine_grads[name].dtype == np.float64
        np.testing.assert_allclose(engine_grads[name], grad, atol=1e-10, rtol=1e-9, err_msg=name)


@FORMS
@pytest.mark.parametrize("spec", [tiny64(s) for s in SPECS], ids=NAMES)
def test_one_sgd_step_leaves_the_same_parameters(spec, fused, compiled):
    engine, reference, _, _ = build(spec, fused=fused, compiled=compiled)
    before = engine.model.state_dict()
    _, grads = reference.gradients()
    engine.step()
    reference.step()
    after = engine.model.state_dict()
    for name, value in reference.params.items():
        expected = before[name] - spec.lr * grads[name]  # plain SGD, derived here by hand
        np.testing.assert_allclose(value, expected, atol=1e-14, rtol=0, err_msg=name)
        np.testing.assert_allclose(after[name], expected, atol=1e-10, rtol=1e-9, err_msg=name)


@FORMS
@pytest.mark.parametrize("name", ["lstm-lm", "char-rnn", "r2rt"])
def test_float32_models_stay_float32_and_agree(name, fused, compiled):
    """The benchmark sizes' dtypes are kept by both steps (no silent float64 upcast)."""
    spec = dataclasses.replace(next(s for s in SPECS if s.name == name).tiny(), dtype="float32")
    engine, reference, _, _ = build(spec, fused=fused, compiled=compiled)
    engine_loss, engine_grads = engine.gradients()
    numpy_loss, numpy_grads = reference.gradients()
    assert engine_loss == pytest.approx(numpy_loss, rel=1e-5)
    for key, grad in numpy_grads.items():
        assert grad.dtype == np.float32, key
        assert engine_grads[key].dtype == np.float32, key
        np.testing.assert_allclose(engine_grads[key], grad, atol=1e-5, rtol=1e-4, err_msg=key)


FUSED_OPS = {"affine", "tanh_affine", "affine_gates"}


def op_names(loss) -> set[str]:
    """The names of the ops in the graph behind ``loss``."""
    names, seen, waiting = set(), set(), [loss]
    while waiting:
        tensor = waiting.pop()
        if tensor._ctx is None or id(tensor) in seen:
            continue
        seen.add(id(tensor))
        names.add(tensor._ctx.name)
        waiting.extend(tensor._ctx.parents)
    return names


@pytest.mark.parametrize("spec", [tiny64(s) for s in SPECS], ids=NAMES)
def test_the_two_forms_hold_the_same_numbers_in_different_graphs(spec):
    """The fused model is a copy of the composed one's numbers; only its graph uses fused ops."""
    composed, _, _, _ = build(spec)
    fused, _, _, _ = build(spec, fused=True)
    fused_state = fused.model.state_dict()
    for name, value in composed.model.state_dict().items():
        np.testing.assert_array_equal(fused_state[name], value, err_msg=name)
    assert not op_names(composed._loss()) & FUSED_OPS
    assert op_names(fused._loss()) & FUSED_OPS


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
    harness.main(["--tiny", "--rounds", "2", "--json", str(path)])
    printed = capsys.readouterr().out
    assert "cores" in printed and "per graph node" in printed and "peak memory" in printed
    assert "composed ms" in printed and "fused ms" in printed and "composed/fused" in printed
    assert "compiled ms" in printed and "compiled/numpy" in printed and "trace + compile time" in printed
    report = json.loads(path.read_text())
    assert report["schema"] == "tinygrad_rnn-bench/3"
    assert report["rounds"] == 2 and report["tiny"] is True
    machine = report["machine"]
    assert isinstance(machine["cpu_count"], int) and machine["numpy"] == np.__version__
    for when in ("start", "end"):
        load = machine[f"load_average_1min_at_{when}"]
        assert load is None or load >= 0
    has_torch = machine["torch"] is not None
    timed = ["composed", "fused", "compiled", "numpy"] + (["torch"] if has_torch else [])
    assert [row["name"] for row in report["benchmarks"]] == NAMES
    for row, spec in zip(report["benchmarks"], SPECS):
        assert row["setting"] == spec.tiny().setting
        samples = row["samples_ms"]
        assert sorted(samples) == sorted(timed)
        for name in timed:
            assert len(samples[name]) == 2 and min(samples[name]) > 0
            assert row["median_ms"][name] == pytest.approx(sum(samples[name]) / 2)  # median of two
        if not has_torch:
            assert row["median_ms"]["torch"] is None

        assert row["compile_s"] > 0
        expected_ratios = {}
        pairs = [("composed", "fused"), ("composed", "numpy"), ("fused", "numpy"), ("compiled", "numpy")]
        pairs += [("composed", "torch"), ("fused", "torch"), ("compiled", "torch")]
        for numerator, denominator in pairs:
            present = denominator in samples
            # Independent of the harness: the median of two per-round ratios is their mean.
            a, b = samples[numerator], samples.get(denominator)
            mean = (a[0] / b[0] + a[1] / b[1]) / 2 if present else None
            expected_ratios[f"{numerator}/{denominator}"] = mean
        assert set(row["ratios"]) == set(expected_ratios)
        for key, value in expected_ratios.items():
            assert row["ratios"][key] == (None if value is None else pytest.approx(value)), key
        assert len(row["targets"]) == len(spec.targets)
        for checked, target in zip(row["targets"], spec.targets):
            assert checked["text"] == target.text
            assert (checked["form"], checked["baseline"]) == (target.form, target.baseline)
            assert (checked["max_ratio"], checked["strict"]) == (target.max_ratio, target.strict)
            ratio = expected_ratios[target.ratio_name]
            assert checked["ratio"] == (None if ratio is None else pytest.approx(ratio))
            assert checked["met"] == (None if ratio is None else target.met_by(ratio))
        losses = list(row["first_loss"].values())
        assert sorted(row["first_loss"]) == sorted(timed)
        assert max(losses) - min(losses) < 1e-4 * max(losses)  # all start from the same parameters
    overhead = report["node_overhead_us"]
    assert overhead["nodes"] == 20 and overhead["tinygrad_rnn"] > 0
    assert (overhead["torch"] is not None) == has_torch
    memory = report["peak_memory_mib"]
    assert memory["benchmark"] == "lstm-lm"
    assert memory["composed"] > 0 and memory["fused"] > 0 and memory["numpy"] > 0 and memory["compiled"] > 0
    assert memory["compiled_program_estimate"] > 0 and memory["compiled_lines"] > 0


def test_targets_are_the_issues():
    targets = {s.name: [(t.form, t.baseline, t.max_ratio, t.strict) for t in s.targets] for s in SPECS}
    assert targets == {
        "char-rnn": [("composed", "numpy", 1.5, False), ("compiled", "numpy", 1.3, False)],
        "rnn-lm": [("composed", "torch", 1.3, False), ("compiled", "numpy", 1.3, False)],
        "gru-lm": [("composed", "torch", 1.3, False), ("compiled", "numpy", 1.3, False)],
        "lstm-lm": [
            ("composed", "torch", 1.3, False),
            ("composed", "fused", 1.25, False),
            ("fused", "numpy", 1.5, False),
            ("compiled", "numpy", 1.15, False),
        ],
        "r2rt": [("composed", "torch", 1.0, True), ("compiled", "numpy", 1.3, False)],
    }
    r2rt = next(spec for spec in SPECS if spec.name == "r2rt").targets[0]
    assert r2rt.met_by(0.99) and not r2rt.met_by(1.0)
    assert r2rt.text == "composed < 1x torch" and r2rt.ratio_name == "composed/torch"
    lstm_vs_fused = Target("composed", "fused", 1.25)
    assert lstm_vs_fused.met_by(1.25) and not lstm_vs_fused.met_by(1.26)
    assert lstm_vs_fused.text == "composed <= 1.25x fused"


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
    command += ["--max-ratio", "1e9"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{os.cpu_count()} CPU cores, 2 alternating rounds")
    assert lines[1].startswith(f"  {root}: forward ") and lines[2].startswith(f"  {copy}: forward ")
    assert re.fullmatch(r"second / first \(minima\): \d+\.\d\d", lines[3])
    assert lines[4] == "target second / first <= 1e+09: met"
    # The same engine twice makes the same calls, whatever the machine's load.
    calls = re.fullmatch(
        r"Python function calls per node \(cProfile, independent of the load\): "
        r"first (\d+\.\d), second (\d+\.\d), second / first 1\.00",
        lines[5],
    )
    assert calls and calls[1] == calls[2] and float(calls[1]) > 5

    empty = tmp_path / "empty"
    empty.mkdir()
    command = [sys.executable, "-m", "benchmarks.compare_trees", str(root), str(empty), "--rounds", "1"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    assert result.returncode != 0 and f"{empty} has no tinygrad_rnn package" in result.stderr


def test_compare_trees_gives_each_engine_its_own_modules_back(tmp_path):
    """An engine that imports its own modules inside a function (bookkeeping does) must find
    them, not the other tree's, whichever tree was imported last."""
    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "copy"
    no_cache = shutil.ignore_patterns("__pycache__")
    shutil.copytree(root / "tinygrad_rnn", copy / "tinygrad_rnn", ignore=no_cache)
    script = f"""
import importlib
import numpy as np
from benchmarks.compare_trees import Engine, chain_gradients
first, second = Engine({str(root)!r}), Engine({str(copy)!r})
assert first.tensor_class is not second.tensor_class
for engine in (first, second, first):
    engine.activate()
    assert importlib.import_module("tinygrad_rnn.tensor").Tensor is engine.tensor_class
    assert importlib.import_module("tinygrad_rnn").__file__.startswith(engine.tree)
    # y_(k+1) = y_k w + w, 500 times from y_0 = x, at w = 0.5: dy/dx = w**500 and
    # dy/dw = 500 w**499 x + sum_k k w**(k-1) = 4 to within 1e-140.
    x_grad, w_grad = chain_gradients(engine)
    assert np.allclose(x_grad, 0.5**500, rtol=1e-12, atol=0), x_grad
    assert np.allclose(w_grad, 4.0, rtol=1e-12, atol=0), w_grad
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
