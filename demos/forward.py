"""Seed 002: the numpy forward-propagation example, run with the engine.

The article defines a two-unit RNN cell and feeds it X = [1, 2] from the state
[0, 0], printing each round's pre-activation, state and output. The numbers it
prints are not what that code gives from [0, 0]: this demo finds, by
computation, where they come from.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console

from demos._ui import panel, say, table
from tinygrad_rnn import Tensor

NAME = "forward"
SUMMARY = "seed 002: the article's numpy RNN forward pass, and where its printed numbers come from"

# The article's example, exactly.
X = [1, 2]
INITIAL_STATE = [[0.0, 0.0]]
W_CELL_STATE = [[0.1, 0.2], [0.3, 0.4]]  # W_aa
W_CELL_INPUT = [[0.5, 0.6]]  # W_ax
B_CELL = [0.1, -0.1]
W_OUTPUT = [[0.1], [2.0]]  # W_ya
B_OUTPUT = 0.1

# What the article prints (numpy's default 8 decimals), per round:
# (before activation, state, output).
PRINTED = [
    ([0.95107374, 1.0254142], [0.74026877, 0.7720626], [1.71815207]),
    ([1.40564566, 1.55687879], [0.88656589, 0.91491336], [2.0184833]),
]


def forward_rounds(initial_state: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The article's loop, with Tensors:  a_t = tanh(a_{t-1} W_aa + x_t W_ax + b_a),  y_t = a_t W_ya + b_y."""
    w_state, w_input = Tensor(W_CELL_STATE), Tensor(W_CELL_INPUT)
    b_cell, w_output = Tensor(B_CELL), Tensor(W_OUTPUT)
    state = Tensor(initial_state)
    rounds = []
    for x in X:
        before_activation = state @ w_state + x * w_input + b_cell
        state = before_activation.tanh()
        output = state @ w_output + B_OUTPUT
        rounds.append((before_activation.numpy(), state.numpy(), output.numpy()))
    return rounds


def _pairs(rounds: list[tuple[np.ndarray, ...]]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (np.ravel(computed), np.asarray(printed))
        for computed_round, printed_round in zip(rounds, PRINTED)
        for computed, printed in zip(computed_round, printed_round)
    ]


def max_print_error(rounds: list[tuple[np.ndarray, ...]]) -> float:
    """Largest |computed - printed| over all the numbers the article prints."""
    return float(max(np.max(np.abs(computed - printed)) for computed, printed in _pairs(rounds)))


def prints_the_same(rounds: list[tuple[np.ndarray, ...]]) -> bool:
    """Would numpy's default printing (8 decimals) show exactly the article's numbers?"""
    return all(
        np.allclose(np.round(computed, 8), printed, rtol=0, atol=1e-12)
        for computed, printed in _pairs(rounds)
    )


def _fmt(array: np.ndarray) -> str:
    """The numbers with numpy's 8 printed decimals, as a flat list (the article shows 1x2 matrices)."""
    return "[" + " ".join(f"{v:.8f}" for v in np.ravel(array)) + "]"


def _rounds_table(title: str, rounds: list[tuple[np.ndarray, ...]], compare: bool) -> object:
    columns = ["round", "before activation", "state a_t", "output y_t"]
    rows = []
    for i, (pre, state, out) in enumerate(rounds):
        rows.append([str(i + 1), _fmt(pre), _fmt(state), _fmt(out)])
        if compare:
            p_pre, p_state, p_out = PRINTED[i]
            rows.append(
                ["  printed", _fmt(np.array([p_pre])), _fmt(np.array([p_state])), _fmt(np.array([p_out]))]
            )
    return table(title, columns, rows)


def run(args: argparse.Namespace, console: Console) -> dict:
    say(
        console,
        "The article's cell: a_t = tanh(a_(t-1) W_aa + x_t W_ax + b_a), output y_t = a_t W_ya + b_y, "
        f"X = {X}, a_0 = {INITIAL_STATE[0]}.",
        markup=False,
    )
    fresh = forward_rounds(np.array(INITIAL_STATE))
    console.print(_rounds_table("A fresh run from a_0 = [0, 0] (engine)", fresh, compare=True))
    fresh_error = max_print_error(fresh)
    say(
        console,
        f"Largest difference from the printed numbers: {fresh_error:.3g}; round 1 starts from "
        f"x_1 W_ax + b_a = {_fmt(fresh[0][0])}, not the printed {_fmt(PRINTED[0][0])}.",
        markup=False,
    )

    # 1. Which initial state would give the printed round-1 pre-activation?
    #    pre_1 = a_0 W_aa + x_1 W_ax + b_a  =>  a_0 = (pre_1 - x_1 W_ax - b_a) W_aa^-1
    rhs = np.asarray(PRINTED[0][0]) - X[0] * np.ravel(W_CELL_INPUT) - np.asarray(B_CELL)
    solved_state = np.linalg.solve(np.asarray(W_CELL_STATE).T, rhs)
    fresh_final = np.ravel(fresh[-1][1])
    say(
        console,
        f"Solving pre_1 = a_0 W_aa + x_1 W_ax + b_a for a_0 gives a_0 = {_fmt(solved_state)}; "
        f"the fresh run ended in the state {_fmt(fresh_final)} "
        f"(difference {np.max(np.abs(solved_state - fresh_final)):.1e}).",
        markup=False,
    )

    # 2. So the loop ran again with the state left over from earlier runs (a notebook
    #    cell executed more than once: `state` is a global the loop overwrites).
    #    Try k earlier runs and keep the k whose rounds match every printed number.
    candidates = []
    state = np.array(INITIAL_STATE)
    for earlier_runs in range(4):
        rounds = forward_rounds(state)
        candidates.append((earlier_runs, rounds, max_print_error(rounds), prints_the_same(rounds)))
        state = rounds[-1][1]
    rows = [
        [str(k), _fmt(np.ravel(r[0][0])), f"{err:.2e}", "yes" if same else "no"]
        for k, r, err, same in candidates
    ]
    console.print(
        table(
            "The loop started from the state left by k earlier runs of the same cell",
            ["earlier runs k", "round-1 before activation", "max |error|", "prints the same"],
            rows,
        )
    )
    matching = [k for k, _, _, same in candidates if same]
    best_k, best_rounds, best_error, _ = min(candidates, key=lambda c: c[2])
    console.print(
        _rounds_table(
            f"The run after {best_k} earlier run(s), beside the printed numbers", best_rounds, compare=True
        )
    )
    printed_count = sum(len(np.ravel(v)) for r in PRINTED for v in r)
    start_state = np.ravel(candidates[best_k - 1][1][-1][1]) if best_k else np.ravel(INITIAL_STATE)
    if matching:
        explanation = (
            f"All {printed_count} printed numbers are reproduced to 8 decimals (max error {best_error:.1e}) "
            f"by running the loop {best_k + 1} times in a row without resetting `state`: the printed output "
            f"is from execution {best_k + 1} of the notebook cell, which started from the state "
            f"{_fmt(start_state)} that the previous execution left behind, not from [0, 0]. (The [[...]] "
            "brackets do not tell the runs apart: x_t W_ax is 1x2, so every round of every run is a 1x2 "
            "matrix.)"
        )
    else:
        explanation = (
            f"No number of earlier runs reproduces the printed values (best error {best_error:.1e})."
        )
    console.print(panel(explanation, "Where the article's numbers come from"))

    return {
        "fresh": [
            {
                "before_activation": np.ravel(p).tolist(),
                "state": np.ravel(s).tolist(),
                "output": np.ravel(o).tolist(),
            }
            for p, s, o in fresh
        ],
        "solved_initial_state": solved_state.tolist(),
        "earlier_runs": best_k,
        "max_error_vs_printed": best_error,
        "reproduced": bool(matching),
    }
