"""jit's tracing (compiler/trace.py) and its driver (compiler/compiled.py): the details that
tests/test_compiler.py and tests/test_compiler_mutants.py do not reach.

Each test here fails on a change mutation testing made that every other test survived. Expected
values are worked out by hand from the function's definition, or are the eager engine's.
"""

from __future__ import annotations

import functools

import numpy as np

from tinygrad_rnn import Tensor, jit, nn


def test_a_compiled_function_called_inside_another_ones_trace_is_inlined():
    """Inside a trace the inner jit runs fn as written (its ops become the outer program's):
    it traces nothing of its own, and the outer program computes the inner step anew at every
    call (not the values it had at trace time)."""
    inner = jit(lambda x: x * 2.0)
    outer = jit(lambda x: inner(x) + 1.0)
    np.testing.assert_array_equal(outer(Tensor(np.array([1.0, 2.0]))).data, [3.0, 5.0])
    np.testing.assert_array_equal(outer(Tensor(np.array([4.0, -1.0]))).data, [9.0, -1.0])
    assert inner.traces == 0 and outer.traces == 1


# ---- compiled.py: the parameters jit finds, and their names ----------------------------------------
def leaf_names(step):
    """The names the latest program gives the parameters it reads, in the order it reads them."""
    return [leaf.name for leaf in step.program.leaves]


def test_a_tensor_bound_by_functools_partial_is_found_and_named_by_its_position():
    """partial(f, w): w is the partial's argument 0, so its name is the partial's ('') then _0."""
    w = nn.Parameter(np.array([2.0, 3.0]))
    step = jit(functools.partial(lambda w, x: x * w, w))
    np.testing.assert_array_equal(step(Tensor(np.ones(2))).data, [2.0, 3.0])
    assert leaf_names(step) == ["_0"]


class ScalesAndProjects(nn.Module):
    def __init__(self):
        self.weight = nn.Parameter(np.array([2.0, 3.0]))
        self.lin = nn.Linear(2, 1)

    def forward(self, x):
        return self.lin(x * self.weight)


def test_a_modules_own_parameter_is_named_as_the_module_names_it():
    """Compiling a Module: its own parameter keeps its attribute name ('weight', as in
    named_parameters), the child's are cut to the shortest unique ending."""
    step = jit(ScalesAndProjects())
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "lin_weight", "lin_bias"]


class Trainer:
    """A callable object (neither function nor Module) whose attribute is the model."""

    def __init__(self):
        self.model = nn.Linear(2, 1)

    def __call__(self, x):
        return self.model(x)


def test_the_modules_held_by_a_callable_object_are_found():
    step = jit(Trainer())
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "bias"]


class DoublesWhileTraining(nn.Module):
    def forward(self, x):
        return x * 2.0 if self.training else x


class Holds(nn.Module):
    def __init__(self):
        self.inner = DoublesWhileTraining()

    def forward(self, x):
        return self.inner(x)


def test_switching_only_a_submodule_to_eval_traces_again():
    """Every module jit finds (the submodules too) has its train/eval mode in the signature."""
    model = Holds()
    step = jit(model)
    x = Tensor(np.array([1.0, -2.0]))
    np.testing.assert_array_equal(step(x).data, [2.0, -4.0])
    model.inner.eval()  # the outer module stays in training mode
    np.testing.assert_array_equal(step(x).data, [1.0, -2.0])
    assert step.traces == 2
