"""chainrule.engine.observers: one public mechanism for hooks on ops, backward steps, value reads and changes in place."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.engine import observers
from chainrule.engine.observers import Observer, observe


class Log(Observer):
    def __init__(self) -> None:
        self.events: list[str] = []

    def op_applied(self, node, inputs, options, out):
        self.events.append(f"op {node.name} {out.shape}{' recorded' if out.grad_fn is node else ''}")

    def before_backward(self, node, grad_out):
        self.events.append(f"backward {node.name}")

    def after_backward(self, node, input_grads):
        self.events.append(f"done {node.name} {len(input_grads)}")

    def value_read(self, tensor, how):
        self.events.append(f"read {how}")


def test_an_observer_sees_ops_backward_steps_and_value_reads_in_order() -> None:
    log = Log()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with observe(log):
        loss = (cr.exp(x) * 2).sum()
        loss.item()
        loss.backward()
        (x > 1).numpy()
    assert log.events == [
        "op exp (2,) recorded",
        "op mul (2,) recorded",
        "op sum () recorded",
        "read .item()",
        "backward sum",
        "done sum 1",
        "backward mul",
        "done mul 2",
        "backward exp",
        "done exp 1",
        "op greater (2,)",
        "read .numpy()",
    ]
    np.testing.assert_allclose(x.grad, 2 * np.exp([1.0, 2.0]))  # observing changes nothing
    assert observers.active() == () and observers._threads_on == 0


def test_observers_nest_with_detect_anomaly_and_are_removed_after_an_error() -> None:
    log = Log()
    with pytest.raises(cr.AnomalyError):
        with observe(log), cr.detect_anomaly():
            cr.log(cr.tensor([0.0], requires_grad=True))
    assert log.events == ["op log (1,) recorded"]
    assert observers.active() == () and observers._threads_on == 0


def test_an_observer_watches_its_own_thread_only() -> None:
    log = Log()
    seen_elsewhere: list[tuple] = []

    def other_thread() -> None:
        cr.exp(cr.tensor([1.0], requires_grad=True))
        seen_elsewhere.append(observers.active())

    with observe(log):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen_elsewhere == [()] and log.events == []


def test_differentiable_backward_steps_are_observed_too() -> None:
    log = Log()
    x = cr.tensor(2.0, requires_grad=True)
    y = x**3
    with observe(log):
        cr.autograd.grad(y, x, create_graph=True)
    assert log.events[:2] == ["backward pow", "op pow () recorded"]  # the vjp's own ops are applied inside the step
    assert log.events[-1] == "done pow 1"
