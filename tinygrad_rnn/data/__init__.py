"""Data for the demos: seed 000's dependency task, long-lag tasks, character text."""

from tinygrad_rnn.data.dependency import (
    batch_rows,
    cross_entropy_knowing,
    generate_dependency_series,
    nearest_regime,
    theory_cross_entropies,
)
from tinygrad_rnn.data.long_lag import adding_baseline, adding_batch, recall_baseline, recall_batch
from tinygrad_rnn.data.text import (
    EOS,
    STDLIB_MODULES,
    UNK,
    Vocabulary,
    read_corpus_file,
    sample_from_logits,
    sample_sequence,
    split_documents,
    stdlib_docstrings,
    unigram_bits_per_char,
)

__all__ = [
    "batch_rows",
    "cross_entropy_knowing",
    "generate_dependency_series",
    "nearest_regime",
    "theory_cross_entropies",
    "adding_baseline",
    "adding_batch",
    "recall_baseline",
    "recall_batch",
    "EOS",
    "STDLIB_MODULES",
    "UNK",
    "Vocabulary",
    "read_corpus_file",
    "sample_from_logits",
    "sample_sequence",
    "split_documents",
    "stdlib_docstrings",
    "unigram_bits_per_char",
]
