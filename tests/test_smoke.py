import numpy as np

from tinygrad_rnn import Tensor


def test_readme_example_shapes():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    loss = (x @ w).tanh().sum()
    loss.backward()
    assert x.grad.shape == (4, 3) and w.grad.shape == (3, 5)
    y = np.tanh(x.data @ w.data)
    np.testing.assert_allclose(w.grad, x.data.T @ (1 - y**2), rtol=1e-12)
