"""Character-level text: an offline corpus, a vocabulary with <EOS> and <UNK>, and a sampler.

The default corpus is the docstrings of a fixed list of standard-library
modules, read from the installed Python's source files with ``ast`` (no
module is imported, and ``python -OO`` does not matter), so the same text
exists wherever this Python version is installed.
"""

from __future__ import annotations

import ast
import functools
import math
import os
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "EOS",
    "UNK",
    "STDLIB_MODULES",
    "stdlib_docstrings",
    "read_corpus_file",
    "split_documents",
    "Vocabulary",
    "unigram_bits_per_char",
    "sample_from_logits",
    "sample_sequence",
]

EOS = "<EOS>"
UNK = "<UNK>"

# Modules whose docstrings make the default corpus, in this order.
STDLIB_MODULES: tuple[str, ...] = tuple(
    """argparse textwrap calendar difflib string functools collections dataclasses json random
    statistics fractions heapq bisect shutil pathlib inspect typing enum logging subprocess threading
    queue contextlib abc copy pprint csv datetime ipaddress gettext optparse tarfile zipfile""".split()
)

_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _module_source(stdlib: str, module: str) -> str | None:
    for candidate in (f"{module}.py", os.path.join(module, "__init__.py")):
        path = os.path.join(stdlib, candidate)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return f.read()
    return None


def stdlib_docstrings(modules: Sequence[str] = STDLIB_MODULES, stdlib: str | None = None) -> list[str]:
    """Every module, class and function docstring of ``modules``, in source order.

    Modules missing from this installation are skipped; finding none is an error.
    """
    stdlib = sysconfig.get_paths()["stdlib"] if stdlib is None else stdlib
    return list(_docstrings(tuple(modules), stdlib))


@functools.lru_cache(maxsize=4)
def _docstrings(modules: tuple[str, ...], stdlib: str) -> tuple[str, ...]:
    """stdlib_docstrings, parsed once per process (parsing ~30 modules takes a second)."""
    documents: list[str] = []
    found = 0
    for module in modules:
        source = _module_source(stdlib, module)
        if source is None:
            continue
        found += 1
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, _DOCUMENTED):
                doc = ast.get_docstring(node)
                if doc:
                    documents.append(doc)
    if not found:
        raise FileNotFoundError(
            f"stdlib_docstrings: none of the modules {list(modules)} has a source file under {stdlib}; "
            "pass a text file instead (--corpus FILE)"
        )
    return tuple(documents)


def read_corpus_file(path: str) -> list[str]:
    """A UTF-8 text file as documents: paragraphs separated by blank lines.

    A file that is not UTF-8 text (a binary, text in another encoding) is a ValueError naming
    it; one that cannot be read raises open()'s OSError (which names it too).
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"read_corpus_file: {path} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
            f"{err.start} is not UTF-8); convert it to UTF-8 first"
        ) from None
    if "\x00" in text:  # valid UTF-8, but a NUL byte is never in text: a binary file
        raise ValueError(f"read_corpus_file: {path} holds NUL bytes, so it is binary, not UTF-8 text")
    documents = [p.strip("\n") for p in text.split("\n\n") if p.strip()]
    if not documents:
        raise ValueError(f"read_corpus_file: {path} contains no text")
    return documents


def split_documents(documents: Sequence[str], every: int = 10) -> tuple[str, str]:
    """(train, held-out) text: every ``every``-th document is held out, the rest trains.

    Taking documents from throughout the corpus keeps both splits alike
    (a tail split would hold out only the last modules).
    """
    if len(documents) < 2:
        raise ValueError(f"split_documents: need at least 2 documents, got {len(documents)}")
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 2:
        raise ValueError(
            f"split_documents: every must be an integer >= 2 (every k-th is held out), got {every!r}"
        )
    every = min(every, len(documents))
    held = [d for i, d in enumerate(documents) if i % every == every - 1]
    train = [d for i, d in enumerate(documents) if i % every != every - 1]
    return "\n".join(train) + "\n", "\n".join(held) + "\n"


@dataclass(frozen=True)
class Vocabulary:
    """Characters of a training text plus <EOS> (end of line) and <UNK> (any other character).

    Token ids: the sorted characters first, then EOS, then UNK. A newline is
    never a character token: it is encoded as EOS.
    """

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        return cls(tuple(sorted(set(text) - {"\n"})))

    @property
    def tokens(self) -> tuple[str, ...]:
        return (*self.chars, EOS, UNK)

    def __len__(self) -> int:
        return len(self.chars) + 2

    @property
    def eos_id(self) -> int:
        return len(self.chars)

    @property
    def unk_id(self) -> int:
        return len(self.chars) + 1

    @property
    def _index(self) -> dict[str, int]:
        # Built on demand (the dataclass is frozen); callers encode whole texts at once.
        return {c: i for i, c in enumerate(self.chars)}

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``: '\\n' -> EOS, characters outside the vocabulary -> UNK."""
        index = self._index
        ids = [self.eos_id if c == "\n" else index.get(c, self.unk_id) for c in text]
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of token ids: EOS -> '\\n', UNK -> '\\ufffd' (the replacement character)."""
        ids = np.asarray(ids)
        if ids.size and ids.dtype.kind not in "iu":  # numpy would cut floats (logits, probabilities) to ids
            raise TypeError(f"Vocabulary.decode: ids must be integers, got an array of dtype {ids.dtype}")
        out = []
        for i in ids.astype(np.int64).ravel():
            if not 0 <= i < len(self):
                raise ValueError(f"Vocabulary.decode: id {i} is outside 0..{len(self) - 1}")
            out.append("\n" if i == self.eos_id else "\ufffd" if i == self.unk_id else self.chars[i])
        return "".join(out)


def unigram_bits_per_char(train_ids: np.ndarray, held_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per token of the held-out ids under training-set unigram frequencies.

    Frequencies use add-one smoothing, p(c) = (count(c) + 1) / (N + V), so a
    token never seen in training (always <UNK>) still has a finite cost.
    """
    counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64)
    probs = (counts + 1.0) / (counts.sum() + vocab_size)
    return float(-np.mean(np.log2(probs[np.asarray(held_ids)])))


def sample_from_logits(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Draw one index from softmax(logits / temperature); temperature 0 means the argmax.

    One row of logits (shape (V,) or (1, V)); -inf marks an index that is never drawn."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.size == 0 or logits.size != max(logits.shape, default=1):
        raise ValueError(f"sample_from_logits: expected one row of logits, (V,) or (1, V): {logits.shape}")
    logits = logits.ravel()
    bad = np.isnan(logits) | np.isposinf(logits)
    if bad.any() or np.isneginf(logits).all():
        found = f"{logits[bad][0]} at index {np.flatnonzero(bad)[0]}" if bad.any() else "only -inf"
        raise ValueError(
            f"sample_from_logits: logits must be finite or -inf (never drawn), one finite at least: {found}"
        )
    if temperature < 0 or not math.isfinite(temperature):
        raise ValueError(f"sample_from_logits: temperature must be a finite number >= 0, got {temperature}")
    if temperature == 0:
        return int(np.argmax(logits))
    with np.errstate(over="ignore"):  # a spread beyond float64's range: the far end gets exp(-inf) = 0
        scaled = (logits - logits.max()) / temperature
    probs = np.exp(scaled)
    probs /= probs.sum()
    return int(rng.choice(len(probs), p=probs))


def sample_sequence(
    step: Callable[[int, object], tuple[np.ndarray, object]],
    prime_ids: Sequence[int],
    eos_id: int,
    max_length: int,
    temperature: float,
    rng: np.random.Generator,
    state: object = None,
) -> list[int]:
    """Generate token ids after ``prime_ids`` until <EOS> or ``max_length`` new tokens.

    ``step(token_id, state) -> (logits, state)`` runs the model one step. The
    prime is fed first (its last token's logits give the first sample, so the
    prime must not be empty: start it with EOS to mean "a fresh line"). Each
    sampled token is fed back in, as in seed 003. The EOS, when drawn, is
    included in the result.
    """
    if len(prime_ids) == 0:
        raise ValueError("sample_sequence: prime_ids is empty; start with [eos_id] for a fresh line")
    logits = None
    for token in prime_ids:
        logits, state = step(int(token), state)
    sampled: list[int] = []
    while len(sampled) < max_length:
        token = sample_from_logits(logits, temperature, rng)
        sampled.append(token)
        if token == eos_id:
            break
        logits, state = step(token, state)
    return sampled
