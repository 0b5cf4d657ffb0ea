"""tinygrad_rnn: a small reverse-mode autograd engine on numpy, and the RNNs built from it."""

from tinygrad_rnn.gradcheck import GradcheckError, gradcheck
from tinygrad_rnn.io import CheckpointError, load, save
from tinygrad_rnn.tensor import AnomalyError, Tensor, concat, detect_anomaly, no_grad, stack

__all__ = [
    "Tensor",
    "concat",
    "stack",
    "no_grad",
    "gradcheck",
    "GradcheckError",
    "detect_anomaly",
    "AnomalyError",
    "save",
    "load",
    "CheckpointError",
]
__version__ = "0.1.0"
