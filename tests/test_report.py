"""The README's results section is what `python -m demos report` renders from the committed JSON."""

import io
import json
import pathlib

import pytest
from rich.console import Console

from demos import _blas, report
from demos.__main__ import DEMOS, main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_results_match_the_committed_json():
    info, records = report.read_results(str(ROOT / report.RESULTS_DIR))
    assert info["mode"] == "full" and all(record["mode"] == "full" for record in records.values())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert report.section_of(readme) == report.render(info, records), (
        "README.md's results section differs from docs/results/*.json: "
        "run `.venv/bin/python -m demos report --from-json`"
    )


def test_committed_json_has_every_demo_and_several_seeds():
    _, records = report.read_results(str(ROOT / report.RESULTS_DIR))
    assert list(records) == [module.NAME for module in DEMOS]
    for name in ("vanishing", "memory", "language-model", "rtrl"):
        assert sum(len(run["result"]["seeds"]) for run in report.runs_of(records[name])) >= 3
    dependencies = report.runs_of(records["dependencies"])
    assert sum(len({r["seed"] for r in run["result"]["runs"]}) for run in dependencies) >= 3


def _readme_with_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# title\n\nbefore\n\n{report.BEGIN}\nold text\n{report.END}\n\nafter\n", encoding="utf-8"
    )
    return readme


def _two_kernels():
    """Two OpenBLAS kernels every x86-64 CPU that runs the tests has (or 'default' without OpenBLAS)."""
    return "default" if _blas.corename() is None else "Haswell,Sandybridge"


def test_report_runs_each_training_demo_under_two_kernels_and_from_json_gives_the_same_readme(tmp_path):
    """The whole machinery on tiny settings: subprocesses per demo and kernel, the JSON, the README."""
    readme, results = _readme_with_markers(tmp_path), tmp_path / "results"
    results.mkdir()
    kernels = _two_kernels()
    argv = ["report", "--smoke", "--seeds", "2", "--kernels", kernels, "--jobs", "2"]
    argv += ["--results", str(results), "--readme", str(readme)]
    assert main(argv, console=Console(file=io.StringIO())) == 0
    written = readme.read_text(encoding="utf-8")
    assert written.startswith("# title\n\nbefore\n\n") and written.endswith(f"{report.END}\n\nafter\n")
    assert "old text" not in written
    names = sorted(p.name for p in results.iterdir())
    assert names == sorted([f"{m.NAME}.json" for m in DEMOS] + ["run.json"])
    assert (results / "memory.json").stat().st_mode & 0o777 == 0o644 & ~_umask()
    info = json.loads((results / "run.json").read_text())
    assert info["mode"] == "smoke" and info["kernels"] == kernels.split(",")
    for module in DEMOS:
        record = json.loads((results / f"{module.NAME}.json").read_text())
        assert record["mode"] == "smoke" and record["demo"] == module.NAME
        kernels_run = [run["kernel"] for run in record["runs"]]
        if hasattr(module, "SEEDS"):  # a training demo: every kernel, 2 seeds each
            assert kernels_run == kernels.split(",")
            for run in record["runs"]:
                assert report._seeds(run["result"]) == [0, 1]
                assert run["seconds"] >= 0 and run["blas"]["OPENBLAS_CORETYPE"] == (
                    None if run["kernel"] == "default" else run["kernel"]
                )
                if run["kernel"] != "default":  # OpenBLAS says which kernel ran: the one asked for
                    assert run["blas"]["corename"] == run["kernel"]
        else:
            assert kernels_run == ["default"]
    # every claim about the training demos is a count over both kernels' runs: 2 seeds x 2 kernels
    n = 2 * len(kernels.split(","))
    assert f"learned the lag-5 task in 0 of {n} runs" in written or f"of {n} runs" in written
    readme.write_text(written.replace("| rnn", "| edited by hand"), encoding="utf-8")
    assert main(["report", "--from-json", "--results", str(results), "--readme", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == written  # the hand edit is gone: the JSON is the source


def _umask():
    import os

    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_report_needs_the_markers(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--from-json", "--readme", str(readme)])
    assert exit_info.value.code == 2 and "results: begin" in capsys.readouterr().err
    assert readme.read_text(encoding="utf-8") == "# no markers here\n"


def test_a_quick_report_does_not_write_the_readmes_results(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--quick"])
    assert exit_info.value.code == 2 and "come from full mode" in capsys.readouterr().err


def test_interrupted_report_writes_nothing(tmp_path, monkeypatch, capsys):
    readme, results = _readme_with_markers(tmp_path), tmp_path / "results"
    results.mkdir()
    before = readme.read_text(encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "run_all", interrupted)
    assert main(["report", "--results", str(results), "--readme", str(readme)]) == 130
    assert readme.read_text(encoding="utf-8") == before and list(results.iterdir()) == []


def test_a_failed_run_stops_the_report_and_writes_nothing(tmp_path, monkeypatch, capsys):
    readme, results = _readme_with_markers(tmp_path), tmp_path / "results"
    results.mkdir()
    before = readme.read_text(encoding="utf-8")
    real_plan = report._plan

    def with_a_bad_run(*args):
        plan = real_plan(*args)
        plan[0]["argv"] = ["forward", "--smoke", "--seeds", "0"]  # refused: a run that fails
        return plan

    monkeypatch.setattr(report, "_plan", with_a_bad_run)
    argv = ["report", "--smoke", "--kernels", "default", "--results", str(results), "--readme", str(readme)]
    assert main(argv, console=Console(file=io.StringIO())) == 1
    error = capsys.readouterr().err
    assert "forward under BLAS kernel default failed" in error and "--seeds" in error
    assert readme.read_text(encoding="utf-8") == before and list(results.iterdir()) == []


def test_default_kernels_follow_the_cpu(monkeypatch):
    monkeypatch.setattr(_blas, "corename", lambda: "Haswell")
    assert _blas.default_kernels({"avx2", "fma", "avx512f"}) == ["Haswell", "SkylakeX"]
    assert _blas.default_kernels({"avx2", "fma"}) == ["Haswell", "Sandybridge"]
    monkeypatch.setattr(_blas, "corename", lambda: None)  # not OpenBLAS: nothing to choose
    assert _blas.default_kernels({"avx512f"}) == ["default"]


def test_seed_counts_of_a_full_report():
    from demos import curvature, vanishing

    assert report.seed_count(vanishing, "full", None) == report.REPORT_SEEDS == 10
    assert report.seed_count(curvature, "full", None) == 20  # its own default is larger
    assert report.seed_count(vanishing, "quick", None) == vanishing.SEEDS["quick"]
    assert report.seed_count(curvature, "full", 4) == 4


def _run(kernel, result):
    return {"kernel": kernel, "blas": None, "seconds": 1.0, "cpu_seconds": 1.0, "result": result}


def _vanishing(losses, n):
    factors = {name: [0.5] * n for name in losses}
    return {
        "lag": 50,
        "seeds": list(range(n)),
        "factor_per_step": {"at_init": {**factors, "RNN, W_hh = 1.5 Q": [1.1] * n}, "trained": factors},
        "trained_loss": losses,
        "learned": {k: [v < 0.5 * 1.386 for v in vs] for k, vs in losses.items()},
        "clipping": {
            "plain": {"final_loss": [None] * n, "diverged": [True] * n, "beat_baseline": [False] * n},
            "clipped": {"final_loss": [0.1] * n, "diverged": [False] * n, "beat_baseline": [True] * n},
        },
    }


def _memory(losses, accuracy):
    n = len(next(iter(losses.values())))
    return {"baseline": 1.386, "seeds": list(range(n)), "results": losses, "accuracy": accuracy}


def test_closing_note_counts_every_run_and_says_where_the_kernels_differ():
    records = {
        "vanishing": {
            "seed": 0,
            "runs": [
                _run("Haswell", _vanishing({"RNN": [0.9, 1.16, 1.3], "GRU+keep": [0.0, 0.001, 0.002]}, 3)),
                _run("SkylakeX", _vanishing({"RNN": [0.005, 1.16, 1.3], "GRU+keep": [0.0, 0.001, 0.002]}, 3)),
            ],
        },
        "memory": {
            "seed": 0,
            "runs": [
                _run("Haswell", _memory({"lstm": [0.01, 0.02]}, {"lstm": [0.985, 1.0]})),
                _run("SkylakeX", _memory({"lstm": [0.01, 1.0]}, {"lstm": [1.0, 0.53]})),  # 53%: not carried
            ],
        },
    }
    note = report.closing_note(records)
    assert (
        "RNN: learned the lag-50 task in 1 of 6 runs (Haswell 0 of 3, SkylakeX 1 of 3; the kernels differ) "
        "(task loss 0.005 to 1.300)"
    ) in note
    assert "GRU+keep: learned the lag-50 task in 6 of 6 runs (Haswell 3 of 3, SkylakeX 3 of 3) (" in note
    assert "where the tanh RNN learned (1 run), its trained gradient still decays" in note
    assert (
        "lstm: carried the symbol in 3 of 4 runs (Haswell 2 of 2, SkylakeX 1 of 2; the kernels differ)"
        in note
    )
    assert "diverged in 6 of 6 runs (Haswell 3 of 3, SkylakeX 3 of 3); clipped, it beat" in note


def test_a_record_from_before_the_kernels_reads_as_one_run_of_an_unrecorded_kernel():
    old = {
        "seconds": 2.0,
        "seed": 0,
        "result": _memory({"rnn": [1.0, 1.2], "gru": [0.0, 0.0]}, {"rnn": [0.3, 0.9], "gru": [1.0, 1.0]}),
    }
    (run,) = report.runs_of(old)
    assert run["kernel"] is None and run["result"] is old["result"] and run["seconds"] == 2.0
    text = report.render_memory(old)
    # mean 1.1, population sd 0.1; carried = accuracy 90% or more: seed 1 of rnn (0.9)
    assert "| rnn | 1.100 ± 0.100 | 30.0% to 90.0% | 1 of 2 runs |" in text
    assert "| gru | 0.000 ± 0.000 | 100.0% to 100.0% | 2 of 2 runs |" in text


def test_count_gives_each_kernels_count_only_when_several_ran():
    runs = [_run("Haswell", {"x": [True, False]}), _run("SkylakeX", {"x": [True, True]})]
    assert (
        report.count(runs, lambda result: result["x"])
        == "3 of 4 runs (Haswell 1 of 2, SkylakeX 2 of 2; the kernels differ)"
    )
    assert report.count(runs[:1], lambda result: result["x"]) == "1 of 2 runs"
