"""Learning-rate schedulers against torch.optim.lr_scheduler, and exact resumption."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

SCHEDULES = [
    ("StepLR", {"step_size": 1}),
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 30, "gamma": 0.1}),
    ("ExponentialLR", {"gamma": 0.95}),
    ("ExponentialLR", {"gamma": 1.01}),
    ("CosineAnnealingLR", {"T_max": 100}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),  # past T_max: back up and down again
    ("CosineAnnealingLR", {"T_max": 1}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.01, "total_iters": 20}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 50}),
    ("LinearLR", {"start_factor": 0.5, "end_factor": 0.0, "total_iters": 100}),
]


def make_optimizer(kind: str, lr: float):
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    return {"sgd": lambda: optim.SGD([w], lr=lr, momentum=0.9), "adam": lambda: optim.Adam([w], lr=lr)}[kind]()


@pytest.mark.parametrize("optimizer_kind", ["sgd", "adam"])
@pytest.mark.parametrize(("name", "settings"), SCHEDULES, ids=lambda value: str(value))
def test_the_same_learning_rates_as_torch_over_100_steps(name, settings, optimizer_kind, torch) -> None:
    lr = 0.1 if optimizer_kind == "sgd" else 0.003
    optimizer = make_optimizer(optimizer_kind, lr)
    scheduler = getattr(lr_scheduler, name)(optimizer, **settings)
    parameter = torch.zeros(2, requires_grad=True)
    reference_optimizer = (torch.optim.SGD if optimizer_kind == "sgd" else torch.optim.Adam)([parameter], lr=lr)
    reference = getattr(torch.optim.lr_scheduler, name)(reference_optimizer, **settings)
    ours, theirs = [scheduler.get_last_lr()[0]], [reference.get_last_lr()[0]]
    for _ in range(100):
        optimizer.step()
        scheduler.step()
        reference_optimizer.step()
        reference.step()
        ours.append(scheduler.get_last_lr()[0])
        theirs.append(reference.get_last_lr()[0])
        assert optimizer.lr == ours[-1] == optimizer.param_groups[0]["lr"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-16)
    assert scheduler.last_epoch == reference.last_epoch == 100
    assert scheduler.base_lrs == reference.base_lrs == [lr]


def closed_form(name: str, settings: dict, lr: float, epoch: int) -> float:
    """Each schedule's closed form, written out independently of both libraries."""
    if name == "StepLR":
        return lr * settings.get("gamma", 0.1) ** (epoch // settings["step_size"])
    if name == "ExponentialLR":
        return lr * settings["gamma"] ** epoch
    if name == "CosineAnnealingLR":
        low = settings.get("eta_min", 0.0)
        return low + (lr - low) * (1 + math.cos(math.pi * epoch / settings["T_max"])) / 2
    start, end, total = (
        settings.get("start_factor", 1 / 3),
        settings.get("end_factor", 1.0),
        settings.get("total_iters", 5),
    )
    return lr * (start + (end - start) * min(epoch, total) / total)


@pytest.mark.parametrize(("name", "settings"), SCHEDULES, ids=lambda value: str(value))
def test_the_rates_follow_the_closed_form(name, settings) -> None:
    optimizer = make_optimizer("sgd", 0.1)
    scheduler = getattr(lr_scheduler, name)(optimizer, **settings)
    epochs = range(60) if name != "CosineAnnealingLR" else range(settings["T_max"] + 1)  # cosine: down to eta_min
    rates = []
    for _ in epochs:
        rates.append(scheduler.get_last_lr()[0])
        scheduler.step()
    expected = [closed_form(name, settings, 0.1, epoch) for epoch in epochs]
    np.testing.assert_allclose(rates, expected, rtol=1e-9, atol=1e-12)


def test_the_schedule_reaches_the_parameters(torch) -> None:
    """Not only the reported rate: the steps themselves use it (SGD, 30 steps of a decaying rate)."""
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    optimizer = optim.SGD([w], lr=0.2)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=30)
    theirs = torch.tensor([1.0, -2.0], requires_grad=True)
    reference_optimizer = torch.optim.SGD([theirs], lr=0.2)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(reference_optimizer, T_max=30)
    for _ in range(30):
        optimizer.zero_grad()
        cr.squared_norm(cr.tanh(w) - 0.3).backward()
        optimizer.step()
        scheduler.step()
        reference_optimizer.zero_grad()
        ((torch.tanh(theirs) - 0.3) ** 2).sum().backward()
        reference_optimizer.step()
        reference.step()
    np.testing.assert_allclose(w.data, theirs.detach().numpy(), rtol=1e-13)


@pytest.mark.parametrize(("name", "settings"), SCHEDULES[1::2], ids=lambda value: str(value))
def test_resuming_from_state_dicts_equals_an_uninterrupted_run(name, settings) -> None:
    def run(optimizer, scheduler, steps):
        for _ in range(steps):
            optimizer.step()
            scheduler.step()

    optimizer = make_optimizer("adam", 0.01)
    scheduler = getattr(lr_scheduler, name)(optimizer, **settings)
    run(optimizer, scheduler, 40)

    first = make_optimizer("adam", 0.01)
    first_scheduler = getattr(lr_scheduler, name)(first, **settings)
    run(first, first_scheduler, 17)
    saved_optimizer, saved_scheduler = first.state_dict(), first_scheduler.state_dict()
    run(first, first_scheduler, 5)  # the saved states are copies

    resumed = make_optimizer("adam", 0.01)
    resumed_scheduler = getattr(lr_scheduler, name)(resumed, **settings)
    resumed.load_state_dict(saved_optimizer)
    resumed_scheduler.load_state_dict(saved_scheduler)
    assert resumed_scheduler.last_epoch == 17
    run(resumed, resumed_scheduler, 23)
    assert resumed_scheduler.get_last_lr() == scheduler.get_last_lr()
    assert resumed.lr == optimizer.lr and resumed_scheduler.last_epoch == 40


def test_state_dict_keys_are_torchs_for_the_shared_settings(torch) -> None:
    ours = lr_scheduler.StepLR(make_optimizer("sgd", 0.1), step_size=3).state_dict()
    reference = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.lr_scheduler.StepLR(reference, step_size=3).state_dict()
    assert {"step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_last_lr"} <= set(ours) & set(theirs)
    assert all(ours[key] == theirs[key] for key in ("step_size", "gamma", "base_lrs", "last_epoch", "_step_count"))


def test_the_module_is_reachable_as_in_pytorch() -> None:
    assert cr.optim.lr_scheduler.StepLR is lr_scheduler.StepLR
    from chainrule.optim.lr_scheduler import LinearLR  # noqa: F401


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), "^StepLR: step_size must be a positive integer, got 0$"),
        (lambda o: lr_scheduler.StepLR(o, step_size=2.5), "^StepLR: step_size must be a positive integer, got 2.5$"),
        (lambda o: lr_scheduler.ExponentialLR(o, gamma=-0.5), "^ExponentialLR: gamma must not be negative, got -0.5$"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "^CosineAnnealingLR: T_max must be a positive"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), "^LinearLR: start_factor must be greater than 0"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), "^LinearLR: end_factor must be from 0 to 1"),
        (lambda o: lr_scheduler.StepLR(o, 3, last_epoch=4), "^StepLR: build a scheduler with last_epoch=-1"),
        (lambda o: lr_scheduler.StepLR([o], 3), "^StepLR: optimizer must be a chainrule optimizer"),
    ],
)
def test_bad_settings_are_one_line_naming_the_scheduler(build, message) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        build(make_optimizer("sgd", 0.1))


def test_a_state_of_another_scheduler_is_refused() -> None:
    step = lr_scheduler.StepLR(make_optimizer("sgd", 0.1), step_size=3)
    cosine = lr_scheduler.CosineAnnealingLR(make_optimizer("sgd", 0.1), T_max=3)
    with pytest.raises(ValueError, match="^CosineAnnealingLR.load_state_dict: expected a state with keys"):
        cosine.load_state_dict(step.state_dict())
