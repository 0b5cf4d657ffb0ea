"""Linear, Embedding and Dropout: the feed-forward pieces around a recurrent layer.

Every layer that draws random numbers takes an optional ``rng``: a
``numpy.random.Generator`` or an int seed (as the recurrent layers do). Without
one, the numbers are fresh each run, as in PyTorch; pass a seed to repeat them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn.nn.functional import _integer_indices, linear
from tinygrad_rnn.nn.module import Module, Parameter, Seed, as_generator
from tinygrad_rnn.tensor import Tensor

__all__ = ["Linear", "Embedding", "Dropout"]


def _positive_int(value: Any, what: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {what} must be a positive integer, got {value!r}")
    return int(value)


def _as_tensor(x: Any, dtype: np.dtype, layer: str) -> Tensor:
    """User input for a layer: arrays take the layer's dtype; a Tensor must already have it."""
    if not isinstance(x, Tensor):
        return Tensor(x, dtype=dtype)
    if x.dtype != dtype:
        raise TypeError(
            f"{layer}: input has dtype {x.dtype} but the parameters are {dtype}; convert one of them "
            "(Tensor(x, dtype=...) or module.to(...))"
        )
    return x


class Linear(Module):
    """y = x W^T + b for x of shape (..., in_features), y of shape (..., out_features).

    weight W has shape (out_features, in_features) and bias b shape (out_features,),
    as in PyTorch; both start uniform in [-1/sqrt(in_features), 1/sqrt(in_features)].
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: Seed = None,
        dtype: Any = np.float64,
    ) -> None:
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        rng = as_generator(rng, "Linear")
        bound = 1.0 / np.sqrt(self.in_features)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, shape), dtype=dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, self.out_features), dtype=dtype) if bias else None

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        x = _as_tensor(x, self.weight.dtype, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: input of shape {x.shape} does not end in in_features={self.in_features} "
                f"(expected (..., {self.in_features}))"
            )
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


class Embedding(Module):
    """y = W[idx]: row idx of the table W (num_embeddings, embedding_dim) for every index.

    The same as one_hot(idx) @ W, without building the one-hot matrix; where an
    index repeats, the gradients of its rows add up. W starts standard normal.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        rng: Seed = None,
        dtype: Any = np.float64,
    ) -> None:
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim", "Embedding")
        rng = as_generator(rng, "Embedding")
        self.weight = Parameter(rng.standard_normal((self.num_embeddings, self.embedding_dim)), dtype=dtype)

    def forward(self, indices: Any) -> Tensor:
        """indices: integers of any shape (numpy array, list, int or Tensor) -> (*shape, dim)."""
        idx = _integer_indices(indices, "Embedding")
        bad = (idx < 0) | (idx >= self.num_embeddings)
        if bad.any():
            raise IndexError(
                f"Embedding: index {int(idx[bad].flat[0])} is out of range for num_embeddings="
                f"{self.num_embeddings} (valid indices are 0..{self.num_embeddings - 1})"
            )
        return self.weight[idx]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """In training, y = x * m / (1 - p) with m_i ~ Bernoulli(1 - p); in eval mode y = x.

    Scaling the kept entries by 1/(1-p) ("inverted dropout") keeps E[y] = x, so
    nothing changes between training and evaluation. dL/dx = g * m / (1 - p).
    """

    def __init__(self, p: float = 0.5, *, rng: Seed = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p is the probability of dropping an entry, in [0, 1); got {p!r}")
        self.p = float(p)
        self.rng = as_generator(rng, "Dropout")

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.training or self.p == 0.0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        return x * (keep / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"
