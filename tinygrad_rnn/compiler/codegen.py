"""From nodes to Python: name every value, write one line per node, compile the text.

The generated module has two functions. ``forward(inputs..., leaves...)``
returns the outputs and the values the backward pass will need (``saved``);
``backward(saved, d_outputs...)`` returns the gradient of every input and leaf
that needs one. Each line computes one node and says in a comment which op it
is, its shape, and (in the backward pass) whose backward it comes from.
"""

from __future__ import annotations

import builtins
import keyword
import linecache
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_rnn.compiler.passes import UFUNCS
from tinygrad_rnn.compiler.program import Node, Program
from tinygrad_rnn.compiler.table import HELPERS, TABLE

__all__ = ["Retrace", "Generated", "generate", "op_name"]


class Retrace(Exception):
    """A guard failed: the function read a different Python value this time; trace it again."""


# ufuncs written as operators (every argument is a name or a literal, so no parentheses are needed)
_BINARY = {
    np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.power: "**",
    np.floor_divide: "//", np.remainder: "%", np.matmul: "@", np.greater: ">", np.greater_equal: ">=",
    np.less: "<", np.less_equal: "<=", np.equal: "==", np.not_equal: "!=", np.bitwise_and: "&",
    np.bitwise_or: "|", np.bitwise_xor: "^",
}  # fmt: skip
_UNARY = {np.negative: "-", np.invert: "~", np.positive: "+"}
_CONVERSIONS = {"bool": "bool", "int": "int", "float": "float", "index": "int"}
# Ops whose output is a view of their input (no new memory), for the memory estimate.
_VIEW_OPS = {"Reshape", "Transpose", "BroadcastTo"}
_VIEW_METHODS = {"reshape", "transpose", "swapaxes", "squeeze", "ravel"}


def op_name(node: Node) -> str:
    """A short name for what a node computes: 'tanh', 'matmul', 'astype', 'sum', ..."""
    if node.kind == "op":
        name = getattr(node.op, "name", None)  # a class attribute where an op sets one, e.g. "pow"
        return name if isinstance(name, str) else node.op.__name__.lower()
    if node.kind == "numpy":
        op = node.op[0] if isinstance(node.op, tuple) else node.op
        name = op if isinstance(op, str) else getattr(op, "__name__", "numpy")
        return {"__getitem__": "index", "item": "part"}.get(name, name)
    return {"sum": "grad_sum", "call_backward": "grads", "item": "grad", "buffer": "buffer"}.get(
        node.kind, node.kind
    )


@dataclass
class Generated:
    """The program as text and as the two functions compiled from it."""

    source: str
    forward: Callable
    backward: Callable | None
    saved: list[Node]
    peak_bytes: int  # estimated: the most the program's own arrays occupy at once
    lines: int  # lines of code (assignments, writes and guards)
    namespace: dict[str, Any] = field(repr=False, default_factory=dict)


class Names:
    """Unique, readable names: parameters keep theirs, gradients are d_<name>, ops <op>_<k>."""

    def __init__(self) -> None:
        # Never a name the generated code itself uses: helpers, builtins (bool, int, slice, ...), keywords.
        self.taken: set[str] = set(HELPERS) | {"Retrace", "saved"} | set(keyword.kwlist) | set(dir(builtins))
        self.counts: dict[str, int] = {}

    def fresh(self, base: str, numbered: bool = True) -> str:
        base = re.sub(r"\W", "_", base) or "v"
        base = base if not base[0].isdigit() else "v" + base
        if not numbered and base not in self.taken:
            self.taken.add(base)
            return base
        while True:
            self.counts[base] = self.counts.get(base, 0) + 1
            name = f"{base}_{self.counts[base]}"
            if name not in self.taken:
                self.taken.add(name)
                return name


class Render:
    """Values as Python source: nodes by name, small constants as literals, arrays as named constants."""

    def __init__(self, namespace: dict[str, Any], names: Names) -> None:
        self.namespace, self.names = namespace, names
        self._constants: dict[int, str] = {}

    def __call__(self, value: Any) -> str:
        if isinstance(value, Node):
            if value.kind == "constant" and np.ndim(value.value) == 0 and not value.name:
                return literal(value.value, value.dtype, value.options.get("weak", False))
            return value.name
        if isinstance(value, np.ndarray):
            return self.constant(value)
        if isinstance(value, tuple):
            inner = ", ".join(self(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if isinstance(value, list):
            return "[" + ", ".join(self(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {self(v)}" for k, v in value.items()) + "}"
        if isinstance(value, slice):
            return f"slice({self(value.start)}, {self(value.stop)}, {self(value.step)})"
        if value is Ellipsis:
            return "..."
        if isinstance(value, np.dtype):
            return f"np.dtype({value.name!r})"
        if isinstance(value, type) and issubclass(value, np.generic):
            return f"np.{value.__name__}"
        if value in (bool, int, float, complex):
            return value.__name__
        if isinstance(value, np.ufunc):
            return f"np.{value.__name__}"
        if type(value) is float:  # weak for numpy, as the function wrote it: float32 * 2.5 is float32
            return literal(value, np.float64, weak=True)
        if isinstance(value, (np.generic, float)):
            return literal(value, np.asarray(value).dtype)
        if value is np._NoValue:
            return "np._NoValue"
        return repr(value)

    def index(self, value: Any) -> str:
        """An index as written between brackets: ``0``, ``:, 0:8``, ``tokens_idx``."""
        if isinstance(value, tuple):  # x[(i,)] is x[i]
            return ", ".join(self._index_item(v) for v in value) if value else "()"
        return self._index_item(value)

    def _index_item(self, value: Any) -> str:
        if isinstance(value, slice):
            start, stop, step = ("" if v is None else self(v) for v in (value.start, value.stop, value.step))
            return f"{start}:{stop}" + (f":{step}" if step else "")
        if value is None:
            return "None"
        return self(value)

    def constant(self, array: np.ndarray) -> str:
        """A named constant of the program for an array (the same array, the same name)."""
        # A 0-d float64 array reads well as np.float64(...). Any other 0-d array stays an array: written as a
        # Python number (literal's float for a float32), numpy would let the other operand's dtype win.
        if array.ndim == 0 and array.dtype == np.float64:
            return literal(array, array.dtype)
        name = self._constants.get(id(array))
        if name is None:
            name = self._constants[id(array)] = self.names.fresh("const")
            self.namespace[name] = array
        return name


def literal(value: Any, dtype: Any, weak: bool = False) -> str:
    """A 0-d constant as Python source with the constant's dtype's exact value.

    A Python float is 'weak' (numpy gives the result the other operand's dtype); a float64
    constant next to float32 arrays is not, nor a float32 one next to float16 arrays, so it
    stays np.float64(...) (np.float32(...)) unless ``weak`` says that the results' dtype is
    the same either way.
    """
    number = np.asarray(value).item()
    if isinstance(number, float):
        text = "np.inf" if number == np.inf else "-np.inf" if number == -np.inf else repr(number)
        text = "np.nan" if number != number else text
        return text if weak else f"np.{np.dtype(dtype).name}({text})"
    return repr(number)


def _numpy_expr(node: Node, r: Render) -> str:
    op, args, kwargs = node.op, node.args, node.options
    rendered = [r(a) for a in args]
    keywords = [f"{k}={r(v)}" for k, v in kwargs.items()]
    if op in _CONVERSIONS:
        return f"{_CONVERSIONS[op]}({rendered[0]})"
    if op == "item" and isinstance(args[0], Node) and args[0].dtype is None:
        return f"{rendered[0]}[{rendered[1]}]"  # one result of a numpy call that gave several
    if isinstance(op, str):  # an array method
        if op == "__getitem__":
            return f"{rendered[0]}[{r.index(args[1])}]"
        if op == "transpose" and len(args) == 1 and not kwargs:
            return f"{rendered[0]}.T"
        return f"{rendered[0]}.{op}({', '.join(rendered[1:] + keywords)})"
    if isinstance(op, tuple):  # a ufunc method, e.g. np.add.reduce
        ufunc, method = op
        return f"np.{ufunc.__name__}.{method}({', '.join(rendered + keywords)})"
    if op in _BINARY and len(args) == 2 and not kwargs:
        return f"{rendered[0]} {_BINARY[op]} {rendered[1]}"
    if op in _UNARY and len(args) == 1 and not kwargs:
        return f"{_UNARY[op]}{rendered[0]}"
    module = getattr(op, "__module__", None) or "numpy"
    prefix = "np" if module == "numpy" or module.startswith("numpy._") else module.replace("numpy", "np", 1)
    return f"{prefix}.{op.__name__}({', '.join(rendered + keywords)})"


def _line(node: Node, r: Render, classes: dict[type, str]) -> str | None:
    """The statement that computes ``node``, or None if it needs none."""
    kind = node.kind
    if kind in ("input", "leaf", "constant", "grad", "alias"):
        return None
    if node.into is not None:  # computed straight into a slice of a buffer
        buffer, index = node.into
        ufunc = "np.add" if kind == "sum" else UFUNCS[node.op]
        return (
            f"{node.name} = {ufunc}({', '.join(r(a) for a in node.args)}, out={r(buffer)}[{r.index(index)}])"
        )
    if kind == "op":
        args = [r(a) for a in node.args]
        entry = TABLE.get(node.op)
        if entry is not None:
            return f"{node.name} = {entry(node, args, r)}"
        cls = classes.setdefault(node.op, r.names.fresh(node.op.__name__, numbered=False))
        needs = tuple(bool(n) for n in (node.value or (False,) * len(args)))
        return f"{node.name}, {node.name}_op = call({cls}, {r(node.options)}, {needs}, {', '.join(args)})"
    if kind == "numpy":
        return f"{node.name} = {_numpy_expr(node, r)}"
    if kind == "guard":
        return f"if {_numpy_expr(node, r)} != {node.value!r}:\n        raise Retrace"
    if kind == "sum":
        return f"{node.name} = {' + '.join(r(a) for a in node.args)}"
    if kind == "call_backward":
        g, forward = node.args
        return f"{node.name} = call_backward({forward.name}_op, {r(g)})"
    if kind == "item":
        return f"{node.name} = {r(node.args[0])}[{node.args[1]}]"
    if kind == "buffer":
        parent = node.options.get("parent")
        if parent is not None:
            return f"{node.name} = {r(parent)}[{r.index(node.options['index'])}]"
        allocate = "np.empty" if node.options.get("covered") else "np.zeros"
        return f"{node.name} = {allocate}({node.shape}, np.{np.dtype(node.dtype).name})"
    if kind == "write":
        buffer, value = node.args
        index, mode = node.options["index"], node.options["mode"]
        if mode == "add_at":  # integer arrays may repeat an entry: every repetition adds
            return f"np.add.at({r(buffer)}, np.s_[{r.index(index)}], {r(value)})"
        return f"{r(buffer)}[{r.index(index)}] {'+=' if mode == 'add' else '='} {r(value)}"
    raise ValueError(f"codegen: unknown node kind {kind!r}")


def _comment(node: Node) -> str:
    what = op_name(node)
    if node.kind == "guard":
        return "guard: the function read this value; if it changes, trace again"
    text = f"{what} {node.shape}" if node.kind not in ("write",) else f"write into {node.args[0].name}"
    if node.phase == "backward" and node.origin is not None and node.origin.name:
        text += f"  <- {node.origin.name}'s backward"
    return text


def name_nodes(program: Program, names: Names, render: Render) -> None:
    """Give every node a name (inputs and parameters keep theirs, gradients are d_<name>)."""
    for node in program.inputs:
        node.name = names.fresh(node.name or "input", numbered=False)
    for node in program.leaves:
        base = node.name or (
            "param" if node.value is not None and not isinstance(node.value, np.ndarray) else "array"
        )
        node.name = names.fresh(base, numbered=not node.name)
    users = program.users()
    returned = set(program.outputs)
    grad_of = dict(program.grad_of)  # a gradient is d_<name of what it is the gradient of>
    grad_of.update({grad: x for x, grad in program.input_grads if grad is not None})

    def name(node: Node) -> str:
        """node's name, given now if it has none (a gradient's name needs its target's first)."""
        if node.name or node.kind in ("guard", "write", "input", "leaf"):
            return node.name
        if node.kind == "alias":  # an alias reads as the buffer that holds its value
            node.name = name(node.args[0])
        elif node.kind == "constant":
            node.name = "" if np.ndim(node.value) == 0 else render.constant(node.value)
            # (a constant returned as an output is written with its dtype: the caller gets its array)
            node.options["weak"] = node not in returned and all(
                _same_dtype_without(node, user) for user in users.get(node, [])
            )
        elif node.kind == "grad":
            node.name = names.fresh(f"d_{name(program.outputs[node.value]) or 'output'}", numbered=False)
        else:
            held = node.options["sealed_by"] if node.kind == "buffer" else node
            target = grad_of.get(held)
            target_name = name(target) if target is not None else ""
            if target_name:
                node.name = names.fresh(f"d_{target_name}", numbered=False)
            else:
                node.name = names.fresh(node.note or "buffer" if node.kind == "buffer" else op_name(node))
        return node.name

    for node in program.nodes:
        name(node)
    for seed in program.grad_seeds:  # one nothing reads is no node any more, but still an argument
        name(seed)


def _same_dtype_without(constant: Node, user: Node) -> bool:
    """Whether user's result has its dtype without the constant (so a weak literal is exact)."""
    others = [a.dtype for a in user.inputs() if a is not constant and a.dtype is not None]
    return bool(others) and user.kind in ("op", "sum") and np.result_type(*others) == user.dtype


def _liveness(lines: list[Node], keep: set[Node]) -> dict[int, list[str]]:
    """After which line each name is last read: {line index: [names to free]}."""
    last: dict[str, int] = {}
    for i, node in enumerate(lines):
        for read in node.inputs():
            if read.name and read not in keep and read.kind not in ("input", "leaf", "constant"):
                last[read.name] = i
        if (
            node.name
            and node not in keep
            and node.kind not in ("input", "leaf", "constant", "guard", "write")
        ):
            last.setdefault(node.name, i)
    frees: dict[int, list[str]] = {}
    keep_names = {n.name for n in keep}
    for name, i in last.items():
        if name not in keep_names:
            frees.setdefault(i, []).append(name)
    return frees


def _allocates(node: Node) -> bool:
    """Whether a node's value is new memory (not a view of another node's)."""
    if node.into is not None:
        return False
    if node.kind in ("input", "leaf", "constant", "grad", "alias", "guard", "write", "call_backward"):
        return False
    if node.kind == "buffer":
        return node.options.get("parent") is None
    if node.kind == "op":
        name = node.op.__name__
        if name == "Index":
            return _advanced(node.options["index"])
        return name not in _VIEW_OPS
    if node.kind == "numpy":
        if node.op == "__getitem__":
            return _advanced(node.args[1])
        return node.op not in _VIEW_METHODS  # ("item", each result of a call that gives several, is one)
    return True


def _advanced(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (Node, np.ndarray, list)) for i in items)


def _storage(node: Node, owner: dict[Node, Node]) -> Node:
    """The node whose memory holds ``node``'s value (itself, or the base of a view)."""
    if _allocates(node) or not node.inputs():
        return node
    base = node.options.get("parent") if node.kind == "buffer" else node.inputs()[0]
    base = node.into[0] if node.into is not None else base
    return owner.get(base, base)


def peak_bytes(forward: list[Node], backward: list[Node], saved: set[Node]) -> int:
    """The most bytes the program's own arrays hold at once (views are free; inputs not counted;
    a returned array counts until its last use here, not while the caller keeps it)."""
    owner: dict[Node, Node] = {}
    for node in forward + backward:
        owner[node] = _storage(node, owner)
    last_use: dict[Node, int] = {}
    order = forward + backward
    for i, node in enumerate(order):
        for read in node.inputs():
            last_use[owner.get(read, read)] = i
        last_use.setdefault(owner[node], i)
    end_of_forward = len(forward)
    for node in saved:
        last_use[owner.get(node, node)] = max(last_use.get(owner.get(node, node), 0), end_of_forward)
    live, peak, frees = 0, 0, {}
    for storage, i in last_use.items():
        frees.setdefault(i, []).append(storage)
    for i, node in enumerate(order):
        if owner[node] is node and _allocates(node):
            live += node.nbytes
        peak = max(peak, live)
        for storage in frees.get(i, []):
            if _allocates(storage):
                live -= storage.nbytes
    return peak


def generate(program: Program, title: str = "step") -> Generated:
    """The program as Python source, compiled."""
    names = Names()
    namespace: dict[str, Any] = dict(HELPERS)
    namespace["Retrace"] = Retrace
    render = Render(namespace, names)
    name_nodes(program, names, render)
    classes: dict[type, str] = {}

    forward = [n for n in program.nodes if n.phase == "forward"]
    backward = [n for n in program.nodes if n.phase == "backward"]
    # Every leaf is an argument of forward, even one that only backward reads: that one must be
    # saved too. Such a leaf: a Tensor from outside that an op's backward reads, or a constant an
    # op's backward made after a guard the probe run read differently (compare stops there).
    forward_set = set(forward) | set(program.leaves)
    saved: list[Node] = []
    for node in backward:
        for read in node.inputs():
            if read in forward_set and read.kind != "constant" and read not in saved:
                saved.append(read)
    saved_set = set(saved)
    # An op the table does not know keeps its output Tensor (its saved values) for its backward.
    handles = [f"{n.args[1].name}_op" for n in backward if n.kind == "call_backward"]
    grads = [g for _, g in program.input_grads]
    for g in grads:  # a gradient the forward pass already knows (e.g. one that is an input)
        if g is not None and g in forward_set and g not in saved_set:
            saved.append(g)
            saved_set.add(g)

    arguments = [n.name for n in program.inputs] + [n.name for n in program.leaves]
    body: list[str] = []
    width = 60

    def emit(nodes: list[Node], keep: set[Node], indent: str = "    ") -> None:
        frees = _liveness(nodes, keep) if program.free_early else {}
        for i, node in enumerate(nodes):
            line = _line(node, render, classes)
            if line is not None:
                first, *rest = line.split("\n")
                body.append(f"{indent}{first:<{width}}  # {_comment(node)}")
                body.extend(rest)
            dead = [n for n in frees.get(i, []) if n]
            if dead:
                body.append(f"{indent}del {', '.join(sorted(dead))}")

    peak = peak_bytes(forward, backward, saved_set)
    body.append(f"def forward({', '.join(arguments)}):")
    body.append(f'    """{title}, forward: returns its outputs and what backward needs.')
    body.append("")
    body.append(f"    Its own arrays, forward and backward, take at most {peak / 2**20:.2f} MiB at once")
    body.append("    (estimated; inputs and parameters not counted).")
    body.append('    """')
    emit(forward, set(program.outputs) | saved_set)
    outputs = ", ".join(render(n) for n in program.outputs)
    saved_names = ", ".join([n.name for n in saved] + handles)
    saved_count = len(saved) + len(handles)
    body.append(f"    return ({outputs}{',' if len(program.outputs) == 1 else ''}), "
                f"({saved_names}{',' if saved_count == 1 else ''})")  # fmt: skip
    backward_fn = None
    if program.grad_seeds:
        body.append("")
        body.append("")
        seeds = ", ".join(n.name for n in program.grad_seeds)
        body.append(f"def backward(saved, {seeds}):")
        body.append(f'    """{title}, backward: dL/d of each input and parameter."""')
        if saved_count:
            body.append(f"    {saved_names}{',' if saved_count == 1 else ''} = saved")
        # (what forward saved stays held by the caller until backward ends: no del for it here)
        emit(backward, {g for g in grads if g is not None} | saved_set)
        returned = ", ".join("None" if g is None else render(g) for g in grads)
        body.append(f"    return ({returned}{',' if len(grads) == 1 else ''})")
    source = "\n".join(body) + "\n"
    for cls, name in classes.items():
        namespace[name] = cls
    filename = f"<jit {title} #{id(program):x}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (our own generated program)
    if program.grad_seeds:
        backward_fn = namespace["backward"]
    lines = sum(
        1 for line in body if line.startswith("    ") and not line.lstrip().startswith(('"""', "del "))
    )
    return Generated(
        source=source,
        forward=namespace["forward"],
        backward=backward_fn,
        saved=saved,
        peak_bytes=peak,
        lines=lines,
        namespace=namespace,
    )


__all__ += ["Names", "Render", "literal", "name_nodes", "peak_bytes"]
