"""The compiler's program: a list of nodes, each one value, in an order that computes them.

A traced function becomes a ``Program``: the nodes of its forward pass, then
the nodes of its backward pass, in the order they ran (so every node comes
after the nodes it reads). Each node is one line of the generated Python.

Kinds of node, by where their value comes from:

* ``input``    an argument of the compiled function (a Tensor's or an array's values);
* ``leaf``     a Tensor the function read that existed before it ran (a parameter):
               its current values are read at every call;
* ``constant`` a value the function made itself, the same on every call (``1 - z``'s 1);
* ``op``       a primitive op of ops.py (or any Function) applied to earlier nodes;
* ``numpy``    a numpy call on values the program computes (an index array made from an
               integer input, the mask ``x > 0`` of a ReLU's backward): see trace.Traced;
* ``guard``    a Python value the function read (``bool``, ``int`` of an array): the
               program checks it is still the same, or the function is traced again;
* ``sum``      the gradient of a value used several times: the sum of what each use sent;
* ``grad``     dL/d(output), given to the backward pass;
* ``call_backward``, ``item``  the hand-written backward of an op the table does not know
               (a fused op): called as it is, then its results picked out;
* ``buffer``, ``write``, ``alias``  made by the passes: an array allocated once, filled
               slice by slice, then read under the name of the value it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Node", "Program", "nodes_in", "map_nodes"]


@dataclass(eq=False)
class Node:
    """One value of the program (a node hashes and compares by identity)."""

    kind: str
    args: list[Any] = field(default_factory=list)  # the nodes (and plain values) it reads
    shape: tuple[int, ...] = ()
    dtype: Any = None
    op: Any = None  # kind "op": the Function class; kind "numpy": the numpy callable or method name
    options: dict[str, Any] = field(default_factory=dict)  # op options (may hold nodes), numpy kwargs
    value: Any = None  # input: its position; leaf: the Tensor; constant: the array; guard: expected
    phase: str = "forward"  # or "backward"
    name: str = ""  # set by codegen (or by the tracer for inputs, leaves and gradients)
    note: str = ""  # for the comment of its line, e.g. which op's backward made it
    instance: Any = None  # kind "op": the traced Function object (its state, for a call)
    origin: Node | None = None  # a backward node: the forward node whose backward made it
    into: tuple[Node, Any] | None = None  # (buffer, index): computed straight into buffer[index]

    def inputs(self) -> list[Node]:
        """The nodes this node reads, in order, each once (a buffer it writes into counts)."""
        if self.into is not None:
            return list({id(n): n for n in nodes_in((self.args, self.options, self.into))}.values())
        if not self.options and all(type(a) is Node or type(a) is int for a in self.args):
            found = [a for a in self.args if type(a) is Node]  # the usual case: a flat list of nodes
            return (
                found
                if len(found) < 2 or len(set(map(id, found))) == len(found)
                else list({id(n): n for n in found}.values())
            )
        seen: dict[int, Node] = {}
        for node in nodes_in((self.args, self.options)):
            seen.setdefault(id(node), node)
        return list(seen.values())

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize if self.dtype else 0

    def __repr__(self) -> str:
        what = getattr(self.op, "__name__", self.op) if self.op is not None else ""
        return f"Node({self.kind} {what} {self.name or hex(id(self))} {self.shape})"


def nodes_in(value: Any) -> Iterator[Node]:
    """Every node inside a value: a node itself, or nested in tuples, lists, dicts and slices."""
    if isinstance(value, Node):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from nodes_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from nodes_in(item)
    elif isinstance(value, slice):
        yield from nodes_in((value.start, value.stop, value.step))


def map_nodes(value: Any, change: Callable[[Node], Any]) -> Any:
    """value with every node inside it replaced by change(node)."""
    if isinstance(value, Node):
        return change(value)
    if isinstance(value, tuple):
        return tuple(map_nodes(item, change) for item in value)
    if isinstance(value, list):
        return [map_nodes(item, change) for item in value]
    if isinstance(value, dict):
        return {key: map_nodes(item, change) for key, item in value.items()}
    if isinstance(value, slice):
        return slice(*(map_nodes(v, change) for v in (value.start, value.stop, value.step)))
    return value


@dataclass(eq=False)
class Program:
    """A traced function as nodes: what the generated forward and backward functions compute.

    ``outputs`` are the values the function returned; ``input_grads`` pairs every
    input or leaf that needs a gradient with the node of its gradient (None if
    nothing reaches it); ``grad_seeds`` are the ``grad`` nodes, one per output.
    """

    nodes: list[Node]
    inputs: list[Node]  # kind "input", in the compiled function's flattened argument order
    leaves: list[Node]  # kind "leaf": read at call time
    outputs: list[Node]
    grad_seeds: list[Node] = field(default_factory=list)
    input_grads: list[tuple[Node, Node | None]] = field(default_factory=list)
    grad_of: dict[Node, Node] = field(default_factory=dict)  # a gradient's node -> the node it is dL/d of
    log: list[str] = field(default_factory=list)  # what each pass did, for the reader
    free_early: bool = False  # set by passes.plan_memory: codegen frees each array after its last use

    def users(self) -> dict[Node, list[Node]]:
        """For every node, the nodes that read it (in program order)."""
        readers: dict[Node, list[Node]] = {node: [] for node in self.nodes}
        for node in self.nodes:
            for read in node.inputs():
                readers.setdefault(read, []).append(node)
        return readers

    def roots(self) -> list[Node]:
        """The nodes whose values leave the program: outputs, gradients, guards."""
        grads = [grad for _, grad in self.input_grads if grad is not None]
        return [*self.outputs, *grads, *(n for n in self.nodes if n.kind == "guard")]

    def replace(self, old: Node, new: Node, users: dict[Node, list[Node]] | None = None) -> None:
        """Make every reader of ``old`` read ``new`` instead (old stays in the list until dead code).

        With ``users`` (from users()), only old's readers are visited, and the map is kept up to date.
        """

        def swap(node: Node) -> Node:
            return new if node is old else node

        readers = self.nodes if users is None else users.get(old, [])
        for node in readers:
            node.args = map_nodes(node.args, swap)
            node.options = map_nodes(node.options, swap)
        if users is not None:
            users.setdefault(new, []).extend(users.pop(old, []))
        self.outputs = [swap(n) for n in self.outputs]
        self.input_grads = [(x, None if g is None else swap(g)) for x, g in self.input_grads]

    def edit(self, swap: dict[Node, Node], before: dict[Node, list[Node]], drop: set[Node]) -> None:
        """Rebuild the node list in one pass: swap[n] takes n's place, before[n] goes in front of n,
        and the nodes in drop leave."""
        nodes = []
        for node in self.nodes:
            nodes.extend(before.get(node, ()))
            if node not in drop:
                nodes.append(swap.get(node, node))
        self.nodes = nodes

    def count(self, phase: str | None = None) -> int:
        """How many nodes make a line of code (in one phase, or both)."""
        silent = ("input", "leaf", "constant", "grad", "alias")
        return sum(1 for n in self.nodes if n.kind not in silent and phase in (None, n.phase))
