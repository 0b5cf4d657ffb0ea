"""Linear, Embedding and Dropout: values against numpy, gradients against finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn.nn import Dropout, Embedding, Linear

# Central differences with eps 1e-6 on float64 have error ~1e-10 on these small
# smooth functions, so atol 1e-7 / rtol 1e-6 leaves a wide margin and still
# catches any real mistake (which would be of order 1).
TIGHT = dict(eps=1e-6, atol=1e-7, rtol=1e-6)


# ---- Linear ---------------------------------------------------------------------------------
def test_linear_parameters_shapes_and_names():
    layer = Linear(3, 5, rng=0)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    assert [n for n, _ in Linear(3, 5, bias=False).named_parameters()] == ["weight"]


def test_linear_init_is_uniform_within_one_over_sqrt_in_features():
    layer = Linear(64, 200, rng=1)
    bound = 1 / np.sqrt(64)
    w = layer.weight.data
    assert np.abs(w).max() <= bound and np.abs(layer.bias.data).max() <= bound
    # U(-a, a) has mean 0 and variance a^2/3; 12800 draws pin both to within a few %.
    assert abs(w.mean()) < 0.03 * bound
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.05
    assert np.abs(w).max() > 0.99 * bound  # spread over the whole interval, not a narrower one
    # The bias too: 200 draws from U(-a, a) reach below -0.9a and above 0.9a (each misses with
    # probability 0.95^200 < 1e-4, and the seed fixes the draws), so neither half is left out.
    b = layer.bias.data
    assert b.min() < -0.9 * bound and b.max() > 0.9 * bound


def test_linear_rng_seed_repeats_the_initialisation():
    np.testing.assert_array_equal(Linear(4, 3, rng=7).weight.data, Linear(4, 3, rng=7).weight.data)
    assert not np.array_equal(Linear(4, 3, rng=7).weight.data, Linear(4, 3, rng=8).weight.data)


@given(
    leading=st.lists(st.integers(1, 3), min_size=0, max_size=3),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    bias=st.booleans(),
)
def test_linear_matches_numpy_for_any_leading_shape(leading, sizes, bias):
    n_in, n_out = sizes
    layer = Linear(n_in, n_out, bias=bias, rng=0)
    x = np.random.default_rng(1).standard_normal((*leading, n_in))
    expected = np.einsum("...i,oi->...o", x, layer.weight.data)
    if bias:
        expected = expected + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)
    assert layer(Tensor(x)).shape == (*leading, n_out)


def test_linear_gradients_by_formula_and_gradcheck():
    rng = np.random.default_rng(2)
    layer = Linear(3, 4, rng=rng)
    x = Tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    g = rng.standard_normal((2, 5, 4))
    (layer(x) * g).sum().backward()
    # y = x W^T + b: dL/dx = g W, dL/dW = sum over samples of g^T x, dL/db = sum of g.
    np.testing.assert_allclose(x.grad, g @ layer.weight.data, rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, np.einsum("bto,bti->oi", g, x.data), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=(0, 1)), rtol=1e-12)
    assert gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias], **TIGHT)


def test_linear_float32_stays_float32():
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    out = layer(np.ones((4, 3)))  # a float64 numpy array takes the layer's dtype
    assert layer.weight.dtype == np.float32 and out.dtype == np.float32


def test_linear_rejects_wrong_feature_size_and_dtype():
    layer = Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"Linear.*\(4, 5\).*in_features=3"):
        layer(np.ones((4, 5)))
    with pytest.raises(TypeError, match="^Linear: input has dtype float32 but the parameters are float64"):
        layer(Tensor(np.ones((4, 3)), dtype=np.float32))
    with pytest.raises(ValueError, match="Linear: in_features"):
        Linear(0, 2)


def test_linear_repr_shows_the_sizes_and_whether_there_is_a_bias():
    assert repr(Linear(3, 5, rng=0)) == "Linear(in_features=3, out_features=5, bias=True)"
    assert repr(Linear(3, 5, bias=False, rng=0)) == "Linear(in_features=3, out_features=5, bias=False)"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Linear(0, 2), "Linear: in_features must be a positive integer, got 0"),
        (lambda: Linear(2, 0), "Linear: out_features must be a positive integer, got 0"),
        (lambda: Linear(True, 2), "Linear: in_features must be a positive integer, got True"),
        (lambda: Linear(2, 3.0), "Linear: out_features must be a positive integer, got 3.0"),
        (lambda: Embedding(0, 2), "Embedding: num_embeddings must be a positive integer, got 0"),
        (lambda: Embedding(3, -1), "Embedding: embedding_dim must be a positive integer, got -1"),
        (lambda: Embedding(True, 2), "Embedding: num_embeddings must be a positive integer, got True"),
        (lambda: Embedding(3, 2.5), "Embedding: embedding_dim must be a positive integer, got 2.5"),
    ],
)
def test_layer_sizes_must_be_positive_ints_and_the_error_names_layer_and_argument(make, message):
    """Each size is checked on its own and named in the error with its layer; a bool (an int to
    Python) or a float is no size even when it is >= 1 (True would silently mean 1, 3.0 be cut)."""
    with pytest.raises(ValueError, match=f"^{message}$"):
        make()


def test_layer_sizes_accept_numpy_integers_as_plain_ints():
    layer, emb = Linear(np.int64(3), np.int32(2), rng=0), Embedding(np.int64(4), np.uint8(5), rng=0)
    assert (layer.in_features, layer.out_features, emb.num_embeddings, emb.embedding_dim) == (3, 2, 4, 5)
    assert all(type(n) is int for n in (layer.in_features, layer.out_features, emb.num_embeddings))


# ---- Embedding ------------------------------------------------------------------------------
def test_embedding_looks_up_rows_for_any_index_shape():
    emb = Embedding(6, 3, rng=0)
    idx = np.array([[0, 5, 2], [2, 2, 1]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    for i, j in np.ndindex(*idx.shape):
        np.testing.assert_array_equal(out.data[i, j], emb.weight.data[idx[i, j]])
    np.testing.assert_array_equal(emb(4).data, emb.weight.data[4])  # a single int
    np.testing.assert_array_equal(emb(Tensor([1, 3])).data, emb.weight.data[[1, 3]])  # a Tensor of ints
    np.testing.assert_array_equal(emb([1, 3]).data, emb.weight.data[[1, 3]])  # a list


def test_embedding_gradient_of_a_repeated_index_adds_up():
    emb = Embedding(5, 2, rng=0)
    idx = np.array([[1, 3, 1], [1, 0, 3]])
    g = np.random.default_rng(3).standard_normal((2, 3, 2))
    (emb(idx) * g).sum().backward()
    expected = np.zeros((5, 2))
    for position in np.ndindex(*idx.shape):  # y = one_hot(idx) W: each use of row r adds its g
        expected[idx[position]] += g[position]
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-12)
    assert not emb.weight.grad[[2, 4]].any()  # unused rows get exactly zero


def test_embedding_gradcheck():
    emb = Embedding(4, 3, rng=1)
    idx = np.array([0, 2, 2, 3, 0])
    weights = Tensor(np.random.default_rng(4).standard_normal((5, 3)))
    # A non-linear function of the looked-up rows, so every gradient entry differs.
    assert gradcheck(lambda w: (emb(idx).tanh() * weights).sum(), [emb.weight], **TIGHT)


def test_embedding_init_is_standard_normal():
    w = Embedding(400, 50, rng=5).weight.data
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_embedding_float32_stays_float32():
    emb = Embedding(5, 3, rng=0, dtype=np.float32)
    assert emb.weight.dtype == np.float32 and emb([1, 4]).dtype == np.float32


def test_embedding_index_errors_name_layer_index_and_size():
    emb = Embedding(4, 2, rng=0)
    # num_embeddings itself is the first index past the table (valid ones are 0..3).
    with pytest.raises(IndexError, match=r"^Embedding: index 4 is out of range for num_embeddings=4 \(valid"):
        emb(4)
    with pytest.raises(IndexError, match=r"Embedding: index 7 .*num_embeddings=4"):
        emb(np.array([0, 7, 1]))
    with pytest.raises(IndexError, match=r"Embedding: index -1 "):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match="Embedding: expected integer indices"):
        emb(np.array([0.5]))


# ---- Dropout --------------------------------------------------------------------------------
def test_dropout_in_training_zeroes_and_rescales():
    drop = Dropout(0.25, rng=0)
    x = Tensor(np.random.default_rng(1).uniform(1, 2, size=(200, 50)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], x.data[kept] / 0.75, rtol=1e-15)
    # 10000 Bernoulli(0.25) drops: the fraction is 0.25 +- 0.005 (one standard deviation 0.0043).
    assert abs((~kept).mean() - 0.25) < 0.015
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75, rtol=1e-15)  # dL/dx = m / (1 - p)


def test_dropout_is_identity_in_eval_mode_and_for_p_zero():
    x = Tensor(np.arange(1.0, 7.0))
    drop = Dropout(0.5, rng=0).eval()
    np.testing.assert_array_equal(drop(x).data, x.data)
    np.testing.assert_array_equal(Dropout(0.0, rng=0)(x).data, x.data)
    drop.train()
    assert (drop(np.ones(1000)).data == 0).any()


def test_dropout_with_p_zero_returns_the_input_itself_and_draws_nothing():
    """p = 0 in training is the identity: no mask is drawn, so a caller's Generator does not advance."""
    generator = np.random.default_rng(6)
    x = Tensor(np.arange(1.0, 7.0), requires_grad=True)
    assert Dropout(0.0, rng=generator)(x) is x
    assert generator.random() == np.random.default_rng(6).random()


def test_dropout_keeps_an_entry_whose_uniform_draw_equals_p():
    """m = [u >= p] with u uniform on the grid k / 2^53 in [0, 1) is kept with probability exactly
    1 - p; u > p would be 2^-53 short. Make the first draw u equal p: that entry must be kept."""
    p = np.random.default_rng(11).random()  # the first draw of the stream the layer gets
    assert 0.0 < p < 1.0
    y = Dropout(p, rng=np.random.default_rng(11))(np.full(3, 2.0))
    assert y.data[0] == 2.0 / (1.0 - p)


def test_dropout_seed_repeats_the_mask():
    x = np.ones((10, 10))
    np.testing.assert_array_equal(Dropout(0.5, rng=3)(x).data, Dropout(0.5, rng=3)(x).data)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", True])
def test_dropout_rejects_p_outside_zero_one(p):
    with pytest.raises(ValueError, match=r"Dropout: p .*\[0, 1\)"):
        Dropout(p)


# ---- the rng argument ---------------------------------------------------------------------
LAYERS_WITH_RNG = [
    lambda rng: Linear(2, 2, rng=rng),
    lambda rng: Embedding(3, 2, rng=rng),
    lambda rng: Dropout(rng=rng),
]


@pytest.mark.parametrize("make", LAYERS_WITH_RNG)
@pytest.mark.parametrize(
    "rng, error, shown",
    [("abc", TypeError, "str 'abc'"), (1.5, TypeError, "float 1.5"), (True, TypeError, "bool True"),
     (-1, ValueError, "got -1")],
)  # fmt: skip
def test_a_bad_rng_is_named_with_the_layer_and_what_it_accepts(make, rng, error, shown):
    layer = type(make(0)).__name__
    with pytest.raises(error, match=rf"{layer}: rng .*{shown}"):
        make(rng)


def test_as_generator_uses_a_generator_as_given_and_seeds_an_int():
    from tinygrad_rnn.nn.module import as_generator

    generator = np.random.default_rng(3)
    assert as_generator(generator, "Layer") is generator  # the caller's stream advances
    assert as_generator(np.int64(4), "Layer").random() == np.random.default_rng(4).random()
    assert isinstance(as_generator(None, "Layer"), np.random.Generator)
    message = r"Layer: rng must be a numpy\.random\.Generator, an int seed >= 0 or None"
    with pytest.raises(TypeError, match=message):
        as_generator("0", "Layer")
