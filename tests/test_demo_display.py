"""The demos' output fits an 80-column terminal without cutting a chart, a value or a title, and
prints formulas and user text as written (not as rich markup)."""

import io
import re

import numpy as np
import pytest
from rich.console import Console

from demos import _ui
from demos.__main__ import DEMOS, main
from tinygrad_rnn import Tensor, nn, viz

WIDTH = 80


def render(renderable, width=WIDTH):
    console = Console(file=io.StringIO(), width=width, record=True)
    console.print(renderable)
    return console.export_text()


# ---- the pieces -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, breaks",
    [
        ("#1 mul  (2, 4) float64", [2, 6, 7, 14]),  # not at the space inside (2, 4)
        ("mean 2.94 ± 0.04 bits", [4, 16]),  # never beside ±
        ("f(x) = [0.5 0.6]", [4, 6]),
        ("a (" + "b " * 20 + "c) d", [1] + [3 + 2 * k + 1 for k in range(20)] + [45]),  # too long to keep
        ("unbalanced (a b", [10, 13]),  # an opening never closed keeps nothing together
    ],
)
def test_break_points_keep_short_bracketed_groups_whole(text, breaks):
    assert _ui.break_points(text) == breaks
    assert all(text[i] == " " for i in breaks)


@pytest.mark.parametrize("width", [12, 25, 33, 80])
def test_wrapped_text_never_splits_a_short_group_and_fits(width):
    text = "g = dL/d#2 h_next arrives: shape (2, 4), norm 1.944 and a_0 = [0.85973820 0.88366640] ok"
    lines = render(_ui.Wrapped(text, indent=2), width).splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())  # nothing lost or added
    assert any("(2, 4)," in line for line in lines)
    if width >= len("  [0.85973820 0.88366640]"):  # else it is folded: the last resort
        assert " ".join(line.strip() for line in lines) == text  # broken at spaces only
        assert any("[0.85973820 0.88366640]" in line for line in lines)
        assert all(line.startswith("  ") for line in lines[1:])  # the continuation lines are indented


def test_a_wide_table_folds_and_keeps_every_value_whole():
    columns = ["model", "seed", "per step", "chart", "task loss", "learned", "notes"]
    chart = "▇▆▅▄▃▂▁" * 4  # 28 characters
    rows = [
        [
            "RNN, W_hh = 1.5 Q",
            "0\n1",
            "x0.72\nx1.05",
            f"{chart}\n{chart}",
            "1.391\n0.005",
            "1 of 2",
            "x ± 0.01",
        ],
        ["GRU", "0\n1", "x0.65\nx0.66", f"{chart}\n{chart}", "1.391\n1.388", "0 of 2", "—"],
    ]
    text = render(_ui.table("Title", columns, rows, caption="the caption", wrap=["model"]))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH and "…" not in text
    for row in rows:
        for cell in row[1:]:
            for value in cell.split("\n"):
                assert any(value in line for line in lines), value
    assert text.count("RNN") == 2 and "Title, continued" in text  # folded: the first column repeats
    wide = render(_ui.table("Title", columns, rows, wrap=["model"]), width=200)
    assert "continued" not in wide and wide.count("RNN, W_hh = 1.5 Q") == 1


def test_a_table_of_plain_strings_is_not_markup():
    text = render(_ui.table("[bold]t[/bold]", ["a", "b"], [["x[index]", "[red]y[/red]"]], caption="[i]c"))
    assert "[bold]t[/bold]" in text and "x[index]" in text and "[red]y[/red]" in text and "[i]c" in text


def test_wrap_must_name_a_column():
    with pytest.raises(ValueError, match="not among the columns"):
        _ui.table("t", ["a", "b"], [["1", "2"]], wrap=["c"])


@pytest.mark.parametrize("width", [30, 50, 80, 120])
def test_line_chart_takes_the_width_it_is_given(width):
    chart = _ui.LineChart({"seed 0": [(0, 0.0), (10, 1.0)], "seed 1": [(0, 1.0)]}, title="t", x_name="step")
    rows = chart.rows(width)
    assert all(len(row) <= width for row in rows)
    plot = [row.split("┤", 1)[-1].split("│", 1)[-1] for row in rows[: chart.height]]
    # (0, 0) is the bottom-left cell, (10, 1) the top-right one, (0, 1) the top-left one
    assert plot[-1][0] == "0" and plot[0][-1] == "0" and plot[0][0] == "1"
    assert rows[0].startswith("1.00 ┤") and rows[chart.height - 1].startswith("0.00 ┤")
    assert "…" not in render(chart, width)


def test_a_rule_title_too_long_for_the_width_is_not_cut():
    console = Console(file=io.StringIO(), width=40, record=True)
    _ui.rule(console, "graph", "a summary that is much longer than forty columns of terminal")
    text = console.export_text()
    assert "…" not in text and "forty columns" in text.replace("\n", " ")


# ---- the demos --------------------------------------------------------------------------------------
@pytest.fixture
def charts(monkeypatch):
    """Every sparkline the demos draw, recorded."""
    drawn = []

    def recording(*args, **kwargs):
        drawn.append(_ui.sparkline(*args, **kwargs))
        return drawn[-1]

    for module in DEMOS:
        if hasattr(module, "sparkline"):
            monkeypatch.setattr(module, "sparkline", recording)
    return drawn


@pytest.mark.parametrize("module", DEMOS, ids=lambda m: m.NAME)
def test_each_demo_fits_80_columns_without_a_cut_chart(module, charts, tmp_path):
    console = Console(file=io.StringIO(), width=WIDTH, record=True)
    extra = ["--dot", str(tmp_path / "g.dot")] if module.NAME == "graph" else []
    assert main([module.NAME, "--smoke", *extra], console=console) == 0
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    assert "…" not in text  # rich's mark of a cut value, title or chart
    for chart in charts:  # each chart whole, on one line
        for line_of_chart in chart.split("\n"):
            assert any(line_of_chart in line for line in lines), line_of_chart
    if module.NAME in ("vanishing", "memory"):
        assert charts  # the check above checked something


def test_graph_trees_and_traces_do_not_break_inside_brackets(tmp_path):
    console = Console(file=io.StringIO(), width=WIDTH, record=True)
    assert main(["graph", "--smoke", "--dot", str(tmp_path / "g.dot")], console=console) == 0
    node_lines = [line for line in console.export_text().splitlines() if re.search(r"#\d+ ", line)]
    assert len(node_lines) > 100
    for line in node_lines:
        for cell in re.split("[│┃]", line):  # a table row: each cell on its own
            assert cell.count("(") == cell.count(")") and cell.count("[") == cell.count("]"), line


def test_walk_trace_prints_each_ops_formula_as_written():
    """rich would read '[index]' as a markup tag and print 'y = x' for every index op."""
    from demos.graph import walk_trace

    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    L = (x[0].relu() * 2.0).sum()
    with viz.trace_backward() as trace:
        L.backward()
    console = Console(file=io.StringIO(), width=WIDTH, record=True)
    walk_trace(console, trace, {x: "x"}, None, show_values=False)
    text = console.export_text()
    index_math = viz.op_math(next(r.function for r in trace if r.op == "index"))
    relu_math = viz.op_math(next(r.function for r in trace if r.op == "relu"))
    assert "[index]" in index_math.forward and "[x > 0]" in relu_math.derivative
    assert f"forward: {index_math.forward}" in text
    assert f"local derivative: {relu_math.derivative}" in " ".join(text.split())


def test_user_text_is_printed_as_written(tmp_path):
    corpus = tmp_path / "[bold]corpus.txt"
    corpus.write_text("\n\n".join(f"paragraph {i}: [red] abc abc" for i in range(40)), encoding="utf-8")
    console = Console(file=io.StringIO(), width=WIDTH, record=True)
    argv = ["language-model", "--smoke", "--corpus", str(corpus), "--prime", "[i]x"]
    assert main(argv, console=console) == 0
    text = " ".join(console.export_text().split())
    assert "[bold]corpus.txt" in text and "'[i]x'" in text


def test_fitted_tree_labels_are_whole_at_a_narrow_width():
    from demos.graph import _tree

    cell = nn.LSTMCell(3, 16, rng=0)
    h, c = cell(Tensor(np.ones((2, 3))))
    text = render(_tree(h.sum()), width=50)
    assert "…" not in text
    assert all(line.count("(") == line.count(")") for line in text.splitlines())
