"""Exercise 3, a reference solution: a compiler pass that folds ``x * 1`` into ``x``.

A pass is a function from program to program (tinygrad_rnn/compiler/passes.py).
This one finds every multiplication by a constant 1 and makes its readers read
the other operand instead; ``dead_code``, which runs after it, then drops the
multiplication. It must change nothing a program computes: the product keeps
its shape and dtype only when the other operand already has them (``x * 1``
with a float64 1 and a float32 x would be float64; ``x * ones((3, 4))`` with
x of shape (4,) broadcasts), so those stay as they are.

Run ``python docs/exercises/fold_times_one.py`` to see it at work.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import ops
from tinygrad_rnn.compiler.program import Node, Program


def is_one(node: Node) -> bool:
    """A constant whose every entry is 1."""
    return node.kind == "constant" and bool(np.all(np.asarray(node.value) == 1))


def fold_times_one(program: Program) -> Program:
    """x * 1 and 1 * x become x (where that keeps the product's shape and dtype)."""
    users = program.users()
    folded = 0
    for node in program.nodes:
        if node.kind != "op" or node.op is not ops.Mul:
            continue
        x, y = node.args
        for one, other in ((y, x), (x, y)):
            if is_one(one) and other.shape == node.shape and other.dtype == node.dtype:
                program.replace(node, other, users)
                folded += 1
                break
    program.log.append(f"fold_times_one: {folded} multiplications by 1 folded")
    return program


if __name__ == "__main__":
    from tinygrad_rnn import Tensor
    from tinygrad_rnn.compiler import lower
    from tinygrad_rnn.compiler.passes import dead_code

    def scaled(x):
        return (x * 1.0).tanh() * 1

    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    before, _ = lower(scaled, x, passes=[dead_code])
    after, generated = lower(scaled, x, passes=[fold_times_one, dead_code])
    print(f"lines: {before.count()} without the pass, {after.count()} with it")
    print(generated.source)
