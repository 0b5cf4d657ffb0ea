"""Random computation graphs: compositions of 3-10 ops with reused intermediates, gradchecked whole.

A Program has a few inputs of one 2-D shape (r, c) and a list of steps; each step applies an op
from a safe set (smooth everywhere and bounded, so central differences stay accurate and the
tolerances of tests/strategies.py apply). Each input is used by an early step; later steps
chain on the newest value, and every result also feeds the output (all results stacked), so
the graph has diamonds; further operands are picked anywhere in the pool, reusing older values.
The ops cover broadcasting (keepdims reductions), matmul, indexing with repeats, concat, stack,
reshape and transpose, so gradients of different kinds meet and add up in one tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import LAYOUTS, BackwardSpy, check_gradients, graph_tensors, make_values, with_layout

from tinygrad_rnn import Tensor, concat, stack


@dataclass(frozen=True)
class Step:
    op: str
    operands: tuple[int, ...]  # positions in the pool of values
    param: object = None


# name -> (number of operands, op(shape, param, *values)); every op maps (r, c) values to (r, c),
# with outputs bounded by a few units whatever the inputs (tanh, sigmoid, averaging, ...).
OPS: dict[str, tuple[int, Callable[..., Tensor]]] = {
    "tanh": (1, lambda shape, p, a: a.tanh()),
    "sigmoid": (1, lambda shape, p, a: a.sigmoid()),
    "neg": (1, lambda shape, p, a: -a),
    "exp_of_tanh": (1, lambda shape, p, a: a.tanh().exp()),
    "log_of_square_plus_1": (1, lambda shape, p, a: (a * a + 1).log()),
    "softmax": (1, lambda shape, p, a: a.softmax(axis=p)),
    "log_softmax": (1, lambda shape, p, a: a.log_softmax(axis=p) * 0.5),
    "center": (1, lambda shape, p, a: (a - a.mean(axis=p, keepdims=True)) * 0.5),
    "rms_normalise": (1, lambda shape, p, a: a / ((a * a).sum(axis=p, keepdims=True) + 1) ** 0.5),
    "roll_rows": (1, lambda shape, p, a: concat([a[1:], a[:1]], axis=0)),
    "gather_rows": (1, lambda shape, p, a: a[np.array(p)]),  # p may repeat rows
    "reshape_transpose": (1, lambda shape, p, a: a.reshape(shape[1], shape[0]).T),
    "average": (2, lambda shape, p, a, b: (a + b) * 0.5),
    "half_difference": (2, lambda shape, p, a, b: (a - b) * 0.5),
    "mul_by_tanh": (2, lambda shape, p, a, b: a * b.tanh()),
    "div_by_square_plus_1": (2, lambda shape, p, a, b: a / (b * b + 1)),
    "pow_tensor_exponent": (2, lambda shape, p, a, b: (a.tanh() ** 2 + 1) ** b.tanh()),
    "transposed_mul": (2, lambda shape, p, a, b: (a.T * b.T.sigmoid()).T),
    "broadcast_column_sum": (2, lambda shape, p, a, b: a * b.sum(axis=0, keepdims=True).tanh()),
    "stack_mean": (2, lambda shape, p, a, b: stack([a, b], axis=p).mean(axis=p)),
    "matmul_sandwich": (
        3,
        lambda shape, p, a, b, c: (a.tanh() @ b.tanh().T @ c.tanh()) * (1 / (shape[0] * shape[1])),
    ),
}


@dataclass(frozen=True)
class Program:
    shape: tuple[int, int]
    n_inputs: int
    steps: tuple[Step, ...]

    def __call__(self, *inputs: Tensor) -> Tensor:
        pool = list(inputs)
        for step in self.steps:
            _, op = OPS[step.op]
            pool.append(op(self.shape, step.param, *(pool[i] for i in step.operands)))
        return stack(pool[self.n_inputs :])


@st.composite
def programs(draw: st.DrawFn) -> Program:
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    n_inputs = draw(st.integers(1, 3))
    steps = []
    for k in range(draw(st.integers(n_inputs + 2, 10))):
        name = draw(st.sampled_from(sorted(OPS)))
        arity = OPS[name][0]
        newest = n_inputs + k - 1
        # The first steps each take one input in turn (every input is used); after that a step
        # takes the newest value (a chain through the steps), which also feeds the output: a
        # diamond. The other operands are picked anywhere in the pool, reusing older values.
        chained = k if k < n_inputs else newest
        others = [draw(st.integers(0, newest)) for _ in range(arity - 1)]
        operands = tuple(draw(st.permutations([chained, *others])))
        param = None
        if name in ("softmax", "log_softmax", "center", "rms_normalise"):
            param = draw(st.sampled_from([0, 1, -1]))
        elif name == "stack_mean":
            param = draw(st.integers(-3, 2))
        elif name == "gather_rows":
            param = tuple(draw(st.lists(st.integers(0, shape[0] - 1), min_size=shape[0], max_size=shape[0])))
        steps.append(Step(name, operands, param))
    return Program(shape, n_inputs, tuple(steps))


# Explicit programs, so that what they catch does not rest on one draw of the strategy:
# repeated rows gathered from a value that is also used elsewhere (IndexedGrad with add.at meeting
# dense gradients in one sum), one value used twice by a single op, broadcasting back over a
# keepdims sum, matmuls, transposes, stacks, and long chains of reused intermediates.
GATHER_AND_REUSE = Program(
    (3, 2),
    2,
    (
        Step("gather_rows", (0,), (0, 0, 2)),
        Step("mul_by_tanh", (1, 2)),
        Step("broadcast_column_sum", (3, 0)),
        Step("matmul_sandwich", (4, 2, 1)),
        Step("roll_rows", (5,)),
        Step("stack_mean", (6, 3), -1),
        Step("transposed_mul", (7, 0)),
        Step("gather_rows", (8,), (2, 2, 2)),
    ),
)
NORMALISING_CHAIN = Program(
    (2, 3),
    1,
    (
        Step("softmax", (0,), 0),
        Step("center", (1,), 1),
        Step("reshape_transpose", (2,)),
        Step("rms_normalise", (3,), -1),
        Step("div_by_square_plus_1", (4, 0)),
        Step("pow_tensor_exponent", (5, 1)),
        Step("log_of_square_plus_1", (6,)),
        Step("exp_of_tanh", (7,)),
        Step("half_difference", (8, 0)),
        Step("log_softmax", (9,), 1),
    ),
)
SAME_VALUE_TWICE = Program(
    (2, 2),
    1,
    (
        Step("average", (0, 0)),
        Step("sigmoid", (1,)),
        Step("gather_rows", (2,), (1, 1)),
        Step("mul_by_tanh", (3, 3)),
        Step("neg", (4,)),
    ),
)
EXAMPLES = [GATHER_AND_REUSE, NORMALISING_CHAIN, SAME_VALUE_TWICE]


def program_inputs(program: Program, seed: int, layouts: tuple[str, ...]) -> list[np.ndarray]:
    """The program's inputs: values in [-2, 2] from the seed, each in its own memory layout."""
    rng = np.random.default_rng(seed)
    return [
        with_layout(make_values(rng, program.shape, "any"), layouts[i % len(layouts)])
        for i in range(program.n_inputs)
    ]


def with_examples(test):
    for k, program in enumerate(EXAMPLES):
        test = example(program=program, seed=k, layouts=LAYOUTS[k % len(LAYOUTS) :] + LAYOUTS[:1])(test)
    return test


@with_examples
@given(program=programs(), seed=st.integers(0, 2**32 - 1), layouts=st.permutations(LAYOUTS).map(tuple))
def test_random_graph_gradients_match_finite_differences(program, seed, layouts):
    out = check_gradients(program, program_inputs(program, seed, layouts))
    assert out.shape == (len(program.steps), *program.shape)


@with_examples
@given(program=programs(), seed=st.integers(0, 2**32 - 1), layouts=st.permutations(LAYOUTS).map(tuple))
def test_random_graph_backward_visits_each_op_once(program, seed, layouts):
    inputs = [Tensor(x, requires_grad=True) for x in program_inputs(program, seed, layouts)]
    loss = (program(*inputs) * 1.5).sum()
    tensors = graph_tensors(loss)
    consumers: dict[int, int] = {}
    for t in tensors:
        if t._ctx is not None:
            for parent in t._ctx.parents:
                consumers[id(parent)] = consumers.get(id(parent), 0) + 1
    assert max(consumers.values()) >= 2  # the graph has diamonds (a value feeding two ops)
    with BackwardSpy() as spy:
        loss.backward()
    visited = [id(op_out) for op_out, _, _ in spy.calls]
    assert len(visited) == len(set(visited))  # each op's backward ran once
    assert set(visited) == {id(t) for t in tensors if t._ctx is not None}  # and every op's did
