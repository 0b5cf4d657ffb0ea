"""Layers built from the engine's ops."""

from tinygrad_rnn.nn import functional, utils
from tinygrad_rnn.nn.layers import Dropout, Embedding, Linear
from tinygrad_rnn.nn.module import (
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    ParameterDict,
    ParameterList,
    Sequential,
    StateDictError,
)
from tinygrad_rnn.nn.recurrent import GRU, LSTM, RNN, GRUCell, LeakyRNNCell, LSTMCell, RNNCell, SkipRNN
from tinygrad_rnn.nn.rtrl import RTRL

__all__ = ["Module", "Parameter", "StateDictError"]
__all__ += ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
__all__ += ["RNNCell", "GRUCell", "LSTMCell", "LeakyRNNCell", "RNN", "GRU", "LSTM", "SkipRNN"]
__all__ += ["Linear", "Embedding", "Dropout", "RTRL", "functional", "utils"]
