"""The benchmark models, built three ways from one set of numbers.

Each benchmark (a ``BenchSpec``) is one SGD training step of a small recurrent
model: forward over the whole sequence, mean softmax cross-entropy over every
(t, b) prediction, full backpropagation through time, then
``p <- p - lr * dL/dp``. The step is built

* with tinygrad_rnn, as a user would write it (nn.RNN/GRU/LSTM, nn.Embedding,
  nn.Linear, F.cross_entropy, optim.SGD; seed 000's model from its equations),
  in three forms: "composed" (the default: every recurrent step made of
  primitive ops, nn/steps.py), "fused" (``fused=True`` on the recurrent
  layer: the steps of fused.py; for seed 000's model, one TanhAffine op per step)
  and "compiled" (the composed model's loss through ``tinygrad_rnn.jit``: one
  generated numpy program for forward and backward);
* in plain numpy, from the hand-derived gradients in numpy_reference.py;
* with PyTorch on the CPU, when it is installed (torch's own nn.RNN/GRU/LSTM,
  Embedding, Linear, cross_entropy and SGD).

The fused model, the numpy and the torch versions start from a copy of the
composed model's ``state_dict()``, so all four compute the same numbers, and the tests can
compare gradients entry by entry. Every trainer has ``step() -> loss`` and
``gradients() -> (loss, {parameter name: dL/dparameter})``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np

import tinygrad_rnn.nn.functional as F
from benchmarks import numpy_reference
from tinygrad_rnn import Tensor, concat, jit, nn, optim, stack
from tinygrad_rnn.fused import TanhAffine

__all__ = [
    "FORMS",
    "Target",
    "BenchSpec",
    "SPECS",
    "Trainer",
    "make_batch",
    "engine_model",
    "engine_trainer",
    "numpy_trainer",
    "torch_trainer",
    "torch_available",
]

LANGUAGE_MODELS = ("rnn", "gru", "lstm")
COMPOSED, FUSED, COMPILED = "composed", "fused", "compiled"
FORMS = (COMPOSED, FUSED, COMPILED)  # the engine's forms: eager composed, eager fused, jit of composed


@dataclass(frozen=True)
class Target:
    """A speed target: time of the engine's ``form`` / time of ``baseline`` at most ``max_ratio``
    (below it if ``strict``). The baseline is "numpy", "torch" or the engine's other form."""

    form: str  # "composed" or "fused"
    baseline: str  # "numpy", "torch", "composed" or "fused"
    max_ratio: float
    strict: bool = False

    @property
    def ratio_name(self) -> str:
        """The key of the ratio this target reads, e.g. "composed/torch"."""
        return f"{self.form}/{self.baseline}"

    @property
    def text(self) -> str:
        return f"{self.form} {'<' if self.strict else '<='} {self.max_ratio:g}x {self.baseline}"

    def met_by(self, ratio: float) -> bool:
        return ratio < self.max_ratio if self.strict else ratio <= self.max_ratio


@dataclass(frozen=True)
class BenchSpec:
    """One benchmark: the model, its sizes, and the speed targets of the engine's step."""

    name: str
    architecture: str  # "char-rnn", "rnn", "gru", "lstm" (language models) or "r2rt"
    vocab: int  # classes of the input tokens and of the predictions
    hidden: int
    steps: int  # T, the sequence length backpropagated through
    batch: int
    dtype: str  # "float32" or "float64"
    targets: tuple[Target, ...]
    embedding: int = 0  # embedding size (language models only)
    lr: float = 0.05

    @property
    def setting(self) -> str:
        embed = f" E={self.embedding}" if self.embedding else ""
        return f"V={self.vocab}{embed} H={self.hidden} T={self.steps} B={self.batch} {self.dtype}"

    def tiny(self) -> BenchSpec:
        """The same model shrunk to a few units (for tests of the harness itself)."""
        vocab = 2 if self.architecture == "r2rt" else 5
        return dataclasses.replace(
            self, vocab=vocab, hidden=4, steps=3, batch=2, embedding=3 if self.embedding else 0
        )


# The earlier targets hold the default (composed) form to its baseline; lstm-lm adds the
# learner-first core's: composed <= 1.3x torch and <= 1.25x fused, fused <= 1.5x numpy. The
# compiler's: every compiled step <= 1.3x the hand-derived numpy step, lstm-lm <= 1.15x.
SPECS: tuple[BenchSpec, ...] = (
    # min-char-rnn's setting: one-hot characters, 25 steps, one sequence, float64.
    BenchSpec("char-rnn", "char-rnn", vocab=65, hidden=100, steps=25, batch=1, dtype="float64",
              targets=(Target(COMPOSED, "numpy", 1.5), Target(COMPILED, "numpy", 1.3))),
    BenchSpec("rnn-lm", "rnn", vocab=65, embedding=64, hidden=256, steps=64, batch=32, dtype="float32",
              targets=(Target(COMPOSED, "torch", 1.3), Target(COMPILED, "numpy", 1.3))),
    BenchSpec("gru-lm", "gru", vocab=65, embedding=64, hidden=256, steps=64, batch=32, dtype="float32",
              targets=(Target(COMPOSED, "torch", 1.3), Target(COMPILED, "numpy", 1.3))),
    BenchSpec("lstm-lm", "lstm", vocab=65, embedding=64, hidden=256, steps=64, batch=32, dtype="float32",
              targets=(Target(COMPOSED, "torch", 1.3), Target(COMPOSED, FUSED, 1.25),
                       Target(FUSED, "numpy", 1.5), Target(COMPILED, "numpy", 1.15))),
    # Seed 000 (r2rt): binary inputs, state size 16, truncated to 10 steps, batch 200.
    BenchSpec("r2rt", "r2rt", vocab=2, hidden=16, steps=10, batch=200, dtype="float32",
              targets=(Target(COMPOSED, "torch", 1.0, strict=True), Target(COMPILED, "numpy", 1.3))),
)  # fmt: skip


def make_batch(spec: BenchSpec, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random (inputs, targets) for one step. Targets are class indices (T, B).

    Inputs are token indices (T, B) for the language models and one-hot vectors
    (T, B, V) in the model's dtype for char-rnn and r2rt, whose equations
    multiply the one-hot input by a weight matrix.
    """
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, spec.vocab, size=(spec.steps, spec.batch))
    targets = rng.integers(0, spec.vocab, size=(spec.steps, spec.batch))
    if spec.architecture in LANGUAGE_MODELS:
        return tokens, targets
    return np.eye(spec.vocab, dtype=spec.dtype)[tokens], targets


# ---- tinygrad_rnn --------------------------------------------------------------------------------
class CharRNN(nn.Module):
    """min-char-rnn: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), logits_t = W_hy h_t + b_y."""

    def __init__(self, vocab: int, hidden: int, rng: np.random.Generator, fused: bool = False) -> None:
        self.rnn = nn.RNN(vocab, hidden, rng=rng, fused=fused)
        self.head = nn.Linear(hidden, vocab, rng=rng)

    def forward(self, onehot: Tensor) -> Tensor:
        hs, _ = self.rnn(onehot)
        return self.head(hs)


class LanguageModel(nn.Module):
    """Embedding -> one recurrent layer (RNN, GRU or LSTM) -> Linear, on tokens (T, B)."""

    def __init__(
        self, architecture: str, vocab: int, embedding: int, hidden: int, rng, fused: bool = False
    ) -> None:
        layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[architecture]
        self.embedding = nn.Embedding(vocab, embedding, rng=rng)
        self.rnn = layer(embedding, hidden, rng=rng, fused=fused)
        self.head = nn.Linear(hidden, vocab, rng=rng)

    def forward(self, tokens: np.ndarray) -> Tensor:
        hs, _ = self.rnn(self.embedding(tokens))
        return self.head(hs)


class R2RT(nn.Module):
    """Seed 000's model: S_t = tanh(W [X_t, S_{t-1}] + b_s), logits_t = U S_t + b_p, S_0 = 0.

    Written in the seed's row-vector layout: [X_t, S_{t-1}] is (B, C + H),
    W is (C + H, H) and U is (H, C); softmax(logits_t) is P_t. The composed
    form is the equation's ops (concat, matmul, add, tanh); the fused form makes
    the matmul, add and tanh one TanhAffine node per step (it takes the weight
    in PyTorch's (out, in) layout, so W.T is formed once per forward).
    """

    def __init__(self, classes: int, state: int, rng: np.random.Generator, fused: bool = False) -> None:
        self.fused = fused
        bound = 1 / np.sqrt(state)
        self.W = nn.Parameter(rng.uniform(-bound, bound, (classes + state, state)))
        self.b_s = nn.Parameter(np.zeros(state))
        self.U = nn.Parameter(rng.uniform(-bound, bound, (state, classes)))
        self.b_p = nn.Parameter(np.zeros(classes))

    def forward(self, onehot: Tensor) -> Tensor:
        steps, batch, _ = onehot.shape
        s = Tensor(np.zeros((batch, self.W.shape[1]), dtype=self.W.dtype))
        states = []
        if self.fused:
            weight = self.W.T  # (H, C + H): TanhAffine computes x @ weight.T + b
            for t in range(steps):
                s = TanhAffine.apply(concat([onehot[t], s], axis=1), weight, self.b_s)
                states.append(s)
        else:
            for t in range(steps):
                s = (concat([onehot[t], s], axis=1) @ self.W + self.b_s).tanh()
                states.append(s)
        return stack(states) @ self.U + self.b_p


def engine_model(spec: BenchSpec, seed: int = 0, fused: bool = False) -> nn.Module:
    """The tinygrad_rnn model of ``spec`` in spec.dtype, its parameters drawn from ``seed``.

    The fused form loads the composed form's state dict, so both hold the same numbers.
    """
    rng = np.random.default_rng(seed)
    if spec.architecture == "char-rnn":
        model = CharRNN(spec.vocab, spec.hidden, rng, fused=fused)
    elif spec.architecture == "r2rt":
        model = R2RT(spec.vocab, spec.hidden, rng, fused=fused)
    elif spec.architecture in LANGUAGE_MODELS:
        model = LanguageModel(spec.architecture, spec.vocab, spec.embedding, spec.hidden, rng, fused=fused)
    else:
        raise ValueError(f"engine_model: unknown architecture {spec.architecture!r}")
    model = model.to(np.dtype(spec.dtype))
    if fused:
        model.load_state_dict(engine_model(spec, seed, fused=False).state_dict())
    return model


class Trainer(Protocol):
    def step(self) -> float: ...

    def gradients(self) -> tuple[float, dict[str, np.ndarray]]: ...


class EngineTrainer:
    """One training step with tinygrad_rnn, on a fixed batch (the loss through jit if ``compiled``)."""

    def __init__(
        self, spec: BenchSpec, model: nn.Module, inputs: np.ndarray, targets: np.ndarray,
        compiled: bool = False,
    ) -> None:
        self.model, self.vocab = model, spec.vocab
        # One-hot inputs are data, made a Tensor once, as a training script would.
        self.inputs = inputs if spec.architecture in LANGUAGE_MODELS else Tensor(inputs)
        self.targets = targets.reshape(-1)
        self.optimizer = optim.SGD(model.parameters(), lr=spec.lr)
        # The one line a training loop changes to compile its step:
        self.loss_of = jit(self.loss_of) if compiled else self.loss_of

    def loss_of(self, inputs: Any, targets: np.ndarray) -> Tensor:
        logits = self.model(inputs)
        return F.cross_entropy(logits.reshape(-1, self.vocab), targets)

    def _loss(self) -> Tensor:
        return self.loss_of(self.inputs, self.targets)

    def step(self) -> float:
        self.optimizer.zero_grad()
        loss = self._loss()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def gradients(self) -> tuple[float, dict[str, np.ndarray]]:
        self.model.zero_grad()
        loss = self._loss()
        loss.backward()
        return loss.item(), {name: p.grad.copy() for name, p in self.model.named_parameters()}


def engine_trainer(
    spec: BenchSpec, inputs, targets, seed: int = 0, fused: bool = False, compiled: bool = False
) -> EngineTrainer:
    """The engine's step of ``spec``: composed (default), fused, or the composed step compiled."""
    return EngineTrainer(spec, engine_model(spec, seed, fused), inputs, targets, compiled)


# ---- numpy --------------------------------------------------------------------------------------
def numpy_trainer(spec: BenchSpec, params: dict[str, np.ndarray], inputs, targets):
    """The hand-derived numpy step of ``spec``, starting from ``params`` (a state dict)."""
    if spec.architecture == "char-rnn":
        loss_and_grads = numpy_reference.char_rnn_loss_and_grads
    elif spec.architecture == "r2rt":
        loss_and_grads = numpy_reference.r2rt_loss_and_grads
    else:
        loss_and_grads = partial(numpy_reference.language_model_loss_and_grads, spec.architecture)
    return numpy_reference.NumpyTrainer(loss_and_grads, params, inputs, targets, spec.lr)


# ---- PyTorch (optional) ---------------------------------------------------------------------------
def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def torch_trainer(spec: BenchSpec, params: dict[str, np.ndarray], inputs, targets) -> Any:
    """The PyTorch CPU step of ``spec``, starting from ``params``; needs torch installed."""
    import torch

    dtype = {"float32": torch.float32, "float64": torch.float64}[spec.dtype]

    class TorchCharRNN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = torch.nn.RNN(spec.vocab, spec.hidden)
            self.head = torch.nn.Linear(spec.hidden, spec.vocab)

        def forward(self, onehot):
            return self.head(self.rnn(onehot)[0])

    class TorchLanguageModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[spec.architecture]
            self.embedding = torch.nn.Embedding(spec.vocab, spec.embedding)
            self.rnn = layer(spec.embedding, spec.hidden)
            self.head = torch.nn.Linear(spec.hidden, spec.vocab)

        def forward(self, tokens):
            return self.head(self.rnn(self.embedding(tokens))[0])

    class TorchR2RT(torch.nn.Module):
        """The seed's equations, step by step, exactly as the engine's R2RT."""

        def __init__(self) -> None:
            super().__init__()
            c, h = spec.vocab, spec.hidden
            self.W = torch.nn.Parameter(torch.empty(c + h, h))
            self.b_s = torch.nn.Parameter(torch.empty(h))
            self.U = torch.nn.Parameter(torch.empty(h, c))
            self.b_p = torch.nn.Parameter(torch.empty(c))

        def forward(self, onehot):
            s = torch.zeros(onehot.shape[1], self.W.shape[1], dtype=self.W.dtype)
            states = []
            for t in range(onehot.shape[0]):
                s = torch.tanh(torch.cat([onehot[t], s], dim=1) @ self.W + self.b_s)
                states.append(s)
            return torch.stack(states) @ self.U + self.b_p

    if spec.architecture == "char-rnn":
        model = TorchCharRNN()
    elif spec.architecture == "r2rt":
        model = TorchR2RT()
    else:
        model = TorchLanguageModel()
    model = model.to(dtype)
    model.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in params.items()})
    return TorchTrainer(spec, model, torch.from_numpy(np.asarray(inputs)), torch.from_numpy(targets))


class TorchTrainer:
    """One training step with PyTorch on the CPU, on a fixed batch."""

    def __init__(self, spec: BenchSpec, model, inputs, targets) -> None:
        import torch

        self.torch, self.model, self.vocab = torch, model, spec.vocab
        self.inputs, self.targets = inputs, targets.reshape(-1)
        self.optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr)

    def _loss(self):
        logits = self.model(self.inputs)
        return self.torch.nn.functional.cross_entropy(logits.reshape(-1, self.vocab), self.targets)

    def step(self) -> float:
        self.optimizer.zero_grad()
        loss = self._loss()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def gradients(self) -> tuple[float, dict[str, np.ndarray]]:
        self.optimizer.zero_grad()
        loss = self._loss()
        loss.backward()
        return loss.item(), {n: p.grad.detach().numpy().copy() for n, p in self.model.named_parameters()}
