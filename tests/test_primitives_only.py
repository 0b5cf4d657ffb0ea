"""The default (composed) form of every cell and layer is built from primitive ops only.

A learner reads the graph of a forward pass (viz, the backward trace) and should find there
the textbook operations whose derivatives ops.py states, not a fused kernel with a
hand-written backward. So the graph of one forward pass of every cell and layer, with every
option, plus nn.Linear and F.cross_entropy on top, is walked here and each op's name is
checked against an explicit list. With ``fused=True`` the fused ops must appear instead
(the keyword really switches), and every affine map goes through them (no bare matmul).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from strategies import graph_tensors

import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Function, Tensor, nn, ops

# The primitive ops, by the name their op reports (Function.name: the class name in lower case
# unless the class says otherwise; LogSoftmax reports "logsoftmax", PowConst "pow").
PRIMITIVES = frozenset(
    {
        "add", "sub", "mul", "div", "neg", "pow", "matmul",
        "exp", "log", "tanh", "sigmoid", "relu", "softmax", "logsoftmax", "where", "astype",
        "sum", "max", "broadcast_to",
        "reshape", "transpose", "index", "scatter", "concat", "stack",
    }
)  # fmt: skip
# The fused ops of tinygrad_rnn.fused: never in a default graph.
FUSED = frozenset({"affine", "tanh_affine", "affine_gates"})

I, H, T, B, CLASSES = 3, 4, 3, 2, 5


def test_the_lists_are_disjoint_and_every_op_of_ops_py_is_in_the_primitive_list():
    assert not PRIMITIVES & FUSED
    names = set()
    for cls in vars(ops).values():
        if isinstance(cls, type) and issubclass(cls, Function) and cls is not Function:
            # Function.name is a property (the class name in lower case) unless a class sets a string.
            names.add(cls.name if isinstance(cls.name, str) else cls.__name__.lower())
    assert names <= PRIMITIVES, f"ops.py defines ops missing from PRIMITIVES: {sorted(names - PRIMITIVES)}"
    assert len(names) >= 20


# name -> (factory(fused), kind): kind "cell" takes (B, I) and returns h, "lstm-cell" returns
# (h, c), "layer" takes (T, B, I) (or (B, T, I) with batch_first) and returns (output, state).
MODULES: dict[str, tuple[Callable[[bool], nn.Module], str]] = {
    "RNNCell-tanh": (lambda fused: nn.RNNCell(I, H, fused=fused, rng=0), "cell"),
    "RNNCell-relu": (lambda fused: nn.RNNCell(I, H, nonlinearity="relu", fused=fused, rng=0), "cell"),
    "RNNCell-no-bias": (lambda fused: nn.RNNCell(I, H, bias=False, fused=fused, rng=0), "cell"),
    "GRUCell-reset-after": (lambda fused: nn.GRUCell(I, H, fused=fused, rng=0), "cell"),
    "GRUCell-reset-before": (lambda fused: nn.GRUCell(I, H, reset_after=False, fused=fused, rng=0), "cell"),
    "GRUCell-no-bias": (
        lambda fused: nn.GRUCell(I, H, bias=False, reset_after=False, fused=fused, rng=0),
        "cell",
    ),
    "LSTMCell": (lambda fused: nn.LSTMCell(I, H, fused=fused, rng=0), "lstm-cell"),
    "LSTMCell-no-bias": (lambda fused: nn.LSTMCell(I, H, bias=False, fused=fused, rng=0), "lstm-cell"),
    "LeakyRNNCell-fixed": (lambda fused: nn.LeakyRNNCell(I, H, alpha=0.7, fused=fused, rng=0), "cell"),
    "LeakyRNNCell-learned": (
        lambda fused: nn.LeakyRNNCell(I, H, alpha=0.7, learn_alpha=True, fused=fused, rng=0),
        "cell",
    ),
    "RNN-tanh-2-layers-bidirectional-dropout": (
        lambda fused: nn.RNN(I, H, 2, "tanh", dropout=0.5, bidirectional=True, fused=fused, rng=0),
        "layer",
    ),
    "RNN-relu-batch-first-no-bias": (
        lambda fused: nn.RNN(I, H, 2, "relu", bias=False, batch_first=True, fused=fused, rng=0),
        "layer",
    ),
    "GRU-2-layers-bidirectional-dropout": (
        lambda fused: nn.GRU(I, H, 2, dropout=0.5, bidirectional=True, fused=fused, rng=0),
        "layer",
    ),
    "GRU-reset-before-batch-first-no-bias": (
        lambda fused: nn.GRU(I, H, 2, bias=False, batch_first=True, reset_after=False, fused=fused, rng=0),
        "layer",
    ),
    "LSTM-2-layers-bidirectional-dropout": (
        lambda fused: nn.LSTM(I, H, 2, dropout=0.5, bidirectional=True, fused=fused, rng=0),
        "layer",
    ),
    "LSTM-batch-first-no-bias": (
        lambda fused: nn.LSTM(I, H, 2, bias=False, batch_first=True, fused=fused, rng=0),
        "layer",
    ),
    "SkipRNN": (lambda fused: nn.SkipRNN(I, H, delay=2, fused=fused, rng=0), "layer"),
    "SkipRNN-batch-first-no-bias": (
        lambda fused: nn.SkipRNN(I, H, delay=2, bias=False, batch_first=True, fused=fused, rng=0),
        "layer",
    ),
}

# What fused=True must put into each module's graph (besides no matmul at all).
EXPECTED_FUSED = {
    "RNNCell-tanh": {"affine", "tanh_affine"},
    "RNNCell-relu": {"affine"},
    "RNNCell-no-bias": {"affine", "tanh_affine"},
    "GRUCell-reset-after": {"affine"},
    "GRUCell-reset-before": {"affine", "tanh_affine"},
    "GRUCell-no-bias": {"affine", "tanh_affine"},
    "LSTMCell": {"affine", "affine_gates"},
    "LSTMCell-no-bias": {"affine", "affine_gates"},
    "LeakyRNNCell-fixed": {"affine", "tanh_affine"},
    "LeakyRNNCell-learned": {"affine", "tanh_affine"},
    "RNN-tanh-2-layers-bidirectional-dropout": {"affine", "tanh_affine"},
    "RNN-relu-batch-first-no-bias": {"affine"},
    "GRU-2-layers-bidirectional-dropout": {"affine"},
    "GRU-reset-before-batch-first-no-bias": {"affine", "tanh_affine"},
    "LSTM-2-layers-bidirectional-dropout": {"affine", "affine_gates"},
    "LSTM-batch-first-no-bias": {"affine", "affine_gates"},
    "SkipRNN": {"affine", "tanh_affine"},
    "SkipRNN-batch-first-no-bias": {"affine", "tanh_affine"},
}


def op_names(root: Tensor) -> set[str]:
    return {t._ctx.name for t in graph_tensors(root) if t._ctx is not None}


def run(name: str, fused: bool) -> tuple[nn.Module, Tensor]:
    """The module in train mode on a random input that requires grad; returns its main output."""
    make, kind = MODULES[name]
    module = make(fused).train()
    rng = np.random.default_rng(1)
    shape = (B, I) if "cell" in kind else ((B, T, I) if module.batch_first else (T, B, I))
    x = Tensor(rng.standard_normal(shape), requires_grad=True)
    out = module(x)
    return module, out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", list(MODULES))
def test_default_graph_with_linear_and_cross_entropy_is_primitive_ops_only(name):
    _, hidden = run(name, fused=False)
    head = nn.Linear(hidden.shape[-1], CLASSES, rng=2)
    logits = head(hidden).reshape(-1, CLASSES)
    targets = np.arange(logits.shape[0]) % CLASSES
    loss = F.cross_entropy(logits, targets)
    names = op_names(loss)
    assert names <= PRIMITIVES, f"{name}: ops outside the primitive list: {sorted(names - PRIMITIVES)}"
    assert not names & FUSED
    # The walk really reached the recurrence and the loss (not an empty or cut-off graph).
    assert {"matmul", "add", "logsoftmax", "index"} <= names


@pytest.mark.parametrize("name", list(MODULES))
def test_fused_true_puts_the_fused_ops_into_the_graph(name):
    _, hidden = run(name, fused=True)
    names = op_names(hidden)
    assert EXPECTED_FUSED[name] <= names, f"{name}: fused ops missing: {EXPECTED_FUSED[name] - names}"
    assert "matmul" not in names, f"{name}: an affine map was left as a bare matmul with fused=True"
    assert names <= PRIMITIVES | FUSED
