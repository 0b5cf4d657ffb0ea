"""Module and Parameter: discovery and naming of parameters, state dicts, modes, dtype."""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import Tensor, load, save
from tinygrad_rnn.nn import (
    Linear,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    ParameterDict,
    ParameterList,
    Sequential,
    StateDictError,
)


class Leaf(Module):
    def __init__(self, rows: int, fill: float = 0.0):
        self.w = Parameter(np.full((rows, 2), fill))
        self.b = Parameter(np.full(rows, fill))

    def forward(self, x):
        return x @ self.w.T + self.b


class Net(Module):
    """A scale parameter, a submodule, a ModuleList of submodules, and attributes that are not parameters."""

    def __init__(self):
        self.scale = Parameter(np.ones(1))
        self.first = Leaf(3, fill=1.0)
        self.blocks = ModuleList([Leaf(2, fill=2.0), Leaf(4, fill=3.0)])
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
    names = [name for name, _ in net.named_parameters(prefix="model")]  # as PyTorch: model.scale
    assert names[0] == "model.scale"
    assert "model.blocks.1.w" not in names and "model.blocks.0.w" in names
    assert len(net.parameters()) == len(NAMES) - 1


def test_named_modules_name_each_module_as_pytorch_does():
    net = Net()
    names = ["", "first", "blocks", "blocks.0", "blocks.1"]
    assert [name for name, _ in net.named_modules()] == names
    assert [module for _, module in net.named_modules()] == [net, net.first, net.blocks, *net.blocks]
    assert [name for name, _ in net.named_modules(prefix="net")] == ["net", *(f"net.{n}" for n in names[1:])]


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
    assert len(net.modules()) == 5 and not any(m.training for m in net.modules())
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

    class Scaled(Module):
        def forward(self, x, *, by=1.0):
            return x * by

    assert Scaled()(x, by=2.0).data.tolist() == [[0.0, 2.0], [4.0, 6.0]]  # keywords reach forward

    class Empty(Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty"):
        Empty()(x)


# ---- containers: several modules or parameters in one attribute -----------------------------
class Stack(Module):
    """Every container at once, nested: the state-dict keys must be PyTorch's."""

    def __init__(self):
        self.layers = ModuleList([Linear(2, 3, rng=0), Linear(3, 3, rng=1)])
        self.heads = ModuleDict({"mean": Linear(3, 1, rng=2), "scale": Linear(3, 1, bias=False, rng=3)})
        self.scales = ParameterList([Parameter(np.ones(3)), Parameter(np.zeros(1))])
        self.offsets = ParameterDict({"low": Parameter(np.full(2, -1.0))})
        self.body = Sequential(Linear(2, 2, rng=4), Leaf(2), Linear(2, 2, bias=False, rng=5))


STACK_KEYS = [
    "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
    "heads.mean.weight", "heads.mean.bias", "heads.scale.weight",
    "scales.0", "scales.1", "offsets.low",
    "body.0.weight", "body.0.bias", "body.1.w", "body.1.b", "body.2.weight",
]  # fmt: skip


def test_containers_are_seen_by_parameters_and_state_dict_with_pytorch_keys():
    net = Stack()
    assert list(net.state_dict()) == STACK_KEYS
    held = [*net.layers[0].parameters(), *net.layers[1].parameters(), net.heads["mean"].weight]
    assert all(any(p is q for q in net.parameters()) for p in held)
    assert len(net.parameters()) == len(STACK_KEYS)
    net.eval()
    assert not net.layers[1].training and not net.heads["scale"].training and not net.body[2].training


def test_containers_round_trip_through_a_checkpoint(tmp_path):
    source, target = Stack(), Stack()
    for p in source.parameters():
        p.data += 1.5  # differ from target's identical initialisation
    save(source.state_dict(), tmp_path / "stack.npz")
    target.load_state_dict(load(tmp_path / "stack.npz"))
    for (name, p), q in zip(source.named_parameters(), target.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)


def test_sequential_calls_its_modules_in_order():
    first, second = Linear(2, 3, rng=0), Linear(3, 1, rng=1)
    model = Sequential(first, second)
    x = np.random.default_rng(2).standard_normal((4, 2))
    expected = (x @ first.weight.data.T + first.bias.data) @ second.weight.data.T + second.bias.data
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-14)
    assert len(model) == 2 and model[1] is second and list(model) == [first, second]
    assert isinstance(model[:1], Sequential) and model[:1][0] is first
    with pytest.raises(TypeError, match=r"Sequential: pass the modules as separate arguments"):
        Sequential([first, second])


def test_module_list_and_dict_editing_is_seen_by_the_state_dict():
    layers = ModuleList()
    layers.append(Linear(1, 1, rng=0)).extend([Linear(1, 2, rng=1)])
    layers.insert(0, Linear(2, 1, rng=2))
    assert [p.shape for p in layers.parameters()] == [(1, 2), (1,), (1, 1), (1,), (2, 1), (2,)]
    layers[2] = Linear(1, 3, bias=False, rng=3)
    del layers[0]
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "1.weight"]
    heads = ModuleDict([("b", Linear(1, 1, rng=0))])
    heads["a"] = Linear(1, 1, bias=False, rng=1)
    assert list(heads) == ["b", "a"] and "a" in heads and len(heads) == 2
    assert list(heads.state_dict()) == ["b.weight", "b.bias", "a.weight"]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ModuleList([Linear(1, 1), Parameter(np.ones(1))]), r"item 1 is a Parameter.*ParameterList"),
        (lambda: ParameterList([np.ones(2)]), r"ParameterList: item 0 is a ndarray.*nn\.Parameter\(value\)"),
        (lambda: ModuleDict({"a.b": Linear(1, 1)}), r"ModuleDict: keys .* without '\.', got 'a\.b'"),
        (lambda: ModuleDict({3: Linear(1, 1)}), r"ModuleDict: keys must be strings, got int 3"),
        (lambda: ParameterDict({"w": Linear(1, 1)}), r"ParameterDict: item 'w' is a Linear, not a Parameter"),
        (lambda: ModuleList(Linear(1, 1)), r"ModuleList: expected an iterable of items, got one Linear"),
    ],
)  # fmt: skip
def test_containers_refuse_the_wrong_items(build, message):
    with pytest.raises((TypeError, ValueError), match=message):
        build()


def test_the_wrong_item_is_named_by_its_position_with_the_container_to_use():
    layers = ModuleList([Linear(1, 1)])
    with pytest.raises(TypeError) as info:
        layers[0] = Parameter(np.ones(1))
    assert str(info.value) == (
        "ModuleList: item 0 is a Parameter, not a Module "
        "(Parameters go in nn.ParameterList / nn.ParameterDict)"
    )
    with pytest.raises(TypeError) as info:
        ParameterList().append(Linear(1, 1))
    assert str(info.value) == (
        "ParameterList: item 0 is a Linear, not a Parameter "
        "(wrap an array or Tensor as nn.Parameter(value); Modules go in nn.ModuleList)"
    )


def test_a_slice_of_a_list_container_is_a_container_of_those_items():
    first, second, third = Linear(1, 1), Linear(1, 2), Linear(2, 1)
    part = ModuleList([first, second, third])[1:]
    assert type(part) is ModuleList and list(part) == [second, third]
    weights = ParameterList([Parameter(np.ones(1)), Parameter(np.zeros(2))])
    tail = weights[1:]
    assert type(tail) is ParameterList and len(tail) == 1 and tail[0] is weights[1]


def test_repr_nests_children_and_skips_parameters():
    class Inner(Module):
        def __init__(self):
            self.lin = Linear(2, 3)

    class Outer(Module):
        def __init__(self):
            self.first = Inner()
            self.scale = Parameter(np.ones(1))
            self.last = Linear(3, 1, bias=False)

    assert repr(Outer()) == (
        "Outer()\n"
        "  (first): Inner()\n"
        "    (lin): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (last): Linear(in_features=3, out_features=1, bias=False)"
    )
    weights = ParameterList([Parameter(np.ones(2)), Parameter(np.ones((3, 1), dtype=np.float32))])
    assert repr(weights) == "ParameterList(0: (2,) float64, 1: (3, 1) float32)"


# ---- plain Python containers would hide their parameters: refused at assignment ---------------
class Holder(Module):
    pass


EITHER = (
    "a container: nn.ModuleList / nn.ModuleDict for Modules, "
    "nn.ParameterList / nn.ParameterDict for Parameters (a Module can hold both)"
)


@pytest.mark.parametrize(
    "value, held, instead",
    [
        ([Leaf(1), Leaf(2)], "a list holding [0] Leaf, [1] Leaf", "nn.ModuleList([...]) (or nn.Sequential)"),
        ((Leaf(1),), "a tuple holding [0] Leaf", "nn.ModuleList([...]) (or nn.Sequential)"),
        ([1.0, Parameter(np.ones(2))], "a list holding [1] Parameter", "nn.ParameterList([...])"),
        ({"enc": Leaf(1)}, "a dict holding ['enc'] Leaf", "nn.ModuleDict({...})"),
        ({"w": Parameter(np.ones(1))}, "a dict holding ['w'] Parameter", "nn.ParameterDict({...})"),
        ([[Leaf(1)]], "a list holding [0][0] Leaf", EITHER),
        ([Leaf(1), Parameter(np.ones(1))], "a list holding [0] Leaf, [1] Parameter", EITHER),
        ([Leaf(1)] * 4, "a list holding [0] Leaf, [1] Leaf, [2] Leaf, [3] Leaf", "nn.ModuleList"),
        ([Leaf(1)] * 5, "a list holding [0] Leaf, [1] Leaf, [2] Leaf, [3] Leaf and 1 more", "nn.ModuleList"),
    ],
)
def test_plain_list_tuple_or_dict_of_learnables_is_refused(value, held, instead):
    holder = Holder()
    with pytest.raises(TypeError) as info:
        holder.blocks = value
    invisible = "would be invisible to parameters() and state_dict() (never trained, never saved); use "
    assert str(info.value).startswith(f"Holder.blocks: {held} {invisible}{instead}")
    assert str(info.value).endswith(" instead")
    assert not hasattr(holder, "blocks")


def test_plain_containers_without_learnables_are_fine():
    holder = Holder()
    holder.sizes, holder.names, holder.constants = [3, 4], {"a": "b"}, (Tensor(np.ones(2)),)
    holder.empty = []
    assert holder.parameters() == [] and holder.sizes == [3, 4]


# ---- PyTorch habits and wrong arguments get named errors -------------------------------------
@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "mps"])
def test_to_a_device_says_there_are_no_devices(device):
    message = rf"Leaf\.to: got the device '{device}', but tinygrad_rnn has no devices"
    with pytest.raises(TypeError, match=message):
        Leaf(2).to(device)


def test_to_something_that_is_not_a_dtype_is_named():
    message = r"Leaf\.to: expected a floating dtype such as np\.float32 .*got 'half-ish'"
    with pytest.raises(TypeError, match=message):
        Leaf(2).to("half-ish")
    assert Leaf(2).to("float32").w.dtype == np.float32  # a dtype's name is a dtype


@pytest.mark.parametrize("path", ["model.npz", Path("model.npz")])
def test_load_state_dict_of_a_path_says_to_load_the_file_first(path):
    message = r"load_state_dict for Leaf: got the path .*load_state_dict\(tinygrad_rnn\.load"
    with pytest.raises(TypeError, match=message):
        Leaf(2).load_state_dict(path)
    with pytest.raises(TypeError, match=r"load_state_dict for Leaf: expected a mapping .*got list"):
        Leaf(2).load_state_dict([("w", np.zeros((2, 2)))])


@pytest.mark.parametrize("value", [np.full((2, 2), 1 + 1j), np.full((2, 2), "0.5")])
def test_load_state_dict_refuses_complex_and_string_arrays(value):
    """Casting would drop the imaginary part without a word, or fail deep inside numpy."""
    leaf = Leaf(2)
    state = {"w": value, "b": np.ones(2)}
    message = rf"load_state_dict for Leaf: .*real numbers.*w has dtype {value.dtype}"
    with pytest.raises(StateDictError, match=message):
        leaf.load_state_dict(state)
    np.testing.assert_array_equal(leaf.b.data, np.zeros(2))  # nothing loaded


def test_load_state_dict_names_every_problem_in_one_message():
    class Three(Module):
        def __init__(self):
            self.a, self.b = Parameter(np.zeros(2)), Parameter(np.zeros(3))
            self.c, self.d = Parameter(np.zeros(1)), Parameter(np.zeros(1))

    state = {"a": np.zeros(1), "b": np.zeros((3, 1)), "e": np.zeros(1), "f": np.zeros(1)}
    with pytest.raises(StateDictError) as info:
        Three().load_state_dict(state)
    assert str(info.value) == (
        "load_state_dict for Three: "
        "mis-shaped: a: checkpoint (1,) vs parameter (2,); b: checkpoint (3, 1) vs parameter (3,) | "
        "missing: c, d | unexpected: e, f"
    )


def test_load_state_dict_of_a_path_or_a_list_says_what_a_module_takes():
    with pytest.raises(TypeError) as info:
        Leaf(2).load_state_dict("model.npz")
    assert str(info.value).endswith("first: module.load_state_dict(tinygrad_rnn.load('model.npz'))")
    with pytest.raises(TypeError, match=r"expected a mapping of name -> array \(e\.g\. another module's "):
        Leaf(2).load_state_dict([1, 2])


def test_replacing_a_parameter_or_a_module_with_another_kind_says_what_to_assign():
    lin = Linear(2, 2)
    with pytest.raises(TypeError) as info:
        lin.weight = np.eye(2)
    assert str(info.value) == (
        "Linear.weight is a Parameter; assigning a value of type ndarray would drop it from parameters() "
        "and state_dict(): assign nn.Parameter(...) or None, or set the values with `weight.data = ...` "
        "(or load_state_dict)"
    )
    net = Net()
    with pytest.raises(TypeError) as info:
        net.first = 3
    assert str(info.value).endswith("from parameters() and state_dict(): assign a Module or None")
