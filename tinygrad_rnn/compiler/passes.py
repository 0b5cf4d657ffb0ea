"""Passes: small functions from program to program, each making the generated code leaner.

Each pass takes a ``Program``, changes its nodes, notes in ``program.log``
what it did, and returns it. jit runs them in the order of ``PASSES``. Each
is safe on its own (a pass that finds nothing to do changes nothing), and
tests/test_compiler.py checks compiled programs against the eager engine.

* ``simplify``: a reshape to the same shape (the recorded backward of MatMul
  reshapes a 2-D gradient to 2-D) is the value itself; so is a transpose of a
  transpose; a reshape of a reshape is one reshape.
* ``dead_code``: a value nobody reads is never computed (the gradient of a
  constant operand, which Mul's backward forms for both inputs).
* ``common_subexpressions``: the same op on the same values is computed once
  (``W.T`` in every time step's matmul, and again in its backward).
* ``buffer_writes``: a gradient built from slices (``gx[t]`` at every t, or the
  four gate blocks of an LSTM step) is written slice by slice into one buffer,
  instead of adding up T arrays of zeros.
* ``stacked_weight_gradients``: a weight used at every time step gets the sum
  over t of h_t^T g_t; one matmul of the stacked rows gives it at once.
* ``plan_memory``: every array is freed right after its last use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_rnn import ops
from tinygrad_rnn.compiler.program import Node, Program, nodes_in
from tinygrad_rnn.compiler.table import TABLE

__all__ = [
    "PASSES",
    "simplify",
    "dead_code",
    "common_subexpressions",
    "buffer_writes",
    "stacked_weight_gradients",
    "plan_memory",
    "run_passes",
]


def dead_code(program: Program) -> Program:
    """Drop every node that no output, gradient or guard needs."""
    live: set[Node] = set()
    stack = list(program.roots())
    while stack:
        node = stack.pop()
        if node not in live:
            live.add(node)
            stack.extend(node.inputs())
    before = len(program.nodes)
    program.nodes = [n for n in program.nodes if n in live]
    program.leaves = [n for n in program.leaves if n in live]
    program.input_grads = [(x, g) for x, g in program.input_grads if x in live or x in program.inputs]
    program.log.append(f"dead_code: {before - len(program.nodes)} nodes removed")
    return program


def simplify(program: Program) -> Program:
    """Reshape to the same shape, and transpose of a transpose, become the value itself."""
    users = program.users()
    changed = 0
    for node in program.nodes:
        if node.kind != "op" or not node.args:
            continue
        source = node.args[0]
        if node.op is ops.Reshape:
            node.options = {"shape": node.shape}  # (-1, n) written out: equal reshapes look equal
            if source.kind == "op" and source.op is ops.Reshape:
                node.args = [source.args[0]]  # a reshape of a reshape is one reshape
                users.setdefault(source.args[0], []).append(node)
                source = node.args[0]
                changed += 1
        if node.op in (ops.Reshape, ops.BroadcastTo) and source.shape == node.shape:
            program.replace(node, source, users)
            changed += 1
        elif node.op is ops.Transpose and source.kind == "op" and source.op is ops.Transpose:
            inner, outer = source.options["axes"], node.options["axes"]
            axes = tuple(inner[a] for a in outer)  # x.transpose(inner).transpose(outer)
            if axes == tuple(range(len(axes))):
                program.replace(node, source.args[0], users)
            else:
                node.args, node.options = [source.args[0]], {"axes": axes}
                users.setdefault(source.args[0], []).append(node)
            changed += 1
    program.log.append(f"simplify: {changed} views folded (what they read is left to dead_code)")
    return program


def _key(value: Any) -> Any:
    """A hashable stand-in for an op's options or a numpy call's arguments."""
    if isinstance(value, Node):
        return ("node", id(value))
    if isinstance(value, np.ndarray):
        small = value.size <= 64
        return ("array", value.shape, value.dtype.str, value.tobytes() if small else id(value))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *map(_key, value))
    if isinstance(value, dict):
        return ("dict", *((k, _key(v)) for k, v in value.items()))
    if isinstance(value, slice):
        return ("slice", _key(value.start), _key(value.stop), _key(value.step))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (type(value).__name__, value)


def common_subexpressions(program: Program) -> Program:
    """The same op on the same values is computed once; equal constants are one constant."""
    users = program.users()
    seen: dict[Any, Node] = {}
    merged = 0
    for node in program.nodes:
        if node.kind == "constant":
            value = np.asarray(node.value)
            key: Any = ("constant", _key(value), value.dtype.str)
        elif (node.kind == "op" and node.op in TABLE) or node.kind == "numpy":
            key = (node.kind, _key(node.op), _key(node.args), _key(node.options), str(node.dtype))
        else:
            continue
        if node.into is not None:  # it fills a slice of a buffer: merged away, the slice stays unwritten
            continue
        first = seen.setdefault(key, node)
        if first is not node:
            program.replace(node, first, users)
            merged += 1
    program.log.append(f"common_subexpressions: {merged} nodes merged")
    return dead_code(program)


def plan_memory(program: Program) -> Program:
    """Free every array right after the line that reads it last (``del`` in the generated code)."""
    program.free_early = True
    program.log.append("plan_memory: every array freed after its last use")
    return program


# ---- buffers ---------------------------------------------------------------------------------
# Ops whose numpy ufunc can write its result straight into a slice of a buffer (out=).
UFUNCS = {ops.Add: "np.add", ops.Sub: "np.subtract", ops.Mul: "np.multiply", ops.Div: "np.divide",
          ops.Neg: "np.negative", ops.Exp: "np.exp", ops.Log: "np.log", ops.Tanh: "np.tanh",
          ops.MatMul: "np.matmul"}  # fmt: skip


def buffer_writes(program: Program) -> Program:
    """An array assembled from pieces is allocated once and each piece written into its slice:
    a gradient that is a sum of scatters (``gx[t]`` at every t, an LSTM step's four gate blocks),
    and the forward pass's ``stack`` of every step's output.

    Writes into disjoint slices assign (``buf[t] = g``), others add (``+=``, or ``np.add.at`` for
    integer-array indices, which may repeat); a buffer its slices cover is not zeroed first. A
    piece that is itself a buffer becomes a view of its slice, and a piece made by one numpy
    ufunc is computed straight into its slice (``out=``): no copy either way.
    """
    users = program.users()
    swap: dict[Node, Node] = {}
    before: dict[Node, list[Node]] = {}
    made = 0
    for node in program.nodes:
        pieces = _pieces(node, users)
        if pieces is None:
            continue
        made += 1
        indices = [index for _, index, _ in pieces]
        basic = all(_is_basic(i) for i in indices)
        disjoint, covered = _coverage(node.shape, indices) if basic else (False, False)
        buffer = Node("buffer", shape=node.shape, dtype=node.dtype, phase=node.phase, origin=node.origin)
        buffer.options = {"covered": disjoint and covered}
        buffer.note = "stack" if node.kind == "op" else ""  # (codegen names it after what it holds)
        writes = []
        for value, index, term in pieces:
            mode = "assign" if disjoint else "add" if _is_basic(index) else "add_at"
            origin = node.origin if term is None else term.origin
            write = Node("write", [buffer, value], options={"index": index, "mode": mode},
                         phase=node.phase, origin=origin)  # fmt: skip
            if term is not None:
                swap[term] = write  # a scatter becomes its write, where it was
            else:
                before.setdefault(node, []).append(write)
            writes.append(write)
        before.setdefault(node, []).insert(0, buffer)
        alias = Node("alias", [buffer, *writes], node.shape, node.dtype, phase=node.phase, origin=node.origin)
        buffer.options["sealed_by"] = alias
        swap[node] = alias
        program.replace(node, alias, users)
    program.edit(swap, before, set())
    nested = _nest_buffers(program)
    in_place = _compute_into_buffers(program)
    _allocate_first(program)
    program.log.append(
        f"buffer_writes: {made} arrays assembled in buffers, {nested} of their pieces made views of "
        f"their slice, {in_place} computed straight into it"
    )
    return dead_code(program)


def _pieces(node: Node, users: dict[Node, list[Node]]) -> list[tuple[Node, Any, Node | None]] | None:
    """(value, index, the scatter it came from) for each piece of an assembled array, or None."""
    # Every term once: a scatter is replaced by its one write, so a term summed twice (after
    # common_subexpressions merged x[0] * x[0]'s two gradient scatters) would be added once.
    distinct = len(set(map(id, node.args))) == len(node.args)
    if node.kind == "sum" and distinct and all(
        t.kind == "op" and t.op is ops.Scatter and t.shape == node.shape and users[t] == [node]
        for t in node.args
    ):
        return [(t.args[0], t.options["index"], t) for t in node.args]
    if node.kind == "op" and node.op is ops.Stack and distinct:
        before = (slice(None),) * node.options["axis"]
        return [(x, (*before, i), None) for i, x in enumerate(node.args)]
    return None


def _nest_buffers(program: Program) -> int:
    """A buffer copied whole into a slice of another buffer becomes a view of that slice."""
    nested = 0
    for write in [n for n in program.nodes if n.kind == "write"]:
        outer, value = write.args
        index = write.options["index"]
        if write.options["mode"] != "assign" or value.kind != "alias" or not _is_basic(index):
            continue
        inner = value.args[0]
        if inner.options.get("parent") is not None or inner.shape != _sliced_shape(outer.shape, index):
            continue
        if inner.phase != outer.phase:  # a forward value in a gradient: filled before backward starts
            continue
        inner.options.update(parent=outer, index=index)
        if not inner.options["covered"]:
            outer.options["covered"] = False  # the slice must start as zeros
        alias = outer.options["sealed_by"]
        alias.args = [a for a in alias.args if a is not write] + [value]
        program.nodes.remove(write)
        nested += 1
    return nested


def _compute_into_buffers(program: Program) -> int:
    """A piece made by one ufunc (in the buffer's pass) is computed with out= into its slice."""
    done = 0
    for write in [n for n in program.nodes if n.kind == "write"]:
        buffer, value = write.args
        index = write.options["index"]
        ufunc = value.kind == "op" and value.op in UFUNCS or value.kind == "sum" and len(value.args) == 2
        if value.kind == "op" and value.op is ops.MatMul:  # only the plain x @ y (2-D), not the folded rows
            ufunc = all(len(a.shape) == 2 for a in value.args)
        fits = _is_basic(index) and value.shape == _sliced_shape(buffer.shape, index)
        if not (ufunc and fits and write.options["mode"] == "assign" and value.into is None):
            continue
        if value.dtype != buffer.dtype or value.phase != buffer.phase:
            continue
        if value.shape == ():  # buffer[t] of one entry is a number, not a view: out= cannot take it
            continue
        value.into = (buffer, index)
        alias = buffer.options["sealed_by"]
        alias.args = [value if a is write else a for a in alias.args]
        program.nodes.remove(write)
        done += 1
    return done


def _allocate_first(program: Program) -> None:
    """Every buffer is allocated at the start of its pass (forward or backward), outer ones
    first, so that each exists before the first value written into it."""
    buffers = [n for n in program.nodes if n.kind == "buffer"]

    def depth(node: Node) -> int:
        parent = node.options.get("parent")
        return 0 if parent is None else 1 + depth(parent)

    rest = [n for n in program.nodes if n.kind != "buffer"]
    forward = [n for n in rest if n.phase == "forward"]
    backward = [n for n in rest if n.phase == "backward"]
    ordered = sorted(buffers, key=depth)
    program.nodes = (
        [b for b in ordered if b.phase == "forward"]
        + forward
        + [b for b in ordered if b.phase == "backward"]
        + backward
    )


def _is_basic(index: Any) -> bool:
    """Ints and slices only (a view; each entry picked once). Not a bool: numpy reads x[True] as
    a mask, a copy of x with a new axis."""
    items = index if isinstance(index, tuple) else (index,)
    basic = (int, np.integer, slice, type(None), type(Ellipsis))
    return all(isinstance(i, basic) and not isinstance(i, bool) for i in items) and not any(nodes_in(index))


def _sliced_shape(shape: tuple[int, ...], index: Any) -> tuple[int, ...]:
    return np.empty(shape, dtype=np.bool_)[index].shape


def _coverage(shape: tuple[int, ...], indices: list[Any]) -> tuple[bool, bool]:
    """(no entry written twice, every entry written) for basic indices into an array of ``shape``."""
    counts = np.zeros(shape, dtype=np.int32)
    for index in indices:
        counts[index] += 1
    return bool(counts.max(initial=0) <= 1), bool(counts.min(initial=1) >= 1)


# ---- weight gradients -------------------------------------------------------------------------
_VIEWS = (ops.Transpose, ops.Reshape, ops.Index)


def _op(cls: type, args: list[Node], out_shape: tuple, like: Node, **options: Any) -> Node:
    """A new node in like's phase; a view (of rows that may be float32 for a float64 weight) keeps
    its array's dtype, any other op has like's."""
    dtype = args[0].dtype if cls in _VIEWS else like.dtype
    return Node("op", args, out_shape, dtype, op=cls, options=options, phase=like.phase, origin=like.origin)


def stacked_weight_gradients(program: Program) -> Program:
    """sum over t of a_t^T @ b_t (a weight's gradient, one term per time step) as one matmul:
    [a_1; ...; a_T]^T @ [b_1; ...; b_T]. A sum of transposes is first made the transpose of a sum.
    A bias added at every step gets the sum over t of g_t's rows: one sum of the stacked rows.

    The hand-derived BPTT does the same: every step's rows are stacked, then one matmul.
    """
    users = program.users()
    swap: dict[Node, Node] = {}
    before: dict[Node, list[Node]] = {}
    drop: set[Node] = set()
    rewritten = 0
    for node in program.nodes:
        terms = node.args
        if node.kind != "sum" or not all(t.kind == "op" and users[t] == [node] for t in terms):
            continue
        new: list[Node] = []
        if all(_row_sum(t, users) is not None for t in terms):  # a bias: sum_t (g_t summed over rows)
            rows = _stacked([_row_sum(t, users) for t in terms], node, new)
            total = _op(ops.Sum, [rows], (1, rows.shape[1]), node, axis=(0,), keepdims=True)
            result = _op(ops.Reshape, [total], node.shape, node, shape=node.shape)
            before[node] = [*new, total, result]
            drop.add(node)
            program.replace(node, result, users)
            rewritten += 1
            continue
        transposed = all(t.op is ops.Transpose and t.options["axes"] == (1, 0) for t in terms)
        if transposed:  # sum of x_t.T = (sum of x_t).T
            terms = [t.args[0] for t in terms]
            if not all(t.kind == "op" and users[t] == [node.args[i]] for i, t in enumerate(terms)):
                continue
        stackable = all(
            t.op is ops.MatMul
            and len(t.args[0].shape) == 2
            and len(t.args[1].shape) == 2
            and t.args[0].kind == "op"
            and t.args[0].op is ops.Transpose
            for t in terms
        )
        if not stackable:
            continue
        pairs = _in_buffer_order([(t.args[0].args[0], t.args[1]) for t in terms])
        left = _stacked([a for a, _ in pairs], node, new)
        right = _stacked([b for _, b in pairs], node, new)
        left_t = _op(ops.Transpose, [left], left.shape[::-1], node, axes=(1, 0))
        product = _op(ops.MatMul, [left_t, right], terms[0].shape, node)
        new += [left_t, product]
        result = product
        if transposed:
            result = _op(ops.Transpose, [product], node.shape, node, axes=(1, 0))
            new.append(result)
        before[node] = new
        drop.add(node)
        program.replace(node, result, users)
        rewritten += 1
    program.edit(swap, before, drop)
    program.log.append(f"stacked_weight_gradients: {rewritten} weight and bias gradients summed at once")
    return dead_code(program)


def _row_sum(node: Node, users: dict[Node, list[Node]]) -> Node | None:
    """g when node is g's rows summed, g.sum(axis=(0,), keepdims=True).reshape((n,)), g 2-D."""
    if node.op is not ops.Reshape or len(node.shape) != 1:
        return None
    total = node.args[0]
    if total.kind != "op" or total.op is not ops.Sum or users.get(total) != [node]:
        return None
    rows = total.args[0]
    return rows if total.options == {"axis": (0,), "keepdims": True} and len(rows.shape) == 2 else None


def _in_buffer_order(pairs: list[tuple[Node, Node]]) -> list[tuple[Node, Node]]:
    """The (a_t, b_t) pairs sorted by where b_t lies in its buffer, when every b_t is a slice
    of one (so that the stacked b's are that buffer itself); otherwise as they came."""
    spots = [_slot(b) for _, b in pairs]
    if None in spots or len({id(parent) for parent, _ in spots}) != 1:
        return pairs
    order = sorted(range(len(pairs)), key=lambda i: spots[i][1])
    return [pairs[i] for i in order]


def _slot(node: Node) -> tuple[Node, int] | None:
    """(buffer, t) when node's value lies in buffer[t] (a view, or computed into it)."""
    if node.into is not None:
        buffer, index = node.into
    else:
        if node.kind == "alias":
            node = node.args[0]
        buffer, index = node.options.get("parent"), node.options.get("index")
        if node.kind != "buffer" or buffer is None:
            return None
    index = index[0] if isinstance(index, tuple) and len(index) == 1 else index
    return (buffer, int(index)) if isinstance(index, (int, np.integer)) else None


def _stacked(parts: list[Node], like: Node, new: list[Node]) -> Node:
    """A node for the rows of all parts stacked. Runs of parts that are the slices t, t+1, ...
    of one buffer are read from the finished buffer (a view); the rest are concatenated."""
    pieces: list[Any] = []  # a node, or [buffer, first t, count]
    for part in parts:
        spot = _slot(part)
        last = pieces[-1] if pieces else None
        if (
            spot is not None
            and isinstance(last, list)
            and last[0] is spot[0]
            and last[1] + last[2] == spot[1]
        ):
            last[2] += 1
        else:
            pieces.append([spot[0], spot[1], 1] if spot is not None else part)
    nodes = []
    for piece in pieces:
        if isinstance(piece, Node):
            nodes.append(piece)
            continue
        buffer, first, count = piece
        whole = buffer.options["sealed_by"]
        rows = (count * whole.shape[1], whole.shape[2]) if len(whole.shape) == 3 else None
        if rows is None:  # not a stack of 2-D slices: concatenate them one by one
            nodes.extend(p for p in parts if _slot(p) is not None and _slot(p)[0] is buffer)
            continue
        run = whole
        if count != whole.shape[0]:
            run = _op(
                ops.Index, [whole], (count, *whole.shape[1:]), like, index=(slice(first, first + count),)
            )
            new.append(run)
        rows_node = _op(ops.Reshape, [run], rows, like, shape=rows)
        new.append(rows_node)
        nodes.append(rows_node)
    if len(nodes) == 1:
        return nodes[0]
    rows = (sum(p.shape[0] for p in nodes), nodes[0].shape[1])
    dtype = np.result_type(*(p.dtype for p in nodes))  # as np.concatenate: h_0 may be float32, h_1 float64
    node = Node("op", nodes, rows, dtype, op=ops.Concat, options={"axis": 0},
                phase=like.phase, origin=like.origin)  # fmt: skip
    new.append(node)
    return node


PASSES: list[Callable[[Program], Program]] = [
    simplify,
    dead_code,
    common_subexpressions,
    buffer_writes,
    stacked_weight_gradients,
    common_subexpressions,
    plan_memory,
]


def run_passes(program: Program, passes: list[Callable[[Program], Program]] | None = None) -> Program:
    """The program after every pass (``PASSES``, or the given list), in order."""
    for step in PASSES if passes is None else passes:
        program = step(program)
    return program
