"""Seed 001: backpropagation through time, by hand and by the engine, side by side.

The seed's RNN:  s_t = tanh(U x_t + W s_(t-1)),  o_t = V s_t,  E = sum_t E_t with
E_t the cross-entropy of softmax(o_t) against y_t. W is used once per time
step, so dE/dW is a sum of one contribution per step. The hand computation
uses the BPTT recursion

    dE/ds_t = V^T (p_t - y_t) + W^T dE/dz_(t+1),   dE/dz_t = dE/ds_t * (1 - s_t^2),
    dE/dW   = sum_t dE/dz_t s_(t-1)^T,

and the engine gets the same numbers by backward() through the unrolled graph.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console

from demos._ui import panel, say, table
from tinygrad_rnn import Tensor

NAME = "bptt"
SUMMARY = "seed 001: dL/dW as a sum over time steps, hand BPTT formulas beside the engine"

INPUT, HIDDEN, CLASSES, STEPS = 2, 3, 2, 4


def make_problem(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "U": rng.normal(0, 0.8, (HIDDEN, INPUT)),
        "W": rng.normal(0, 0.8, (HIDDEN, HIDDEN)),
        "V": rng.normal(0, 0.8, (CLASSES, HIDDEN)),
        "x": rng.normal(0, 1, (STEPS, INPUT)),
        "y": rng.integers(0, CLASSES, STEPS),
        "s0": np.zeros(HIDDEN),  # as in the seed: S_0 = 0
    }


def hand_bptt(p: dict[str, np.ndarray]) -> dict[str, object]:
    """Forward and backward in plain numpy with the BPTT formulas; returns every intermediate."""
    U, W, V, x, y = p["U"], p["W"], p["V"], p["x"], p["y"]
    states = [p["s0"]]
    probs = []
    for t in range(STEPS):
        states.append(np.tanh(U @ x[t] + W @ states[-1]))
        o = V @ states[-1]
        e = np.exp(o - o.max())
        probs.append(e / e.sum())
    loss = -sum(np.log(probs[t][y[t]]) for t in range(STEPS))
    d_out = [probs[t] - np.eye(CLASSES)[y[t]] for t in range(STEPS)]  # dE_t/do_t
    d_state = [None] * STEPS  # dE/ds_t, t = 1..T stored at t-1
    d_pre = [None] * STEPS  # dE/dz_t
    carry = np.zeros(HIDDEN)  # W^T dE/dz_(t+1), zero after the last step
    for t in reversed(range(STEPS)):
        d_state[t] = V.T @ d_out[t] + carry
        d_pre[t] = d_state[t] * (1 - states[t + 1] ** 2)
        carry = W.T @ d_pre[t]
    w_terms = [np.outer(d_pre[t], states[t]) for t in range(STEPS)]  # states[t] is s_(t-1)
    return {
        "loss": loss,
        "d_state": d_state,
        "w_terms": w_terms,
        "dW": sum(w_terms),
        "dU": sum(np.outer(d_pre[t], x[t]) for t in range(STEPS)),
        "dV": sum(np.outer(d_out[t], states[t + 1]) for t in range(STEPS)),
        "states": states,
        "d_out": d_out,
    }


def seed_e3_terms(p: dict[str, np.ndarray], hand: dict[str, object], t_loss: int = 3) -> list[np.ndarray]:
    """The seed's expansion of one loss term (its example is E_3):

        dE_3/dW = sum_(k=1..3) dE_3/do_3 do_3/ds_3 (prod_(j=k+1..3) ds_j/ds_(j-1)) d+s_k/dW

    with ds_j/ds_(j-1) = diag(1 - s_j^2) W and d+s_k/dW the direct derivative
    (s_(k-1) held fixed): entry (a, b) is (1 - s_k,a^2) s_(k-1),b in row a.
    """
    W, V, states = p["W"], p["V"], hand["states"]
    terms = []
    for k in range(1, t_loss + 1):
        row = hand["d_out"][t_loss - 1] @ V  # dE_3/ds_3 as a row vector
        for j in range(t_loss, k, -1):
            row = row @ (np.diag(1 - states[j] ** 2) @ W)
        terms.append(np.outer(row * (1 - states[k] ** 2), states[k - 1]))
    return terms


def engine_bptt(p: dict[str, np.ndarray], only_loss_at: int | None = None) -> dict[str, object]:
    """The same network with Tensors. W is given as one leaf per time step (equal values),
    so each leaf's .grad is that step's contribution; a shared W gives their sum."""
    U, V = Tensor(p["U"], requires_grad=True), Tensor(p["V"], requires_grad=True)
    W_shared = Tensor(p["W"], requires_grad=True)
    W_copies = [Tensor(p["W"], requires_grad=True) for _ in range(STEPS)]
    results = {}
    for name, W_at in (("copies", lambda t: W_copies[t]), ("shared", lambda t: W_shared)):
        s = Tensor(p["s0"])
        states, losses = [], []
        for t in range(STEPS):
            s = (U @ p["x"][t] + W_at(t) @ s).tanh().retain_grad()
            states.append(s)
            losses.append(-(V @ s).log_softmax()[int(p["y"][t])])
        loss = losses[only_loss_at - 1] if only_loss_at else sum(losses[1:], losses[0])
        U.grad = V.grad = None
        loss.backward()
        results[name] = {"loss": loss.item(), "d_state": [s.grad for s in states], "dU": U.grad, "dV": V.grad}
    results["w_terms"] = [w.grad for w in W_copies]
    results["dW"] = W_shared.grad
    return results


def _m(a: np.ndarray) -> str:
    a = np.asarray(a, dtype=np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0
    return np.array2string(a, precision=3, suppress_small=True, separator=" ", floatmode="fixed")


def _diff(a: np.ndarray, b: np.ndarray) -> str:
    return f"{np.max(np.abs(np.asarray(a) - np.asarray(b))):.1e}"


def run(args: argparse.Namespace, console: Console) -> dict:
    p = make_problem(args.seed)
    hand = hand_bptt(p)
    engine = engine_bptt(p)
    say(
        console,
        f"RNN with {INPUT} inputs, {HIDDEN} hidden units, {CLASSES} classes, unrolled {STEPS} steps from "
        f"s_0 = 0; E = sum of {STEPS} cross-entropies = {hand['loss']:.6f} (hand) / "
        f"{engine['shared']['loss']:.6f} (engine).",
        markup=False,
    )
    console.print(
        table(
            "dE/ds_t: the error arriving at each state (hand recursion vs engine, retain_grad on s_t)",
            ["t", "hand dE/ds_t", "engine s_t.grad", "|diff|"],
            [
                [str(t + 1), _m(h), _m(e), _diff(h, e)]
                for t, (h, e) in enumerate(zip(hand["d_state"], engine["shared"]["d_state"]))
            ],
        )
    )
    rows = [
        [str(t + 1), _m(h), _m(e), _diff(h, e)]
        for t, (h, e) in enumerate(zip(hand["w_terms"], engine["w_terms"]))
    ]
    rows.append(["sum", _m(hand["dW"]), _m(engine["dW"]), _diff(hand["dW"], engine["dW"])])
    console.print(
        table(
            "dE/dW as the sum of per-time-step contributions dE/dz_t s_(t-1)^T",
            ["t", "hand: BPTT formula", "engine: W_t.grad", "|diff|"],
            rows,
            justify="left",
            caption="Engine: W given as a separate leaf W_t per step; the 'sum' row is one shared W's .grad. "
            "Step 1 contributes nothing: it multiplies s_0 = 0.",
        )
    )
    terms3 = seed_e3_terms(p, hand)
    engine3 = engine_bptt(p, only_loss_at=3)
    rows3 = [
        [str(k + 1), _m(h), _m(e), _diff(h, e)] for k, (h, e) in enumerate(zip(terms3, engine3["w_terms"]))
    ]
    rows3.append(["sum", _m(sum(terms3)), _m(engine3["dW"]), _diff(sum(terms3), engine3["dW"])])
    console.print(
        table(
            "The seed's example: dE_3/dW = sum_k dE_3/ds_3 (prod_j ds_j/ds_(j-1)) d+s_k/dW",
            ["k", "hand: Jacobian chain", "engine: E_3 alone", "|diff|"],
            rows3,
            justify="left",
        )
    )
    worst = max(
        np.max(np.abs(hand["dW"] - engine["dW"])),
        np.max(np.abs(hand["dU"] - engine["shared"]["dU"])),
        np.max(np.abs(hand["dV"] - engine["shared"]["dV"])),
        max(np.max(np.abs(h - e)) for h, e in zip(hand["w_terms"], engine["w_terms"])),
        max(np.max(np.abs(h - e)) for h, e in zip(terms3, engine3["w_terms"])),
    )
    if worst < 1e-12:
        verdict = (
            "i.e. float64 rounding: the engine's backward() through the unrolled graph is exactly BPTT. A "
            "weight shared across time gets the sum of the gradients it would get as separate copies."
        )
        title = "Hand = engine"
    else:
        verdict = "more than float64 rounding explains: the engine and the BPTT formulas disagree."
        title = "Hand != engine"
    console.print(
        panel(
            f"dE/dU and dE/dV, hand vs engine: max |diff| {_diff(hand['dU'], engine['shared']['dU'])} and "
            f"{_diff(hand['dV'], engine['shared']['dV'])}. Largest disagreement anywhere: {worst:.1e}, "
            + verdict,
            title,
        )
    )
    return {
        "loss": float(hand["loss"]),
        "dW_hand": hand["dW"].tolist(),
        "dW_engine": engine["dW"].tolist(),
        "per_step_hand": [t.tolist() for t in hand["w_terms"]],
        "per_step_engine": [t.tolist() for t in engine["w_terms"]],
        "max_abs_diff": float(worst),
    }
