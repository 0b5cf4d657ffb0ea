"""Character corpus, vocabulary (<EOS>, <UNK>), unigram baseline and the sampler."""

import inspect
import math
import re
import textwrap
import warnings

import numpy as np
import pytest

from tinygrad_rnn.data import (
    EOS,
    UNK,
    Vocabulary,
    read_corpus_file,
    sample_from_logits,
    sample_sequence,
    split_documents,
    stdlib_docstrings,
    unigram_bits_per_char,
)


# ---- corpus --------------------------------------------------------------------------------------
def test_stdlib_docstrings_contain_a_known_docstring_and_are_deterministic():
    documents = stdlib_docstrings(("textwrap",))
    assert inspect.getdoc(textwrap.dedent) in documents  # read by the interpreter, not by our ast walk
    assert documents == stdlib_docstrings(("textwrap",))
    assert sum(map(len, stdlib_docstrings())) > 100_000  # enough text to train on


def test_stdlib_docstrings_reads_modules_and_packages(tmp_path):
    (tmp_path / "alpha.py").write_text(
        '"""Module doc."""\n\nclass A:\n    """Class doc."""\n\n    def f(self):\n        """Method doc."""\n'
        "\ndef g():\n    return 1\n",
        encoding="utf-8",
    )
    (tmp_path / "beta").mkdir()
    (tmp_path / "beta" / "__init__.py").write_text('"""Package doc."""\n', encoding="utf-8")
    documents = stdlib_docstrings(("alpha", "missing", "beta"), stdlib=str(tmp_path))
    assert documents == ["Module doc.", "Class doc.", "Method doc.", "Package doc."]
    with pytest.raises(FileNotFoundError, match="--corpus"):
        stdlib_docstrings(("missing",), stdlib=str(tmp_path))


def test_read_corpus_file_splits_paragraphs(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("one\nline two\n\n\nthree\n", encoding="utf-8")
    assert read_corpus_file(str(path)) == ["one\nline two", "three"]
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no text"):
        read_corpus_file(str(tmp_path / "empty.txt"))


def test_split_documents_holds_out_every_tenth():
    documents = [f"d{i}" for i in range(25)]
    train, held = split_documents(documents)
    assert held == "d9\nd19\n"
    assert train.split() == [d for i, d in enumerate(documents) if i not in (9, 19)]
    with pytest.raises(ValueError, match="at least 2"):
        split_documents(["only"])


# ---- vocabulary ----------------------------------------------------------------------------------
def test_vocabulary_ids_eos_and_unk():
    vocab = Vocabulary.from_text("ba\nab")
    assert vocab.chars == ("a", "b")
    assert vocab.tokens == ("a", "b", EOS, UNK)
    assert len(vocab) == 4 and vocab.eos_id == 2 and vocab.unk_id == 3
    np.testing.assert_array_equal(vocab.encode("ab\nz"), [0, 1, 2, 3])  # newline -> EOS, z unknown -> UNK
    assert vocab.decode([1, 0, 2, 3]) == "ba\n\ufffd"
    assert vocab.decode(vocab.encode("abba\na")) == "abba\na"  # round trip inside the vocabulary
    with pytest.raises(ValueError, match="outside 0..3"):
        vocab.decode([4])


# ---- unigram baseline ----------------------------------------------------------------------------
def test_unigram_bits_per_char_by_hand():
    # train counts: 0 -> 2, 1 -> 1, 2 -> 0 over N = 3, V = 3: add-one gives p = 3/6, 2/6, 1/6
    bits = unigram_bits_per_char(np.array([0, 0, 1]), np.array([0, 2]), 3)
    assert bits == pytest.approx(-(math.log2(3 / 6) + math.log2(1 / 6)) / 2, abs=1e-14)


# ---- sampler -------------------------------------------------------------------------------------
def test_zero_temperature_picks_the_argmax():
    rng = np.random.default_rng(0)
    logits = np.array([0.1, 2.0, 1.9, -3.0])
    assert all(sample_from_logits(logits, 0.0, rng) == 1 for _ in range(20))
    assert all(sample_from_logits(logits, 1e-4, rng) == 1 for _ in range(200))  # the limit T -> 0


def test_temperature_one_samples_the_softmax():
    rng = np.random.default_rng(1)
    logits = np.array([1.0, 0.0, -1.0, 0.5, 2.0])
    probs = np.exp(logits) / np.exp(logits).sum()
    n = 40_000
    counts = np.bincount([sample_from_logits(logits, 1.0, rng) for _ in range(n)], minlength=5)
    # each frequency within 4.5 binomial standard errors (fixed seed, so deterministic)
    np.testing.assert_array_less(np.abs(counts / n - probs), 4.5 * np.sqrt(probs * (1 - probs) / n))


def test_high_temperature_flattens_the_distribution():
    rng = np.random.default_rng(2)
    counts = np.bincount([sample_from_logits(np.array([3.0, 0.0]), 100.0, rng) for _ in range(4000)])
    # softmax([0.03, 0]) = (0.5075, 0.4925)
    assert abs(counts[0] / 4000 - 0.5075) < 0.04


def test_bad_temperature_is_an_error():
    with pytest.raises(ValueError, match="temperature"):
        sample_from_logits(np.zeros(3), -1.0, np.random.default_rng(0))


def test_logits_that_are_no_distribution_are_named():
    rng = np.random.default_rng(0)
    for logits, found in [([np.nan, 1.0], "nan at index 0"), ([1.0, np.inf], "inf at index 1"),
                          ([-np.inf, -np.inf], "only -inf")]:
        with pytest.raises(ValueError, match=rf"logits must be finite or -inf .*: {found}"):
            sample_from_logits(np.array(logits), 1.0, rng)
    for shape in [(2, 3), (0,)]:  # two rows flattened would be one row of 6 classes: silently wrong
        named = r"one row of logits, \(V,\) or \(1, V\): " + re.escape(str(shape))
        with pytest.raises(ValueError, match=named):
            sample_from_logits(np.zeros(shape), 1.0, rng)


def test_minus_inf_is_never_drawn_and_one_row_may_come_as_1_by_v():
    rng = np.random.default_rng(3)
    logits = np.array([[0.0, -np.inf, 0.0]])  # (1, V): a batch of one
    draws = {sample_from_logits(logits, 1.0, rng) for _ in range(200)}
    assert draws == {0, 2}
    assert sample_from_logits(np.array(1.5), 1.0, rng) == 0  # a 0-d logit: one class
    assert sample_from_logits([0, 10**30, 5], 0.5, rng) == 1  # Python numbers of any size (as floats)


def test_logits_spread_beyond_float64_sample_the_largest_without_a_warning():
    # x - max(x) = -2e308 overflows to -inf: its probability is exp(-inf) = 0, as it should be
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rng = np.random.default_rng(4)
        draws = {sample_from_logits(np.array([-1e308, 1e308]), 1.0, rng) for _ in range(50)}
    assert draws == {1}


class ScriptedModel:
    """A stand-in model: records the tokens fed in; its logits make a chosen next token certain."""

    def __init__(self, next_tokens, vocab_size=5):
        self.next_tokens, self.vocab_size, self.fed = list(next_tokens), vocab_size, []

    def step(self, token, state):
        self.fed.append(token)
        logits = np.full(self.vocab_size, -50.0)
        logits[self.next_tokens[min(len(self.fed) - 1, len(self.next_tokens) - 1)]] = 50.0
        return logits, (state or 0) + 1


def test_sampling_feeds_back_and_stops_at_eos():
    eos = 4
    # prime [0, 1]: after it the model says 2, then 3, then EOS, then (never reached) 1
    model = ScriptedModel([9, 2, 3, eos, 1], vocab_size=10)
    out = sample_sequence(
        model.step, [0, 1], eos, max_length=50, temperature=1.0, rng=np.random.default_rng(0)
    )
    assert out == [2, 3, eos]  # EOS included, nothing after it
    assert model.fed == [0, 1, 2, 3]  # prime in order, then each sample fed back


def test_sampling_stops_at_the_length_limit():
    model = ScriptedModel([1], vocab_size=5)  # never EOS
    out = sample_sequence(model.step, [0], 4, max_length=7, temperature=0.0, rng=np.random.default_rng(0))
    assert out == [1] * 7


def test_sampling_needs_a_prime():
    with pytest.raises(ValueError, match="prime_ids is empty"):
        sample_sequence(ScriptedModel([1]).step, [], 4, 5, 1.0, np.random.default_rng(0))


# ---- what mutation testing asked: edges of each argument ----------------------------------------
def test_stdlib_sources_are_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    # Under the C locale (ASCII), open()'s default encoding could not read a source with accents.
    (tmp_path / "accents.py").write_text('"""Caf\u00e9 \u2014 na\u00efve."""\n', encoding="utf-8")
    assert stdlib_docstrings(("accents",), stdlib=str(tmp_path)) == ["Caf\u00e9 \u2014 na\u00efve."]


def test_paragraphs_keep_their_spaces_and_letters_only_blank_lines_are_cut(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("\n  indented line\n\nXmas X\n\n\tnext\t\n", encoding="utf-8")
    assert read_corpus_file(str(path)) == ["  indented line", "Xmas X", "\tnext\t"]


def test_two_documents_are_enough_to_split():
    assert split_documents(["first", "second"]) == ("first\n", "second\n")
    assert split_documents(["a", "b", "c", "d"], every=2) == ("a\nc\n", "b\nd\n")
    for every in (0, 1, 2.5, True):  # every 1 would hold out every document and train on none
        with pytest.raises(ValueError, match=r"split_documents: every must be an integer >= 2"):
            split_documents(["first", "second", "third"], every)


def test_encode_gives_int64_ids_even_for_no_text():
    vocab = Vocabulary.from_text("ab")
    assert vocab.encode("").dtype == np.int64 and vocab.encode("").shape == (0,)


def test_decode_takes_integer_ids_of_any_width_and_refuses_floats():
    vocab = Vocabulary.from_text("ab")
    assert vocab.decode([]) == "" and vocab.decode(np.array([1, 0], dtype=np.uint8)) == "ba"
    # Logits or probabilities passed by mistake would be cut to ids 0, 1, ...: an error instead.
    with pytest.raises(TypeError, match="decode: ids must be integers, got an array of dtype float64"):
        vocab.decode(np.array([0.9, 0.1]))


def test_sampling_with_a_tiny_temperature_is_the_argmax_even_for_float32_logits():
    # logits / 1e-39 overflows float32 (max 3.4e38) but not the float64 it is computed in
    logits = np.array([1.0, 2.0, 1.5], dtype=np.float32)
    assert sample_from_logits(logits, 1e-39, np.random.default_rng(0)) == 1


def test_sampling_threads_the_state_through_the_prime_and_every_sample():
    seen = []

    def step(token, state):
        seen.append(state)
        logits = np.full(5, -50.0)
        logits[1] = 50.0  # always 1, never EOS (4)
        return logits, (state or 0) + 1

    sample_sequence(step, [0, 0, 0], 4, max_length=3, temperature=0.0, rng=np.random.default_rng(0))
    assert seen == [None, 1, 2, 3, 4, 5]  # 3 prime tokens, then each of the 3 samples fed back
