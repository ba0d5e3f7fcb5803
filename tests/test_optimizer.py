"""zoo.make_optimizer: PyTorch's fused kernels where they exist, its default elsewhere."""

import pytest
import torch

import zoo


def _model():
    torch.manual_seed(0)
    return zoo.create_model("dense-ae", in_features=3)


def test_fused_where_the_class_has_a_fused_kernel():
    optimizer = zoo.make_optimizer(torch.optim.Adam, _model().parameters(), lr=1e-3)
    assert optimizer.defaults["fused"] is True
    optimizer = zoo.make_optimizer(torch.optim.SGD, _model().parameters(), lr=0.1, momentum=0.9)
    assert optimizer.defaults["fused"] is True


@pytest.mark.parametrize(
    "kind, params, options",
    [
        (torch.optim.RMSprop, None, {}),  # no fused kernel in PyTorch
        (torch.optim.Adam, [torch.zeros(2, dtype=torch.complex64, requires_grad=True)], {}),
        (torch.optim.Adam, None, {"foreach": True}),  # the caller chose
        (torch.optim.Adam, None, {"fused": False}),
    ],
)
def test_the_default_implementation_otherwise(kind, params, options):
    params = _model().parameters() if params is None else params
    optimizer = zoo.make_optimizer(kind, params, lr=1e-3, **options)
    assert not optimizer.defaults.get("fused")


def test_parameter_groups_given_as_generators_are_kept_whole():
    model = _model()
    groups = [
        {"params": (p for p in model.encoder.parameters())},
        {"params": (p for p in model.decoder.parameters()), "lr": 0.5},
    ]
    optimizer = zoo.make_optimizer(torch.optim.Adam, groups, lr=1e-3)
    assert [len(g["params"]) for g in optimizer.param_groups] == [
        len(list(model.encoder.parameters())),
        len(list(model.decoder.parameters())),
    ]
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3, 0.5]


def test_fused_adam_takes_the_same_steps_up_to_rounding():
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    weights = []
    for make in (torch.optim.Adam, lambda p, **o: zoo.make_optimizer(torch.optim.Adam, p, **o)):
        model = _model()
        optimizer = make(model.parameters(), lr=1e-2)
        for _ in range(50):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), x).backward()
            optimizer.step()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert not torch.equal(weights[0], _model_weights())  # both moved
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=1e-5)


def _model_weights():
    return torch.cat([p.detach().flatten() for p in _model().parameters()])


def test_the_trainer_and_the_gan_task_use_fused_adam():
    task = zoo.create_task("reconstruction")
    assert task.configure_optimizers(_model(), 1e-3)["main"].defaults["fused"] is True
    pair = zoo.create_model("dcgan", image_size=16, channels=1, base_width=4)
    optimizers = zoo.create_task("gan").configure_optimizers(pair, 2e-4)
    assert {name: o.defaults["fused"] for name, o in optimizers.items()} == {
        "discriminator": True,
        "generator": True,
    }
