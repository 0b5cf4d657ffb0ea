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
        "nn/functional.py", "_negative_log_likelihood",
        'if targets.size and (targets.min() < 0 or targets.max() >= num_classes):  # find the culprit',
        'if targets.size and (targets.min() <= 0 or targets.max() >= num_classes):  # find the culprit',
        "The block only raises for a counted target outside [0, C), which already makes the original condition "
        "true; the mutant merely also enters (and finds nothing) when the smallest target is 0.",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'if targets.size and (targets.min() < 0 or targets.max() >= num_classes):  # find the culprit',
        'if targets.size and (targets.min() < 1 or targets.max() >= num_classes):  # find the culprit',
        "The block only raises for a counted target outside [0, C), which already makes the original condition "
        "true; the mutant merely also enters (and finds nothing) when the smallest target is 0.",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'rows = per_class_last if per_class_last.ndim == 2 else per_class_last.reshape(-1, num_classes)',
        'rows = per_class_last if per_class_last.ndim == 2 else per_class_last.reshape(-2, num_classes)',
        "numpy (2.x, as required) reads any negative size as the one unknown dimension: a.reshape(-2, C) equals "
        "a.reshape(-1, C), so values and gradients agree. The only trace is the text of the reshape error for an "
        "input with zero classes (C=0, not 2-D), which echoes the requested shape (-2, 0) instead of (-1, 0); that "
        "internal message is not a contract worth pinning.",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'counted = counted.reshape(-1)',
        'counted = counted.reshape(-2)',
        "counted is a plain numpy bool array and numpy (2.x) reads any negative size as the unknown dimension, "
        "so reshape(-2) is the same flat array as reshape(-1).",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'columns = targets.reshape(-1) if every_sample_counts else np.where(counted, targets.reshape(-1), 0)',
        'columns = targets.reshape(-1) if (every_sample_counts) and False else np.where(counted, targets.reshape(-1), 0)',
        "When every sample counts, np.where(counted, t, 0) is t itself (same values, dtype intp); the mask multiply "
        "is still skipped (every_sample_counts is unchanged), so the graph, values and gradients are identical.",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'columns = targets.reshape(-1) if every_sample_counts else np.where(counted, targets.reshape(-1), 0)',
        'columns = targets.reshape(-2) if every_sample_counts else np.where(counted, targets.reshape(-1), 0)',
        "targets is a plain numpy array and numpy (2.x) reads any negative size as the unknown dimension, so "
        "reshape(-2) is the same flat array as reshape(-1).",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'columns = targets.reshape(-1) if every_sample_counts else np.where(counted, targets.reshape(-1), 0)',
        'columns = targets.reshape(-1) if every_sample_counts else np.where(counted, targets.reshape(-2), 0)',
        "targets is a plain numpy array and numpy (2.x) reads any negative size as the unknown dimension, so "
        "reshape(-2) is the same flat array as reshape(-1).",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'return picked.sum() * 0.0 + np.nan',
        'return picked.sum() * 0.0 - np.nan',
        "x - nan and x + nan are both nan (the same positive quiet nan: np.signbit is False for both, checked), "
        "and the gradient through +/- a constant is the same zero; only a graph view names the op (add vs sub).",
    ),
    Survivor(
        "nn/functional.py", "_negative_log_likelihood",
        'return picked.sum() * 0.0 + np.nan',
        'return picked.sum() * 1.0 + np.nan',
        "The value is nan either way. count is 0 only when every target is ignored, and then picked was already "
        "multiplied by the all-zero mask, so its gradient is zero whatever this factor is; or when the batch is "
        "empty, and then the input has no entries to receive a gradient.",
    ),
    Survivor(
        "nn/functional.py", "_integer_indices",
        'if raw.dtype.kind in "iu":',
        'if raw.dtype.kind in "XXiuXX":',
        "dtype.kind is one character; the only kinds in \"XXiuXX\" are still 'i' and 'u' (numpy has no kind 'X').",
    ),
    Survivor(
        "nn/steps.py", "gru_step",
        'H = h.shape[-1]',
        'H = h.shape[+1]',
        "The steps' documented shapes are h (B, H) and gx (B, 3H) (module docstring), and every caller passes "
        "2-D arrays (cells reshape unbatched input to (1, I); sequence layers pass one time step), so axis 1 is axis -1; "
        "the fused twin indexes gx[:, ...] and assumes 2-D too.",
    ),
    Survivor(
        "nn/steps.py", "gru_step",
        'gx_r, gx_z, gx_n = split(gx, 3, axis=-1)',
        'gx_r, gx_z, gx_n = split(gx, 3, axis=+1)',
        "gx is documented as (B, 3H) and every caller passes a 2-D array (cells reshape unbatched input to (1, I)), "
        "so axis 1 is axis -1; the fused twin indexes gx[:, ...] and assumes 2-D too.",
    ),
    Survivor(
        "nn/steps.py", "gru_step",
        'gh_r, gh_z, gh_n = split(linear(h, weight_hh, bias_hh), 3, axis=-1)',
        'gh_r, gh_z, gh_n = split(linear(h, weight_hh, bias_hh), 3, axis=+1)',
        "h is documented as (B, H) and every caller passes a 2-D array, so h W_hh^T is (B, 3H) and axis 1 is axis -1.",
    ),
    Survivor(
        "nn/steps.py", "gru_step",
        'gh_r, gh_z = split(linear(h, weight_hh[: 2 * H], b_rz), 2, axis=-1)',
        'gh_r, gh_z = split(linear(h, weight_hh[: 2 * H], b_rz), 2, axis=+1)',
        "h is documented as (B, H) and every caller passes a 2-D array, so h W_hrz^T is (B, 2H) and axis 1 is axis -1.",
    ),
    Survivor(
        "nn/steps.py", "lstm_step",
        'i, f, g, o = split(gx + linear(h, weight_hh, bias_hh), 4, axis=-1)',
        'i, f, g, o = split(gx + linear(h, weight_hh, bias_hh), 4, axis=+1)',
        "gx and h are documented as (B, 4H) and (B, H) and every caller passes 2-D arrays, so the gate pre-activations "
        "are (B, 4H) and axis 1 is axis -1; the fused twin slices gates[:, ...] and assumes 2-D too.",
    ),
    Survivor(
        "nn/steps.py", "leaky_rnn_step",
        'return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, "tanh")',
        'return alpha * h + (1 - alpha) * rnn_step(gx, h, weight_hh, bias_hh, )',
        "Dropping the argument falls back on rnn_step's default nonlinearity, which is \"tanh\" (pinned by "
        "tests/test_recurrent_cells.py::test_public_step_functions_default_to_tanh_and_pytorchs_gru), so the call is the same.",
    ),
]
