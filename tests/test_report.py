"""The README's results section is what `python -m demos report` renders from the committed JSON."""

import io
import json
import pathlib

import pytest
from rich.console import Console

from demos import report
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
        assert len(records[name]["result"]["seeds"]) >= 3
    assert len({run["seed"] for run in records["dependencies"]["result"]["runs"]}) >= 3


def _readme_with_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# title\n\nbefore\n\n{report.BEGIN}\nold text\n{report.END}\n\nafter\n", encoding="utf-8"
    )
    return readme


def test_report_runs_writes_json_and_from_json_gives_the_same_readme(tmp_path):
    readme, results = _readme_with_markers(tmp_path), tmp_path / "results"
    results.mkdir()
    argv = ["report", "--smoke", "--results", str(results), "--readme", str(readme)]
    assert main(argv, console=Console(file=io.StringIO())) == 0
    written = readme.read_text(encoding="utf-8")
    assert written.startswith("# title\n\nbefore\n\n") and written.endswith(f"{report.END}\n\nafter\n")
    assert "old text" not in written
    names = sorted(p.name for p in results.iterdir())
    assert names == sorted([f"{m.NAME}.json" for m in DEMOS] + ["run.json"])
    assert (results / "memory.json").stat().st_mode & 0o777 == 0o644 & ~_umask()
    record = json.loads((results / "memory.json").read_text())
    assert record["mode"] == "smoke" and record["seconds"] >= 0
    readme.write_text(written.replace("| memory", "| edited by hand"), encoding="utf-8")
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


def test_interrupted_report_writes_nothing(tmp_path, monkeypatch, capsys):
    readme, results = _readme_with_markers(tmp_path), tmp_path / "results"
    results.mkdir()
    before = readme.read_text(encoding="utf-8")

    def interrupted(console, size):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "run_all", interrupted)
    assert main(["report", "--results", str(results), "--readme", str(readme)]) == 130
    assert readme.read_text(encoding="utf-8") == before and list(results.iterdir()) == []


def _records(vanishing_losses, memory_losses):
    """Hand-made records of the two demos whose outcomes are counted."""
    n = len(memory_losses["rnn"])
    factors = {name: [0.5] * n for name in vanishing_losses}
    return {
        "vanishing": {
            "seconds": 1.0,
            "seed": 0,
            "result": {
                "lag": 50,
                "seeds": list(range(n)),
                "factor_per_step": {
                    "at_init": {**factors, "RNN, W_hh = 1.5 Q": [1.1] * n},
                    "trained": factors,
                },
                "trained_loss": vanishing_losses,
                "learned": {k: [v < 0.5 * 1.386 for v in vs] for k, vs in vanishing_losses.items()},
                "clipping": {
                    "plain": {"final_loss": [None] * n, "diverged": [True] * n, "beat_baseline": [False] * n},
                    "clipped": {
                        "final_loss": [0.1] * n,
                        "diverged": [False] * n,
                        "beat_baseline": [True] * n,
                    },
                },
            },
        },
        "memory": {
            "seconds": 2.0,
            "seed": 0,
            "result": {
                "baseline": 1.386,
                "seeds": list(range(n)),
                "results": memory_losses,
                "accuracy": {k: [0.5] * n for k in memory_losses},
            },
        },
    }


def test_closing_note_counts_every_seed_and_shows_each_seeds_numbers():
    records = _records(
        {"RNN": [0.008, 1.16, 1.3], "GRU+keep": [0.0, 0.001, 0.002]},
        {"rnn": [1.386, 1.39, 1.38], "leaky": [0.961, 0.565, 1.3]},  # 0.9 x 1.386 = 1.247
    )
    note = report.closing_note(records)
    assert "RNN: learned the lag-50 task in 1 of 3 seeds (seed 0: x0.50 (decay), loss 0.008; seed 1:" in note
    assert "GRU+keep: learned the lag-50 task in 3 of 3 seeds" in note
    assert "decays (factor below x0.9) in 1 of 1 of those runs" in note
    assert "leaky: carried the symbol in 2 of 3 seeds (seed 0: 0.961, seed 1: 0.565, seed 2: 1.300)" in note
    assert "rnn: carried the symbol in 0 of 3 seeds" in note
    assert "diverged in 3 of 3 seeds; clipped, it beat the baseline in 3 of 3" in note


def test_memory_table_shows_the_spread():
    records = _records({"RNN": [1.3, 1.3]}, {"rnn": [1.0, 1.2], "gru": [0.0, 0.0]})
    text = report.render_memory(records["memory"])
    # mean 1.1, population sd 0.1; 1.1 / 1.386 = 79%
    assert "| rnn | 1.000 / 1.200 | 1.100 ± 0.100 | 79% | 50% / 50% | 2 of 2 |" in text
    assert "| gru | 0.000 / 0.000 | 0.000 ± 0.000 | 0% | 50% / 50% | 2 of 2 |" in text
