"""tinygrad_rnn: a small reverse-mode autograd engine on numpy, and the RNNs built from it."""

from tinygrad_rnn import nn, optim, viz  # noqa: E402,I001  (after the engine: they build on it)
from tinygrad_rnn.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinygrad_rnn.io import CheckpointError, load, save
from tinygrad_rnn.autograd import grad
from tinygrad_rnn.compiler import JitError, jit
from tinygrad_rnn.forward_mode import hessian, jacobian, jvp
from tinygrad_rnn.tensor import (
    AnomalyError,
    Function,
    Tensor,
    concat,
    detect_anomaly,
    maximum,
    minimum,
    no_grad,
    split,
    stack,
    where,
)

__all__ = [
    "Tensor",
    "Function",
    "concat",
    "stack",
    "split",
    "where",
    "minimum",
    "maximum",
    "no_grad",
    "grad",
    "jit",
    "JitError",
    "jvp",
    "jacobian",
    "hessian",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "detect_anomaly",
    "AnomalyError",
    "save",
    "load",
    "CheckpointError",
    "nn",
    "optim",
    "viz",
]
__version__ = "0.1.0"
