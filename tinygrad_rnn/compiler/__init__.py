"""The trace compiler: jit(fn) turns a composed forward and backward pass into one numpy program.

Reading order: program.py (the nodes), trace.py (how a run becomes nodes,
and how its backward is noted with the engine's own recorded backward),
table.py (each op's numpy code), passes.py (the program made leaner),
codegen.py (the Python text), compiled.py (jit: the compiled function and its op).
"""

from tinygrad_rnn.compiler.compiled import CompiledFunction, CompiledStep, jit, lower
from tinygrad_rnn.compiler.trace import JitError

__all__ = ["jit", "lower", "JitError", "CompiledFunction", "CompiledStep"]
