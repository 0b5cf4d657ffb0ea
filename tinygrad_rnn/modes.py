"""Process-wide switches: is the graph being recorded, is anomaly mode on.

``no_grad`` and ``detect_anomaly`` are context managers (and decorators) that
set one switch and restore it on exit; backward() sets ``enabled`` itself, to
record the backward pass only when create_graph=True.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["no_grad", "detect_anomaly", "is_grad_enabled"]


class _GradMode:
    """Process-wide switches: is the graph being recorded, is anomaly mode on."""

    enabled = True
    anomaly = False
    # Called for every op visited by backward(); see viz.trace_backward().
    backward_hook: Callable[[Any, Any, tuple], None] | None = None
    # Called as tracer(op, parents, output, options) for every op that runs; see tracing().
    tracers: tuple[Callable[[Any, tuple, Any, dict], None], ...] = ()
    # While jit traces: maps a plain view of a traced array back to it (see checks.as_array).
    follow: Callable[[Any], Any] | None = None
    # While jit traces: called by backward(), whose .grad a program cannot set (compiler/trace.py).
    refuse_backward: Callable[[], None] | None = None


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class _Bare(type):
    """``with no_grad:`` (the class, without parentheses) is an error that says what to write."""

    def __enter__(cls) -> None:
        raise TypeError(f"write `with {cls.__name__}():`, with parentheses: {cls.__name__} is a class")

    def __exit__(cls, *exc: object) -> None:
        pass


class _Switch(metaclass=_Bare):
    """A context manager (and decorator) that sets one _GradMode field and restores it.

    ``@no_grad()`` and the bare ``@no_grad`` both decorate a function (as in PyTorch).
    """

    field, value = "enabled", False

    def __new__(cls, function: Callable | None = None) -> Any:
        if function is not None:  # @no_grad without parentheses: Python passes the function
            return cls()(function)
        return super().__new__(cls)

    def __init__(self, function: Callable | None = None) -> None:
        self._previous: list[bool] = []  # a stack, so one instance may be entered again inside itself

    def __enter__(self) -> None:
        self._previous.append(getattr(_GradMode, self.field))
        setattr(_GradMode, self.field, self.value)

    def __exit__(self, *exc: object) -> None:
        setattr(_GradMode, self.field, self._previous.pop())

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = getattr(fn, "__name__", "wrapper"), fn.__doc__
        return wrapper


class no_grad(_Switch):
    """``with no_grad():`` runs ops without recording the graph (also a decorator)."""


class detect_anomaly(_Switch):
    """``with detect_anomaly():`` stops at the first op whose output or gradient is NaN/inf.

    The error names the op and the file:line of the user code that called it, so
    a NaN loss can be traced to the ``log`` of a zero that caused it.
    """

    field, value = "anomaly", True


class _NoContext:
    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


_NO_CONTEXT = _NoContext()


@contextmanager
def tracing(tracer: Callable[[Any, tuple, Any, dict], None]) -> Any:
    """While active, every op that runs is reported as ``tracer(op, parents, output, options)``,
    whether or not a gradient is needed: the trace compiler (jit) and forward mode (jvp) read
    programs this way. Tracers nest: an outer one keeps hearing the ops an inner one hears."""
    previous = _GradMode.tracers
    _GradMode.tracers = (*previous, tracer)
    try:
        yield
    finally:
        _GradMode.tracers = previous


@contextmanager
def recording(create_graph: bool) -> Any:
    """backward()'s mode: the graph is recorded only for create_graph; in anomaly mode numpy's
    warnings are silenced, because the anomaly checks name the op instead."""
    previous, _GradMode.enabled = _GradMode.enabled, create_graph
    try:
        with np.errstate(all="ignore") if _GradMode.anomaly else _NO_CONTEXT:
            yield
    finally:
        _GradMode.enabled = previous
