"""Layers built from the engine's ops."""

from tinygrad_rnn.nn.module import Module, Parameter, StateDictError

__all__ = ["Module", "Parameter", "StateDictError"]
