"""jit's tracing (compiler/trace.py) and its driver (compiler/compiled.py): the details that
tests/test_compiler.py and tests/test_compiler_mutants.py do not reach.

Each test here fails on a change mutation testing made that every other test survived. Expected
values are worked out by hand from the function's definition, or are the eager engine's.
"""

from __future__ import annotations

import functools
import time
import types
import warnings

import numpy as np
import pytest

from tinygrad_rnn import Function, JitError, Tensor, jit, nn
from tinygrad_rnn.compiler.compiled import CompiledFunction
from tinygrad_rnn.modes import is_grad_enabled


def test_a_compiled_function_called_inside_another_ones_trace_is_inlined():
    """Inside a trace the inner jit runs fn as written (its ops become the outer program's):
    it traces nothing of its own, and the outer program computes the inner step anew at every
    call (not the values it had at trace time)."""
    inner = jit(lambda x, scale=1.0: x * scale)
    outer = jit(lambda x: inner(x, scale=2.0) + 1.0)
    np.testing.assert_array_equal(outer(Tensor(np.array([1.0, 2.0]))).data, [3.0, 5.0])
    np.testing.assert_array_equal(outer(Tensor(np.array([4.0, -1.0]))).data, [9.0, -1.0])
    assert inner.traces == 0 and outer.traces == 1


# ---- compiled.py: the parameters jit finds, and their names ----------------------------------------
def code_lines(source):
    """The generated lines without their comments, stripped."""
    return {line.split("  # ")[0].strip() for line in source.splitlines()}


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

    def doubled(self, x):
        return self(x) * 2.0


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

    def loss(self, x):
        return self.model(x).sum()


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


def test_an_object_bound_by_functools_partial_is_searched_for_modules():
    """A partial's arguments are searched as fn itself is: the object's attributes too."""
    step = jit(functools.partial(lambda trainer, x: trainer.model(x), Trainer()))
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "bias"]


def test_modules_in_different_variables_are_named_after_them():
    """Two Linears' parameters end alike (weight, bias): the variable's name tells them apart."""
    enc, dec = nn.Linear(2, 2, rng=0), nn.Linear(2, 1, rng=1)
    step = jit(lambda x: dec(enc(x)))
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["enc_weight", "enc_bias", "dec_weight", "dec_bias"]


# ---- compiled.py: a program is dropped when what fn reached is replaced -----------------------------
def test_a_module_rebound_in_fns_closure_is_seen():
    """Each of fn's variables that led to a module is read again at every call: rebinding one
    (here each of two, in turn) drops the program, and the new module's values are used."""
    first, second = nn.Linear(2, 2, rng=0), nn.Linear(2, 1, rng=1)
    step = jit(lambda x: second(first(x)))
    x = Tensor(np.array([[1.0, -2.0]]))
    step(x)
    second = nn.Linear(2, 1, rng=2)
    np.testing.assert_allclose(step(x).data, second(first(x)).data, rtol=1e-15)
    first = nn.Linear(2, 2, rng=3)
    np.testing.assert_allclose(step(x).data, second(first(x)).data, rtol=1e-15)
    assert step.traces == 1


def test_a_compiled_module_called_again_runs_its_program():
    step = jit(ScalesAndProjects())
    x = Tensor(np.array([[1.0, -2.0]]))
    np.testing.assert_array_equal(step(x).data, step.fn(x).data)
    np.testing.assert_array_equal(step(x).data, step.fn(x).data)
    assert step.traces == 1


def test_a_submodules_parameter_replaced_is_seen_when_its_parent_has_one_of_the_same_name():
    """model.weight and model.lin.weight are two links (each module's attribute 'weight')."""
    model = ScalesAndProjects()
    step = jit(model)
    x = Tensor(np.array([[1.0, -2.0]]))
    step(x)
    model.lin.weight = nn.Parameter(np.array([[5.0, 7.0]]))
    np.testing.assert_allclose(step(x).data, model(x).data, rtol=1e-15)


shared = nn.Linear(2, 1, rng=0)  # a global of this module, read by the function below


def through_the_global_shared(x):
    return shared(x)


def test_two_variables_of_one_name_in_different_scopes_are_two_links(monkeypatch):
    """fn's own `shared` (a closure cell) and the global `shared` a function it calls reads are
    two links: rebinding the global drops the program although the cell is unchanged."""
    shared = nn.Linear(2, 1, rng=1)
    step = jit(lambda x: shared(x) + through_the_global_shared(x))
    x = Tensor(np.array([[1.0, -2.0]]))
    step(x)
    monkeypatch.setitem(globals(), "shared", nn.Linear(2, 1, rng=2))
    np.testing.assert_allclose(step(x).data, (shared(x) + through_the_global_shared(x)).data, rtol=1e-15)


def test_a_bound_methods_object_is_searched_for_modules():
    step = jit(Trainer().loss)
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "bias"]


def test_a_method_of_a_module_names_its_parameters_as_the_module_itself_does():
    step = jit(ScalesAndProjects().doubled)
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "lin_weight", "lin_bias"]


def test_a_bound_method_of_a_tensor_compiles():
    """jit(w.__mul__): w is found through the method (named by its empty path) and read at each call."""
    w = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    step = jit(w.__mul__)
    x = Tensor(np.array([5.0, 7.0]))
    np.testing.assert_array_equal(step(x).data, [10.0, 21.0])
    step(x).sum().backward()
    np.testing.assert_array_equal(w.grad, [5.0, 7.0])


class ReadsTheGlobalShared:
    def apply(self, x):
        return shared(x)


def test_the_globals_a_bound_methods_function_reads_are_searched():
    step = jit(ReadsTheGlobalShared().apply)
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "bias"]


def test_a_method_made_of_a_partial_names_the_partials_arguments_as_a_partial_does():
    """types.MethodType binds any callable: here a partial, whose argument is named _0 as in
    jit(partial) itself."""
    w = nn.Parameter(np.array([2.0, 3.0]))
    method = types.MethodType(functools.partial(lambda w, owner, x: x * w, w), object())
    step = jit(method)
    np.testing.assert_array_equal(step(Tensor(np.ones(2))).data, [2.0, 3.0])
    assert leaf_names(step) == ["_0"]


def test_a_module_wrapped_in_a_partial_is_named_after_the_variable_holding_the_partial():
    """model.weight and model.lin.weight end alike, so the outer one keeps its path: the closure
    variable's name (the partial adds nothing to it)."""
    part = functools.partial(ScalesAndProjects())
    step = jit(lambda x: part(x))
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["part_weight", "lin_weight", "lin_bias"]


def test_a_module_given_as_a_default_argument_is_found():
    lin = nn.Linear(2, 1, rng=0)
    step = jit(lambda x, layer=lin: layer(x))
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "bias"]


def test_the_globals_a_partials_function_reads_are_searched():
    step = jit(functools.partial(through_the_global_shared))
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "bias"]


def test_an_object_given_as_a_default_argument_or_held_in_a_closure_is_searched():
    """fn's default arguments and closure variables are searched as fn itself: an object's
    attributes too."""
    trainer = Trainer()
    for fn in (lambda x, t=trainer: t.model(x), lambda x: trainer.model(x)):
        step = jit(fn)
        step(Tensor(np.ones((1, 2))))
        assert leaf_names(step) == ["weight", "bias"]


global_scale = Tensor(np.array([2.0, 3.0]), requires_grad=True)  # a global Tensor of this module


def test_a_tensor_in_a_global_is_named_after_it_and_one_in_a_default_is_an_input():
    """A default argument is bound as an argument at each call (an input of the program, named as
    the argument); a global Tensor is a parameter, named after its variable."""
    w = Tensor(np.array([5.0, 7.0]), requires_grad=True)
    step = jit(lambda x, weight=w: x * weight * global_scale)
    np.testing.assert_array_equal(step(Tensor(np.ones(2))).data, [10.0, 21.0])
    assert leaf_names(step) == ["global_scale"]
    assert [node.name for node in step.program.inputs] == ["x", "weight"]


def test_a_closure_variable_empty_when_jit_searches_it_is_passed_over():
    def fn(x):
        return x * 2.0 if x is not None else assigned_later

    step = jit(fn)
    np.testing.assert_array_equal(step(Tensor(np.array([1.0, 2.0]))).data, [2.0, 4.0])
    assigned_later = None  # (the cell fn reads exists, but was empty when jit searched it)
    assert assigned_later is None


# ---- compiled.py: the links to what fn reached, read at each call, hold ---------------------------
def test_a_program_runs_again_while_fns_closure_global_and_attributes_are_unchanged():
    """Each link (a closure cell, a global, an object's attribute) reads the same object at the
    next call, so the program runs: fn's Python does not run again (it ran twice while tracing:
    the first run and the probe)."""
    runs = []
    lin = nn.Linear(2, 1, rng=0)

    def through_closure(x):
        runs.append(1)
        return lin(x)

    def through_global(x):
        runs.append(1)
        return through_the_global_shared(x)

    class CountingTrainer(Trainer):
        def loss(self, x):
            runs.append(1)
            return self.model(x).sum()

    x = Tensor(np.ones((1, 2)))
    for fn in (through_closure, through_global, CountingTrainer().loss):
        runs.clear()
        step = jit(fn)
        first = step(x).data
        np.testing.assert_array_equal(step(x).data, first)
        assert len(runs) == 2 and step.traces == 1


def test_a_global_read_only_inside_a_nested_function_is_found():
    def fn(x):
        def inner():
            return through_the_global_shared(x)  # (a global of this module)

        return inner()

    step = jit(fn)
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["weight", "bias"]


class Gate(nn.Module):
    def __init__(self):
        self.weight = nn.Parameter(np.array([0.5, 2.0]))

    def forward(self, x):
        return x * self.weight


class LinearThenGate(nn.Module):
    def __init__(self):
        self.lin = nn.Linear(2, 2, rng=0)
        self.gate = Gate()

    def forward(self, x):
        return self.gate(self.lin(x))


def test_a_modules_parameters_share_the_length_their_longest_unique_ending_needs():
    """model.lin.weight needs two parts (model.gate.weight ends alike), model.lin.bias one: both
    of lin's take two, so that they read as one module's."""
    model = LinearThenGate()
    step = jit(lambda x: model(x))
    step(Tensor(np.ones((1, 2))))
    assert leaf_names(step) == ["lin_weight", "lin_bias", "gate_weight"]


# ---- compiled.py: what a program's signature holds -----------------------------------------------
def test_python_values_equal_but_of_different_types_are_different_signatures():
    """1 == True, but x[1] picks a row and x[True] (a mask, as numpy reads it) adds an axis."""
    step = jit(lambda x, k: x[k])
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(step(x, 1).data, [3.0, 4.0])
    np.testing.assert_array_equal(step(x, True).data, [[[1.0, 2.0], [3.0, 4.0]]])
    assert step.traces == 2


def test_an_unhashable_python_argument_is_refused_naming_it():
    step = jit(lambda x, k: x * 2.0)
    with pytest.raises(TypeError, match="jit: argument k is a bytearray"):
        step(Tensor(np.ones(2)), bytearray(b"ab"))


def test_a_function_of_keyword_only_arguments_called_with_keywords():
    """No positional arguments and len(args) == 0 == the number of plain positional parameters:
    the keywords still have to be bound."""
    step = jit(lambda *, x, scale: x * scale)
    np.testing.assert_array_equal(step(x=Tensor(np.array([1.0, 2.0])), scale=3.0).data, [3.0, 6.0])
    np.testing.assert_array_equal(step(x=Tensor(np.array([5.0, 7.0])), scale=3.0).data, [15.0, 21.0])
    np.testing.assert_array_equal(step(x=Tensor(np.array([5.0, 7.0])), scale=2.0).data, [10.0, 14.0])


def test_a_default_argument_given_or_left_out_is_one_signature():
    """step(x) binds scale's default, so it is the same call as step(x, 2.0): one trace."""
    step = jit(lambda x, scale=2.0: x * scale)
    x = Tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(step(x).data, [2.0, 4.0])
    np.testing.assert_array_equal(step(x, 2.0).data, [2.0, 4.0])
    assert step.traces == 1


def test_the_oldest_program_gives_way_and_the_warning_comes_once():
    """Nine values of a guard for one signature: the program of the first (the oldest) is dropped,
    so that value traces again (fn's Python runs: twice, the first run and the probe); JitWarning
    is given the first time only."""
    from tinygrad_rnn.compiler import JitWarning
    from tinygrad_rnn.compiler.compiled import MAX_PROGRAMS

    runs = []

    def scaled_by_its_max(x):
        runs.append(1)
        return x * x.max().item()

    step = jit(scaled_by_its_max)
    inputs = [Tensor(np.array([1.0, float(k + 2)])) for k in range(MAX_PROGRAMS + 2)]
    for x in inputs[:MAX_PROGRAMS]:
        step(x)
    with pytest.warns(JitWarning):
        step(inputs[MAX_PROGRAMS])  # a ninth: the first program gives way
    runs.clear()
    step(inputs[MAX_PROGRAMS - 1])  # the newest but one is kept: it runs
    assert runs == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(step(inputs[0]).data, [2.0, 4.0])  # traced again, no warning
    assert len(runs) == 2 and step.traces == MAX_PROGRAMS


# ---- compiled.py: CompiledFunction's construction -------------------------------------------------
def test_a_compiled_module_names_its_inputs_after_forwards_parameters():
    """A Module is called through Module.__call__(*args, **kwargs): the names come from forward."""
    step = jit(Trainer().model)
    step(Tensor(np.ones((1, 2))))
    assert [node.name for node in step.program.inputs] == ["x"]


@pytest.mark.parametrize(
    ("fn", "args", "expected"),
    [
        (lambda *xs: xs[0] * 2.0, 1, [2.0, 4.0]),  # one *args parameter, one argument
        (lambda x, *rest: x + rest[0], 2, [2.0, 4.0]),  # as many arguments as parameters
    ],
)
def test_varargs_are_bound_as_a_tuple(fn, args, expected):
    step = jit(fn)
    x = Tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(step(*[x] * args).data, expected)


class CallableWithoutADocstring:
    """(its instances raise AttributeError for __doc__)"""

    def __getattribute__(self, name):
        if name == "__doc__":
            raise AttributeError(name)
        return object.__getattribute__(self, name)

    def __call__(self, x):
        return x * 2.0


def test_any_callable_compiles_and_its_name_and_docstring_are_kept():
    def doubled(x):
        """Twice x."""
        return x * 2.0

    step = jit(doubled)
    assert (step.__name__, step.__doc__, repr(step)) == ("doubled", "Twice x.", "<jit doubled: 0 trace(s)>")
    odd = jit(CallableWithoutADocstring())
    assert (odd.__name__, odd.__doc__) == ("CallableWithoutADocstring", None)
    np.testing.assert_array_equal(odd(Tensor(np.array([1.0, 2.0]))).data, [2.0, 4.0])


@pytest.mark.skipif(
    hasattr(CompiledFunction.__call__, "__wrapped__"),
    reason="under mutmut, __call__ is wrapped by its trampoline: the caller it names is the trampoline",
)
def test_the_warning_names_the_line_that_called_the_compiled_function():
    from tinygrad_rnn.compiler import JitWarning
    from tinygrad_rnn.compiler.compiled import MAX_PROGRAMS

    step = jit(lambda x: x * x.max().item())
    for k in range(MAX_PROGRAMS):
        step(Tensor(np.array([1.0, float(k + 2)])))
    with pytest.warns(JitWarning) as caught:
        step(Tensor(np.array([1.0, 99.0])))
    assert caught[0].filename == __file__


# ---- compiled.py: tracing and generating --------------------------------------------------------------
def test_a_constant_made_before_a_branch_the_probe_run_left_is_a_constant():
    """The reordered probe run takes the other branch at the guard: only what comes after it is
    compared again with a run on the same inputs (the constant before it is already classified)."""

    def fn(x):
        y = x * Tensor(np.array([1.0, 2.0]))  # a constant fn makes, before the branch
        return y.sum() if x.data[0] > x.data[1] else (y * 3.0).sum()

    step = jit(fn)
    for values in ([2.0, 1.0], [1.0, 2.0]):
        x = Tensor(np.array(values))
        assert step(x).item() == fn(x).item()
    assert step.traces == 2


def test_the_program_is_titled_after_the_function_and_records_how_long_it_took():
    def doubled(x):
        return x * 2.0

    step = jit(doubled)
    start = time.perf_counter()
    step(Tensor(np.ones(2)))
    elapsed = time.perf_counter() - start
    assert '"""doubled, forward:' in step.source
    assert 0.0 < step._latest.seconds <= elapsed


def test_a_function_of_values_that_need_no_gradient_has_no_backward():
    """With no input or parameter requiring a gradient (while grad mode is on), the program has
    no gradient seeds and no backward function."""
    step = jit(lambda x: x * 2.0)
    result = step(Tensor(np.array([1.0, 2.0])))
    assert step.program.grad_seeds == [] and "def backward" not in step.source
    assert not result.requires_grad


# ---- trace.py -------------------------------------------------------------------------------------
def test_reordered_shifts_the_entries_by_one_place():
    """So that only an array whose entries are all equal comes out the same: a shift by two would
    give any two-entry array (and [1, 2, 1, 2]) back unchanged."""
    from tinygrad_rnn.compiler.trace import reordered

    np.testing.assert_array_equal(reordered(np.array([1.0, 2.0])), [2.0, 1.0])
    np.testing.assert_array_equal(reordered(np.array([[1.0, 2.0], [1.0, 2.0]])), [[2.0, 1.0], [2.0, 1.0]])


def test_a_plain_view_of_memory_several_nodes_hold_is_read_as_the_first():
    """x.data[:] is a view with x's own layout (the same memory, the same values): np.asarray(x.data)
    is then found as x itself, the first node that held that memory, so the unused slice is no line
    of the program."""

    def fn(x):
        x.data[:]  # noqa: B018 (a view made and dropped)
        return Tensor(np.asarray(x.data)) * 2.0

    step = jit(fn)
    np.testing.assert_array_equal(step(Tensor(np.array([1.0, 2.0]))).data, [2.0, 4.0])
    np.testing.assert_array_equal(step(Tensor(np.array([3.0, 5.0]))).data, [6.0, 10.0])
    assert "mul_1 = x * 2.0" in code_lines(step.source) and "x[:]" not in step.source


def test_a_random_constant_is_refused_even_as_the_programs_first_node():
    """A function without array arguments: the first node of its trace is the Tensor it draws."""
    rng = np.random.default_rng(0)
    step = jit(lambda: Tensor(rng.random(3)) * 2.0)
    with pytest.raises(JitError, match="makes a different constant"):
        step()


def test_a_numpy_call_with_several_results_keeps_its_keywords():
    def fn(x):
        left, right = np.split(x.data, 2, axis=1)  # two traced arrays: items of one numpy call
        return x.sum() * Tensor(left - right)

    step = jit(fn)
    x = Tensor(np.array([[1.0, 2.0], [5.0, 3.0]]))
    np.testing.assert_array_equal(step(x).data, fn(x).data)
    x = Tensor(np.array([[4.0, 1.0], [2.0, 7.0]]))
    np.testing.assert_array_equal(step(x).data, [[42.0], [-70.0]])
    assert step.traces == 1


def test_the_program_keeps_none_of_the_traced_op_objects():
    """They hold the trace's arrays: once the program is generated each node lets its go."""
    step = jit(lambda x: (x * 2.0).tanh().sum())
    step(Tensor(np.array([1.0, 2.0]), requires_grad=True))
    assert all(node.instance is None for node in step.program.nodes)


def test_gradients_of_two_dtypes_summed_for_a_float32_input_are_cast_to_float32():
    """x (float32) is used twice: times a float64 Tensor (the product, and the gradient it sends
    back to x, are float64) and times 2.0 (float32). The sum of the two is float64, so the program
    casts it to x's dtype, as the engine's gradient sums are."""
    c = Tensor(np.array([1.0, 3.0]))  # float64

    def fn(x):
        return (x * c).sum() + (x * 2.0).sum()

    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    step = jit(fn)
    step(x).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 5.0])
    assert "d_x = grad_sum_1.astype(np.float32)" in code_lines(step.source)


class DoublesTheFirst(Function):
    """y = 2 a (b unused); its backward works on arrays only and gives b no gradient."""

    def forward(self, a, b):
        return 2.0 * a

    def backward(self, g):
        if isinstance(g, Tensor):
            raise TypeError("DoublesTheFirst.backward works on arrays")
        return 2.0 * g, None


def test_a_backward_on_arrays_that_gives_a_parent_no_gradient_leaves_it_none():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    jit(lambda a, b: DoublesTheFirst.apply(a, b).sum())(a, b).backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])
    assert b.grad is None


def test_an_array_with_nan_passed_to_numpy_is_the_same_constant_on_both_runs():
    """np.fmax(x, [nan, 0.5]): the plain array is an argument of the node; nan equals nan when the
    first run is compared with the probe run."""
    fill = np.array([np.nan, 0.5])

    def fn(x):
        return x * Tensor(np.fmax(x.data, fill))

    step = jit(fn)
    x = Tensor(np.array([2.0, -1.0]))
    np.testing.assert_array_equal(step(x).data, [4.0, -0.5])


# ---- trace.py: compare refuses a constant of a numpy call that depends on the inputs' values ---------
def untraced(x):
    """x's values as a plain array jit cannot follow (ndarray.view strips the Traced type)."""
    return x.data.view(np.ndarray)


@pytest.mark.parametrize(
    "made_from_values",
    [
        lambda x: untraced(x).copy(),  # an array
        lambda x: float(untraced(x)[0]),  # a number, nan in one of the two runs (see below)
    ],
)
@pytest.mark.parametrize("values", [[np.nan, 1.0], [1.0, np.nan]])
def test_a_numpy_argument_computed_from_the_inputs_values_is_refused(made_from_values, values):
    """The probe run (the inputs shifted by one place) passes np.add a different array, or a
    different number (1.0 where the first run had nan, or the other way round)."""
    step = jit(lambda x: x * Tensor(np.add(x.data, made_from_values(x))))
    with pytest.raises(JitError, match="given different constants"):
        step(Tensor(np.array(values)))


def test_a_dtype_chosen_from_the_inputs_values_is_refused():
    step = jit(lambda x: Tensor(x.data.astype(np.float32 if untraced(x)[0] > 0 else np.float16)) * 1.0)
    with pytest.raises(JitError, match="given different constants"):
        step(Tensor(np.array([1.0, -1.0])))


def test_an_equal_string_made_anew_on_each_run_is_the_same_constant():
    """The einsum subscripts are a new str object on each run: equal is enough."""
    step = jit(lambda x: x * Tensor(np.einsum("->".join(["i", ""]), x.data)))
    np.testing.assert_array_equal(step(Tensor(np.array([1.0, 2.0]))).data, [3.0, 6.0])


def test_a_parameter_replaced_inside_fn_is_named_in_the_error():
    w = nn.Parameter(np.array([1.0, 2.0]))

    def fn(x):
        w.data = np.zeros(2)
        return x * w

    with pytest.raises(JitError, match="replaced the array of w "):
        jit(fn)(Tensor(np.ones(2)))


def test_a_ufunc_methods_keywords_count_while_tracing():
    """np.add.reduce(..., axis=1) of a (2, 3) array: its (2,) rows, times x's first column."""
    step = jit(lambda x: Tensor(np.add.reduce(x.data, axis=1)) * x[:, 0])
    x = Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(step(x).data, [6.0, 60.0])


def test_a_float32_step_is_differentiated_in_float32():
    """The gradient seed is in the output's dtype: nothing in the backward is float64, so nothing
    is cast back."""
    step = jit(lambda x: (x * x).sum())
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    step(x).backward()
    assert x.grad.dtype == np.float32
    assert all(n.dtype == np.float32 for n in step.program.nodes if n.phase == "backward")
    assert "astype" not in step.source


def test_a_numpy_call_whose_arguments_swap_places_between_the_runs_is_refused():
    """x - 2 on the first run, 2 - x on the probe run (the order read from x's values, untraced):
    x is read at the same position of the trace, but stands where 2.0 stood."""

    def fn(x):
        args = (x.data, 2.0) if untraced(x)[0] > untraced(x)[1] else (2.0, x.data)
        return x * Tensor(np.subtract(*args))

    with pytest.raises(JitError, match="given different constants"):
        jit(fn)(Tensor(np.array([3.0, 1.0])))


def test_the_zero_seeds_of_the_other_outputs_keep_their_dtype():
    """Backward from the second of two float32 outputs that share a tanh: the first's seed is
    float32 zeros, so the tanh's backward runs in float32 and the gradient is the eager one bit
    for bit (float64 zeros would make it run in float64, rounded once instead of at each step)."""
    values = np.random.default_rng(0).normal(size=64).astype(np.float32)

    def fn(x):
        h = (x * 1.3).tanh()
        return h * 2.0, h * 3.0

    x = Tensor(values, requires_grad=True)
    jit(fn)(x)[1].sum().backward()
    eager = Tensor(values, requires_grad=True)
    fn(eager)[1].sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, eager.grad)


def test_a_slice_with_a_step_is_kept():
    step = jit(lambda x: x[::2] * 2.0)
    np.testing.assert_array_equal(step(Tensor(np.array([1.0, 2.0, 3.0, 4.0]))).data, [2.0, 6.0])


class TriplesOnArrays(Function):
    """y = 3 a; its backward works on arrays only and returns one array (not a tuple)."""

    def forward(self, a):
        return 3.0 * a

    def backward(self, g):
        if isinstance(g, Tensor):
            raise TypeError("TriplesOnArrays.backward works on arrays")
        return 3.0 * g


def test_a_backward_on_arrays_returning_one_array_is_the_gradient_of_the_one_parent():
    a = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    step = jit(lambda a: (TriplesOnArrays.apply(a) * Tensor(np.array([1.0, 2.0], dtype=np.float32))).sum())
    step(a).backward()
    assert a.grad.shape == (2,)
    np.testing.assert_array_equal(a.grad, [3.0, 6.0])
    assert [(n.shape, n.dtype) for n in step.program.nodes if n.kind == "item"] == [((2,), np.float32)]


def test_a_tensor_jit_did_not_find_is_a_leaf_of_its_dtype_named_by_the_program():
    """A Tensor held in a list is not searched: it becomes a leaf when an op reads it, with its
    shape and dtype, and codegen gives it a name."""
    hidden = [Tensor(np.array([1.0, 2.0], dtype=np.float32))]
    step = jit(lambda x: x * hidden[0])
    step(Tensor(np.ones(2, dtype=np.float32)))
    assert [(n.name, n.shape, n.dtype) for n in step.program.leaves] == [("param_1", (2,), np.float32)]


def test_an_output_is_linked_only_to_the_inputs_it_is_computed_from():
    """y is computed from x alone, z from w alone: backward from y gives x a gradient and leaves
    w's None (not zeros), as eagerly."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    y, _ = jit(lambda x, w: ((x * 2.0).sum(), (w * 3.0).sum()))(x, w)
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert w.grad is None


def test_tracing_now_is_true_while_jit_traces_fn_only():
    from tinygrad_rnn.compiler.trace import tracing_now

    seen = []
    step = jit(lambda x: seen.append(tracing_now()) or x * 2.0)
    step(Tensor(np.ones(2)))
    assert seen == [True, True] and not tracing_now()  # the first run and the probe


# ---- bugs these tests found (each test fails on the code before its fix) ----------------------------
@pytest.mark.parametrize("write", ["input", "parameter"])
def test_a_write_into_an_input_or_a_parameter_inside_fn_is_refused(write):
    """fn computes y, then writes into x's or w's array (x.data[0] = 0). Nothing reads the written
    array afterwards, but the program could not do the write: it computes values and changes no
    caller's array, so its first result (computed after the trace's write) and every later call
    would differ from calling fn. It used to compile (and return 2.0 here, where fn returns 3.0)."""
    w = nn.Parameter(np.array([1.0, 2.0]))

    def fn(x):
        y = (x * w).sum()
        (x if write == "input" else w).data[0] = 0.0
        return y

    with pytest.raises(JitError, match=f"fn wrote into {'x' if write == 'input' else 'w'} in place"):
        jit(fn)(Tensor(np.array([1.0, 1.0])))


def test_a_tensor_needing_no_gradient_written_between_forward_and_backward_is_refused():
    """frozen (requires_grad False) is read by the program, and its values count in w's gradient:
    written in place after the forward, backward refuses, as eagerly, instead of using the new
    values. It used to be left out of the compiled op's parents: w.grad came out [5, 3]."""
    frozen = Tensor(np.array([2.0, 3.0]))
    w = nn.Parameter(np.array([1.0, 1.0]))
    step = jit(lambda x: (x * w * frozen).sum())
    out = step(Tensor(np.array([1.0, 1.0])))
    frozen.data[0] = 5.0
    with pytest.raises(RuntimeError, match="written to in place"):
        out.backward()


def test_jvp_through_a_compiled_function_gives_its_tangent():
    """Under jvp (a tracer of its own) jit runs fn as written, so the tangent passes through its ops.
    It used to run the program, which jvp cannot see into: the tangent came out zeros."""
    from tinygrad_rnn.forward_mode import jvp

    out, tangent = jvp(jit(lambda x: x * 2.0), [np.array([1.0, 2.0])], [np.array([1.0, -3.0])])
    np.testing.assert_array_equal(out.data, [2.0, 4.0])
    np.testing.assert_array_equal(tangent.data, [2.0, -6.0])


# ---- what a second run must give an op the same way --------------------------------------------
class KeepsItsSetting(Function):
    """y = a; the keyword option ``setting`` is kept on the op and read by nothing."""

    def __init__(self, setting=None):
        self.setting = setting

    def forward(self, a):
        return a * 1.0

    def backward(self, g):
        return g


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (lambda x: {"k": x.data}, lambda x: x.data),  # a dict holding x's values, then x's values
        (lambda x: {"k": 1.0}, lambda x: np.array(1.0)),  # a dict, then an array
        (lambda x: slice(0, 1), lambda x: 0),  # a slice, then an int
        (lambda x: True, lambda x: np.True_),  # equal, but a Python bool, then a numpy one
    ],
)
def test_an_op_option_of_another_kind_on_the_probe_run_is_refused(first, second):
    """fn gives its op a different option on its second run (state that changes between calls):
    the program could keep only one of them, so jit refuses with a JitError (not a crash)."""
    runs = iter([first, second])

    def fn(x):
        return KeepsItsSetting.apply(x, setting=next(runs)(x))

    with pytest.raises(JitError, match="given different constants"):
        jit(fn)(Tensor(np.array([1.0, 2.0])))


# ---- values, dtypes and grad mode in the traced backward -------------------------------------
def test_the_parts_of_a_numpy_call_with_several_results_keep_their_dtype():
    """The halves of a float32 array are float32: times 2.0 they stay float32, so the program
    writes the Python float (as the function did), not a float32 scalar."""

    def fn(x):
        left, right = np.split(x.data, 2)
        return Tensor(left) * 2.0 + Tensor(right)

    step = jit(fn)
    y = step(Tensor(np.array([1.0, 2.0], dtype=np.float32)))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [4.0])
    assert "np.float32(" not in step.source


def test_a_result_computed_from_an_inputs_values_outside_tensor_ops_needs_no_gradient():
    """Tensor(x.data * 2) is cut off from x, as in the eager engine: it does not require grad
    even though x does (the program has no backward, and the Tensor is not linked to x)."""

    def fn(x):
        return Tensor(x.data * 2.0)

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert not fn(x).requires_grad
    y = jit(fn)(x)
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    assert not y.requires_grad


grad_mode_seen = []


class DoublesOnArrays(Function):
    """y = 2 a; its backward works on arrays only, and notes the grad mode it runs in."""

    def forward(self, a):
        return 2.0 * a

    def backward(self, g):
        if isinstance(g, Tensor):
            raise TypeError("DoublesOnArrays.backward works on arrays")
        grad_mode_seen.append(is_grad_enabled())
        return 2.0 * g


def test_a_backward_on_arrays_runs_with_grad_disabled_while_traced_as_in_the_engine():
    """The eager engine's backward (create_graph=False) runs it with is_grad_enabled() False; jit
    calls it the same way while tracing, and the program at run time too."""
    grad_mode_seen.clear()
    eager = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    DoublesOnArrays.apply(eager).sum().backward()
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    jit(lambda a: DoublesOnArrays.apply(a).sum())(a).backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])
    assert len(grad_mode_seen) >= 2 and all(seen is False for seen in grad_mode_seen)


class Negates(Function):
    """y = -a, an op the table does not know: the program calls it."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return Negates.apply(g)


class HalvesWithAWrongBackward(Function):
    """y = a / 2, whose backward (on Tensors) is, wrongly but on purpose, Negates: the program
    must compute what this backward says."""

    def forward(self, a):
        return a * 0.5

    def backward(self, g):
        return Negates.apply(g)


def test_a_gradient_cast_to_float32_still_requires_grad_when_computed_from_a_parameter():
    """h = Halves(x) is float32, times a float64 parameter w: dL/dh = w (float64, and computed
    from w, which requires grad) is cast to float32. The backward is recorded as with
    create_graph=True, so the cast gradient still requires grad, and the call of Negates on it
    in the program is told that its input needs a gradient: needs (True,)."""
    w = nn.Parameter(np.array([2.0, 3.0]))
    step = jit(lambda x: (HalvesWithAWrongBackward.apply(x) * w).sum())
    x = Tensor(np.array([1.0, 4.0], dtype=np.float32), requires_grad=True)
    step(x).backward()
    np.testing.assert_array_equal(x.grad, [-2.0, -3.0])  # -(dL/dh) = -w
    np.testing.assert_array_equal(w.grad, [0.5, 2.0])  # h
    calls = [line for line in code_lines(step.source) if "call(Negates" in line]
    assert len(calls) == 1 and "(True,)" in calls[0]


class PassesOnAnUntracedCopy(Function):
    """y = a; its backward passes on a copy of g's values, made where jit cannot follow it (so
    jit bakes those values into the program as a constant)."""

    def forward(self, a):
        return a * 1.0

    def backward(self, g):
        if isinstance(g, Tensor):
            return Tensor(np.array(g.data.view(np.ndarray)))
        return np.array(g)


def test_the_summed_gradient_has_the_sums_values_while_tracing():
    """L = sum(h + h), h = x: dL/dh is 1 + 1 = 2 everywhere. The trace sums the two gradients
    at trace time too, and the backward above reads that sum's values (equal on both runs, the
    seed being ones, so jit keeps them as a constant): dL/dx must come out 2, not 1 - 1 = 0."""

    def fn(x):
        h = PassesOnAnUntracedCopy.apply(x)
        return (h + h).sum()

    step = jit(fn)
    for values in ([1.0, 5.0], [3.0, -2.0]):
        x = Tensor(np.array(values), requires_grad=True)
        step(x).backward()
        np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert step.traces == 1


class Mixes(Function):
    """y = 2 a + 6 b; its backward computes b's gradient from a's: t = 2 g, then 3 t."""

    def forward(self, a, b):
        return 2.0 * a + 6.0 * b

    def backward(self, g):
        t = g * 2.0
        return t, t * 3.0


def test_the_gradient_of_a_constant_fn_made_is_named_after_it_when_the_program_keeps_it():
    """w, made inside fn with requires_grad, is a constant of the program (const_1): its gradient
    is not returned, but x's is computed from it, so the program keeps it, as d_const_1."""

    def fn(x):
        w = Tensor(np.array([1.0, 1.0]), requires_grad=True)
        return Mixes.apply(w, x).sum()

    step = jit(fn)
    x = Tensor(np.array([1.0, 5.0]), requires_grad=True)
    step(x).backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    lines = code_lines(step.source)
    assert "d_const_1 = d_mixes_1 * 2.0" in lines and "d_x = d_const_1 * 3.0" in lines


# ---- compiled.py / trace.py: what a compile leaves behind ---------------------------------------------
def test_the_retrace_warning_never_names_jits_own_code():
    """Unlike the test above this one also holds under mutmut's trampoline: wherever the
    warning points, it is not the warnings.warn line inside compiled.py (stacklevel=1)."""
    from tinygrad_rnn.compiler import JitWarning, compiled
    from tinygrad_rnn.compiler.compiled import MAX_PROGRAMS

    step = jit(lambda x: x * x.max().item())
    for k in range(MAX_PROGRAMS):
        step(Tensor(np.array([1.0, float(k + 2)])))
    with pytest.warns(JitWarning) as caught:
        step(Tensor(np.array([1.0, 99.0])))
    assert caught[0].filename != compiled.__file__


def test_compiling_leaves_the_cycle_collector_enabled():
    """jit turns gc off while it traces (speed) and must turn it back on afterwards."""
    import gc

    assert gc.isenabled()
    try:
        jit(lambda x: x * 2.0)(Tensor(np.ones(2)))
        assert gc.isenabled()
    finally:
        gc.enable()


def test_the_tracing_runs_emit_no_numpy_warnings_of_their_own():
    """fn runs two or three times while traced, under np.errstate(all="ignore"); only the
    program's own run warns, so the first call warns exactly as often as a later one (eager
    x / 0.0 on [1, 0] warns once for divide by zero, once for 0/0)."""

    def divided(x):
        return x / 0.0

    step = jit(divided)
    counts = []
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            step(Tensor(np.array([1.0, 0.0])))
        counts.append(sum(issubclass(w.category, RuntimeWarning) for w in caught))
    assert counts == [2, 2]


def test_a_tensor_given_a_new_array_inside_fn_is_read_with_that_array_as_eager_does():
    """`y.data = ...` inside fn: eager reads the new values afterwards, so the program must too
    (it used to keep computing y from the op that made it: [2, 4] here). By hand: y.data = [5, 6],
    y * 2 = [10, 12]."""

    def replaces_an_intermediate(x):
        y = x * 1.0
        y.data = np.array([5.0, 6.0])
        return y * 2.0

    step = jit(replaces_an_intermediate)
    np.testing.assert_array_equal(step(Tensor(np.array([1.0, 2.0]))).data, [10.0, 12.0])


def test_an_argument_given_a_new_array_inside_fn_is_refused():
    """Eager `x.data = ...` replaces the caller's array; a compiled program changes no caller's
    Tensor, so jit refuses it (as it refuses a write into an argument in place) instead of
    silently computing from the old values."""

    def replaces_its_argument(x):
        x.data = np.array([5.0, 6.0])
        return x * 2.0

    with pytest.raises(JitError, match="replaced the array of its argument x"):
        jit(replaces_its_argument)(Tensor(np.array([1.0, 2.0])))
