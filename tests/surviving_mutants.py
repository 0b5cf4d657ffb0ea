"""The mutants that `make mutants` leaves alive, each with why no test can observe it.

mutmut changes one thing at a time in the engine, the ops, gradcheck, the steps, the layers,
the losses and the optimizers (a `+` for a `-`, `None` for an argument, a dropped keyword, ...)
and runs the tests that reach the changed function. A change that no test notices is a missing
test, unless nothing a caller can do tells the two versions apart. Each entry below is one of
those: the file and function, the original line and the mutant's line (both stripped), and
the reason. tools/mutation_report.py (run by `make mutants`) fails on a survivor missing here;
tests/test_surviving_mutants.py checks that every original line still exists, so the list
follows the code.
"""

from __future__ import annotations

from typing import NamedTuple


class Survivor(NamedTuple):
    file: str  # under tinygrad_rnn/
    function: str  # "Class.method" or "function"
    original: str  # the line as written, stripped ("\n" between lines if several)
    mutant: str  # the line as mutmut changed it, stripped
    why: str  # why no call can tell the two apart


_STACKED_DEFAULT_UNUSED = (
    "_StackedRecurrent is private and its only subclasses, RNN, GRU and LSTM, pass every argument of its "
    "signature to super().__init__ explicitly (their own defaults are the public ones, pinned by the repr "
    "tests), so its defaults are never used."
)

_NODE_OF_WHAT_UNUSED = (
    "Trace.node_of(array, what) never reads `what` (it names, for the reader, why the node is wanted): its "
    "result depends on the array alone, so any string, or None, gives the same node."
)
_FOLLOW_PARAMETER_ONCE = (
    "The lookup never finds an entry: record calls follow_parameter once per tensor of found.tensors (a dict "
    "by id, so each once), before fn runs, when _tensors holds only the input Tensors' fresh wrappers "
    "(made by Trace.input, other live objects, so other ids). known is always None, whatever the lookup "
    "asks, and the lines after it never run."
)
_NO_PRIVATE_NUMPY_MODULE = (
    "No op reaches this line with a __module__ starting 'numpy._' in numpy 2.4.6: every function numpy "
    "dispatches to __array_function__ and every ufunc reports a public module (numpy, numpy.linalg, "
    "numpy.fft, numpy.lib.stride_tricks, numpy.strings, ...; checked over all its submodules), and a ufunc "
    "without one reads as 'numpy'. So the test for 'numpy._' is never true, and for module 'numpy' "
    "module.replace('numpy', 'np', 1) gives the same 'np' as the first branch."
)
_PASSES_ROWS_ALWAYS_3D = (
    "The branch never runs: every part is 2-D (an operand of a 2-D matmul, or the 2-D rows of a row "
    "sum), and _slot gives (buffer, t) only for an int t (bools are not basic indices) with the "
    "part's shape equal to buffer.shape[1:] (computed into buffer[t] or nested at it, both checked "
    "against _sliced_shape), so the buffer, and its alias, are always 3-D."
)

_GLOBALS_NEVER_DEPTH_0 = (
    "_discover's depth is read only by `depth == 0` (an object's attributes are searched only for fn "
    "itself and what fn reaches without a global): fn is visited at 0, partial arguments, a method's "
    "object and function, defaults and closure cells keep their depth, and only a global adds to it. "
    "So a global and everything reached through it are at 1 or more; None, depth - 1 (-1, -2, ...) or "
    "depth + 2 are never 0 either (and no arithmetic is done on the depth a global gets), so the same "
    "objects are searched."
)
_MODULE_GLOBALS_FIND_NOTHING = (
    "A global that is a Python module (np, functools, ...) would be visited at depth 1 or more: a module "
    "object is neither Module, Tensor, partial, method nor function, and attributes are searched only at "
    "depth 0, so visiting it finds nothing; skipping it only saves the visit."
)

_SPEC_TAGS_ONLY_DIFFER = (
    "_spec's first entry only keeps the three kinds of argument apart in a program's key (a Tensor's "
    "spec, an array's, a Python value's); specs are only ever compared with each other (as parts of the "
    "key of CompiledFunction._programs), and the changed tag is still different from the other two, so "
    "two calls get equal keys exactly when they did."
)

_REGISTER_ONLY_CACHES = (
    "What register stores is a cache: tensor_node, finding no entry, falls back to node_of(tensor._data), "
    "and the array register just installed is a Traced whose node is `node`, so it finds the same node (or "
    "_WRITTEN after an in-place write in the forward phase, which the cache path also answers) and stores "
    "the entry itself; an array replaced since (.data = ...) is looked up again on both paths (_replaced). "
    "The Tensors stay alive anyway (inputs, _output_of, the pending gradients). The only case left, a "
    "registered Tensor first looked up in the backward phase after an in-place write, cannot arise: an "
    "argument written in place is refused (refuse_written), and each seed and gradient is looked up in "
    "_total before any backward runs on it."
)
_HIDDEN_LEAF_NAME = (
    "tensor_node makes a leaf only for a Tensor it does not know, and every Tensor in names (the parameters "
    "jit found) is known from the start (record follows each, and follow_parameter registers it), so "
    "names.get always returns its default here: the original's name is always an empty string. The "
    "leaf's name is read only by codegen, and only as a truth value (node.name or a fresh name, "
    "numbered=not node.name, not value.name for a constant), so None and an empty string give the same "
    "fresh name (param_1, ...) and the same program."
)

SURVIVORS: list[Survivor] = [
    Survivor(
        "optim.py", "Optimizer.state_dict",
        'out[f"state.{i}.{name}"] = np.array(value, copy=True)',
        'out[f"state.{i}.{name}"] = np.array(value, )',
        "np.array's copy defaults to True, so both always return a new array; copy=True only says so to the reader.",
    ),
    Survivor(
        "optim.py", "Optimizer.load_state_dict",
        'not_real = [f"{k} has dtype {a.dtype}" for k, a in arrays.items() if a.dtype.kind not in "biuf"]',
        'not_real = [f"{k} has dtype {a.dtype}" for k, a in arrays.items() if a.dtype.kind not in "XXbiufXX"]',
        "dtype.kind is always one character and numpy has no kind 'X', so the substring test admits exactly b, i, u, f in both.",
    ),
    Survivor(
        "optim.py", "Optimizer.load_state_dict",
        'index = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1',
        'index = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -2',
        "The sentinel is only ever tested by `not 0 <= index < len(self.params)`, which is true for -1 and -2 alike, so the key is unexpected either way and the index is never used.",
    ),
    Survivor(
        "optim.py", "Optimizer.load_state_dict",
        'if value.shape == () and value.dtype.kind in "iu" and value >= 0:',
        'if value.shape == () and value.dtype.kind in "XXiuXX" and value >= 0:',
        "dtype.kind is always one character and numpy has no kind 'X', so the substring test admits exactly i and u in both.",
    ),
    Survivor(
        "optim.py", "Optimizer.load_state_dict",
        'new_state[index][parts[2]] = value.astype(p.dtype, copy=True)',
        'new_state[index][parts[2]] = value.astype(p.dtype, )',
        "ndarray.astype's copy defaults to True, so both always return a new array; copy=True only says so to the reader.",
    ),
    Survivor(
        "nn/functional.py", "_affine_operands",
        'if bias.shape != out_shape and bias.shape != out_shape[-1:]:  # the two usual cases need no check',
        'if bias.shape != out_shape or bias.shape != out_shape[-1:]:  # the two usual cases need no check',
        "The condition only skips the broadcast check for the two shapes that trivially pass it: with `or` a bias "
        "of shape out_shape or out_shape[-1:] goes through np.broadcast_shapes, which returns out_shape for both, "
        "so no error is raised and the same bias is returned.",
    ),
    Survivor(
        "nn/functional.py", "_affine_operands",
        'if bias.shape != out_shape and bias.shape != out_shape[-1:]:  # the two usual cases need no check',
        'if bias.shape != out_shape and bias.shape != out_shape[+1:]:  # the two usual cases need no check',
        "out_shape[1:] is a suffix of out_shape, so a bias of that shape broadcasts to out_shape and the skipped "
        "check would have passed; a (out,) bias now goes through the check, which it passes. Same result, same errors.",
    ),
    Survivor(
        "nn/functional.py", "_affine_operands",
        'if bias.shape != out_shape and bias.shape != out_shape[-1:]:  # the two usual cases need no check',
        'if bias.shape != out_shape and bias.shape != out_shape[-2:]:  # the two usual cases need no check',
        "out_shape[-2:] is a suffix of out_shape, so a bias of that shape broadcasts to out_shape and the skipped "
        "check would have passed; a (out,) bias now goes through the check, which it passes. Same result, same errors.",
    ),
    Survivor(
        "nn/functional.py", "_affine_operands",
        'fits = False',
        'fits = None',
        "fits is only read by `if not fits:`, and None is falsy like False, so the same ValueError is raised.",
    ),
    Survivor(
        "nn/functional.py", "_integer_indices",
        'if raw.dtype.kind in "iu":',
        'if raw.dtype.kind in "XXiuXX":',
        "dtype.kind is one character; the only kinds in \"XXiuXX\" are still 'i' and 'u' (numpy has no kind 'X').",
    ),
    Survivor(
        "nn/steps.py", "leaky_rnn_step",
        'return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, "tanh")',
        'return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, )',
        "Dropping the argument falls back on rnn_step's default nonlinearity, which is \"tanh\" (pinned by "
        "tests/test_recurrent_cells.py::test_public_step_functions_default_to_tanh_and_pytorchs_gru), so the call is the same.",
    ),
    Survivor(
        "bookkeeping.py", "DeferredGrad.__array__",
        'return array if dtype is None else array.astype(dtype, copy=False)',
        'return array if dtype is None else array.astype(dtype, copy=None)',
        "astype treats copy=None like copy=False (it returns the same array when the dtype already matches), "
        "so the result is the same array in every case.",
    ),
    Survivor(
        "bookkeeping.py", "WatchedArray.__setitem__",
        'np.ndarray.__setitem__(self.view(np.ndarray), index, value)',
        'np.ndarray.__setitem__(self.view(None), index, value)',
        "view(None) is view(): a WatchedArray over the same memory. np.ndarray.__setitem__ is called unbound, "
        "so WatchedArray.__setitem__ is not re-entered and nothing is stamped twice: the same values are "
        "written and the one stamp is the _write() above (all the write tests in test_traps_engine pass).",
    ),
    Survivor(
        "bookkeeping.py", "WatchedArray.__array_function__",
        'written += out if isinstance(out, tuple) else [out]',
        'written += out if (isinstance(out, tuple)) and False else [out]',
        "The numpy functions that take out= as a tuple (np.clip, ...) hand it on to a ufunc, whose "
        "__array_ufunc__ stamps every WatchedArray in out anyway (checked with np.clip and np.add.reduce); "
        "the others (np.sum, np.mean, np.dot, np.take) refuse a tuple out with a TypeError either way.",
    ),
    Survivor(
        "bookkeeping.py", "check_unchanged",
        'if tensor is not None and tensor._written[0] > op.serial:',
        'if tensor is not None and tensor._written[0] >= op.serial:',
        "Op serials and write stamps come from the same counter (clock), each number handed out once, and "
        "an untouched tensor's stamp is 0 while serials start at 1: a stamp never equals a serial.",
    ),
    Survivor(
        "bookkeeping.py", "user_call_site",
        'frame = sys._getframe(1)',
        'frame = sys._getframe(2)',
        "Its only caller, anomaly_mode_forward, is in the package (and so is its caller, Function.apply): "
        "frame 1 is a package frame the loop would skip anyway, so the search ends at the same frame. "
        "(user_call_site is a helper, not in bookkeeping's __all__.)",
    ),
    Survivor(
        "bookkeeping.py", "user_call_site",
        'while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):',
        'while frame is None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):',
        "Under mutmut only: its trampoline (outside the package) is frame 1, so not walking gives the same frame. "
        "In a normal run the message names bookkeeping.py instead of the user's line, which "
        "tests/test_engine.py::test_anomaly_mode_names_the_op_and_the_callers_line_for_log_of_zero (deselected "
        "under mutmut) and test_anomaly_message_names_the_op_the_value_inf_the_shape_and_a_caller_outside_the_package catch.",
    ),
    Survivor(
        "bookkeeping.py", "user_call_site",
        'frame = frame.f_back',
        'frame = None',
        "Under mutmut only: its trampoline (outside the package) is frame 1, so the loop never runs. In a "
        "normal run the message says <unknown>, which "
        "tests/test_engine.py::test_anomaly_mode_names_the_op_and_the_callers_line_for_log_of_zero (deselected "
        "under mutmut) and test_anomaly_message_names_the_op_the_value_inf_the_shape_and_a_caller_outside_the_package catch.",
    ),
    Survivor(
        "bookkeeping.py", "user_call_site",
        'return "<unknown>"',
        'return "XX<unknown>XX"',
        "Reached only when no frame outside the package is on the stack, never under mutmut (its trampoline, "
        "outside the package, always is). In a normal run "
        "tests/test_engine.py::test_anomaly_mode_says_unknown_when_every_caller_is_inside_the_package "
        "(deselected under mutmut) catches it.",
    ),
    Survivor(
        "bookkeeping.py", "user_call_site",
        'return "<unknown>"',
        'return "<UNKNOWN>"',
        "Reached only when no frame outside the package is on the stack, never under mutmut (its trampoline, "
        "outside the package, always is). In a normal run "
        "tests/test_engine.py::test_anomaly_mode_says_unknown_when_every_caller_is_inside_the_package "
        "(deselected under mutmut) catches it.",
    ),
    Survivor(
        "bookkeeping.py", "check_finite",
        'array = np.asarray(getattr(value, "_data", value))',
        'array = np.asarray(getattr(None, "_data", value))',
        "The value is an array, a DeferredGrad or (in a recorded backward) a Tensor; np.asarray of a Tensor "
        "calls Tensor.__array__, which returns the same _data array, so the check sees the same values.",
    ),
    Survivor(
        "bookkeeping.py", "check_finite",
        'array = np.asarray(getattr(value, "_data", value))',
        'array = np.asarray(getattr(value, "XX_dataXX", value))',
        "The value is an array, a DeferredGrad or (in a recorded backward) a Tensor; np.asarray of a Tensor "
        "calls Tensor.__array__, which returns the same _data array, so the check sees the same values.",
    ),
    Survivor(
        "bookkeeping.py", "check_finite",
        'array = np.asarray(getattr(value, "_data", value))',
        'array = np.asarray(getattr(value, "_DATA", value))',
        "The value is an array, a DeferredGrad or (in a recorded backward) a Tensor; np.asarray of a Tensor "
        "calls Tensor.__array__, which returns the same _data array, so the check sees the same values.",
    ),
    Survivor(
        'gradcheck.py', 'gradgradcheck',
        'return sum(((g * v).sum() for g, v in zip(grads, directions) if g is not None), 0.0)',
        'return sum(((g * v).sum() for g, v in zip(grads, directions) if g is not None), )',
        "The terms are Tensors or float64 arrays/scalars, and 0 + t equals 0.0 + t for each (a Python int or float constant becomes the operand's dtype); with no terms the result is 0 or 0.0, which float() turns into the same 0.0.",
    ),
    Survivor(
        'gradcheck.py', 'gradgradcheck',
        'lambda: float(np.asarray(gradient_along_directions(create_graph=False))), inputs[i], eps',
        'lambda: float(np.asarray(gradient_along_directions(create_graph=None))), inputs[i], eps',
        'create_graph is only tested for truth: None records nothing, like False (and retain_graph defaults to it, so the graph is freed alike); the value <g, v> the differences use is the same.',
    ),
    Survivor(
        'gradcheck.py', 'gradgradcheck',
        'lambda: float(np.asarray(gradient_along_directions(create_graph=False))), inputs[i], eps',
        'lambda: float(np.asarray(gradient_along_directions(create_graph=True))), inputs[i], eps',
        'Recording runs the same backward formulas on Tensors holding the same arrays, so <g, v> has the same value; an fn that cannot be recorded (a fused op) already failed in the create_graph=True call before it. Only time and memory differ.',
    ),
    Survivor(
        'ops.py', 'Pow.backward',
        'gy = None',
        'gy = ""',
        "gy keeps this initial value only when y needs no gradient, and every reader of an op's input gradients (backward, grad(), the anomaly check, trace_backward) drops the value for an input that does not require grad.",
    ),
    Survivor(
        'ops.py', 'MatMul.forward',
        'return (x.reshape(-1, x.shape[-1]) @ y).reshape(*x.shape[:-1], y.shape[1])',
        'return (x.reshape(-2, x.shape[-1]) @ y).reshape(*x.shape[:-1], y.shape[1])',
        'numpy reads any negative size in reshape as the one unknown size, so -2 gives the same shape as -1 (Tensor.reshape hands sizes to numpy unchanged, so a recorded backward is the same too).',
    ),
    Survivor(
        'ops.py', 'MatMul.backward',
        'g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])',
        'g_rows, x_rows = g.reshape(-2, g.shape[-1]), x.reshape(-1, x.shape[-1])',
        'numpy reads any negative size in reshape as the one unknown size, so -2 gives the same shape as -1 (Tensor.reshape hands sizes to numpy unchanged, so a recorded backward is the same too).',
    ),
    Survivor(
        'ops.py', 'MatMul.backward',
        'g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])',
        'g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-2, x.shape[-1])',
        'numpy reads any negative size in reshape as the one unknown size, so -2 gives the same shape as -1 (Tensor.reshape hands sizes to numpy unchanged, so a recorded backward is the same too).',
    ),
    Survivor(
        'ops.py', 'MatMul.backward',
        'x2 = x.reshape(1, -1) if x.ndim == 1 else x',
        'x2 = x.reshape(1, -2) if x.ndim == 1 else x',
        'numpy reads any negative size in reshape as the one unknown size, so -2 gives the same shape as -1 (Tensor.reshape hands sizes to numpy unchanged, so a recorded backward is the same too).',
    ),
    Survivor(
        'ops.py', 'MatMul.backward',
        'y2 = y.reshape(-1, 1) if y.ndim == 1 else y',
        'y2 = y.reshape(-2, 1) if y.ndim == 1 else y',
        'numpy reads any negative size in reshape as the one unknown size, so -2 gives the same shape as -1 (Tensor.reshape hands sizes to numpy unchanged, so a recorded backward is the same too).',
    ),
    Survivor(
        'ops.py', 'Max.forward',
        'return y.reshape(()) if self.axis is None else np.squeeze(y, axis=self.axis)',
        'return y.reshape(()) if (self.axis is None) and False else np.squeeze(y, axis=self.axis)',
        'With axis None, y = x.max(keepdims=True) has every axis of size 1, so np.squeeze(y, axis=None) drops them all and returns the same 0-d array as y.reshape(()).',
    ),
    Survivor(
            "bookkeeping.py", "accumulate_grad",
            'tensor.grad = np.array(grad, dtype=tensor.dtype, order="C", copy=True) if plain else grad',
            'tensor.grad = np.array(grad, dtype=None, order="C", copy=True) if plain else grad',
            "Both callers (tensor._backpropagate) pass the array GradSums.pop just returned, and pop already casts it to "
            "tensor._data.dtype, which is what Tensor.dtype returns: the array is in the tensor's dtype either way.",
        ),
        Survivor(
            "bookkeeping.py", "accumulate_grad",
            'tensor.grad = np.array(grad, dtype=tensor.dtype, order="C", copy=True) if plain else grad',
            'tensor.grad = np.array(grad, order="C", copy=True) if plain else grad',
            "Both callers (tensor._backpropagate) pass the array GradSums.pop just returned, and pop already casts it to "
            "tensor._data.dtype, which is what Tensor.dtype returns: the array is in the tensor's dtype either way.",
        ),
        Survivor(
            "bookkeeping.py", "accumulate_grad",
            'tensor.grad = np.array(grad, dtype=tensor.dtype, order="C", copy=True) if plain else grad',
            'tensor.grad = np.array(grad, dtype=tensor.dtype, order="C", ) if plain else grad',
            "np.array's copy defaults to True, so both always make a new array; copy=True only says so to the reader.",
        ),
        Survivor(
            "bookkeeping.py", "accumulate_grad",
            'tensor.grad = np.array(grad, dtype=tensor.dtype, order="C", copy=True) if plain else grad',
            'tensor.grad = np.array(grad, dtype=tensor.dtype, order="c", copy=True) if plain else grad',
            "numpy reads the order letter case-insensitively ('c' is 'C', no warning in numpy 2.4), so both make a C-ordered copy.",
        ),
        Survivor(
            "bookkeeping.py", "GradSums.add",
            'total = self._sums[tensor] = total.dense() if isinstance(total, DeferredGrad) else total.copy("K")',
            'total = self._sums[tensor] = total.dense() if isinstance(total, DeferredGrad) else total.copy("k")',
            "numpy reads the order letter case-insensitively ('k' is 'K', no warning in numpy 2.4), so both copies keep the layout.",
        ),
        Survivor(
            "bookkeeping.py", "_picks_each_entry_once",
            'items = index if isinstance(index, tuple) else (index,)',
            'items = index if (isinstance(index, tuple)) and False else (index,)',
            "It can only turn True into False, sending IndexedGrad.add_into to np.add.at, which adds every pick and so "
            "gives the same sums as buffer[index] += values when no entry repeats (checked for slices, ints, None, "
            "Ellipsis, (), boolean masks and float64 values into a float32 buffer, computed in float64 by both); it is only slower.",
        ),
        Survivor(
            "bookkeeping.py", "_picks_each_entry_once",
            'isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))\nor (isinstance(i, np.ndarray) and i.dtype == np.bool_)',
            'isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) and (isinstance(i, np.ndarray) and i.dtype == np.bool_)',
            "It can only turn True into False, sending IndexedGrad.add_into to np.add.at, which adds every pick and so "
            "gives the same sums as buffer[index] += values when no entry repeats (checked for slices, ints, None, "
            "Ellipsis, (), boolean masks and float64 values into a float32 buffer, computed in float64 by both); it is only slower.",
        ),
        Survivor(
            "bookkeeping.py", "tensor_memory",
            'return own_copy(array, getattr(source, "_data", source)), [0]',
            'return own_copy(array, getattr(source, "_data", source)), [1]',
            "A stamp is only ever compared as stamp > op.serial, and serials come from clock = count(1), so they are >= 1: "
            "an unwritten tensor stamped 1 is never newer than any op, exactly like one stamped 0.",
        ),
    Survivor(
        "tensor.py", "Function.apply",
        'op = cls(**options) if options else cls()',
        'op = cls(**options) if (options) or True else cls()',
        "With no options, cls(**{}) is the same call as cls(): Python passes no keyword arguments either way, so the op is built identically.",
    ),
    Survivor(
        "tensor.py", "Tensor.__init__",
        'self._retain_grad = False',
        'self._retain_grad = None',
        "_retain_grad is only read as a truth value (`if tensor._retain_grad and wanted is None`), where None acts as False; "
        "nothing else in the package reads it.",
    ),
    Survivor(
        "tensor.py", "Tensor.__init__",
        'self._retain_grad = False',
        'self._retain_grad = True',
        "The constructor only makes leaves (op outputs come from _wrap, which sets False, and apply is the only place that "
        "sets _ctx); the backward loop reads _retain_grad only for tensors with an op, and leaves always get .grad anyway.",
    ),
    Survivor(
        "tensor.py", "Tensor._wrap",
        't._data = array if type(array) is np.ndarray else np.asarray(array)',
        't._data = array if (type(array) is np.ndarray) and False else np.asarray(array)',
        "np.asarray returns its argument itself (same object, same memory, no copy) when it is already a plain ndarray, "
        "so always calling it stores the identical array; the test only saves a function call.",
    ),
    Survivor(
        "tensor.py", "Tensor._wrap",
        't._data = array if type(array) is np.ndarray else np.asarray(array)',
        't._data = array if type(None) is np.ndarray else np.asarray(array)',
        "The condition is now always false, so np.asarray is always called; for a plain ndarray it returns the same object "
        "(no copy), so the stored array is identical.",
    ),
    Survivor(
        "tensor.py", "Tensor._wrap",
        't._view, t._written, t.grad = None, [0], None',
        't._view, t._written, t.grad = None, [1], None',
        "The stamp is only compared as `_written[0] > op.serial`, and serials come from bookkeeping.clock = count(1), so "
        "every op's serial is at least 1 and neither 0 nor 1 counts as a write after it; any real write stamps a fresh, "
        "larger clock value in both.",
    ),
    Survivor(
        "tensor.py", "Tensor.__getitem__",
        'return _ops.Index.apply(self, index=index if type(index) is int else checks.index(index))',
        'return _ops.Index.apply(self, index=index if (type(index) is int) and False else checks.index(index))',
        "checks.index returns a plain int unchanged (it only converts tuples, lists and refuses Tensors/float arrays), so "
        "an int index reaches Index identically; the test is a shortcut past the call.",
    ),
    Survivor(
        "tensor.py", "Tensor.__getitem__",
        'return _ops.Index.apply(self, index=index if type(index) is int else checks.index(index))',
        'return _ops.Index.apply(self, index=index if type(None) is int else checks.index(index))',
        "Every index now goes through checks.index, which returns a plain int unchanged, so an int index reaches Index "
        "identically; the test is a shortcut past the call.",
    ),
    # ---- bookkeeping.py
    Survivor(
        "bookkeeping.py", "watch",
        'if getattr(array, "__jit_traced__", False):  # while jit traces: the traced array itself, so',
        'if getattr(array, "__jit_traced__", None):  # while jit traces: the traced array itself, so',
        'The default is only read by the `if`, and None is falsy like False: an array without __jit_traced__ is wrapped in both.',
    ),
    # ---- ops.py
    Survivor(
        "ops.py", "Pow.backward",
        'off = np.where(x < 0, np.nan, np.where((x == 0) & (y < 0), -np.inf, 0.0)).astype(x.dtype)',
        'off = np.where(x < 0, None, np.where((x == 0) & (y < 0), -np.inf, 0.0)).astype(x.dtype)',
        "np.where(x < 0, None, ...) is an object array, and .astype(x.dtype) turns None into nan for every float dtype a Tensor can hold (float16, float32, float64, longdouble; checked: the same nan bits as np.nan), so off and the exponent's gradient are the same.",
    ),
    # ---- gradcheck.py
    Survivor(
        "gradcheck.py", "_likely_cause",
        'if isinstance(value, np.ndarray) and value.dtype.kind in "fc"',
        'if isinstance(value, np.ndarray) and value.dtype.kind in "XXfcXX"',
        "dtype.kind is always one character and numpy has no kind 'X', so the substring test admits exactly f and c in both.",
    ),
    # ---- data/long_lag.py
    Survivor(
        "data/long_lag.py", "recall_batch",
        "symbols = rng.integers(0, num_symbols, size=(lag + 1, batch_size))",
        "symbols = rng.integers(num_symbols, size=(lag + 1, batch_size))",
        "Generator.integers(high) means integers(0, high): numpy reads a lone bound as the upper one, so both"
        " draw the same numbers from the same stream.",
    ),
    Survivor(
        "data/long_lag.py", "adding_batch",
        "half = length // 2",
        "half = length / 2",
        "Generator.integers truncates a float bound to an integer, so length / 2 draws exactly what length //"
        " 2 draws, from the same stream (checked for odd and even lengths); half is used nowhere else.",
    ),
    Survivor(
        "data/long_lag.py", "adding_batch",
        "first = rng.integers(0, half, size=batch_size)",
        "first = rng.integers(half, size=batch_size)",
        "Generator.integers(high) means integers(0, high): numpy reads a lone bound as the upper one, so both"
        " draw the same numbers from the same stream.",
    ),
    # ---- io.py
    Survivor(
        "io.py", "write_atomically",
        "with os.fdopen(fd, \"wb\" if binary else \"w\", **({} if binary else {\"encoding\": \"utf-8\"})) as file:",
        "with os.fdopen(fd, \"wb\" if binary else \"w\", **({} if binary else {\"encoding\": \"UTF-8\"})) as file:",
        "Python's codec names are case-insensitive: 'UTF-8' and 'utf-8' look up the same codec.",
    ),
    Survivor(
        "io.py", "write_atomically",
        "umask = os.umask(0)",
        "umask = os.umask(1)",
        "os.umask(x) only reads the umask by setting it, and the next line puts the old one back at once: no "
        "file is created in between (0 or 1 alike), so what chmod applies is the same.",
    ),
    Survivor(
        "io.py", "load",
        "contents = np.load(path, allow_pickle=False)",
        "contents = np.load(path, allow_pickle=None)",
        "np.load's allow_pickle defaults to False and None is as false: an object array is refused (and named"
        " by _read_member) either way.",
    ),
    Survivor(
        "io.py", "load",
        "contents = np.load(path, allow_pickle=False)",
        "contents = np.load(path, )",
        "np.load's allow_pickle defaults to False: an object array is refused (and named by _read_member) "
        "either way.",
    ),
    Survivor(
        "io.py", "_what_file",
        "if all(byte >= 0x20 or byte in b\"\\t\\n\\r\" for byte in head):  # UTF-8 text has no control bytes",
        "if all(byte >= 0x20 or byte in b\"XX\\t\\n\\rXX\" for byte in head):  # UTF-8 text has no control bytes",
        "The added characters 'X' are printable (0x58 >= 0x20), so they pass the first test anyway; the bytes"
        " admitted are the same.",
    ),
    Survivor(
        "io.py", "_write_npz",
        "with zipfile.ZipFile(file, mode=\"w\", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:",
        "with zipfile.ZipFile(file, mode=\"w\", allowZip64=True) as archive:",
        "zipfile.ZipFile's compression defaults to ZIP_STORED: the same archive, byte for byte.",
    ),
    Survivor(
        "io.py", "_write_npz",
        "with zipfile.ZipFile(file, mode=\"w\", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:",
        "with zipfile.ZipFile(file, mode=\"w\", compression=zipfile.ZIP_STORED, ) as archive:",
        "zipfile.ZipFile's allowZip64 defaults to True: the same archive, byte for byte.",
    ),
    Survivor(
        "io.py", "_write_npz",
        "np.lib.format.write_array(member, array, allow_pickle=False)",
        "np.lib.format.write_array(member, array, allow_pickle=None)",
        "allow_pickle matters only for object arrays, and save() refuses every array that is not bool, int or"
        " float (_numeric_arrays) before _write_npz is called.",
    ),
    Survivor(
        "io.py", "_write_npz",
        "np.lib.format.write_array(member, array, allow_pickle=False)",
        "np.lib.format.write_array(member, array, )",
        "allow_pickle matters only for object arrays, and save() refuses every array that is not bool, int or"
        " float (_numeric_arrays) before _write_npz is called.",
    ),
    Survivor(
        "io.py", "_write_npz",
        "np.lib.format.write_array(member, array, allow_pickle=False)",
        "np.lib.format.write_array(member, array, allow_pickle=True)",
        "allow_pickle matters only for object arrays, and save() refuses every array that is not bool, int or"
        " float (_numeric_arrays) before _write_npz is called.",
    ),
    # ---- viz.py
    Survivor(
        "viz.py", "_walk",
        "stack: list[tuple[Tensor, int | None, int]] = [(root, None, 0)]",
        "stack: list[tuple[Tensor, int | None, int]] = [(root, None, 1)]",
        "The root is the one visit with user None, and a position is only read for an edge (collect_graph "
        "keeps one only when user is not None), so the root's position is never used.",
    ),
    Survivor(
        "viz.py", "BackwardTrace.record",
        "grad_output=np.array(grad, copy=True) if self.keep_grads else None,",
        "grad_output=np.array(grad, ) if self.keep_grads else None,",
        "np.array's copy defaults to True, so both keep a new array; copy=True only says so to the reader.",
    ),
    Survivor(
        "viz.py", "BackwardTrace.record",
        "grad_inputs=tuple(None if g is None else np.array(g, copy=True) for g in dense)",
        "grad_inputs=tuple(None if g is None else np.array(g, ) for g in dense)",
        "np.array's copy defaults to True, so both keep a new array; copy=True only says so to the reader.",
    ),
    Survivor(
        "viz.py", "BackwardTrace.table",
        "graph = None",
        "graph = \"\"",
        "graph stays at its first value only when there are no records and no root, and then describe() is "
        "never called (it describes records), so None and '' are never read.",
    ),
    Survivor(
        "viz.py", "BackwardTrace.table",
        "number = graph.number_of(tensor) if graph is not None else None",
        "number = graph.number_of(tensor) if (graph is not None) or True else None",
        "graph is None only when there are no records and no root, and then describe() is never called (it "
        "describes records), so the test always holds when it runs.",
    ),
    # ---- array_methods.py
    Survivor(
        "array_methods.py", "ArrayMethods._in_place",
        "if is_grad_enabled() and (self.requires_grad or getattr(other, \"requires_grad\", False)):",
        "if is_grad_enabled() and (self.requires_grad or getattr(other, \"requires_grad\", None)):",
        "The default is only used in a boolean test, where None is as false as False.",
    ),
    Survivor(
        "array_methods.py", "ArrayMethods.__repr__",
        "body = np.array2string(self._data, separator=\", \", prefix=\"Tensor(\")",
        "body = np.array2string(self._data, separator=\", \", prefix=\"tensor(\")",
        "array2string reads prefix only for its length, to indent the continuation lines under the first "
        "element; 'Tensor(', 'tensor(' and 'TENSOR(' are all 7 characters.",
    ),
    Survivor(
        "array_methods.py", "ArrayMethods.__repr__",
        "body = np.array2string(self._data, separator=\", \", prefix=\"Tensor(\")",
        "body = np.array2string(self._data, separator=\", \", prefix=\"TENSOR(\")",
        "array2string reads prefix only for its length, to indent the continuation lines under the first "
        "element; 'Tensor(', 'tensor(' and 'TENSOR(' are all 7 characters.",
    ),
    # ---- train.py
    Survivor(
        "train.py", "TrainLog.mean_loss",
        "def mean_loss(self, last_fraction: float = 1.0) -> float:",
        "def mean_loss(self, last_fraction: float = 2.0) -> float:",
        "Any fraction >= 1 keeps every step: count = round(n * 2) exceeds n, and losses[-count:] is then the "
        "whole list, as for 1.0.",
    ),
    Survivor(
        "train.py", "_window_loss",
        "return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)), state",
        "return F.cross_entropy(logits.reshape(-2, logits.shape[-1]), y.reshape(-1)), state",
        "Tensor.reshape hands the shape to numpy, which (2.x) reads any negative size as the one unknown "
        "dimension: (-2, C) is (-1, C).",
    ),
    Survivor(
        "train.py", "_window_loss",
        "return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)), state",
        "return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-2)), state",
        "y is a numpy array and numpy (2.x) reads any negative size as the one unknown dimension: reshape(-2)"
        " is reshape(-1).",
    ),
    Survivor(
        "train.py", "truncated_bptt",
        "windows = list(bptt_windows(inputs, targets, num_steps, time_axis=0, drop_last=True))  # views",
        "windows = list(bptt_windows(inputs, targets, num_steps, drop_last=True))  # views",
        "bptt_windows' time_axis defaults to 0: the same windows.",
    ),
    Survivor(
        "train.py", "evaluate_stream",
        "for x, y in bptt_windows(inputs, targets, num_steps, time_axis=0):",
        "for x, y in bptt_windows(inputs, targets, num_steps, ):",
        "bptt_windows' time_axis defaults to 0: the same windows.",
    ),
    # ---- nn/utils.py
    Survivor(
        "nn/utils.py", "_real_number",
        "if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in \"iuf\":",
        "if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in \"XXiufXX\":",
        "dtype.kind is always one character and numpy has no kind 'X', so the substring test admits exactly "
        "i, u and f in both.",
    ),
    Survivor(
        "nn/utils.py", "clip_grad_norm_",
        "per_tensor = [np.linalg.norm(g.astype(np.float64, copy=False).ravel(), ord=norm_type) for g in grads]",
        "per_tensor = [np.linalg.norm(g.astype(None, copy=False).ravel(), ord=norm_type) for g in grads]",
        "numpy reads the dtype None as float64 (np.dtype(None) is float64), so astype(None) is "
        "astype(np.float64).",
    ),
    Survivor(
        "nn/utils.py", "clip_grad_norm_",
        "per_tensor = [np.linalg.norm(g.astype(np.float64, copy=False).ravel(), ord=norm_type) for g in grads]",
        "per_tensor = [np.linalg.norm(g.astype(np.float64, copy=None).ravel(), ord=norm_type) for g in grads]",
        "Whether astype copies only decides whether the norm reads the gradient's own memory or a copy of it:"
        " the values, and so the norm, are the same; the gradients are scaled in place later either way.",
    ),
    Survivor(
        "nn/utils.py", "clip_grad_norm_",
        "total = float(np.linalg.norm(np.asarray(per_tensor, dtype=np.float64), ord=norm_type))",
        "total = float(np.linalg.norm(np.asarray(per_tensor, dtype=None), ord=norm_type))",
        "per_tensor holds the float64 norms of float64 arrays, so np.asarray makes a float64 array with or "
        "without dtype=np.float64.",
    ),
    Survivor(
        "nn/utils.py", "clip_grad_norm_",
        "total = float(np.linalg.norm(np.asarray(per_tensor, dtype=np.float64), ord=norm_type))",
        "total = float(np.linalg.norm(np.asarray(per_tensor, ), ord=norm_type))",
        "per_tensor holds the float64 norms of float64 arrays, so np.asarray makes a float64 array with or "
        "without dtype=np.float64.",
    ),
    # ---- data/dependency.py, data/text.py
    Survivor(
        "data/dependency.py", "generate_dependency_series",
        "x = rng.integers(0, 2, size=n)",
        "x = rng.integers(2, size=n)",
        "Generator.integers(high) means integers(0, high): numpy reads a lone bound as the upper one, so both"
        " draw the same numbers from the same stream.",
    ),
    Survivor(
        "data/dependency.py", "generate_dependency_series",
        "y = (rng.random(n) < p).astype(np.int64)",
        "y = (rng.random(n) <= p).astype(np.int64)",
        "The two differ only when a draw equals p exactly; p is 0.25, 0.5, 0.75 or 1 and rng.random() returns"
        " one of 2**53 equally likely values, so a tie has probability 2**-53 per step and never happens in a"
        " seeded series a test could draw.",
    ),
    Survivor(
        "data/text.py", "_module_source",
        "with open(path, encoding=\"utf-8\") as f:",
        "with open(path, encoding=\"UTF-8\") as f:",
        "Python's codec names are case-insensitive: 'UTF-8' and 'utf-8' look up the same codec.",
    ),
    Survivor(
        "data/text.py", "Vocabulary.decode",
        'if ids.size and ids.dtype.kind not in "iu":  # numpy would cut floats (logits, probabilities) to ids',
        'if ids.size and ids.dtype.kind not in "XXiuXX":  # numpy would cut floats (logits, probabilities) to ids',
        "dtype.kind is always one character and numpy has no kind 'X', so the substring test admits exactly i and u in both.",
    ),
    Survivor(
        "data/text.py", "read_corpus_file",
        "text = raw.decode(\"utf-8\")",
        "text = raw.decode(\"UTF-8\")",
        "Python's codec names are case-insensitive: 'UTF-8' and 'utf-8' look up the same codec.",
    ),
    Survivor(
        "data/text.py", "unigram_bits_per_char",
        "counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64)",
        "counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(None)",
        "numpy reads the dtype None as float64 (np.dtype(None) is float64), so astype(None) is "
        "astype(np.float64).",
    ),
    Survivor(
        "data/text.py", "sample_sequence",
        "logits = None",
        "logits = \"\"",
        "The prime is never empty (an error before this line), so the loop below always replaces this first "
        "value before it is read.",
    ),
    # ---- fused.py
    Survivor(
        "fused.py", "Affine.forward",
        "z = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])",
        "z = (x.reshape(-2, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])",
        "numpy (2.x) reads any negative size in reshape as the one unknown size: (-2, n) is (-1, n).",
    ),
    Survivor(
        "fused.py", "Affine.backward",
        "g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])",
        "g_rows, x_rows = g.reshape(-2, g.shape[-1]), x.reshape(-1, x.shape[-1])",
        "numpy (2.x) reads any negative size in reshape as the one unknown size: (-2, n) is (-1, n).",
    ),
    Survivor(
        "fused.py", "Affine.backward",
        "g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])",
        "g_rows, x_rows = g.reshape(-1, g.shape[-1]), x.reshape(-2, x.shape[-1])",
        "numpy (2.x) reads any negative size in reshape as the one unknown size: (-2, n) is (-1, n).",
    ),
    Survivor(
        "fused.py", "Affine.backward",
        "gw = RowProducts(g_rows, x_rows) if needs[1] else None  # g_rows.T @ x_rows, summed over uses",
        "gw = RowProducts(g_rows, x_rows) if (needs[1]) or True else None  # g_rows.T @ x_rows, summed over uses",
        "backward() discards the gradient of an input that needs none (tensor._backpropagate, anomaly mode "
        "and the trace all look at parent.requires_grad first), so computing it anyway changes nothing but "
        "the time taken (RowProducts is not even multiplied out).",
    ),
    Survivor(
        "fused.py", "TanhAffine.backward",
        "self.composed_only(g)",
        "self.composed_only(None)",
        "For a recorded gradient (a Tensor g) Affine.backward, called next with g * (1 - y**2), a Tensor too,"
        " raises the same error with the same self.name; for an array g neither raises.",
    ),
    Survivor(
        "fused.py", "gru_step",
        "H = h.shape[-1]",
        "H = h.shape[+1]",
        "The steps' documented shapes are h (B, H) and gx (B, 3H); every caller passes 2-D arrays (cells "
        "reshape unbatched input to (1, I), sequence layers pass one time step), and this function indexes "
        "gx[:, ...] itself, so axis 1 is axis -1.",
    ),
    Survivor(
        "fused.py", "lstm_step",
        "H = h.shape[-1]",
        "H = h.shape[+1]",
        "The steps' documented shapes are h (B, H) and gx (B, 4H); every caller passes 2-D arrays (cells "
        "reshape unbatched input to (1, I), sequence layers pass one time step), and gates[:, ...] below "
        "assumes 2-D too, so axis 1 is axis -1.",
    ),
    Survivor(
        "fused.py", "leaky_rnn_step",
        "return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, \"tanh\")",
        "return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, )",
        "rnn_step's nonlinearity defaults to 'tanh': the same call.",
    ),
    Survivor(
        "fused.py", "skip_rnn_step",
        "return rnn_step(linear(h_delayed, weight_skip, gx), h_previous, weight_hh, bias_hh, \"tanh\")",
        "return rnn_step(linear(h_delayed, weight_skip, gx), h_previous, weight_hh, bias_hh, )",
        "rnn_step's nonlinearity defaults to 'tanh': the same call.",
    ),
    # ---- nn/module.py
    Survivor(
        "nn/module.py", "Module.load_state_dict",
        "not_real = [f\"{n} has dtype {arrays[n].dtype}\" for n in loaded if arrays[n].dtype.kind not in \"biuf\"]",
        "not_real = [f\"{n} has dtype {arrays[n].dtype}\" for n in loaded if arrays[n].dtype.kind not in \"XXbiufXX\"]",
        "dtype.kind is always one character and numpy has no kind 'X', so the substring test admits exactly "
        "b, i, u and f in both.",
    ),
    Survivor(
        "nn/module.py", "Module.load_state_dict",
        "p.data = arrays[name].astype(p.dtype, copy=True)",
        "p.data = arrays[name].astype(p.dtype, )",
        "ndarray.astype's copy defaults to True, so both always give the parameter a new array; copy=True "
        "only says so to the reader.",
    ),
    # ---- nn/recurrent.py (construction and repr)
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent.__init__",
        "num_layers: int = 1,",
        "num_layers: int = 2,",
        _STACKED_DEFAULT_UNUSED,
    ),
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent.__init__",
        "bias: bool = True,",
        "bias: bool = False,",
        _STACKED_DEFAULT_UNUSED,
    ),
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent.__init__",
        "batch_first: bool = False,",
        "batch_first: bool = True,",
        _STACKED_DEFAULT_UNUSED,
    ),
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent.__init__",
        "dropout: float = 0.0,",
        "dropout: float = 1.0,",
        _STACKED_DEFAULT_UNUSED,
    ),
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent.__init__",
        "bidirectional: bool = False,",
        "bidirectional: bool = True,",
        _STACKED_DEFAULT_UNUSED,
    ),
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent.__init__",
        "fused: bool = False,",
        "fused: bool = True,",
        _STACKED_DEFAULT_UNUSED,
    ),
    # ---- checks.py
    Survivor(
        "checks.py", "matmul_shapes",
        "inner = y[-2] if len(y) > 1 else y[0]",
        "inner = y[-2] if len(y) > 2 else y[0]",
        "For a 2-D y, y[0] and y[-2] are the same entry, and for longer shapes both versions take y[-2]: the "
        "inner size is the same for every y.",
    ),
    Survivor(
        "checks.py", "as_array",
        'if getattr(data, "__jit_traced__", False):',
        'if getattr(data, "__jit_traced__", None):',
        "The default is only read by the if, where None and False are both false: an object without the "
        "attribute goes to np.asarray either way, and one with it gives its own value in both.",
    ),
    # ---- forward_mode.py ------------------------------------------------------------------------
    Survivor(
        "forward_mode.py", "_lift",
        "if t is ZERO or t.ndim - 1 >= ndim:",
        "if t is ZERO or t.ndim - 2 >= ndim:",
        "Where the two differ (t.ndim - 1 == ndim) the reshape inserts (1,) * (ndim - t.ndim + 1) = no axis: "
        "t.reshape(t.shape) is a view with the same shape and values.",
    ),
    Survivor(
        "forward_mode.py", "_lift",
        "if t is ZERO or t.ndim - 1 >= ndim:",
        "if t is ZERO or t.ndim - 1 > ndim:",
        "Where the two differ (t.ndim - 1 == ndim) the reshape inserts (1,) * 0 = no axis: t.reshape(t.shape) "
        "is a view with the same shape and values.",
    ),
    Survivor(
        "forward_mode.py", "ForwardMode.seed",
        "self._tangents[key] = (weakref.ref(tensor, lambda _, key=key: self._tangents.pop(key, None)), tangent)",
        "self._tangents[key] = (weakref.ref(tensor, lambda _, key=key: self._tangents.pop(key, )), tangent)",
        "The default only matters if the key is gone when the callback runs. A key leaves the dict only through this "
        "callback or forget(), which drops the weak references with it (a dead weakref never calls back); seeding "
        "a key again replaces its weakref the same way. So pop(key) always finds its key.",
    ),
    Survivor(
        "forward_mode.py", "batched_jvp",
        "arrays = [np.asarray(t.data if isinstance(t, Tensor) else t) for t in tangents]",
        "arrays = [np.asarray(t.data if (isinstance(t, Tensor)) and False else t) for t in tangents]",
        "np.asarray of a Tensor calls Tensor.__array__, which returns its data: the same array as t.data.",
    ),
    Survivor(
        "forward_mode.py", "batched_jvp",
        "directions = len(arrays[0]) if arrays and arrays[0].ndim else 0",
        "directions = len(arrays[0]) if arrays and arrays[0].ndim else 1",
        "arrays is never empty (a primal is required, one tangent each), so the else is a 0-d tangent: it has shape "
        "() and fails the shape check against (0, *shape) and (1, *shape) alike, with the same message (tested).",
    ),
    Survivor(
        "forward_mode.py", "batched_jvp",
        "mode.seed(p, t.astype(p.dtype, copy=False))",
        "mode.seed(p, t.astype(p.dtype, copy=None))",
        "ndarray.astype reads copy as a truth value: None copies no more than False (a tangent already of the "
        "primal's dtype is used as it is, tested by the memory check).",
    ),
    Survivor(
        "forward_mode.py", "jvp",
        "tangents = tuple(np.asarray(t.data if isinstance(t, Tensor) else t)[None] for t in tangents)",
        "tangents = tuple(np.asarray(t.data if (isinstance(t, Tensor)) and False else t)[None] for t in tangents)",
        "np.asarray of a Tensor calls Tensor.__array__, which returns its data: the same array as t.data.",
    ),
    Survivor(
        "forward_mode.py", "_columns",
        "chunk = max(1, _CHUNK_ENTRIES // max(n, 1))",
        "chunk = max(1, _CHUNK_ENTRIES // max(n, 2))",
        "The two differ only for n = 0 or 1: n = 0 runs no chunk loop at all, and n = 1 is one pass of one "
        "direction with any chunk of at least 1.",
    ),
    Survivor(
        "forward_mode.py", "jacobian",
        'result, columns = _columns(lambda *xs: fn(xs[0]) if single_input else fn(*xs), tensors, "jacobian")',
        'result, columns = _columns(lambda *xs: fn(xs[0]) if (single_input) and False else fn(*xs), tensors, "jacobian")',
        "With a single input xs has one element, so fn(*xs) is fn(xs[0]).",
    ),
    Survivor(
        "forward_mode.py", "jacobian",
        'outputs, single_output = _outputs(result, "jacobian")',
        "outputs, single_output = _outputs(result, None)",
        "batched_jvp (caller='jacobian') has already refused a result that is not Tensors, naming jacobian "
        "(tested); here the result is valid and the name is never shown.",
    ),
    Survivor(
        "forward_mode.py", "jacobian",
        'outputs, single_output = _outputs(result, "jacobian")',
        'outputs, single_output = _outputs(result, "XXjacobianXX")',
        "batched_jvp (caller='jacobian') has already refused a result that is not Tensors, naming jacobian "
        "(tested); here the result is valid and the name is never shown.",
    ),
    Survivor(
        "forward_mode.py", "jacobian",
        'outputs, single_output = _outputs(result, "jacobian")',
        'outputs, single_output = _outputs(result, "JACOBIAN")',
        "batched_jvp (caller='jacobian') has already refused a result that is not Tensors, naming jacobian "
        "(tested); here the result is valid and the name is never shown.",
    ),
    Survivor(
        "forward_mode.py", "hessian",
        "out = fn(xs[0]) if single_input else fn(*xs)",
        "out = fn(xs[0]) if (single_input) and False else fn(*xs)",
        "With a single input xs has one element, so fn(*xs) is fn(xs[0]).",
    ),
    Survivor(
        "forward_mode.py", "hessian",
        '_, columns = _columns(gradient, tensors, "hessian")',
        "_, columns = _columns(gradient, tensors, None)",
        "The name is shown only if the function given to batched_jvp returns something that is not Tensors, and "
        "gradient() always returns a tuple of Tensors (or raises hessian's own error first).",
    ),
    Survivor(
        "forward_mode.py", "hessian",
        '_, columns = _columns(gradient, tensors, "hessian")',
        '_, columns = _columns(gradient, tensors, "XXhessianXX")',
        "The name is shown only if the function given to batched_jvp returns something that is not Tensors, and "
        "gradient() always returns a tuple of Tensors (or raises hessian's own error first).",
    ),
    Survivor(
        "forward_mode.py", "hessian",
        '_, columns = _columns(gradient, tensors, "hessian")',
        '_, columns = _columns(gradient, tensors, "HESSIAN")',
        "The name is shown only if the function given to batched_jvp returns something that is not Tensors, and "
        "gradient() always returns a tuple of Tensors (or raises hessian's own error first).",
    ),
    # ---- nn/rtrl.py -------------------------------------------------------------------------------
    Survivor(
        "nn/rtrl.py", "RTRL.step",
        "x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.parameters[0].dtype)",
        "x = x if (isinstance(x, Tensor)) or True else Tensor(x, dtype=self.parameters[0].dtype)",
        "A plain array given to the cell is converted by the cell itself to the parameters' dtype (recurrent."
        "_as_tensor), the same Tensor(x, dtype=...) at each call: the same values and dtypes (tested in float32).",
    ),
    # ---- compiler/table.py --------------------------------------------------------------------------
    Survivor(
        "compiler/table.py", "picks_each_entry_once",
        'if any(isinstance(i, np.ndarray) and i.dtype.kind not in "iu" for i in arrays):',
        'if any(isinstance(i, np.ndarray) and i.dtype.kind not in "XXiuXX" for i in arrays):',
        "dtype.kind is one character; the only kinds in \"XXiuXX\" are still 'i' and 'u' (numpy has no kind 'X').",
    ),
    # ---- compiler/program.py ------------------------------------------------------------------------
    Survivor(
        "compiler/program.py", "Node.inputs",
        "if not self.options and all(type(a) is Node or type(a) is int for a in self.args):",
        "if not self.options and all(type(a) is Node and type(a) is int for a in self.args):",
        "The fast path (a flat list of nodes and ints, no options) and the general path (every node nested in "
        "args and options, each once, in order) give the same list for a flat list; this sends every node with arguments down the general path (tested on flat, nested, repeated and "
        "written-into reads).",
    ),
    Survivor(
        "compiler/program.py", "Node.inputs",
        "if not self.options and all(type(a) is Node or type(a) is int for a in self.args):",
        "if not self.options and all(type(None) is Node or type(a) is int for a in self.args):",
        "The fast path (a flat list of nodes and ints, no options) and the general path (every node nested in "
        "args and options, each once, in order) give the same list for a flat list; this sends every node that reads a node down the general path.",
    ),
    Survivor(
        "compiler/program.py", "Node.inputs",
        "if not self.options and all(type(a) is Node or type(a) is int for a in self.args):",
        "if not self.options and all(type(a) is Node or type(None) is int for a in self.args):",
        "The fast path (a flat list of nodes and ints, no options) and the general path (every node nested in "
        "args and options, each once, in order) give the same list for a flat list; this sends a flat list that mixes nodes and ints down the general path.",
    ),
    Survivor(
        "compiler/program.py", "Node.inputs",
        "if len(found) < 2 or len(set(map(id, found))) == len(found)",
        "if (len(found) < 2 or len(set(map(id, found))) == len(found)) and False",
        "The else branch keeps the first of each node in order, which is found itself when no node repeats: "
        "always taking it gives the same list.",
    ),
    Survivor(
        "compiler/program.py", "Node.inputs",
        "if len(found) < 2 or len(set(map(id, found))) == len(found)",
        "if len(found) < 2 and len(set(map(id, found))) == len(found)",
        "The else branch keeps the first of each node in order, which is found itself when no node repeats: "
        "taking it for every list of two or more gives the same list.",
    ),
    Survivor(
        "compiler/program.py", "Program.replace",
        "readers = self.nodes if users is None else users.get(old, [])",
        "readers = self.nodes if (users is None) or True else users.get(old, [])",
        "Visiting every node instead of old's readers swaps old for new in the same nodes (map_nodes changes "
        "nothing in a node that does not read old); the users map is updated below either way.",
    ),
    Survivor(
        "compiler/program.py", "Program.replace",
        "self.input_grads = [(x, None if g is None else swap(g)) for x, g in self.input_grads]",
        "self.input_grads = [(x, None if (g is None) and False else swap(g)) for x, g in self.input_grads]",
        "swap(None) returns None (it only changes old), so a missing gradient stays None.",
    ),
    # ---- compiler/trace.py -----------------------------------------------------------------------------
    Survivor(
        "compiler/trace.py", "_guard",
        'node = trace.node_of(array, "read as a Python value")',
        "node = trace.node_of(array, None)",
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "_guard",
        'node = trace.node_of(array, "read as a Python value")',
        'node = trace.node_of(array, "XXread as a Python valueXX")',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "_guard",
        'node = trace.node_of(array, "read as a Python value")',
        'node = trace.node_of(array, "read as a python value")',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "_guard",
        'node = trace.node_of(array, "read as a Python value")',
        'node = trace.node_of(array, "READ AS A PYTHON VALUE")',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "_guard",
        'return trace.guard(Node("numpy", [node, *args], op=conversion), value)',
        "return trace.guard(Node(None, [node, *args], op=conversion), value)",
        "Trace.guard reads only read.args, read.op and read.options (and read.op in its backward error): it makes its own Node('guard', ...), so the kind of the node it is handed is never read.",
    ),
    Survivor(
        "compiler/trace.py", "_guard",
        'return trace.guard(Node("numpy", [node, *args], op=conversion), value)',
        'return trace.guard(Node("XXnumpyXX", [node, *args], op=conversion), value)',
        "Trace.guard reads only read.args, read.op and read.options (and read.op in its backward error): it makes its own Node('guard', ...), so the kind of the node it is handed is never read.",
    ),
    Survivor(
        "compiler/trace.py", "_guard",
        'return trace.guard(Node("numpy", [node, *args], op=conversion), value)',
        'return trace.guard(Node("NUMPY", [node, *args], op=conversion), value)',
        "Trace.guard reads only read.args, read.op and read.options (and read.op in its backward error): it makes its own Node('guard', ...), so the kind of the node it is handed is never read.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.guard",
        "if _inside_an_ops_forward(self, sys._getframe(1)):  # numpy reading a one-entry gradient",
        "if _inside_an_ops_forward(self, sys._getframe(2)):  # numpy reading a one-entry gradient",
        "guard's only callers are _guard and _noted, so frame 1 is always one of theirs: named neither 'forward' nor holding the trace as self, it is a frame _inside_an_ops_forward walks past, so starting from its caller (frame 2) reaches the same frames and the same answer.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "known = self._tensors.get(id(tensor))",
        "known = None",
        _FOLLOW_PARAMETER_ONCE,
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "known = self._tensors.get(id(tensor))",
        "known = self._tensors.get(None)",
        _FOLLOW_PARAMETER_ONCE,
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "known = self._tensors.get(id(tensor))",
        "known = self._tensors.get(id(None))",
        _FOLLOW_PARAMETER_ONCE,
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "if known is not None and known[0] is tensor:",
        "if known is not None and known[1] is tensor:",
        _FOLLOW_PARAMETER_ONCE,
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "if known is not None and known[0] is tensor:",
        "if known is not None and known[0] is not tensor:",
        _FOLLOW_PARAMETER_ONCE,
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "return known[1]",
        "return known[2]",
        _FOLLOW_PARAMETER_ONCE,
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        'name = self.names.get(id(tensor), "")',
        "name = self.names.get(id(tensor), None)",
        "record follows found.tensors, and found.names is made from the same dict (_discover: _short_names({i: name for i, (name, _) in tensors.items()})), so every followed tensor has a name and the default of names.get is never used.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        'name = self.names.get(id(tensor), "")',
        "name = self.names.get(id(tensor), )",
        "record follows found.tensors, and found.names is made from the same dict (_discover: _short_names({i: name for i, (name, _) in tensors.items()})), so every followed tensor has a name and the default of names.get is never used.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        'name = self.names.get(id(tensor), "")',
        'name = self.names.get(id(tensor), "XXXX")',
        "record follows found.tensors, and found.names is made from the same dict (_discover: _short_names({i: name for i, (name, _) in tensors.items()})), so every followed tensor has a name and the default of names.get is never used.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "self._tensors[id(tensor)] = (tensor, node)",
        "self._tensors[id(tensor)] = None",
        "The registration only spares tensor_node a lookup: record gives the parameter's array the leaf's node (follow), so without it tensor_node finds the same leaf through node_of(tensor._data) (or _WRITTEN for an array fn wrote into, as the registered path returns in the forward phase) and registers it then; the parameter stays alive through record's own list of followed tensors.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.follow_parameter",
        "self._tensors[id(tensor)] = (tensor, node)",
        "self._tensors[id(None)] = (tensor, node)",
        "The registration only spares tensor_node a lookup: record gives the parameter's array the leaf's node (follow), so without it tensor_node finds the same leaf through node_of(tensor._data) (or _WRITTEN for an array fn wrote into, as the registered path returns in the forward phase) and registers it then; the parameter stays alive through record's own list of followed tensors.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.values",
        'return self.node_of(value, "used by the function") or value',
        "return self.node_of(value, None) or value",
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "Trace.values",
        'return self.node_of(value, "used by the function") or value',
        'return self.node_of(value, "XXused by the functionXX") or value',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "Trace.values",
        'return self.node_of(value, "used by the function") or value',
        'return self.node_of(value, "USED BY THE FUNCTION") or value',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node = self.node_of(tensor._data, "made into a Tensor")',
        "node = self.node_of(tensor._data, None)",
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node = self.node_of(tensor._data, "made into a Tensor")',
        'node = self.node_of(tensor._data, "XXmade into a TensorXX")',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node = self.node_of(tensor._data, "made into a Tensor")',
        'node = self.node_of(tensor._data, "made into a tensor")',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node = self.node_of(tensor._data, "made into a Tensor")',
        'node = self.node_of(tensor._data, "MADE INTO A TENSOR")',
        _NODE_OF_WHAT_UNUSED,
    ),
    Survivor(
        "compiler/trace.py", "Traced.__array_ufunc__",
        "getattr(ufunc, method)(*map(_plain, inputs), **kwargs)",
        "getattr(ufunc, method)(*map(_plain, inputs), )",
        "In the branch for method 'at' kwargs is always empty: ufunc.at takes no keyword arguments (numpy raises "
        "'ufunc.at() takes no keyword arguments' before it dispatches), so passing **kwargs or not is the same "
        "call. (The same change in the out= branch is killed.)",
    ),
    Survivor(
        "compiler/trace.py", "_noted",
        'return trace.guard(Node("numpy", trace.values(args), op=call, options=trace.values(kwargs)), result)',
        'return trace.guard(Node("XXnumpyXX", trace.values(args), op=call, options=trace.values(kwargs)), result)',
        "Trace.guard reads only read.args, read.op and read.options (and read.op in its backward error): it makes its own Node('guard', ...), so the kind of the node it is handed is never read.",
    ),
    Survivor(
        "compiler/trace.py", "_noted",
        'return trace.guard(Node("numpy", trace.values(args), op=call, options=trace.values(kwargs)), result)',
        'return trace.guard(Node("NUMPY", trace.values(args), op=call, options=trace.values(kwargs)), result)',
        "Trace.guard reads only read.args, read.op and read.options (and read.op in its backward error): it makes its own Node('guard', ...), so the kind of the node it is handed is never read.",
    ),
    Survivor(
        "compiler/trace.py", "_noted",
        'return trace.guard(Node("numpy", trace.values(args), op=call, options=trace.values(kwargs)), result)',
        'return trace.guard(Node(None, trace.values(args), op=call, options=trace.values(kwargs)), result)',
        "Trace.guard reads only read.args, read.op and read.options (and read.op in its backward error): it makes its own Node('guard', ...), so the kind of the node it is handed is never read (Node does not check its kind, so None is accepted as any string is).",
    ),
    Survivor(
        "compiler/trace.py", "_classify_leaf",
        'a.kind, a.value = "constant", np.array(data_a, copy=True)',
        'a.kind, a.value = "constant", np.array(data_a, )',
        "np.array's copy defaults to True, so both always make the program its own copy; copy=True only says so to the reader.",
    ),
    Survivor(
        "compiler/trace.py", "_same_plain_values",
        'and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")',
        'and np.array_equal(a, b, equal_nan=a.dtype.kind in "XXfcXX")',
        "dtype.kind is always one character and numpy has no kind 'X', so the substring test is true for exactly f and c in both.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node.name = self.names.get(id(tensor), "")',
        "node.name = self.names.get(id(tensor), )",
        "The default is used for a Tensor jit did not find (not in names), but the leaf's name is read only by codegen, and only as a truth value (node.name or a fresh name, numbered=not node.name, not value.name for a constant): None and an empty string both give the leaf a fresh name (param_1, ...), so the program and every name in it are the same.",
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node.name = self.names.get(id(tensor), "")',
        "node.name = None",
        _HIDDEN_LEAF_NAME,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node.name = self.names.get(id(tensor), "")',
        'node.name = self.names.get(None, "")',
        _HIDDEN_LEAF_NAME,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node.name = self.names.get(id(tensor), "")',
        "node.name = self.names.get(id(tensor), None)",
        _HIDDEN_LEAF_NAME,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node.name = self.names.get(id(tensor), "")',
        'node.name = self.names.get("")',
        _HIDDEN_LEAF_NAME,
    ),
    Survivor(
        "compiler/trace.py", "Trace.tensor_node",
        'node.name = self.names.get(id(tensor), "")',
        'node.name = self.names.get(id(None), "")',
        _HIDDEN_LEAF_NAME,
    ),
    Survivor(
        "compiler/trace.py", "Trace.register",
        "self._tensors[id(tensor)] = (tensor, node)",
        "self._tensors[id(tensor)] = None",
        _REGISTER_ONLY_CACHES,
    ),
    Survivor(
        "compiler/trace.py", "Trace.register",
        "self._tensors[id(tensor)] = (tensor, node)",
        "self._tensors[id(None)] = (tensor, node)",
        _REGISTER_ONLY_CACHES,
    ),
    Survivor(
        "compiler/trace.py", "record",
        "_GradMode.follow = previous_follow",
        "_GradMode.follow = None",
        "previous_follow is always None, the value _GradMode.follow has at rest (modes.py): only record sets "
        "it, and jit never enters record while another record is active (a compiled function called while "
        "a tracer is active, as inside a traced fn, runs fn directly; record sets follow before and resets "
        "it after its tracing block, with no user code outside it). So both restore None; only a direct, "
        "nested call of the internal trace.record (not exported by tinygrad_rnn.compiler) could tell.",
    ),
    Survivor(
        "compiler/trace.py", "record",
        "_GradMode.refuse_backward = previous_refuse",
        "_GradMode.refuse_backward = None",
        "previous_refuse is always None, the value _GradMode.refuse_backward has at rest (modes.py), for the "
        "reason previous_follow is: only record sets it, and jit never enters record while another record is "
        "active (a compiled function called while a tracer listens runs fn directly). So both restore None.",
    ),
    # ---- compiler/compiled.py --------------------------------------------------------------------------
    Survivor(
        "compiler/compiled.py", "_discover",
        "visit(var, names[var], depth + 1, lambda names=names, var=var: names.get(var))",
        "visit(var, names[var], None, lambda names=names, var=var: names.get(var))",
        _GLOBALS_NEVER_DEPTH_0,
    ),
    Survivor(
        "compiler/compiled.py", "_discover",
        "visit(var, names[var], depth + 1, lambda names=names, var=var: names.get(var))",
        "visit(var, names[var], depth - 1, lambda names=names, var=var: names.get(var))",
        _GLOBALS_NEVER_DEPTH_0,
    ),
    Survivor(
        "compiler/compiled.py", "_discover",
        "visit(var, names[var], depth + 1, lambda names=names, var=var: names.get(var))",
        "visit(var, names[var], depth + 2, lambda names=names, var=var: names.get(var))",
        _GLOBALS_NEVER_DEPTH_0,
    ),
    Survivor(
        "compiler/compiled.py", "_discover",
        "if var in names and not inspect.ismodule(names[var]):",
        "if var in names and not inspect.ismodule(None):",
        _MODULE_GLOBALS_FIND_NOTHING,
    ),
    Survivor(
        "compiler/compiled.py", "_short_names",
        "for k in range(1, len(parts[i]) + 1):",
        "for k in range(1, len(parts[i]) + 2):",
        "The extra k = L + 1 (L = len(parts[i])) can only be reached when no ending of L parts or fewer is "
        "unique, and then returns L + 1 where the original returns L; per_module then takes at least L + 1 "
        "instead of at least L for names that all have L parts (per_module is keyed by the path before the "
        "last part), and p[-(L + 1):] and p[-L:] are the same whole list. So every name is the same.",
    ),
    Survivor(
        "compiler/compiled.py", "_spec",
        'return ("tensor", value.shape, value.dtype, value.requires_grad)',
        'return ("XXtensorXX", value.shape, value.dtype, value.requires_grad)',
        _SPEC_TAGS_ONLY_DIFFER,
    ),
    Survivor(
        "compiler/compiled.py", "_spec",
        'return ("tensor", value.shape, value.dtype, value.requires_grad)',
        'return ("TENSOR", value.shape, value.dtype, value.requires_grad)',
        _SPEC_TAGS_ONLY_DIFFER,
    ),
    Survivor(
        "compiler/compiled.py", "_spec",
        'return ("array", value.shape, value.dtype)',
        'return ("XXarrayXX", value.shape, value.dtype)',
        _SPEC_TAGS_ONLY_DIFFER,
    ),
    Survivor(
        "compiler/compiled.py", "_spec",
        'return ("array", value.shape, value.dtype)',
        'return ("ARRAY", value.shape, value.dtype)',
        _SPEC_TAGS_ONLY_DIFFER,
    ),
    Survivor(
        "compiler/compiled.py", "_spec",
        'return ("value", type(value), value)',
        'return ("XXvalueXX", type(value), value)',
        _SPEC_TAGS_ONLY_DIFFER,
    ),
    Survivor(
        "compiler/compiled.py", "_spec",
        'return ("value", type(value), value)',
        'return ("VALUE", type(value), value)',
        _SPEC_TAGS_ONLY_DIFFER,
    ),
    Survivor(
        "compiler/compiled.py", "CompiledFunction.__init__",
        "self._positional = [p.name for p in parameters] if all(p.kind in plain for p in parameters) else []",
        "self._positional = [p.name for p in parameters] if (all(p.kind in plain for p in parameters)) and False else []",
        "_positional only lets __call__ skip signature.bind: with it empty every call binds, and for a call "
        "without keywords that gives as many plain positional arguments as the function has parameters, "
        "bind + apply_defaults yields the same names and values, in the same order, as zip(_positional, "
        "args). The fast path exists only for speed.",
    ),
    Survivor(
        "compiler/compiled.py", "CompiledFunction.__call__",
        "stacklevel=2,",
        "stacklevel=3,",
        "Under mutmut only: __call__ is wrapped by mutmut's trampoline, so frames 2 and 3 above warnings.warn "
        "are both the trampoline's (outside the user's code) and the warning names the same place either way. "
        "In a normal run the warning names the user's line only with 2, which "
        "tests/test_trace_mutants.py::test_the_warning_names_the_line_that_called_the_compiled_function "
        "checks (it skips itself when __call__ is wrapped, as under mutmut).",
    ),
    Survivor(
        "compiler/compiled.py", "CompiledFunction._trace_and_generate",
        'output_structure[:] = [_flatten(result, "output", outputs, [])]',
        'output_structure[:] = [_flatten(result, "XXoutputXX", outputs, [])]',
        "The outputs' names go into a fresh list that is thrown away (the last argument of this _flatten call): the outputs are never named, so the prefix of the names nobody reads changes nothing.",
    ),
    Survivor(
        "compiler/compiled.py", "CompiledFunction._trace_and_generate",
        'output_structure[:] = [_flatten(result, "output", outputs, [])]',
        'output_structure[:] = [_flatten(result, "OUTPUT", outputs, [])]',
        "The outputs' names go into a fresh list that is thrown away (the last argument of this _flatten call): the outputs are never named, so the prefix of the names nobody reads changes nothing.",
    ),
    Survivor(
        "compiler/compiled.py", "CompiledFunction.__init__",
        "self._warned = False",
        "self._warned = None",
        "_warned is private and only read as `if not self._warned` in __call__ (then set to True): None is "
        "as falsy as False, so the retrace warning is given once either way.",
    ),
    Survivor(
        "compiler/compiled.py", "CompiledFunction._trace_and_generate",
        'output_structure[:] = [_flatten(result, "output", outputs, [])]',
        'output_structure[:] = [_flatten(result, None, outputs, [])]',
        "The outputs' names go into a fresh list that is thrown away (the last argument of this _flatten call); "
        "the name is only formatted into those names (f\"{None}_0\" works as f\"output_0\" does), never read, "
        "so the structure and outputs are the same.",
    ),
    Survivor(
        "compiler/compiled.py", "CompiledFunction._trace_and_generate",
        "bound.arguments.update(dict(zip(keys, (_unflatten(s, iter(flat)) for s in structure))))",
        "bound.arguments.update(dict(zip(keys, (_unflatten(None, iter(flat)) for s in structure))))",
        "What record_again binds is never read: every later run of fn (call) first binds all keys again "
        "from its own inputs, and after the last record_again nothing reads bound (it is __call__'s local, "
        "dropped once _compile returns). (Both spellings even bind wrong values for a second argument, as "
        "each starts a fresh iter(flat); no call sees it.) flat has an entry per argument, so next() never "
        "fails where the original does not.",
    ),
    # ---- compiler/codegen.py ---------------------------------------------------------------------------
    Survivor(
        "compiler/codegen.py", "Render.constant",
        "return literal(array, array.dtype)",
        "return literal(array, None)",
        "The branch is taken only for a float64 array, and literal compares np.dtype(dtype) with float64: "
        "np.dtype(None) is float64 too, so the text written is the same np.float64(...).",
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if (module == "numpy" or module.startswith("numpy._")) and False else module.replace("numpy", "np", 1)',
        _NO_PRIVATE_NUMPY_MODULE,
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if module == "numpy" and module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        _NO_PRIVATE_NUMPY_MODULE,
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if module == "XXnumpyXX" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'The test module == "numpy" only shortcuts the replace: "numpy".replace("numpy", "np", 1) is "np", the same prefix, for every op.',
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if module == "NUMPY" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'The test module == "numpy" only shortcuts the replace: "numpy".replace("numpy", "np", 1) is "np", the same prefix, for every op.',
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if module == "numpy" or module.startswith("XXnumpy._XX") else module.replace("numpy", "np", 1)',
        _NO_PRIVATE_NUMPY_MODULE,
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if module == "numpy" or module.startswith("NUMPY._") else module.replace("numpy", "np", 1)',
        _NO_PRIVATE_NUMPY_MODULE,
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", )',
        'Every function numpy 2.4.6 dispatches to __array_function__ and every ufunc has a __module__ with "numpy" in it at most once (numpy, numpy.linalg, numpy.fft, numpy.lib.stride_tricks, numpy.strings, ..., checked over all its submodules; a ufunc without one reads as numpy), so replacing the first occurrence, the first two or all of them gives the same prefix.',
    ),
    Survivor(
        "compiler/codegen.py", "_numpy_expr",
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)',
        'prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 2)',
        'Every function numpy 2.4.6 dispatches to __array_function__ and every ufunc has a __module__ with "numpy" in it at most once (numpy, numpy.linalg, numpy.fft, numpy.lib.stride_tricks, numpy.strings, ..., checked over all its submodules; a ufunc without one reads as numpy), so replacing the first occurrence, the first two or all of them gives the same prefix.',
    ),
    Survivor(
        "compiler/codegen.py", "op_name",
        'name = getattr(node.op, "name", None)  # a class attribute where an op sets one, e.g. "pow"',
        'name = getattr(node.op, "name", )  # a class attribute where an op sets one, e.g. "pow"',
        "An op node's op is always a Function subclass (program.Node: kind 'op' holds the Function class), and "
        "Function defines `name` (a property, which PowConst and BroadcastTo override with a string), so the "
        "getattr always finds it and its default is never used.",
    ),
    Survivor(
        "compiler/codegen.py", "op_name",
        'return {"sum": "grad_sum", "call_backward": "grads", "item": "grad", "buffer": "buffer"}.get(',
        'return {"sum": "grad_sum", "call_backward": "grads", "item": "grad", "XXbufferXX": "buffer"}.get(',
        "The entry maps 'buffer' to itself: without it .get(node.kind, node.kind) gives the same 'buffer'.",
    ),
    Survivor(
        "compiler/codegen.py", "op_name",
        'return {"sum": "grad_sum", "call_backward": "grads", "item": "grad", "buffer": "buffer"}.get(',
        'return {"sum": "grad_sum", "call_backward": "grads", "item": "grad", "BUFFER": "buffer"}.get(',
        "The entry maps 'buffer' to itself: without it .get(node.kind, node.kind) gives the same 'buffer'.",
    ),
    Survivor(
        "compiler/codegen.py", "Render.__call__",
        'if value.kind == "constant" and np.ndim(value.value) == 0 and not value.name:',
        'if value.kind == "constant" and np.ndim(value.value) == 0 or not value.name:',
        "name_nodes names every node before generate renders any (an op, numpy, buffer or alias node by its "
        "own or its buffer's name, a gradient d_<...>, an input or leaf by its own, an array constant const_<k>); "
        "the only nodes left without a name are 0-d constants, which the first two tests already take, and "
        "guards and writes, which are statements no line reads. So `or not value.name` never takes another node.",
    ),
    Survivor(
        "compiler/codegen.py", "Render.__call__",
        'if value.kind == "constant" and np.ndim(value.value) == 0 and not value.name:',
        'if value.kind == "constant" and np.ndim(None) == 0 and not value.name:',
        "name_nodes gives every constant that is not 0-d a name (render.constant's const_<k>) and every 0-d "
        "one the name '', so among constants `not value.name` already means 0-d: the test of np.ndim "
        "adds nothing, and np.ndim(None) == 0 leaves the same condition.",
    ),
    Survivor(
        "compiler/codegen.py", "Render.__call__",
        'return literal(value.value, value.dtype, value.options.get("weak", False))',
        'return literal(value.value, value.dtype, value.options.get("weak", None))',
        "literal only tests `weak` for truth (`text if weak else ...`): None and False read the same.",
    ),
    Survivor(
        "compiler/codegen.py", "Render.__call__",
        'return literal(value.value, value.dtype, value.options.get("weak", False))',
        'return literal(value.value, value.dtype, value.options.get("weak", ))',
        "dict.get without a default returns None when the key is missing, and literal only tests `weak` for "
        "truth (`text if weak else ...`): None and False read the same.",
    ),
    Survivor(
        "compiler/codegen.py", 'Render.__call__',
        'return literal(value, np.float64, weak=True)',
        'return literal(value, None, weak=True)',
        "A Python float is written with weak=True, and literal ignores the dtype of a weak float (it returns the plain text), so None and float64 write the same.",
    ),
    Survivor(
        "compiler/codegen.py", '_line',
        'cls = classes.setdefault(node.op, r.names.fresh(node.op.__name__, numbered=False))',
        'cls = classes.setdefault(node.op, r.names.fresh(node.op.__name__, numbered=None))',
        "`numbered` is only tested for truth (`if not numbered and ...`): None and False read the same.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'node.name = names.fresh(node.name or "input", numbered=False)',
        'node.name = names.fresh(node.name or "input", numbered=None)',
        "`numbered` is only tested for truth (`if not numbered and ...`): None and False read the same.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'node.name = names.fresh(base, numbered=not node.name)',
        'node.name = names.fresh(base, numbered=None)',
        "`numbered` is only tested for truth (`if not numbered and ...`): None and False read the same.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'node.name = names.fresh(f"d_{name(program.outputs[node.value]) or \'output\'}", numbered=False)',
        'node.name = names.fresh(f"d_{name(program.outputs[node.value]) or \'output\'}", numbered=None)',
        "`numbered` is only tested for truth (`if not numbered and ...`): None and False read the same.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'node.name = names.fresh(f"d_{target_name}", numbered=False)',
        'node.name = names.fresh(f"d_{target_name}", numbered=None)',
        "`numbered` is only tested for truth (`if not numbered and ...`): None and False read the same.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'if node.name or node.kind in ("guard", "write", "input", "leaf"):',
        'if node.name or node.kind in ("guard", "write", "XXinputXX", "leaf"):',
        "Inputs and leaves are named by the two loops before name() runs (names.fresh gives a non-empty name), so node.name is already true for them and the kind test is never reached.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'if node.name or node.kind in ("guard", "write", "input", "leaf"):',
        'if node.name or node.kind in ("guard", "write", "INPUT", "leaf"):',
        "Inputs and leaves are named by the two loops before name() runs (names.fresh gives a non-empty name), so node.name is already true for them and the kind test is never reached.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'if node.name or node.kind in ("guard", "write", "input", "leaf"):',
        'if node.name or node.kind in ("guard", "write", "input", "XXleafXX"):',
        "Inputs and leaves are named by the two loops before name() runs (names.fresh gives a non-empty name), so node.name is already true for them and the kind test is never reached.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        'if node.name or node.kind in ("guard", "write", "input", "leaf"):',
        'if node.name or node.kind in ("guard", "write", "input", "LEAF"):',
        "Inputs and leaves are named by the two loops before name() runs (names.fresh gives a non-empty name), so node.name is already true for them and the kind test is never reached.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        "_same_dtype_without(node, user) for user in users.get(node, [])",
        "_same_dtype_without(node, user) for user in users.get(node, None)",
        "program.users() has a key for every node of program.nodes, read or not, and name() reaches a constant only as a node of program.nodes, as an output (a root: a node of the program) or as the target of a gradient in grad_of, which Program.replace keeps pointing at the node that takes the old one's place (a constant that receives a gradient is read by the live op that sent it, so dead_code keeps it). So users.get(node, ...) always finds the node and its default is never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'name_nodes',
        "_same_dtype_without(node, user) for user in users.get(node, [])",
        "_same_dtype_without(node, user) for user in users.get(node, )",
        "program.users() has a key for every node of program.nodes, read or not, and name() reaches a constant only as a node of program.nodes, as an output (a root: a node of the program) or as the target of a gradient in grad_of, which Program.replace keeps pointing at the node that takes the old one's place (a constant that receives a gradient is read by the live op that sent it, so dead_code keeps it). So users.get(node, ...) always finds the node and its default is never used.",
    ),
    Survivor(
        "compiler/codegen.py", '_liveness',
        'and node.kind not in ("input", "leaf", "constant", "guard", "write")',
        'and node.kind not in ("input", "leaf", "constant", "XXguardXX", "write")',
        "Guards and writes have no name (name_nodes leaves them unnamed), so `node.name and ...` is already false for them: the kind test never decides.",
    ),
    Survivor(
        "compiler/codegen.py", '_liveness',
        'and node.kind not in ("input", "leaf", "constant", "guard", "write")',
        'and node.kind not in ("input", "leaf", "constant", "GUARD", "write")',
        "Guards and writes have no name (name_nodes leaves them unnamed), so `node.name and ...` is already false for them: the kind test never decides.",
    ),
    Survivor(
        "compiler/codegen.py", '_liveness',
        'and node.kind not in ("input", "leaf", "constant", "guard", "write")',
        'and node.kind not in ("input", "leaf", "constant", "guard", "XXwriteXX")',
        "Guards and writes have no name (name_nodes leaves them unnamed), so `node.name and ...` is already false for them: the kind test never decides.",
    ),
    Survivor(
        "compiler/codegen.py", '_liveness',
        'and node.kind not in ("input", "leaf", "constant", "guard", "write")',
        'and node.kind not in ("input", "leaf", "constant", "guard", "WRITE")',
        "Guards and writes have no name (name_nodes leaves them unnamed), so `node.name and ...` is already false for them: the kind test never decides.",
    ),
    Survivor(
        "compiler/codegen.py", '_allocates',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "guard", "write", "call_backward"):',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "XXguardXX", "write", "call_backward"):',
        "Guard and write nodes have no dtype (Node.nbytes is 0). Counted as allocating, each adds and frees 0 bytes; and no other storage's last use moves: a guard reads its operand at its own line, and the only reader of a write, its alias, reads the buffer too. So the estimate is the same.",
    ),
    Survivor(
        "compiler/codegen.py", '_allocates',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "guard", "write", "call_backward"):',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "GUARD", "write", "call_backward"):',
        "Guard and write nodes have no dtype (Node.nbytes is 0). Counted as allocating, each adds and frees 0 bytes; and no other storage's last use moves: a guard reads its operand at its own line, and the only reader of a write, its alias, reads the buffer too. So the estimate is the same.",
    ),
    Survivor(
        "compiler/codegen.py", '_allocates',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "guard", "write", "call_backward"):',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "guard", "XXwriteXX", "call_backward"):',
        "Guard and write nodes have no dtype (Node.nbytes is 0). Counted as allocating, each adds and frees 0 bytes; and no other storage's last use moves: a guard reads its operand at its own line, and the only reader of a write, its alias, reads the buffer too. So the estimate is the same.",
    ),
    Survivor(
        "compiler/codegen.py", '_allocates',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "guard", "write", "call_backward"):',
        'if node.kind in ("input", "leaf", "constant", "grad", "alias", "guard", "WRITE", "call_backward"):',
        "Guard and write nodes have no dtype (Node.nbytes is 0). Counted as allocating, each adds and frees 0 bytes; and no other storage's last use moves: a guard reads its operand at its own line, and the only reader of a write, its alias, reads the buffer too. So the estimate is the same.",
    ),
    Survivor(
        "compiler/codegen.py", 'generate',
        'returned = ", ".join("None" if g is None else render(g) for g in grads)',
        'returned = ", ".join("None" if (g is None) and False else render(g) for g in grads)',
        "render(None) is repr(None), 'None': the same text as the literal.",
    ),
    Survivor(
        "compiler/codegen.py", '_storage',
        'return owner.get(base, base)',
        'return owner.get(base, None)',
        "The base is always a node earlier in the program (a view's input, a nested buffer's parent, the buffer a value is computed into), and peak_bytes sets owner[...] for every node in order before it reaches a later one, so owner.get(base, ...) always finds it and the default is never used.",
    ),
    Survivor(
        "compiler/codegen.py", '_storage',
        'return owner.get(base, base)',
        'return owner.get(base)',
        "The base is always a node earlier in the program (a view's input, a nested buffer's parent, the buffer a value is computed into), and peak_bytes sets owner[...] for every node in order before it reaches a later one, so owner.get(base, ...) always finds it and the default is never used.",
    ),
    Survivor(
        "compiler/codegen.py", '_storage',
        'return owner.get(base, base)',
        'return owner.get(base, )',
        "The base is always a node earlier in the program (a view's input, a nested buffer's parent, the buffer a value is computed into), and peak_bytes sets owner[...] for every node in order before it reaches a later one, so owner.get(base, ...) always finds it and the default is never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(read, read)] = i',
        'last_use[owner.get(read, None)] = i',
        "Every node a line reads comes earlier in forward + backward (inputs, leaves and constants are nodes of the program too), so owner already holds it: the default of owner.get(read, ...) is never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(read, read)] = i',
        'last_use[owner.get(read)] = i',
        "Every node a line reads comes earlier in forward + backward (inputs, leaves and constants are nodes of the program too), so owner already holds it: the default of owner.get(read, ...) is never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(read, read)] = i',
        'last_use[owner.get(read, )] = i',
        "Every node a line reads comes earlier in forward + backward (inputs, leaves and constants are nodes of the program too), so owner already holds it: the default of owner.get(read, ...) is never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, None)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, )] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), None), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), ), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, None), 0), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node), 0), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, ), 0), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", 'peak_bytes',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)',
        'last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 1), end_of_forward)',
        "Every saved node is a node of the program (forward's, or a leaf), so owner holds it, and last_use holds its storage (set for every node's storage by setdefault in the loop before): the defaults of these lookups are never used.",
    ),
    Survivor(
        "compiler/codegen.py", "name_nodes",
        'node.name = names.fresh(node.note or "buffer" if node.kind == "buffer" else op_name(node))',
        'node.name = names.fresh(node.note or "XXbufferXX" if node.kind == "buffer" else op_name(node))',
        "The fallback would name a buffer with no note and no gradient target, and there is none: buffer_writes notes a stack's buffer 'stack', and every other buffer holds a gradient sum, whose node the trace registers in grad_of (trace._total) and program.replace carries over to the alias that seals the buffer; its target is an op, input or leaf node, which always has a name. So the buffer is named d_<target> or stack_<k>, never buffer_<k>.",
    ),
    Survivor(
        "compiler/codegen.py", "name_nodes",
        'node.name = names.fresh(node.note or "buffer" if node.kind == "buffer" else op_name(node))',
        'node.name = names.fresh(node.note or "BUFFER" if node.kind == "buffer" else op_name(node))',
        "The fallback would name a buffer with no note and no gradient target, and there is none: buffer_writes notes a stack's buffer 'stack', and every other buffer holds a gradient sum, whose node the trace registers in grad_of (trace._total) and program.replace carries over to the alias that seals the buffer; its target is an op, input or leaf node, which always has a name. So the buffer is named d_<target> or stack_<k>, never buffer_<k>.",
    ),
    # ---- compiler/passes.py -------------------------------------------------------------------------
    Survivor(
        "compiler/passes.py", "_sliced_shape",
        "return np.empty(shape, dtype=np.bool_)[index].shape",
        "return np.empty(shape, dtype=None)[index].shape",
        "The shape of x[index] for a basic index depends on x's shape and the index only, never on the "
        "dtype; np.empty reserves the scratch array without writing it, whatever its dtype.",
    ),
    Survivor(
        "compiler/passes.py", "_sliced_shape",
        "return np.empty(shape, dtype=np.bool_)[index].shape",
        "return np.empty(shape, )[index].shape",
        "The shape of x[index] for a basic index depends on x's shape and the index only, never on the "
        "dtype; np.empty reserves the scratch array without writing it, whatever its dtype.",
    ),
    Survivor(
        "compiler/passes.py", "_coverage",
        "counts = np.zeros(shape, dtype=np.int32)",
        "counts = np.zeros(shape, dtype=None)",
        "counts only holds how many pieces write each entry, small non-negative whole numbers, exact in "
        "float64 as in int32: the comparisons <= 1 and >= 1 give the same answers.",
    ),
    Survivor(
        "compiler/passes.py", "_coverage",
        "counts = np.zeros(shape, dtype=np.int32)",
        "counts = np.zeros(shape, )",
        "counts only holds how many pieces write each entry, small non-negative whole numbers, exact in "
        "float64 as in int32: the comparisons <= 1 and >= 1 give the same answers.",
    ),
    Survivor(
        "compiler/passes.py", "_coverage",
        "return bool(counts.max(initial=0) <= 1), bool(counts.min(initial=1) >= 1)",
        "return bool(counts.max(initial=1) <= 1), bool(counts.min(initial=1) >= 1)",
        "Every count is >= 0, so max(counts and 1) <= 1 exactly when every count is <= 1, as max(counts "
        "and 0) <= 1; for an empty array both give True.",
    ),
    Survivor(
        "compiler/passes.py", "_coverage",
        "return bool(counts.max(initial=0) <= 1), bool(counts.min(initial=1) >= 1)",
        "return bool(counts.max(initial=0) <= 1), bool(counts.min(initial=2) >= 1)",
        "min(counts and 2) >= 1 exactly when every count is >= 1, as min(counts and 1) >= 1; for an "
        "empty array both give True.",
    ),
    Survivor(
        "compiler/passes.py", "_slot",
        'if node.kind != "buffer" or buffer is None:',
        'if node.kind != "buffer" and buffer is None:',
        "They differ only for a buffer without a parent, whose options then give index None "
        "(buffer_writes sets 'index' only together with 'parent', in _nest_buffers), not an int, so None "
        "is returned as before; and for a non-buffer whose options hold 'parent', which no node has "
        "(only _nest_buffers sets it, on buffers; ops and numpy calls take no such keyword).",
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "rows = (count * whole.shape[1], whole.shape[2]) if len(whole.shape) == 3 else None",
        "rows = (count * whole.shape[1], whole.shape[2]) if (len(whole.shape) == 3) or True else None",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)",
        "nodes.extend(None)",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)",
        "nodes.extend(p for p in parts if _slot(p) is not None or _slot(p)[0] is buffer)",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)",
        "nodes.extend(p for p in parts if _slot(None) is not None and _slot(p)[0] is buffer)",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)",
        "nodes.extend(p for p in parts if _slot(p) is None and _slot(p)[0] is buffer)",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(None)[0] is buffer)",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[1] is buffer)",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)",
        "nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is not buffer)",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "continue",
        "break",
        _PASSES_ROWS_ALWAYS_3D,
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "rows = (sum(p.shape[0] for p in nodes), nodes[0].shape[1])",
        "rows = (sum(p.shape[0] for p in nodes), nodes[1].shape[1])",
        "np.concatenate along axis 0 needs every part to have the same width, and all parts are the left "
        "(or the right) operands of the terms of one weight's gradient, a_t^T @ b_t of the weight's "
        "shape: nodes[1].shape[1] == nodes[0].shape[1] whenever there are two nodes (this line runs only "
        "then).",
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "phase=like.phase, origin=like.origin)  # fmt: skip",
        "phase=like.phase, origin=None)  # fmt: skip",
        "like is always the 'sum' node of a gradient, made by Trace._total outside any op's backward, so "
        "like.origin is None: origin=None and the default origin are what it already was.",
    ),
    Survivor(
        "compiler/passes.py", "_stacked",
        "phase=like.phase, origin=like.origin)  # fmt: skip",
        "phase=like.phase, )  # fmt: skip",
        "like is always the 'sum' node of a gradient, made by Trace._total outside any op's backward, so "
        "like.origin is None: origin=None and the default origin are what it already was.",
    ),
    Survivor(
        "compiler/passes.py", "buffer_writes",
        "disjoint, covered = _coverage(node.shape, indices) if basic else (False, False)",
        "disjoint, covered = _coverage(node.shape, indices) if basic else (False, True)",
        "covered is read only in `disjoint and covered` (the buffer's 'covered' option), and disjoint is False "
        "in this branch, so the option is False either way; the writes' mode reads disjoint alone.",
    ),
    Survivor(
        "compiler/passes.py", "buffer_writes",
        "before.setdefault(node, []).insert(0, buffer)",
        "before.setdefault(node, []).insert(1, buffer)",
        "The buffer then follows its first write instead of leading, but _allocate_first, at the end of the "
        "same pass, moves every buffer to the start of its phase (a stable sort by nesting depth, so buffers "
        "keep their order among themselves, which this does not change): the program comes out the same. "
        "For a sum of scatters the list is empty and insert(1) appends, as insert(0) does.",
    ),
    Survivor(
        "compiler/passes.py", "buffer_writes",
        "program.replace(node, alias, users)",
        "program.replace(node, alias, None)",
        "Without users, replace visits every node instead of old's readers (map_nodes changes only those that "
        "read old, into equal lists) and leaves the map without the alias's entry. The pass looks the map up "
        "later only as users[t] for a later sum's scatter terms, ops that are never replaced here (only sums "
        "and stacks are) and whose lists of readers neither version changes: same lookups, same program.",
    ),
    Survivor(
        "compiler/passes.py", "buffer_writes",
        "program.replace(node, alias, users)",
        "program.replace(node, alias, )",
        "users defaults to None: as the mutant passing None, which visits every node instead of old's readers "
        "and leaves the map without the alias's entry; the pass later looks up only users[t] for scatter "
        "terms, never replaced, so the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "_nest_buffers",
        'if write.options["mode"] != "assign" or value.kind != "alias" or not _is_basic(index):',
        'if write.options["mode"] != "assign" or value.kind != "alias" or not _is_basic(None):',
        "The test is reached only for mode 'assign', which buffer_writes gives only when the pieces are "
        "disjoint, computed only when every index is basic ((False, False) otherwise): _is_basic(index) is "
        "True there, as _is_basic(None) is.",
    ),
    Survivor(
        "compiler/passes.py", "_op",
        'return Node("op", args, out_shape, dtype, op=cls, options=options, phase=like.phase, origin=like.origin)',
        'return Node("op", args, out_shape, dtype, op=cls, options=options, phase=like.phase, origin=None)',
        "like is always the 'sum' node of a gradient (stacked_weight_gradients passes the sum it rewrites, "
        "directly or through _stacked), made by Trace._total outside any op's backward, so like.origin is "
        "None: origin=None is what it already was.",
    ),
    Survivor(
        "compiler/passes.py", "_op",
        'return Node("op", args, out_shape, dtype, op=cls, options=options, phase=like.phase, origin=like.origin)',
        'return Node("op", args, out_shape, dtype, op=cls, options=options, phase=like.phase, )',
        "like is always the 'sum' node of a gradient (stacked_weight_gradients passes the sum it rewrites, "
        "directly or through _stacked), made by Trace._total outside any op's backward, so like.origin is "
        "None: the default origin, None, is what it already was.",
    ),
    Survivor(
        "compiler/passes.py", "stacked_weight_gradients",
        "product = _op(ops.MatMul, [left_t, right], terms[0].shape, node)",
        "product = _op(ops.MatMul, [left_t, right], terms[1].shape, node)",
        "Every term of a gradient's sum has the shape of the value it is the gradient of (and after "
        "'transposed', every inner term the transposed shape), and a sum has at least two terms: "
        "terms[1].shape == terms[0].shape.",
    ),
    Survivor(
        "compiler/passes.py", "_allocate_first",
        "return 0 if parent is None else 1 + depth(parent)",
        "return 1 if parent is None else 1 + depth(parent)",
        "depth is used only as the key of a stable sort; this adds 1 to every buffer's depth, which keeps "
        "their order (outer buffers first, ties in program order), so the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "_allocate_first",
        "return 0 if parent is None else 1 + depth(parent)",
        "return 0 if parent is None else 2 + depth(parent)",
        "depth is used only as the key of a stable sort; this makes a buffer nested k deep 2k instead of k, "
        "a strictly increasing change that keeps the order (outer first, ties in program order).",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "users.setdefault(source.args[0], []).append(node)",
        "users.setdefault(source.args[0], []).append(None)",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. This appends None, not node, to the readers of source.args[0], a node before the current one, whose readers are never looked up again: the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "users.setdefault(source.args[0], []).append(node)",
        "users.setdefault(None, []).append(node)",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. This files node under the key None, which no lookup asks for, instead of under source.args[0], whose readers are never looked up again: the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "users.setdefault(source.args[0], []).append(node)",
        "users.setdefault(source.args[0], None).append(node)",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. Every node of the program is already a key of the map (users() starts from every node) and source.args[0] is one, so setdefault returns its list whatever the default: the same.",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "users.setdefault(source.args[0], []).append(node)",
        "users.setdefault(source.args[0], ).append(node)",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. Every node of the program is already a key of the map and source.args[0] is one, so setdefault(key) returns its list as setdefault(key, []) does: the same.",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "program.replace(node, source, users)",
        "program.replace(node, source, None)",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. Without users, replace visits every node instead of old's readers (map_nodes changes only those that read old) and leaves the map as it was; its only later reads, users[old] for later nodes, are lists this never changes: the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "program.replace(node, source, users)",
        "program.replace(node, source, )",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. users defaults to None: replace visits every node instead of old's readers (only those read old) and leaves the map as it was; its later reads, users[old] for later nodes, are lists this never changes: the same program.",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "program.replace(node, source.args[0], users)",
        "program.replace(node, source.args[0], None)",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. Without users, replace visits every node instead of old's readers (map_nodes changes only those that read old) and leaves the map as it was; its only later reads, users[old] for later nodes, are lists this never changes: the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "simplify",
        "program.replace(node, source.args[0], users)",
        "program.replace(node, source.args[0], )",
        "simplify visits the nodes in program order and replaces only the node it is at, by a node before it (its source, or its source's source), already visited and never replaced afterwards; the users map is read only as users[old] for the node being replaced, whose readers all come after it. users defaults to None: replace visits every node instead of old's readers (only those read old) and leaves the map as it was; its later reads, users[old] for later nodes, are lists this never changes: the same program.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"node\", id(value))",
        "return (\"XXnodeXX\", id(value))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'XXnodeXX'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"node\", id(value))",
        "return (\"NODE\", id(value))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'NODE'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"array\", value.shape, value.dtype.str, value.tobytes() if small else id(value))",
        "return (\"XXarrayXX\", value.shape, value.dtype.str, value.tobytes() if small else id(value))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'XXarrayXX'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"array\", value.shape, value.dtype.str, value.tobytes() if small else id(value))",
        "return (\"ARRAY\", value.shape, value.dtype.str, value.tobytes() if small else id(value))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'ARRAY'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"dict\", *((k, _key(v)) for k, v in value.items()))",
        "return (\"XXdictXX\", *((k, _key(v)) for k, v in value.items()))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'XXdictXX'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"dict\", *((k, _key(v)) for k, v in value.items()))",
        "return (\"DICT\", *((k, _key(v)) for k, v in value.items()))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'DICT'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"slice\", _key(value.start), _key(value.stop), _key(value.step))",
        "return (\"XXsliceXX\", _key(value.start), _key(value.stop), _key(value.step))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'XXsliceXX'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"slice\", _key(value.start), _key(value.stop), _key(value.step))",
        "return (\"SLICE\", _key(value.start), _key(value.stop), _key(value.step))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'SLICE'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"id\", id(value))",
        "return (\"XXidXX\", id(value))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'XXidXX'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "_key",
        "return (\"id\", id(value))",
        "return (\"ID\", id(value))",
        "The first item of a key only tells apart the kinds of value a key stands for (node, array, list or tuple, dict, slice, by id, or a hashable value with its type's name); the new tag is still unlike every other tag and every type name (no class is named 'ID'), and keys are only compared with each other for equality: the same values get equal keys, and the same nodes are merged.",
    ),
    Survivor(
        "compiler/passes.py", "common_subexpressions",
        "users = program.users()",
        "users = None",
        "users = None makes every replace visit every node instead of old's readers (map_nodes changes only those that read old) and keep no map. common_subexpressions replaces a node only by the first equal node, before it and never replaced afterwards, so no later replace needs the readers the map would have gained: the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "common_subexpressions",
        "key: Any = (\"constant\", _key(value), value.dtype.str)",
        "key: Any = (\"XXconstantXX\", _key(value), value.dtype.str)",
        "Every constant's key starts with this same tag, and every op's or numpy call's key starts with its kind, 'op' or 'numpy': constants are still only ever equal to constants, the same ones.",
    ),
    Survivor(
        "compiler/passes.py", "common_subexpressions",
        "key: Any = (\"constant\", _key(value), value.dtype.str)",
        "key: Any = (\"CONSTANT\", _key(value), value.dtype.str)",
        "Every constant's key starts with this same tag, and every op's or numpy call's key starts with its kind, 'op' or 'numpy': constants are still only ever equal to constants, the same ones.",
    ),
    Survivor(
        "compiler/passes.py", "common_subexpressions",
        "key = (node.kind, _key(node.op), _key(node.args), _key(node.options), str(node.dtype))",
        "key = (node.kind, _key(node.op), _key(node.args), _key(node.options), str(None))",
        "A table op's or numpy call's result dtype follows from the op, the nodes it reads (keyed by identity, so the same dtypes), and its options (astype's dtype, numpy's dtype= keyword, all in the key): two nodes equal in all of these have the same dtype, so leaving it out merges the same nodes.",
    ),
    Survivor(
        "compiler/passes.py", "common_subexpressions",
        "program.replace(node, first, users)",
        "program.replace(node, first, None)",
        "Without users, replace visits every node instead of old's readers (map_nodes changes only those that read old) and leaves the map as it was. common_subexpressions replaces a node only by the first equal node, before it and never replaced afterwards, and reads the map only as users[old] for the node it replaces, whose readers come after it: the same program comes out.",
    ),
    Survivor(
        "compiler/passes.py", "common_subexpressions",
        "program.replace(node, first, users)",
        "program.replace(node, first, )",
        "users defaults to None. Without users, replace visits every node instead of old's readers (map_nodes changes only those that read old) and leaves the map as it was. common_subexpressions replaces a node only by the first equal node, before it and never replaced afterwards, and reads the map only as users[old] for the node it replaces, whose readers come after it: the same program comes out.",
    ),
    # ---- nn/recurrent.py: forward paths (cells' and layers' forward, states, steps)
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent._final_state",
        "return self._restore_state(stack(finals, axis=0), batched)",
        "return self._restore_state(stack(finals, ), batched)",
        "stack's axis defaults to 0 (tinygrad_rnn/array_methods.py, as numpy.stack): the same call.",
    ),
    Survivor(
        "nn/recurrent.py", "_StackedRecurrent._run",
        "return stack(outputs, axis=0), state",
        "return stack(outputs, ), state",
        "stack's axis defaults to 0 (tinygrad_rnn/array_methods.py, as numpy.stack): the same call.",
    ),
    Survivor(
        "nn/recurrent.py", "LSTM._final_state",
        "h_n = stack([h for h, _ in finals], axis=0)",
        "h_n = stack([h for h, _ in finals], )",
        "stack's axis defaults to 0 (tinygrad_rnn/array_methods.py, as numpy.stack): the same call.",
    ),
    Survivor(
        "nn/recurrent.py", "LSTM._final_state",
        "c_n = stack([c for _, c in finals], axis=0)",
        "c_n = stack([c for _, c in finals], )",
        "stack's axis defaults to 0 (tinygrad_rnn/array_methods.py, as numpy.stack): the same call.",
    ),
    Survivor(
        "nn/recurrent.py", "SkipRNN.forward",
        "output = stack([h[t] for t in range(T)], axis=0)",
        "output = stack([h[t] for t in range(T)], )",
        "stack's axis defaults to 0 (tinygrad_rnn/array_methods.py, as numpy.stack): the same call.",
    ),
    Survivor(
        "nn/recurrent.py", "RNN._step",
        "return self.steps.rnn_step(gx, h, weight_hh, bias_hh, self.nonlinearity)",
        "return self.steps.rnn_step(gx, h, weight_hh, None, self.nonlinearity)",
        "_step's only caller is _StackedRecurrent._run, and RNN has bias_hh_in_step = False: _run folds b_hh "
        "into the input drive (b_ih + b_hh, once per sequence) and passes bias_hh=None, or None already "
        "without bias. The argument is always None, so replacing it by None changes nothing.",
    ),
    Survivor(
        "nn/recurrent.py", "LSTM._step",
        "return self.steps.lstm_step(gx, h, c, weight_hh, bias_hh)",
        "return self.steps.lstm_step(gx, h, c, weight_hh, None)",
        "_step's only caller is _StackedRecurrent._run, and LSTM has bias_hh_in_step = False: _run folds b_hh "
        "into the input drive (b_ih + b_hh, once per sequence) and passes bias_hh=None, or None already "
        "without bias. The argument is always None, so replacing it by None changes nothing.",
    ),
    Survivor(
        "compiler/trace.py", "_replaced",
        'if node.kind == "leaf" and node.value is tensor:',
        'if node.kind == "leaf" or node.value is tensor:',
        "The trace registers a leaf node only for the Tensor it reads (node.value is that Tensor), and a "
        "node of another kind never holds a Tensor as its value, so `or` and `and` decide alike.",
    ),
]
