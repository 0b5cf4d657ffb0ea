"""Every demo runs in smoke mode, and what --json writes has the documented shape."""

import io
import json
import math

import pytest
from rich.console import Console

from demos.__main__ import DEMOS, main
from tinygrad_rnn.data import recall_baseline, theory_cross_entropies


def run_demo(name, tmp_path, *extra):
    path = tmp_path / "out" / f"{name}.json"  # the parent folder does not exist yet
    console = Console(file=io.StringIO(), width=100)
    assert main([name, "--smoke", "--seed", "3", "--json", str(path), *extra], console=console) == 0
    return json.loads(path.read_text()), console.file.getvalue()


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def test_listing_names_every_demo(capsys):
    console = Console(file=io.StringIO(), width=200)
    assert main([], console=console) == 0
    listing = console.file.getvalue()
    for module in DEMOS:
        assert module.NAME in listing and module.SUMMARY in listing


def test_unknown_demo_is_an_error(capsys):
    with pytest.raises(SystemExit):
        main(["no-such-demo"], console=Console(file=io.StringIO()))
    assert "unknown demo" in capsys.readouterr().err


@pytest.mark.parametrize("module", DEMOS, ids=lambda m: m.NAME)
def test_every_registered_demo_runs_in_smoke_mode(module, tmp_path):
    data, output = run_demo(module.NAME, tmp_path)
    assert isinstance(data, dict) and data
    assert "took" in output


def test_forward_finds_the_articles_numbers(tmp_path):
    data, output = run_demo("forward", tmp_path)
    # a fresh run starts from [0, 0]: before activation = x_1 W_ax + b_a = [0.5 + 0.1, 0.6 - 0.1]
    assert data["fresh"][0]["before_activation"] == pytest.approx([0.6, 0.5], abs=1e-15)
    assert math.tanh(0.6) == pytest.approx(data["fresh"][0]["state"][0], abs=1e-15)
    assert data["reproduced"] is True and data["earlier_runs"] == 1
    assert data["max_error_vs_printed"] <= 0.5e-8 + 1e-12  # the printout's rounding, no more
    # the initial state that reproduces the printout is the fresh run's final state
    assert data["solved_initial_state"] == pytest.approx(data["fresh"][1]["state"], abs=1e-7)


def test_bptt_hand_and_engine_agree(tmp_path):
    data, _ = run_demo("bptt", tmp_path)
    assert data["max_abs_diff"] < 1e-12
    summed = [[sum(step[i][j] for step in data["per_step_hand"]) for j in range(3)] for i in range(3)]
    for row, expected in zip(data["dW_engine"], summed):
        assert row == pytest.approx(expected, abs=1e-12)


def test_dependencies_json_schema(tmp_path):
    data, _ = run_demo("dependencies", tmp_path)
    assert set(data) == {"theory", "runs"}
    assert data["theory"] == pytest.approx(theory_cross_entropies(), abs=1e-15)
    assert {r["truncation"] for r in data["runs"]} == {1, 5, 10}
    for run in data["runs"]:
        assert set(run) == {"truncation", "state_size", "epochs", "seed", "cross_entropy", "learned"}
        assert _is_number(run["cross_entropy"]) and run["cross_entropy"] > 0
        assert run["learned"] in ("neither", "first", "both")
        nearest = min(data["theory"], key=lambda k: abs(data["theory"][k] - run["cross_entropy"]))
        assert run["learned"] == nearest
        assert run["seed"] == 3  # smoke mode: one seed, the one given


def test_vanishing_json(tmp_path):
    data, _ = run_demo("vanishing", tmp_path)
    for profiles in (data["at_init"], data["trained"]):
        for values in profiles.values():
            assert len(values) == data["lag"] + 1 and all(_is_number(v) and v > 0 for v in values)
    assert set(data["clipping"]) == {"plain", "clipped"}
    for when in ("at_init", "trained"):
        for name, values in data[when].items():
            expected = (values[-1] / values[0]) ** (1 / data["lag"])
            assert data["factor_per_step"][when][name] == pytest.approx(expected, rel=1e-12)


def test_language_model_json_schema(tmp_path):
    data, _ = run_demo("language-model", tmp_path, "--prime", "The ")
    assert set(data) == {"baseline_bpc", "val_bpc", "samples"}
    assert _is_number(data["baseline_bpc"]) and _is_number(data["val_bpc"])
    assert data["samples"] and all(s.startswith("The ") for s in data["samples"])


def test_language_model_reads_a_corpus_file(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(f"paragraph {i}: abc abc abc" for i in range(40)), encoding="utf-8")
    data, output = run_demo("language-model", tmp_path, "--corpus", str(corpus))
    assert "corpus.txt" in output
    # the unigram baseline can never exceed log2 of the vocabulary (20 characters + EOS + UNK at most)
    assert 0 < data["baseline_bpc"] < math.log2(22)


def test_memory_json_schema(tmp_path):
    data, _ = run_demo("memory", tmp_path)
    assert set(data) == {"baseline", "results"}
    assert data["baseline"] == pytest.approx(recall_baseline(4), abs=1e-15)
    assert set(data["results"]) == {"rnn", "leaky", "skip", "gru", "lstm"}
    assert all(_is_number(v) and v > 0 for v in data["results"].values())


def test_json_is_written_atomically(tmp_path):
    from demos.__main__ import write_json

    path = tmp_path / "a" / "b.json"
    write_json(str(path), {"x": 1})
    write_json(str(path), {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]  # no temporary file left behind


def test_sparkline_levels_and_gaps():
    from demos._ui import sparkline

    assert sparkline([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]) == "▁▂▃▄▅▆▇█"  # one level per step
    assert sparkline([1.0, float("nan"), 3.0]) == "▁×█"  # a non-finite value is shown, not hidden
    assert sparkline([5.0, 5.0], low=0.0, high=10.0) == "▅▅"  # round(0.5 * 7) = 4 -> the fifth level
    assert len(sparkline(list(range(100)), width=10)) == 10


def test_vanishing_factor_per_step_is_the_geometric_mean():
    from demos.vanishing import factor_per_step

    assert factor_per_step([1.0, 0.5, 0.25, 0.125]) == pytest.approx(0.5, abs=1e-15)
    assert factor_per_step([2.0, 1.0, 8.0]) == pytest.approx(2.0, abs=1e-15)  # (8 / 2) ** (1 / 2)


def test_vanishing_reading_follows_the_numbers():
    import numpy as np

    from demos.vanishing import _reading

    def profile(factor, lag=10):
        return 0.01 * factor ** np.arange(lag + 1)

    at_init = {
        name: profile(f)
        for name, f in [
            ("RNN", 0.5),
            ("GRU", 0.6),
            ("LSTM", 0.6),
            ("GRU+keep", 0.95),
            ("LSTM+keep", 0.85),
            ("RNN, W_hh = 1.5 Q", 1.1),
        ]
    }
    trained = {
        "RNN": profile(0.5),
        "GRU": profile(0.7),
        "LSTM": profile(0.4),
        "GRU+keep": profile(1.0),
        "LSTM+keep": profile(0.95),
    }
    losses = {"RNN": 0.01, "GRU": 1.38, "LSTM": 1.39, "GRU+keep": 0.001, "LSTM+keep": 1.2}
    text = _reading(at_init, trained, losses, lag=10)
    assert "Slower decay than the RNN: GRU x0.70, GRU+keep x1.00, LSTM+keep x0.95." in text
    assert "As fast or faster: LSTM x0.40." in text
    paragraphs = {line.split(":")[0]: line for line in text.split("\n") if line}
    assert "GRU+keep" in paragraphs[next(k for k in paragraphs if k.startswith("Learned (task loss"))]
    assert "RNN (x0.50" in paragraphs["Learned, yet the gradient vanishes"]
    assert "LSTM+keep" in paragraphs["Not yet learned, though the gradient reaches back"]
    stuck = paragraphs["Not learned in this budget"]
    assert "GRU (x0.70" in stuck and "LSTM (x0.40" in stuck and "keep" not in stuck
    assert "the product grows instead" in text


def test_language_model_finds_the_loop_an_argmax_sample_falls_into():
    from demos.language_model import looping_unit

    assert looping_unit("xyz" + "abc" * 20 + "ab") == "abc"  # the unit where the loop starts, not "cab"
    assert looping_unit("It is a" + " string" * 12) == " string"
    text = "Return the source command should be a stream, the name members for the setarded as a string"
    assert looping_unit(text) is None  # no repeat in the last 40 characters
    assert looping_unit("ab" * 10) is None  # too short to tell


def test_json_writes_non_finite_numbers_as_null(tmp_path):
    from demos.__main__ import write_json

    path = tmp_path / "c.json"
    write_json(str(path), {"loss": float("inf"), "runs": [1.5, float("nan")], "name": "x", "n": 3})
    assert json.loads(path.read_text()) == {"loss": None, "runs": [1.5, None], "name": "x", "n": 3}
