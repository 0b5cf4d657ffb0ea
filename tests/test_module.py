"""Module and Parameter: discovery and naming of parameters, state dicts, modes, dtype."""

import numpy as np
import pytest

from tinygrad_rnn import Tensor
from tinygrad_rnn.nn import Module, Parameter, StateDictError


class Leaf(Module):
    def __init__(self, rows: int, fill: float = 0.0):
        self.w = Parameter(np.full((rows, 2), fill))
        self.b = Parameter(np.full(rows, fill))

    def forward(self, x):
        return x @ self.w.T + self.b


class Net(Module):
    """A scale parameter, a submodule, a list of submodules, and attributes that are not parameters."""

    def __init__(self):
        self.scale = Parameter(np.ones(1))
        self.first = Leaf(3, fill=1.0)
        self.blocks = [Leaf(2, fill=2.0), Leaf(4, fill=3.0)]
        self.constant = Tensor(np.ones(2))  # a plain Tensor: not learned
        self.size = 3

    def forward(self, x):
        h = self.first(x)
        return (h * self.scale).sum() + self.blocks[0](x).sum() + self.blocks[1](x).sum()


NAMES = ["scale", "first.w", "first.b", "blocks.0.w", "blocks.0.b", "blocks.1.w", "blocks.1.b"]


def test_named_parameters_are_dotted_and_in_assignment_order():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == NAMES
    expected = [net.scale, net.first.w, net.first.b, net.blocks[0].w, net.blocks[0].b, net.blocks[1].w]
    assert all(a is b for a, b in zip(net.parameters(), expected + [net.blocks[1].b]))
    assert len(net.parameters()) == len(NAMES)


def test_named_parameters_prefix_and_shared_parameter_listed_once():
    net = Net()
    net.blocks[1].w = net.blocks[0].w  # tied weights (shapes differ from the original, fine for this)
    names = [name for name, _ in net.named_parameters(prefix="model.")]
    assert names[0] == "model.scale"
    assert "model.blocks.1.w" not in names and "model.blocks.0.w" in names
    assert len(net.parameters()) == len(NAMES) - 1


def test_zero_grad_clears_every_gradient():
    net = Net()
    net(Tensor(np.ones((5, 2)))).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_returns_copies_of_the_values():
    net = Net()
    state = net.state_dict()
    assert list(state) == NAMES
    np.testing.assert_array_equal(state["blocks.1.w"], np.full((4, 2), 3.0))
    state["first.w"][:] = 99.0
    np.testing.assert_array_equal(net.first.w.data, np.ones((3, 2)))


def test_load_state_dict_round_trip_copies_and_keeps_dtype():
    source, target = Net(), Net().to(np.float32)
    rng = np.random.default_rng(0)
    for p in source.parameters():
        p.data = rng.standard_normal(p.shape)
    state = source.state_dict()
    target.load_state_dict(state)
    for name, p in target.named_parameters():
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.data, state[name].astype(np.float32))
    state["scale"][:] = 123.0  # the loaded parameter does not share memory with the dict
    assert target.scale.data[0] != np.float32(123.0)


def test_strict_load_names_every_problem_and_changes_nothing():
    net = Net()
    state = Net().state_dict()
    del state["first.b"]
    del state["blocks.1.b"]
    state["extra.weight"] = np.zeros(2)
    state["blocks.0.w"] = np.zeros((5, 2))
    state["scale"] = np.full(1, 7.0)  # a good key: must not be loaded when others fail
    with pytest.raises(StateDictError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    for name in ["first.b", "blocks.1.b", "extra.weight", "blocks.0.w", "(5, 2)", "(2, 2)", "Net"]:
        assert name in message
    assert net.scale.data[0] == 1.0


def test_non_strict_load_fills_what_matches_and_reports_the_rest():
    net = Net()
    result = net.load_state_dict({"scale": np.array([5.0]), "other": np.zeros(3)}, strict=False)
    assert net.scale.data[0] == 5.0
    np.testing.assert_array_equal(net.first.w.data, np.ones((3, 2)))  # untouched
    assert result.missing_keys == NAMES[1:]
    assert result.unexpected_keys == ["other"]
    with pytest.raises(StateDictError, match="scale"):  # a wrong shape is an error even when not strict
        net.load_state_dict({"scale": np.zeros(2)}, strict=False)


def test_train_and_eval_reach_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert len(net.modules()) == 4 and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net.blocks[1].training


def test_to_converts_every_parameter_and_drops_stale_grads():
    net = Net()
    net(Tensor(np.ones((1, 2)))).backward()
    assert net.to(np.float32) is net
    assert all(p.dtype == np.float32 and p.grad is None for p in net.parameters())
    assert all(isinstance(p, Parameter) and p.requires_grad for p in net.parameters())
    out = net(Tensor(np.ones((1, 2)), dtype=np.float32))
    assert out.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        net.to(np.int32)


def test_call_is_forward_and_missing_forward_is_named():
    net = Net()
    x = Tensor(np.arange(4.0).reshape(2, 2))
    assert net(x).item() == net.forward(x).item()

    class Empty(Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty"):
        Empty()(x)
